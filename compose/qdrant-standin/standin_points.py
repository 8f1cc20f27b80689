"""Point endpoints: upsert, retrieve, delete, payload updates, scroll and count."""

from __future__ import annotations

from typing import Any

from standin_collections import update_result
from standin_filters import (
    compile_filter,
    parse_json_path,
    remove_payload_at,
    select_payload,
    set_payload_at,
)
from standin_store import Call, Collection, Point, preprocess
from standin_wire import (
    JsonObject,
    PayloadSelector,
    PointId,
    VectorSelector,
    bad_input,
    body_object,
    expect_list,
    expect_object,
    format_error,
    id_sort_key,
    opt_int,
    opt_str,
    parse_dense_vector,
    parse_path_point_id,
    parse_point_id,
    parse_point_ids,
    parse_with_payload,
    parse_with_vector,
    point_missing,
    required,
    unsupported,
)

# ---------------------------------------------------------------- output shapes


def payload_output(point: Point, selector: PayloadSelector) -> JsonObject | None:
    if selector is False:
        return None
    if selector is True:
        return point.payload
    mode, paths = selector
    return select_payload(point.payload, mode, paths)


def vector_output(collection: Collection, point: Point, selector: VectorSelector) -> Any:
    if selector is False:
        return None
    if not collection.named:
        return point.vectors.get("")  # an unnamed collection answers a bare list
    names = point.vectors.keys() if selector is True else selector
    return {name: point.vectors[name] for name in names if name in point.vectors}


def record(
    collection: Collection, point: Point, payload: PayloadSelector, vector: VectorSelector
) -> JsonObject:
    """Qdrant's Record: `payload` and `vector` are left out when not asked for."""
    out: JsonObject = {"id": point.id}
    shown_payload = payload_output(point, payload)
    if shown_payload is not None:
        out["payload"] = shown_payload
    shown_vector = vector_output(collection, point, vector)
    if shown_vector is not None:
        out["vector"] = shown_vector
    return out


# ---------------------------------------------------------------- upsert


def parse_vectors(collection: Collection, raw: Any, field: str) -> dict[str, list[float]]:
    """A point's vector(s): a bare list for the unnamed vector, or {name: list}."""
    if isinstance(raw, list):
        named: JsonObject = {"": raw}
    elif isinstance(raw, dict):
        named = raw
    else:
        raise format_error(f"`{field}` must be a vector or a map of named vectors")
    vectors: dict[str, list[float]] = {}
    for name, value in named.items():
        vectors[name] = check_vector(collection, name, value, f"{field}.{name}" if name else field)
    return vectors


def check_vector(collection: Collection, name: str, raw: Any, field: str) -> list[float]:
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
    return preprocess(spec.distance, vector)


def _optional_payload(raw: Any, field: str) -> JsonObject:
    return {} if raw is None else expect_object(raw, field)


def _points_list(collection: Collection, raw: Any) -> list[tuple[PointId, Any, JsonObject]]:
    parsed = []
    for i, item in enumerate(expect_list(raw, "points")):
        point = expect_object(item, f"points[{i}]")
        parsed.append(
            (
                parse_point_id(required(point, "id")),
                parse_vectors(collection, required(point, "vector"), f"points[{i}].vector"),
                _optional_payload(point.get("payload"), f"points[{i}].payload"),
            )
        )
    return parsed


