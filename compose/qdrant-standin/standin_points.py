"""Point endpoints: upsert, retrieve, delete, payload updates, scroll, count and facet.

Each is a translation into one call of the collection's Qdrant Edge shard; requests are
checked first, so a bad point or a missing id changes nothing and answers Qdrant's error.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import qdrant_edge as edge
from standin_filters import optional_filter, parse_filter, parse_with_payload, parse_with_vector
from standin_store import Call, Collection
from standin_wire import (
    JsonObject,
    PointId,
    bad_input,
    body_object,
    engine_error,
    expect_list,
    expect_object,
    format_error,
    opt_bool,
    opt_int,
    opt_str,
    parse_dense_vector,
    parse_path_point_id,
    parse_point_id,
    parse_point_ids,
    point_missing,
    query_flag,
    required,
    unsupported,
)

# ---------------------------------------------------------------- output shapes


def output_id(point_id: Any) -> PointId:
    """The engine answers UUIDs as uuid.UUID; the wire wants the canonical string."""
    return str(point_id) if isinstance(point_id, uuid.UUID) else int(point_id)


def record(point: edge.Record | edge.ScoredPoint) -> JsonObject:
    """Qdrant's Record: `payload` and `vector` are left out when not asked for."""
    out: JsonObject = {"id": output_id(point.id)}
    if point.payload is not None:
        out["payload"] = point.payload
    if point.vector is not None:
        out["vector"] = point.vector
    if point.order_value is not None:
        out["order_value"] = point.order_value
    return out


def update_result(collection: Collection, call: Call) -> JsonObject:
    """UpdateResult; updates run synchronously, `wait` only changes the reported status."""
    done = query_flag(call.query, "wait", default=False)
    operation_id = collection.new_operation()
    call.store.save(collection)
    return {"operation_id": operation_id, "status": "completed" if done else "acknowledged"}


# ---------------------------------------------------------------- upsert


def check_vector(collection: Collection, name: str, raw: Any, field: str) -> list[float]:
    """A dense vector for `name`, checked as Qdrant checks it (name, then dimension)."""
    if isinstance(raw, dict):
        raise unsupported("sparse vectors and inference documents")
    if isinstance(raw, list) and raw and isinstance(raw[0], list):
        raise unsupported("multivectors")
    spec = collection.vectors.get(name)
    if spec is None:
        raise bad_input(f"Not existing vector name error: {name}")
    vector = parse_dense_vector(raw, field)
    if len(vector) != spec.size:
        raise bad_input(f"Vector dimension error: expected dim: {spec.size}, got {len(vector)}")
    return vector


def _engine_vector(collection: Collection, raw: Any, field: str) -> Any:
    """A point's vector(s) as the engine takes them: a list for the unnamed vector,
    {name: list} for named ones."""
    if isinstance(raw, list):
        named: JsonObject = {"": raw}
    elif isinstance(raw, dict):
        named = raw
    else:
        raise format_error(f"`{field}` must be a vector or a map of named vectors")
    vectors = {
        name: check_vector(collection, name, value, f"{field}.{name}" if name else field)
        for name, value in named.items()
    }
    return vectors[""] if not collection.named and "" in vectors else vectors


def _optional_payload(raw: Any, field: str) -> JsonObject | None:
    return None if raw is None else expect_object(raw, field)


def _points_list(collection: Collection, raw: Any) -> list[edge.Point]:
    parsed = []
    for i, item in enumerate(expect_list(raw, "points")):
        point = expect_object(item, f"points[{i}]")
        parsed.append(
            edge.Point(
                parse_point_id(required(point, "id")),
                _engine_vector(collection, required(point, "vector"), f"points[{i}].vector"),
                _optional_payload(point.get("payload"), f"points[{i}].payload"),
            )
        )
    return parsed


