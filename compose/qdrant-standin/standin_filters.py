"""Payload JSON paths and Qdrant filters (must / should / must_not / min_should).

A filter is compiled once into a predicate, so a malformed filter is refused with 400 even
on an empty collection, and evaluation follows Qdrant 1.12's condition_checker.rs:
a field condition holds when any value at the path (arrays flattened one level) matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standin_wire import (
    JsonObject,
    PointId,
    expect_list,
    expect_object,
    format_error,
    parse_point_ids,
    unsupported,
    validation_error,
)

Predicate = Callable[[PointId | None, JsonObject], bool]
"""(point id or None inside `nested`, payload) -> whether the point passes."""

ValueCheck = Callable[[Any], bool]

# ---------------------------------------------------------------- JSON paths

PathItem = str | int | None
"""A key, an array index, or None for the `[]` wildcard."""

_FIRST_KEY = re.compile(r'[\w-]+|"([^"\\]*)"')
_NEXT_ITEM = re.compile(r'\.(?:([\w-]+)|"([^"\\]*)")|\[(\d*)\]')


@dataclass(frozen=True)
class JsonPath:
    first: str
    rest: tuple[PathItem, ...]


def parse_json_path(text: str) -> JsonPath:
    """`a.b[].c`, `a[0]`, `a."dotted.key"` - the grammar of Qdrant's json_path/parse.rs."""
    head = _FIRST_KEY.match(text)
    if head is None:
        raise format_error(f"Invalid json path: {text!r}")
    first = head.group(1) if head.group(1) is not None else head.group(0)
    rest: list[PathItem] = []
    pos = head.end()
    while pos < len(text):
        item = _NEXT_ITEM.match(text, pos)
        if item is None:
            raise format_error(f"Invalid json path: {text!r}")
        key, quoted, index = item.groups()
        if index is not None:
            rest.append(int(index) if index else None)
        else:
            rest.append(key if key is not None else quoted)
        pos = item.end()
    return JsonPath(first, tuple(rest))


def path_values(payload: JsonObject, path: JsonPath) -> list[Any]:
    """Every value at `path`; only `[]` descends into arrays, as in Qdrant."""
    found: list[Any] = []
    _collect(payload, (path.first, *path.rest), found)
    return found


def _collect(value: Any, items: tuple[PathItem, ...], found: list[Any]) -> None:
    if not items:
        found.append(value)
        return
    for child in _children(value, items[0]):
        _collect(child, items[1:], found)


def _children(value: Any, item: PathItem) -> list[Any]:
    if isinstance(item, str):
        return [value[item]] if isinstance(value, dict) and item in value else []
    if not isinstance(value, list):
        return []
    return list(value) if item is None else value[item : item + 1]


def merge_payload(dest: JsonObject, src: JsonObject) -> None:
    """Qdrant's merge_map: a null value removes the key instead of storing null."""
    for key, value in src.items():
        if value is None:
            dest.pop(key, None)
        else:
            dest[key] = value


def set_payload_at(payload: JsonObject, path: JsonPath | None, src: JsonObject) -> None:
    """Merge `src` into the object at `path`, creating objects on the way (value_set)."""
    if path is None:
        merge_payload(payload, src)
        return
    payload[path.first] = _set_into(payload.get(path.first), path.rest, src)


def _set_into(dest: Any, rest: tuple[PathItem, ...], src: JsonObject) -> Any:
    if not rest:
        target = dest if isinstance(dest, dict) else {}
        merge_payload(target, src)
        return target
    head, tail = rest[0], rest[1:]
    if isinstance(head, str):
        target = dest if isinstance(dest, dict) else {}
        target[head] = _set_into(target.get(head), tail, src)
        return target
    if not isinstance(dest, list):
        return []
    for i in range(len(dest)):
        if head is None or head == i:
            dest[i] = _set_into(dest[i], tail, src)
    return dest


def remove_payload_at(payload: JsonObject, path: JsonPath) -> None:
    _remove_from(payload, (path.first, *path.rest))


def _remove_from(value: Any, items: tuple[PathItem, ...]) -> None:
    head, tail = items[0], items[1:]
    if tail:
        for child in _children(value, head):
            _remove_from(child, tail)
    elif isinstance(head, str) and isinstance(value, dict):
        value.pop(head, None)
    elif isinstance(value, list) and head is None:
        value.clear()
    elif isinstance(value, list) and isinstance(head, int) and head < len(value):
        del value[head]