def _batch(collection: Collection, raw: Any) -> list[tuple[PointId, Any, JsonObject]]:
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
        (
            point_id,
            parse_vectors(collection, rows[i], f"batch.vectors[{i}]"),
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
    operation_id = collection.new_operation()
    for point_id, vectors, payload in parsed:
        collection.points[point_id] = Point(point_id, operation_id, vectors, payload)
    call.store.save(collection)
    return update_result(operation_id, call)


# ---------------------------------------------------------------- read


def retrieve_points(call: Call) -> list[JsonObject]:
    collection = call.collection
    body = body_object(call.body)
    ids = parse_point_ids(required(body, "ids"), "ids")
    payload = parse_with_payload(body, default=True)
    vector = parse_with_vector(body, default=False)
    found = [collection.points[i] for i in dict.fromkeys(ids) if i in collection.points]
    return [record(collection, point, payload, vector) for point in found]


def get_point(call: Call) -> JsonObject:
    collection = call.collection
    point_id = parse_path_point_id(call.params["id"])
    point = collection.points.get(point_id)
    if point is None:
        raise point_missing(point_id)
    return record(collection, point, True, True)


def _filtered(collection: Collection, body: JsonObject) -> list[Point]:
    raw = body.get("filter")
    points = sorted(collection.points.values(), key=lambda p: id_sort_key(p.id))
    if raw is None:
        return points
    check = compile_filter(raw)
    return [p for p in points if check(p.id, p.payload)]


def scroll_points(call: Call) -> JsonObject:
    collection = call.collection
    body = body_object(call.body if call.body is not None else {})
    if body.get("order_by") is not None:
        raise unsupported("scroll with order_by")
    limit = opt_int(body, "limit", default=10, minimum=1)
    payload = parse_with_payload(body, default=True)
    vector = parse_with_vector(body, default=False)
    points = _filtered(collection, body)
    if body.get("offset") is not None:
        start = id_sort_key(parse_point_id(body["offset"]))
        points = [p for p in points if id_sort_key(p.id) >= start]
    page, rest = points[:limit], points[limit:]
    return {
        "points": [record(collection, p, payload, vector) for p in page],
        "next_page_offset": rest[0].id if rest else None,
    }


def count_points(call: Call) -> JsonObject:
    collection = call.collection
    body = body_object(call.body if call.body is not None else {})
    return {"count": len(_filtered(collection, body))}  # always exact


# ---------------------------------------------------------------- delete and payload


def _selected(collection: Collection, body: JsonObject, *, must_exist: bool) -> list[Point]:
    """A PointsSelector: {points: [ids]} or {filter: {...}}."""
    if body.get("points") is not None:
        ids = parse_point_ids(body["points"], "points")
        missing = [i for i in ids if i not in collection.points]
        if missing and must_exist:
            raise point_missing(missing[0])
        return [collection.points[i] for i in dict.fromkeys(ids) if i in collection.points]
    if body.get("filter") is not None:
        return _filtered(collection, body)
    raise format_error("Either list of point ids or filter must be provided")


def delete_points(call: Call) -> JsonObject:
    collection = call.collection
    doomed = _selected(collection, body_object(call.body), must_exist=False)
    operation_id = collection.new_operation()
    for point in doomed:
        del collection.points[point.id]
    call.store.save(collection)
    return update_result(operation_id, call)


def _update_payloads(call: Call, overwrite: bool) -> JsonObject:
    collection = call.collection
    body = body_object(call.body)
    new = expect_object(required(body, "payload"), "payload")
    key = opt_str(body, "key")
    path = parse_json_path(key) if key is not None else None
    targets = _selected(collection, body, must_exist=True)
    operation_id = collection.new_operation()
    for point in targets:
        if overwrite and path is None:
            point.payload = {}
        set_payload_at(point.payload, path, new)
        point.version = operation_id
    call.store.save(collection)
    return update_result(operation_id, call)


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
    paths = [parse_json_path(key) for key in keys]
    targets = _selected(collection, body, must_exist=True)
    operation_id = collection.new_operation()
    for point in targets:
        for path in paths:
            remove_payload_at(point.payload, path)
        point.version = operation_id
    call.store.save(collection)
    return update_result(operation_id, call)


def clear_payload(call: Call) -> JsonObject:
    collection = call.collection
    targets = _selected(collection, body_object(call.body), must_exist=True)
    operation_id = collection.new_operation()
    for point in targets:
        point.payload = {}
        point.version = operation_id
    call.store.save(collection)
    return update_result(operation_id, call)
