"""Request fields as Qdrant engine objects: filters, payload and vector selectors.

Only the translation lives here: what a filter matches, how a JSON path reads a payload
and which keys a selector keeps are decided by the engine (qdrant-edge-py), as in Qdrant.
A malformed filter is refused with 400 before the engine runs, even on an empty collection.
"""

from __future__ import annotations

from typing import Any

import qdrant_edge as edge
from standin_wire import (
    ApiError,
    JsonObject,
    engine_error,
    expect_list,
    expect_object,
    format_error,
    parse_point_ids,
    unsupported,
    validation_error,
)

WithPayload = bool | list[str] | edge.PayloadSelector
WithVector = bool | list[str]

# ---------------------------------------------------------------- selectors


def _string_list(value: Any, field: str) -> list[str]:
    items = expect_list(value, field)
    if not all(isinstance(item, str) for item in items):
        raise format_error(f"`{field}` must be an array of strings")
    return items


def parse_with_payload(obj: JsonObject, default: bool) -> WithPayload:
    value = obj.get("with_payload")
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return edge.PayloadSelector.Include(_string_list(value, "with_payload"))
    selector = expect_object(value, "with_payload")
    if "include" in selector:
        return edge.PayloadSelector.Include(_string_list(selector["include"], "with_payload"))
    if "exclude" in selector:
        return edge.PayloadSelector.Exclude(_string_list(selector["exclude"], "with_payload"))
    raise format_error("`with_payload` must be a boolean, a list, or {include|exclude: [...]}")


def parse_with_vector(obj: JsonObject, default: bool) -> WithVector:
    # The REST schema says `with_vector`; older clients send `with_vectors`.
    value = obj.get("with_vector", obj.get("with_vectors"))
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return _string_list(value, "with_vector")


# ---------------------------------------------------------------- filters


def parse_filter(raw: Any, field: str = "filter") -> edge.Filter:
    try:
        return _filter(expect_object(raw, field), field)
    except ApiError:
        raise
    except (TypeError, ValueError, OverflowError) as error:  # the bindings refused a value
        raise engine_error(error) from None


def optional_filter(body: JsonObject, field: str = "filter") -> edge.Filter | None:
    raw = body.get("filter")
    return None if raw is None else parse_filter(raw, field)


def _filter(obj: JsonObject, field: str) -> edge.Filter:
    min_should = obj.get("min_should")
    return edge.Filter(
        must=_conditions(obj.get("must"), f"{field}.must"),
        should=_conditions(obj.get("should"), f"{field}.should"),
        must_not=_conditions(obj.get("must_not"), f"{field}.must_not"),
        min_should=None if min_should is None else _min_should(min_should, f"{field}.min_should"),
    )


def _conditions(raw: Any, field: str) -> list[Any] | None:
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else [raw]  # Qdrant also takes a lone condition
    return [_condition(item, f"{field}[{i}]") for i, item in enumerate(items)]