def select_payload(payload: JsonObject, mode: str, paths: list[str]) -> JsonObject:
    """`with_payload: {include|exclude: [...]}` for top-level and dotted keys."""
    if mode == "exclude":
        result: JsonObject = _deep_copy(payload)
        for text in paths:
            remove_payload_at(result, parse_json_path(text))
        return result
    selected: JsonObject = {}
    for text in paths:
        path = parse_json_path(text)
        if any(not isinstance(item, str) for item in path.rest):
            raise unsupported("array paths in `with_payload.include`")
        values = path_values(payload, path)
        if values:
            _put(selected, [path.first, *(str(item) for item in path.rest)], values[0])
    return selected


def _put(target: JsonObject, keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        child = target.get(key)
        target = child if isinstance(child, dict) else target.setdefault(key, {})
    target[keys[-1]] = _deep_copy(value)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep_copy(item) for item in value]
    return value


# ---------------------------------------------------------------- filters


def compile_filter(raw: Any, field: str = "filter") -> Predicate:
    obj = expect_object(raw, field)
    must = _conditions(obj.get("must"), f"{field}.must")
    must_not = _conditions(obj.get("must_not"), f"{field}.must_not")
    # `should: []` matches nothing in Qdrant, unlike an absent `should`.
    should = None if obj.get("should") is None else _conditions(obj["should"], f"{field}.should")
    min_should = _min_should(obj.get("min_should"), f"{field}.min_should")

    def check(point_id: PointId | None, payload: JsonObject) -> bool:
        return (
            (should is None or any(c(point_id, payload) for c in should))
            and min_should(point_id, payload)
            and all(c(point_id, payload) for c in must)
            and not any(c(point_id, payload) for c in must_not)
        )

    return check


def all_of(predicates: list[Predicate]) -> Predicate:
    return lambda point_id, payload: all(p(point_id, payload) for p in predicates)


def _conditions(raw: Any, field: str) -> list[Predicate]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]  # Qdrant also takes a lone condition
    return [_condition(item, f"{field}[{i}]") for i, item in enumerate(items)]