def _batch(collection: Collection, raw: Any) -> list[edge.Point]:
    """{ids: [...], vectors: [[...]] or {name: [[...]]}, payloads: [...]}: column-wise."""
    batch = expect_object(raw, "batch")
    ids = parse_point_ids(required(batch, "ids"), "batch.ids")
    raw_vectors = required(batch, "vectors")
    if isinstance(raw_vectors, dict):
        columns = {n: expect_list(v, f"batch.vectors.{n}") for n, v in raw_vectors.items()}
        if any(len(col) != len(ids) for col in columns.values()):
            raise bad_input("number of ids and vectors must be equal")
        rows: list[Any] = [{n: col[i] for n, col in columns.items()} for i in range(len(ids))]
    else:
        rows = expect_list(raw_vectors, "batch.vectors")
    payloads = batch.get("payloads")
    payload_rows = [None] * len(ids) if payloads is None else expect_list(payloads, "payloads")
    if not len(ids) == len(rows) == len(payload_rows):
        raise bad_input("number of ids, vectors and payloads must be equal")
    return [
        edge.Point(
            point_id,
            _engine_vector(collection, rows[i], f"batch.vectors[{i}]"),
            _optional_payload(payload_rows[i], f"batch.payloads[{i}]"),
        )
        for i, point_id in enumerate(ids)
    ]


def upsert_points(call: Call) -> JsonObject:
    collection = call.collection
    body = body_object(call.body)
    if "batch" in body:
        parsed = _batch(collection, body["batch"])
    elif "points" in body:
        parsed = _points_list(collection, body["points"])
    else:
        raise format_error("data did not match any variant of untagged enum PointInsertOperations")
    # Everything is checked before anything is written: a bad point leaves no half batch.
    collection.update(edge.UpdateOperation.upsert_points(parsed))
    return update_result(collection, call)


def upsert_records(collection: Collection, raw: list[Any]) -> None:
    """Points as the hand-written stand-in stored them ({id, vectors, payload}), into the
    shard: how its collections move over when the stand-in starts on the engine."""
    points = [
        edge.Point(
            parse_point_id(item["id"]),
            _engine_vector(collection, item["vectors"], "vectors"),
            item["payload"],
        )
        for item in raw
    ]
    if points:
        collection.update(edge.UpdateOperation.upsert_points(points))


# ---------------------------------------------------------------- read


def _retrieve(collection: Collection, ids: list[PointId], payload: Any, vector: Any) -> list[Any]:
    try:
        return collection.engine.retrieve(list(dict.fromkeys(ids)), payload, vector)
    except Exception as error:
        raise engine_error(error) from None


def retrieve_points(call: Call) -> list[JsonObject]:
    collection = call.collection
    body = body_object(call.body)
    ids = parse_point_ids(required(body, "ids"), "ids")
    payload = parse_with_payload(body, default=True)
    vector = parse_with_vector(body, default=False)
    return [record(point) for point in _retrieve(collection, ids, payload, vector)]


def get_point(call: Call) -> JsonObject:
    collection = call.collection
    point_id = parse_path_point_id(call.params["id"])
    found = _retrieve(collection, [point_id], True, True)
    if not found:
        raise point_missing(point_id)
    return record(found[0])