def _min_should(raw: Any, field: str) -> edge.MinShould:
    obj = expect_object(raw, field)
    count = obj.get("min_count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise format_error(f"`{field}.min_count` must be an unsigned integer")
    return edge.MinShould(_conditions(obj.get("conditions"), f"{field}.conditions") or [], count)


def _condition(raw: Any, field: str) -> Any:
    obj = expect_object(raw, field)
    if "key" in obj:
        return _field_condition(obj, field)
    if "is_empty" in obj:
        return edge.IsEmptyCondition(_key_of(obj["is_empty"], f"{field}.is_empty"))
    if "is_null" in obj:
        return edge.IsNullCondition(_key_of(obj["is_null"], f"{field}.is_null"))
    if "has_id" in obj:
        return edge.HasIdCondition(set(parse_point_ids(obj["has_id"], f"{field}.has_id")))
    if "has_vector" in obj:
        if not isinstance(obj["has_vector"], str):
            raise format_error(f"`{field}.has_vector` must be a vector name")
        return edge.HasVectorCondition(obj["has_vector"])
    if "nested" in obj:
        nested = expect_object(obj["nested"], f"{field}.nested")
        key = _key_of(nested, f"{field}.nested")
        inner = parse_filter(nested.get("filter"), f"{field}.nested.filter")
        return edge.NestedCondition(key, inner)
    if {"must", "should", "must_not", "min_should"} & obj.keys():
        return _filter(obj, field)
    raise format_error(f"`{field}` is not a known condition")


def _key_of(raw: Any, field: str) -> str:
    key = expect_object(raw, field).get("key")
    if not isinstance(key, str):
        raise format_error(f"missing field `key` in `{field}`")
    return key


def _field_condition(obj: JsonObject, field: str) -> edge.FieldCondition:
    key = obj["key"]
    if not isinstance(key, str):
        raise format_error(f"`{field}.key` must be a string")
    parts: dict[str, Any] = {}
    if obj.get("match") is not None:
        parts["match"] = _match(expect_object(obj["match"], f"{field}.match"), f"{field}.match")
    if obj.get("range") is not None:
        parts["range"] = _range(expect_object(obj["range"], f"{field}.range"), f"{field}.range")
    if obj.get("values_count") is not None:
        bounds = _bounds(obj["values_count"], f"{field}.values_count", int)
        parts["values_count"] = edge.ValuesCount(**bounds)
    if obj.get("geo_radius") is not None:
        radius = expect_object(obj["geo_radius"], f"{field}.geo_radius")
        parts["geo_radius"] = edge.GeoRadius(
            _geo_point(radius.get("center"), f"{field}.geo_radius.center"),
            _number(radius.get("radius"), f"{field}.geo_radius.radius"),
        )
    if obj.get("geo_bounding_box") is not None:
        box = expect_object(obj["geo_bounding_box"], f"{field}.geo_bounding_box")
        parts["geo_bounding_box"] = edge.GeoBoundingBox(
            _geo_point(box.get("top_left"), f"{field}.geo_bounding_box.top_left"),
            _geo_point(box.get("bottom_right"), f"{field}.geo_bounding_box.bottom_right"),
        )
    if obj.get("geo_polygon") is not None:
        parts["geo_polygon"] = _geo_polygon(obj["geo_polygon"], f"{field}.geo_polygon")
    for flag in ("is_empty", "is_null"):
        if isinstance(obj.get(flag), bool):
            parts[flag] = obj[flag]
    if not parts:
        raise validation_error(field, "At least one field condition must be specified")
    return edge.FieldCondition(key, **parts)


def _match(match: JsonObject, field: str) -> Any:
    if "value" in match:
        value = match["value"]
        if isinstance(value, bool):
            # Refused rather than answered wrong: the engine's Python bindings read a
            # boolean as an integer (true as 1), so it would match 1 and never true.
            raise unsupported("`match` on a boolean value (qdrant-edge-py reads true as 1)")
        if not isinstance(value, str | int) or (isinstance(value, int) and value >= 2**63):
            raise format_error(f"`{field}.value` must be a string, an integer or a boolean")
        return edge.MatchValue(value)
    for key, variant in (
        ("text", edge.MatchText),
        ("text_any", edge.MatchTextAny),
        ("phrase", edge.MatchPhrase),
        ("prefix", edge.MatchPrefix),
        ("substring", edge.MatchSubstring),
    ):
        if key in match:
            if not isinstance(match[key], str):
                raise format_error(f"`{field}.{key}` must be a string")
            return variant(match[key])
    if "any" in match:
        return edge.MatchAny(_variants(match["any"], f"{field}.any"))
    if "except" in match:
        return edge.MatchExcept(_variants(match["except"], f"{field}.except"))
    raise format_error(f"`{field}` must have one of value, text, any, except")


def _variants(raw: Any, field: str) -> list[str] | list[int]:
    """AnyVariants: a list of strings or a list of integers."""
    items = expect_list(raw, field)
    if all(isinstance(item, str) for item in items):
        return items
    if all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        return items
    raise format_error(f"`{field}` must be all strings or all integers")


def _range(bounds: JsonObject, field: str) -> edge.RangeFloat | edge.RangeDateTime:
    if any(isinstance(bounds.get(k), str) for k in ("gt", "gte", "lt", "lte")):
        return edge.RangeDateTime(**_bounds(bounds, field, str))
    return edge.RangeFloat(**_bounds(bounds, field, float))


def _bounds(raw: Any, field: str, kind: type) -> dict[str, Any]:
    bounds = expect_object(raw, field)
    found: dict[str, Any] = {}
    for key in ("gt", "gte", "lt", "lte"):
        value = bounds.get(key)
        if value is None:
            continue
        if kind is float:
            found[key] = _number(value, f"{field}.{key}")
        elif not isinstance(value, kind) or isinstance(value, bool):
            raise format_error(f"`{field}.{key}` must be a {kind.__name__}")
        else:
            found[key] = value
    return found


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise format_error(f"`{field}` must be a number")
    return float(value)


def _geo_point(raw: Any, field: str) -> edge.GeoPoint:
    point = expect_object(raw, field)
    return edge.GeoPoint(
        lon=_number(point.get("lon"), f"{field}.lon"), lat=_number(point.get("lat"), f"{field}.lat")
    )


def _ring(raw: Any, field: str) -> list[edge.GeoPoint]:
    points = expect_list(expect_object(raw, field).get("points"), f"{field}.points")
    return [_geo_point(point, f"{field}.points[{i}]") for i, point in enumerate(points)]


def _geo_polygon(raw: Any, field: str) -> edge.GeoPolygon:
    polygon = expect_object(raw, field)
    interiors = polygon.get("interiors")
    return edge.GeoPolygon(
        _ring(polygon.get("exterior"), f"{field}.exterior"),
        None
        if interiors is None
        else [_ring(ring, f"{field}.interiors[{i}]") for i, ring in enumerate(interiors)],
    )