def _min_should(raw: Any, field: str) -> Predicate:
    if raw is None:
        return lambda _id, _payload: True
    obj = expect_object(raw, field)
    conditions = _conditions(obj.get("conditions"), f"{field}.conditions")
    count = obj.get("min_count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise format_error(f"`{field}.min_count` must be an unsigned integer")
    return lambda point_id, payload: sum(c(point_id, payload) for c in conditions) >= count


def _condition(raw: Any, field: str) -> Predicate:
    obj = expect_object(raw, field)
    if "key" in obj:
        return _field_condition(obj, field)
    if "is_empty" in obj:
        path = _key_of(obj["is_empty"], f"{field}.is_empty")
        return lambda _id, payload: all(v is None or v == [] for v in path_values(payload, path))
    if "is_null" in obj:
        path = _key_of(obj["is_null"], f"{field}.is_null")
        return lambda _id, payload: any(v is None for v in path_values(payload, path))
    if "has_id" in obj:
        ids = set(parse_point_ids(obj["has_id"], f"{field}.has_id"))
        return lambda point_id, _payload: point_id in ids
    if "nested" in obj:
        return _nested_condition(expect_object(obj["nested"], f"{field}.nested"), field)
    if {"must", "should", "must_not", "min_should"} & obj.keys():
        return compile_filter(obj, field)
    if "has_vector" in obj:
        raise unsupported("the has_vector condition")
    raise format_error(f"`{field}` is not a known condition")


def _key_of(raw: Any, field: str) -> JsonPath:
    key = expect_object(raw, field).get("key")
    if not isinstance(key, str):
        raise format_error(f"missing field `key` in `{field}`")
    return parse_json_path(key)


def _nested_condition(obj: JsonObject, field: str) -> Predicate:
    if not isinstance(obj.get("key"), str):
        raise format_error(f"missing field `key` in `{field}.nested`")
    base = parse_json_path(obj["key"])
    elements = JsonPath(base.first, (*base.rest, None))  # nested walks `key[]`
    inner = compile_filter(obj.get("filter"), f"{field}.nested.filter")

    def check(_id: PointId | None, payload: JsonObject) -> bool:
        objects = [v for v in path_values(payload, elements) if isinstance(v, dict)]
        return any(inner(None, item) for item in objects)

    return check


def _field_condition(obj: JsonObject, field: str) -> Predicate:
    if not isinstance(obj["key"], str):
        raise format_error(f"`{field}.key` must be a string")
    path = parse_json_path(obj["key"])
    if any(obj.get(geo) is not None for geo in ("geo_radius", "geo_bounding_box", "geo_polygon")):
        raise unsupported("geo conditions")
    if obj.get("values_count") is not None:
        counts = _number_range(obj["values_count"], f"{field}.values_count")
        return lambda _id, payload: any(counts(_count(v)) for v in path_values(payload, path))
    checks: list[ValueCheck] = []
    if obj.get("match") is not None:
        checks.append(_match_check(expect_object(obj["match"], f"{field}.match"), field))
    if obj.get("range") is not None:
        checks.append(_range_check(expect_object(obj["range"], f"{field}.range"), field))
    if not checks:
        raise validation_error(field, "At least one field condition must be specified")

    def matches(value: Any) -> bool:
        return any(check(value) for check in checks)

    def check(_id: PointId | None, payload: JsonObject) -> bool:
        for value in path_values(payload, path):
            items = value if isinstance(value, list) else [value]
            if any(matches(item) for item in items):
                return True
        return False

    return check


def _count(value: Any) -> int:
    if value is None:
        return 0
    return len(value) if isinstance(value, list) else 1


def _is_integer(value: Any) -> bool:
    # serde_json's as_i64(): true JSON integers only (1.0 and booleans do not count).
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _match_check(match: JsonObject, field: str) -> ValueCheck:
    if "value" in match:
        return _match_value(match["value"], field)
    if "text" in match:
        text = match["text"]
        if not isinstance(text, str):
            raise format_error(f"`{field}.match.text` must be a string")
        return lambda value: isinstance(value, str) and text in value
    if "any" in match:
        strings, integers = _variants(match["any"], f"{field}.match.any")
        return lambda value: (
            (isinstance(value, str) and value in strings)
            or (_is_integer(value) and value in integers)
        )
    if "except" in match:
        return _match_except(match["except"], field)
    raise format_error(f"`{field}.match` must have one of value, text, any, except")


def _match_value(expected: Any, field: str) -> ValueCheck:
    if isinstance(expected, bool):
        return lambda value: isinstance(value, bool) and value == expected
    if isinstance(expected, str):
        return lambda value: isinstance(value, str) and value == expected
    if _is_integer(expected):
        return lambda value: _is_integer(value) and value == expected
    raise format_error(f"`{field}.match.value` must be a string, an integer or a boolean")


def _variants(raw: Any, field: str) -> tuple[set[str], set[int]]:
    """AnyVariants: a list of strings or a list of integers (an empty list counts as strings)."""
    items = expect_list(raw, field)
    if all(isinstance(item, str) for item in items):
        return set(items), set()
    if all(_is_integer(item) for item in items):
        return set(), set(items)
    raise format_error(f"`{field}` must be all strings or all integers")


def _match_except(raw: Any, field: str) -> ValueCheck:
    strings, integers = _variants(raw, f"{field}.match.except")
    string_list = not integers

    def check(value: Any) -> bool:
        # The truth table of Qdrant's MatchExcept: only a null or a listed value fails.
        if value is None:
            return False
        if isinstance(value, str) and string_list:
            return value not in strings
        if _is_integer(value) and not string_list:
            return value not in integers
        return True

    return check


def _range_check(bounds: JsonObject, field: str) -> ValueCheck:
    if any(isinstance(bounds.get(k), str) for k in ("gt", "gte", "lt", "lte")):
        in_range = _datetime_range(bounds, f"{field}.range")
        return lambda value: isinstance(value, str) and in_range(_parse_datetime(value))
    numbers = _number_range(bounds, f"{field}.range")
    return lambda value: (
        isinstance(value, int | float) and not isinstance(value, bool) and numbers(value)
    )


def _number_range(raw: Any, field: str) -> Callable[[float], bool]:
    bounds = expect_object(raw, field)
    limits: dict[str, float] = {}
    for key in ("gt", "gte", "lt", "lte"):
        value = bounds.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise format_error(f"`{field}.{key}` must be a number")
        limits[key] = float(value)
    return lambda x: _within(x, limits)


def _within(x: Any, limits: dict[str, Any]) -> bool:
    if x is None:
        return False
    return (
        ("gt" not in limits or x > limits["gt"])
        and ("gte" not in limits or x >= limits["gte"])
        and ("lt" not in limits or x < limits["lt"])
        and ("lte" not in limits or x <= limits["lte"])
    )


def _datetime_range(bounds: JsonObject, field: str) -> Callable[[datetime | None], bool]:
    limits: dict[str, datetime] = {}
    for key in ("gt", "gte", "lt", "lte"):
        value = bounds.get(key)
        if value is None:
            continue
        parsed = _parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise format_error(f"`{field}.{key}` must be an RFC 3339 date-time")
        limits[key] = parsed
    return lambda moment: _within(moment, limits)


def _parse_datetime(text: str) -> datetime | None:
    """RFC 3339 and the looser forms Qdrant accepts; a naive time is read as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
