"""Collection endpoints: create, describe, list, delete, aliases, payload indexes and snapshots."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import qdrant_edge as edge
from standin_points import all_records, output_id, update_result
from standin_store import (
    DEFAULT_HNSW,
    DEFAULT_OPTIMIZER,
    DEFAULT_PARAMS,
    DEFAULT_WAL,
    DISTANCES,
    Call,
    Collection,
    VectorSpec,
    write_atomically,
)
from standin_wire import (
    JsonObject,
    RawReply,
    already_exists,
    bad_input,
    body_object,
    collection_missing,
    engine_error,
    expect_list,
    expect_object,
    format_error,
    not_found,
    opt_str,
    required,
    unsupported,
    validation_error,
)

_FORBIDDEN_NAME_CHARS = '<>:"/\\|?*\0\x1f'
PAYLOAD_TYPES = {
    "keyword": edge.PayloadSchemaType.Keyword,
    "integer": edge.PayloadSchemaType.Integer,
    "float": edge.PayloadSchemaType.Float,
    "geo": edge.PayloadSchemaType.Geo,
    "text": edge.PayloadSchemaType.Text,
    "bool": edge.PayloadSchemaType.Bool,
    "datetime": edge.PayloadSchemaType.Datetime,
    "uuid": edge.PayloadSchemaType.Uuid,
}


# ---------------------------------------------------------------- create


def _check_name(name: str) -> None:
    if not 1 <= len(name) <= 255:
        raise validation_error("name", "must be from 1 to 255 characters", where="path parameters")
    for char in _FORBIDDEN_NAME_CHARS:
        if char in name:
            raise validation_error(
                "name", f'collection name cannot contain "{char}" char', "path parameters"
            )


def _vector_spec(raw: Any, field: str) -> VectorSpec:
    params = expect_object(raw, field)
    size = required(params, "size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise format_error(f"invalid value: `{field}.size` {size!r}, expected a nonzero u64")
    if size > 65536:
        raise validation_error(f"{field}.size", f"value {size} invalid, must be from 1 to 65536")
    distance = required(params, "distance")
    if distance not in DISTANCES:
        expected = ", ".join(f"`{d}`" for d in DISTANCES)
        raise format_error(f"unknown variant `{distance}`, expected one of {expected}")
    if params.get("multivector_config") is not None:
        raise unsupported("multivectors")
    extra = {k: v for k, v in params.items() if k not in ("size", "distance") and v is not None}
    return VectorSpec(size, distance, extra)


def _vectors_config(raw: Any) -> tuple[dict[str, VectorSpec], bool]:
    """A single unnamed `{size, distance}` or a map of named vector params."""
    if raw is None:
        return {}, True
    config = expect_object(raw, "vectors")
    if "size" in config or "distance" in config:
        return {"": _vector_spec(config, "vectors")}, False
    return {name: _vector_spec(spec, f"vectors.{name}") for name, spec in config.items()}, True


def _merged(defaults: JsonObject, diff: Any, field: str) -> JsonObject:
    if diff is None:
        return dict(defaults)
    return {**defaults, **{k: v for k, v in expect_object(diff, field).items() if v is not None}}


def create_collection(call: Call) -> bool:
    name = call.params["collection"]
    _check_name(name)
    body = body_object(call.body)
    if body.get("sparse_vectors"):
        raise unsupported("sparse vectors")
    if body.get("init_from") is not None:
        raise unsupported("init_from")
    vectors, named = _vectors_config(body.get("vectors"))
    params = {k: body.get(k) if body.get(k) is not None else v for k, v in DEFAULT_PARAMS.items()}
    config: JsonObject = {
        "params": params,
        "hnsw_config": _merged(DEFAULT_HNSW, body.get("hnsw_config"), "hnsw_config"),
        "optimizer_config": _merged(
            DEFAULT_OPTIMIZER, body.get("optimizers_config"), "optimizers_config"
        ),
        "wal_config": _merged(DEFAULT_WAL, body.get("wal_config"), "wal_config"),
        "quantization_config": body.get("quantization_config"),
    }
    if name in call.store.collections:
        raise already_exists(f"Collection `{name}` already exists!")
    if name in call.store.aliases:
        raise bad_input(
            f"Can't create collection with name {name}. Alias with the same name already exists"
        )
    call.store.add(Collection(name, vectors, named, config))
    return True


def update_collection(call: Call) -> bool:
    """PATCH: config changes are recorded; nothing here depends on them."""
    collection = call.collection
    body = body_object(call.body)
    config = collection.config
    config["hnsw_config"] = _merged(config["hnsw_config"], body.get("hnsw_config"), "hnsw_config")
    config["optimizer_config"] = _merged(
        config["optimizer_config"], body.get("optimizers_config"), "optimizers_config"
    )
    config["params"] = _merged(config["params"], body.get("params"), "params")
    if "quantization_config" in body:
        config["quantization_config"] = body["quantization_config"]
    call.store.save(collection)
    return True


# ---------------------------------------------------------------- read and delete


def list_collections(call: Call) -> JsonObject:
    return {"collections": [{"name": name} for name in call.store.collections]}


def collection_exists(call: Call) -> JsonObject:
    # Qdrant answers through `get_collection`, which follows aliases.
    return {"exists": call.store.resolve(call.params["collection"]) in call.store.collections}


def get_collection(call: Call) -> JsonObject:
    collection = call.collection
    info = collection.engine.info()
    config = collection.config
    indexed = info.payload_schema
    return {
        "status": "green",
        "optimizer_status": "ok",
        "vectors_count": _vectors_count(collection),
        "indexed_vectors_count": info.indexed_vectors_count,
        "points_count": info.points_count,
        "segments_count": info.segments_count,
        "config": {
            "params": {"vectors": collection.vectors_config(), **config["params"]},
            "hnsw_config": config["hnsw_config"],
            "optimizer_config": config["optimizer_config"],
            "wal_config": config["wal_config"],
            "quantization_config": config["quantization_config"],
        },
        "payload_schema": {
            key: {**schema, "points": indexed[key].points if key in indexed else 0}
            for key, schema in collection.payload_schema.items()
        },
    }


def _vectors_count(collection: Collection) -> int:
    """Stored vectors, all names together (a point may lack a named vector)."""
    if not collection.named:
        return collection.engine.info().points_count
    return sum(
        collection.engine.count(
            edge.CountRequest(filter=edge.Filter(must=[edge.HasVectorCondition(name)]))
        )
        for name in collection.vectors
    )


def delete_collection(call: Call) -> bool:
    # Qdrant answers `false`, not 404, for a collection that is not there.
    return call.store.remove(call.params["collection"])


# ---------------------------------------------------------------- aliases


def _alias(alias: str, collection: str) -> JsonObject:
    return {"alias_name": alias, "collection_name": collection}


def list_aliases(call: Call) -> JsonObject:
    """GET /aliases, or GET /collections/{name}/aliases: Qdrant looks the name up as it
    is (not through an alias) and answers an empty list for a collection it does not have."""
    pairs = sorted(call.store.aliases.items(), key=lambda pair: (pair[1], pair[0]))
    if "collection" in call.params:
        pairs = [pair for pair in pairs if pair[1] == call.params["collection"]]
    return {"aliases": [_alias(alias, collection) for alias, collection in pairs]}


_ALIAS_ACTIONS = {
    "create_alias": ("collection_name", "alias_name"),
    "delete_alias": ("alias_name",),
    "rename_alias": ("old_alias_name", "new_alias_name"),
}


def _alias_action(raw: Any, field: str) -> tuple[str, JsonObject]:
    action = expect_object(raw, field)
    for kind, names in _ALIAS_ACTIONS.items():
        if kind in action:
            params = expect_object(action[kind], f"{field}.{kind}")
            for key in names:
                if not isinstance(required(params, key), str):
                    raise format_error(f"`{field}.{kind}.{key}` must be a string")
            return kind, params
    raise format_error("data did not match any variant of untagged enum AliasOperations")


def update_aliases(call: Call) -> bool:
    """POST /collections/aliases: the actions in order. As in Qdrant, a body that does not
    parse changes nothing, and an action that fails keeps the ones before it."""
    body = body_object(call.body)
    raw_actions = expect_list(required(body, "actions"), "actions")
    actions = [_alias_action(raw, f"actions[{i}]") for i, raw in enumerate(raw_actions)]
    store = call.store
    before = dict(store.aliases)
    try:
        for kind, params in actions:
            if kind == "create_alias":
                collection, alias = params["collection_name"], params["alias_name"]
                if collection not in store.collections:
                    raise collection_missing(collection)
                if alias in store.collections:
                    raise already_exists(f"Collection `{alias}` already exists!")
                store.aliases[alias] = collection
            elif kind == "delete_alias":
                store.aliases.pop(params["alias_name"], None)
            else:
                old, new = params["old_alias_name"], params["new_alias_name"]
                if old not in store.aliases:
                    raise not_found(f"Alias {old} does not exists!")
                store.aliases[new] = store.aliases.pop(old)
    finally:
        if store.aliases != before:
            store.save_aliases()
    return True


# ---------------------------------------------------------------- payload indexes


def _infer_type(collection: Collection, key: str) -> str:
    """The type of the first value at `key` (Qdrant infers it when none is given)."""
    request = edge.ScrollRequest(
        limit=1,
        filter=edge.Filter(must_not=[edge.IsEmptyCondition(key)]),
        with_payload=edge.PayloadSelector.Include([key]),
    )
    try:
        points, _ = collection.engine.scroll(request)
    except Exception as error:
        raise engine_error(error) from None
    values: list[Any] = [points[0].payload] if points else []
    for part in key.replace("[]", "").split("."):
        values = [v.get(part) for v in values if isinstance(v, dict)]
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool):
                return "bool"
            if isinstance(item, int):
                return "integer"
            if isinstance(item, float):
                return "float"
            if isinstance(item, str):
                return "keyword"
    raise bad_input(f"Unable to infer type for the field '{key}'. Please specify `field_type`")


def create_index(call: Call) -> JsonObject:
    collection = call.collection
    body = body_object(call.body)
    key = opt_str(body, "field_name")
    if key is None:
        raise format_error("missing field `field_name`")
    schema = body.get("field_schema")
    info: JsonObject
    if schema is None:
        info = {"data_type": _infer_type(collection, key)}
    elif isinstance(schema, str):
        info = {"data_type": schema}
    else:
        params = expect_object(schema, "field_schema")
        info = {"data_type": params.get("type"), "params": params}
    kind = PAYLOAD_TYPES.get(str(info["data_type"]))
    if kind is None:
        raise format_error(f"unknown payload field type {info['data_type']!r}")
    # The engine indexes by type; index params are kept as given and reported back.
    collection.update(edge.UpdateOperation.create_field_index(key, kind))
    collection.payload_schema[key] = info
    return update_result(collection, call)


def delete_index(call: Call) -> JsonObject:
    collection = call.collection
    field = call.params["field"]
    collection.update(edge.UpdateOperation.delete_field_index(field))
    collection.payload_schema.pop(field, None)
    return update_result(collection, call)


# ---------------------------------------------------------------- snapshots
# A snapshot here is the collection's JSON document: an export, not a Qdrant archive.


def _describe_snapshot(data: bytes, name: str, created: datetime) -> JsonObject:
    return {
        "name": name,
        "creation_time": created.strftime("%Y-%m-%dT%H:%M:%S"),
        "size": len(data),
        "checksum": hashlib.sha256(data).hexdigest(),
    }


def create_snapshot(call: Call) -> JsonObject:
    collection = call.collection
    now = datetime.now(UTC)
    name = f"{collection.name}-standin-{now.strftime('%Y-%m-%d-%H-%M-%S-%f')}.snapshot"
    data = json.dumps(_export(collection), separators=(",", ":")).encode()
    write_atomically(call.store.snapshot_dir(collection.name) / name, data)
    return _describe_snapshot(data, name, now)


def list_snapshots(call: Call) -> list[JsonObject]:
    folder = call.store.snapshot_dir(call.collection.name)
    files = sorted(folder.glob("*.snapshot")) if folder.is_dir() else []
    return [
        _describe_snapshot(
            path.read_bytes(), path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC)
        )
        for path in files
    ]


def _export(collection: Collection) -> JsonObject:
    points = [
        {"id": output_id(p.id), "vector": p.vector, "payload": p.payload}
        for p in all_records(collection)
    ]
    return {**collection.to_meta(), "points": points}


def _snapshot_bytes(call: Call) -> tuple[str, bytes]:
    folder = call.store.snapshot_dir(call.collection.name)
    name = call.params["snapshot"]
    path = folder / name
    # Only a plain file name inside the collection's folder: no path traversal.
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise not_found(f"Snapshot file `{name}` does not exist")
    return name, path.read_bytes()


def download_snapshot(call: Call) -> RawReply:
    return RawReply("application/octet-stream", _snapshot_bytes(call)[1])


def delete_snapshot(call: Call) -> bool:
    name, _ = _snapshot_bytes(call)
    (call.store.snapshot_dir(call.collection.name) / name).unlink()
    return True