def parse_order_by(raw: Any) -> edge.OrderBy | None:
    """`order_by`: a payload key, or {key, direction: asc|desc, start_from}."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return edge.OrderBy(raw)
    spec = expect_object(raw, "order_by")
    key = opt_str(spec, "key")
    if key is None:
        raise format_error("missing field `key` in `order_by`")
    direction = opt_str(spec, "direction")
    if direction not in (None, "asc", "desc"):
        raise format_error(f"unknown variant `{direction}`, expected `asc` or `desc`")
    return edge.OrderBy(
        key,
        edge.Direction.Desc if direction == "desc" else edge.Direction.Asc,
        spec.get("start_from"),
    )


def scroll_points(call: Call) -> JsonObject:
    collection = call.collection
    body = body_object(call.body if call.body is not None else {})
    offset = body.get("offset")
    request = edge.ScrollRequest(
        offset=None if offset is None else parse_point_id(offset),
        limit=opt_int(body, "limit", default=10, minimum=1),
        filter=optional_filter(body),
        with_payload=parse_with_payload(body, default=True),
        with_vector=parse_with_vector(body, default=False),
        order_by=parse_order_by(body.get("order_by")),
    )
    try:
        points, following = collection.engine.scroll(request)
    except Exception as error:
        raise engine_error(error) from None
    return {
        "points": [record(point) for point in points],
        "next_page_offset": None if following is None else output_id(following),
    }


def count_points(call: Call) -> JsonObject:
    collection = call.collection
    body = body_object(call.body if call.body is not None else {})
    request = edge.CountRequest(exact=opt_bool(body, "exact", True), filter=optional_filter(body))
    return {"count": collection.engine.count(request)}


def facet(call: Call) -> JsonObject:
    collection = call.collection
    body = body_object(call.body)
    key = opt_str(body, "key")
    if key is None:
        raise format_error("missing field `key`")
    request = edge.FacetRequest(
        key,
        limit=opt_int(body, "limit", default=10, minimum=1),
        exact=opt_bool(body, "exact", False),
        filter=optional_filter(body),
    )
    try:
        hits = collection.engine.facet(request).hits
    except Exception as error:
        raise engine_error(error) from None
    return {"hits": [{"value": hit.value, "count": hit.count} for hit in hits]}


def all_records(collection: Collection, page: int = 1000) -> Iterator[edge.Record]:
    """Every point with its vectors and payload, in id order."""
    offset: Any = None
    while True:
        request = edge.ScrollRequest(offset=offset, limit=page, with_payload=True, with_vector=True)
        points, offset = collection.engine.scroll(request)
        yield from points
        if offset is None:
            return


# ---------------------------------------------------------------- delete and payload


def _selection(
    collection: Collection, body: JsonObject, *, must_exist: bool
) -> list[edge.PointId] | edge.Filter:
    """A PointsSelector: {points: [ids]} or {filter: {...}}."""
    if body.get("points") is not None:
        ids = parse_point_ids(body["points"], "points")
        if must_exist:  # Qdrant refuses the whole update when one id is missing
            present = {output_id(p.id) for p in _retrieve(collection, ids, False, False)}
            missing = [i for i in ids if i not in present]
            if missing:
                raise point_missing(missing[0])
        return [*ids]
    if body.get("filter") is not None:
        return parse_filter(body["filter"])
    raise format_error("Either list of point ids or filter must be provided")


def delete_points(call: Call) -> JsonObject:
    collection = call.collection
    selection = _selection(collection, body_object(call.body), must_exist=False)
    if isinstance(selection, edge.Filter):
        collection.update(edge.UpdateOperation.delete_points_by_filter(selection))
    else:
        collection.update(edge.UpdateOperation.delete_points(selection))
    return update_result(collection, call)


def _update_payloads(call: Call, overwrite: bool) -> JsonObject:
    collection = call.collection
    body = body_object(call.body)
    new = expect_object(required(body, "payload"), "payload")
    key = opt_str(body, "key")
    selection = _selection(collection, body, must_exist=True)
    operation = edge.UpdateOperation
    if isinstance(selection, edge.Filter):
        by_filter = (
            operation.overwrite_payload_by_filter if overwrite else operation.set_payload_by_filter
        )
        collection.update(by_filter(selection, new, key))
    else:
        by_ids = operation.overwrite_payload if overwrite else operation.set_payload
        collection.update(by_ids(selection, new, key))
    return update_result(collection, call)


def set_payload(call: Call) -> JsonObject:
    return _update_payloads(call, overwrite=False)


def overwrite_payload(call: Call) -> JsonObject:
    return _update_payloads(call, overwrite=True)


def delete_payload(call: Call) -> JsonObject:
    collection = call.collection
    body = body_object(call.body)
    keys = expect_list(required(body, "keys"), "keys")
    if not all(isinstance(key, str) for key in keys):
        raise format_error("`keys` must be an array of strings")
    selection = _selection(collection, body, must_exist=True)
    if isinstance(selection, edge.Filter):
        collection.update(edge.UpdateOperation.delete_payload_by_filter(selection, keys))
    else:
        collection.update(edge.UpdateOperation.delete_payload(selection, keys))
    return update_result(collection, call)


def clear_payload(call: Call) -> JsonObject:
    collection = call.collection
    selection = _selection(collection, body_object(call.body), must_exist=True)
    if isinstance(selection, edge.Filter):
        collection.update(edge.UpdateOperation.clear_payload_by_filter(selection))
    else:
        collection.update(edge.UpdateOperation.clear_payload(selection))
    return update_result(collection, call)
