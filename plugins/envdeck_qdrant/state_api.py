"""What a save, restore and fingerprint of a Qdrant server ask of its REST API: every
request with its own deadline, collections, aliases, points scrolled in id order, and a
collection's config as PUT /collections/NAME takes it back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from envdeck_qdrant.client import QdrantApi, QdrantHttpError, collection_path
from envdeck_qdrant.state_file import SavedCollection
from tui.core.text import safe_text
from tui.plugins.api import InspectorError, Problem

SCROLL_PAGE_MAX = 1_000  # points a page; fewer for long vectors (see page_size)
SCROLL_PAGE_NUMBERS = 256_000  # vector numbers a page, at most

# PUT /collections/NAME takes these of GET's config.params, as they are.
_CREATE_PARAMS = (
    "shard_number",
    "sharding_method",
    "replication_factor",
    "write_consistency_factor",
    "on_disk_payload",
    "sparse_vectors",
)
# ...and these sections of GET's config (the name PUT wants them under, GET's name).
_CREATE_SECTIONS = (
    ("hnsw_config", "hnsw_config"),
    ("wal_config", "wal_config"),
    ("optimizers_config", "optimizer_config"),
    ("quantization_config", "quantization_config"),
    ("strict_mode_config", "strict_mode_config"),
    ("metadata", "metadata"),
)


class StateApi(QdrantApi):
    """QdrantApi with a deadline a request, not a call: a save or restore of many points
    takes as long as it takes, but every single request still gets `target.timeout`."""

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self.restart_deadline()
        return super().request(method, path, body)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self._result(self.request("PUT", path, body))


def aliases_of(api: QdrantApi) -> list[tuple[str, str]] | None:
    """(alias, collection) pairs, sorted; None when the server has no aliases API."""
    try:
        result = api.get("/aliases")
    except QdrantHttpError as error:
        if error.status == 404 and error.qdrant_message is None:  # no such route
            return None
        raise
    items = result.get("aliases") if isinstance(result, dict) else None
    if not isinstance(items, list):
        raise InspectorError(Problem.ERROR, "Qdrant listed its aliases oddly")
    return sorted(
        (str(item.get("alias_name")), str(item.get("collection_name")))
        for item in items
        if isinstance(item, dict)
    )


def scroll_page(api: QdrantApi, path: str, limit: int, offset: Any) -> tuple[list[Any], Any]:
    body: dict[str, Any] = {"limit": limit, "with_payload": True, "with_vector": True}
    if offset is not None:
        body["offset"] = offset
    result = api.post(path, body)
    points = result.get("points") if isinstance(result, dict) else None
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        raise InspectorError(Problem.ERROR, "Qdrant answered a scroll without points")
    following = result.get("next_page_offset")
    if following is not None and (not points or following == offset):
        raise InspectorError(Problem.ERROR, "Qdrant's scroll does not move on")
    return points, following


def scroll_points(api: QdrantApi, name: str, page: int) -> Iterator[dict[str, Any]]:
    """Every point of `name`, in id order, with vectors and payload."""
    path = collection_path(name, "points", "scroll")
    offset: Any = None
    while True:
        records, offset = scroll_page(api, path, page, offset)
        yield from records
        if offset is None:
            return


def exact_count(api: QdrantApi, name: str) -> int:
    result = api.post(collection_path(name, "points", "count"), {"exact": True})
    count = result.get("count") if isinstance(result, dict) else None
    if not isinstance(count, int):
        raise InspectorError(Problem.ERROR, f"Qdrant did not count {safe_text(name)}")
    return count


def page_size(info: dict[str, Any]) -> int:
    """Points a scroll page: 1,000, fewer when the vectors are long (pages stay a few MB)."""
    vectors = _params(info).get("vectors")
    if not isinstance(vectors, dict):
        return SCROLL_PAGE_MAX
    # One unnamed vector's params, or named ones' (a vector may be named "size").
    unnamed = isinstance(vectors.get("size"), int)
    specs = [vectors] if unnamed else [v for v in vectors.values() if isinstance(v, dict)]
    sizes = [spec.get("size") for spec in specs]
    numbers = sum(size for size in sizes if isinstance(size, int)) or 1
    return max(16, min(SCROLL_PAGE_MAX, SCROLL_PAGE_NUMBERS // numbers))


def recreate_collection(api: StateApi, collection: SavedCollection) -> None:
    path = collection_path(collection.name)
    api.delete(path)
    if api.put(path, collection.create) is not True:
        raise InspectorError(
            Problem.ERROR, f"Qdrant did not create collection {safe_text(collection.name)}"
        )
    for key, schema in collection.indexes.items():
        api.put(path + "/index?wait=true", {"field_name": key, "field_schema": schema})


# What is saved of a collection.


def _config(info: dict[str, Any]) -> dict[str, Any]:
    config = info.get("config")
    return config if isinstance(config, dict) else {}


def _params(info: dict[str, Any]) -> dict[str, Any]:
    params = _config(info).get("params")
    return params if isinstance(params, dict) else {}


def create_body(info: dict[str, Any]) -> dict[str, Any]:
    """The PUT /collections/NAME body that makes a collection configured as `info` says."""
    config, params = _config(info), _params(info)
    body: dict[str, Any] = {"vectors": params.get("vectors", {})}
    for key in _CREATE_PARAMS:
        if params.get(key) is not None:
            body[key] = params[key]
    for put_name, get_name in _CREATE_SECTIONS:
        if config.get(get_name) is not None:
            body[put_name] = config[get_name]
    return body


def payload_indexes(info: dict[str, Any]) -> dict[str, Any]:
    """Payload indexes as PUT .../index wants their `field_schema`: params, else the type."""
    schema = info.get("payload_schema")
    indexes: dict[str, Any] = {}
    for key, index in sorted((schema or {}).items()):
        if isinstance(index, dict):
            indexes[str(key)] = index.get("params") or index.get("data_type")
    return indexes


def essential_config(info: dict[str, Any]) -> dict[str, Any]:
    """What makes two collections the same for the fingerprint (not tuning, not counts)."""
    config, params = _config(info), _params(info)
    return {
        "vectors": params.get("vectors"),
        "sparse_vectors": params.get("sparse_vectors"),
        "quantization": config.get("quantization_config"),
        "indexes": payload_indexes(info),
    }


def saved_point(record: dict[str, Any]) -> dict[str, Any]:
    """A scrolled record as it is saved and upserted: a point without vectors or payload
    reads back with `{}`, so it is saved so (and fingerprinted so, either way)."""
    vector = record.get("vector")
    payload = record.get("payload")
    return {
        "id": record.get("id"),
        "vector": {} if vector is None else vector,
        "payload": {} if payload is None else payload,
    }
