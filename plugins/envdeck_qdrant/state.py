"""Saved states of a Qdrant server, for envdeck's reset and snapshots (`StatefulPlugin`).

A state is one file of our own, `qdrant-state.jsonl`, in the state's folder: JSON lines,
each an object with a single key saying what the line is.

    {"header": {"format": "envdeck-qdrant-state", "version": 1, "qdrant": "1.12.5"}}
    {"collection": {"name": ..., "create": {PUT /collections/NAME body}, "indexes": {...}}}
    {"point": {"id": ..., "vector": ..., "payload": ...}}   one a point, in id order
    ...                                                      then the next collection
    {"aliases": [{"alias_name": ..., "collection_name": ...}]}
    {"end": {"collections": {NAME: POINTS}, "points": N, "sha256": HEX}}

`sha256` covers every byte before the end line, so a file that was cut short, edited or
damaged is refused before anything on the server changes. The file is written while the
points are scrolled (never held in memory as a whole) under a temporary name, then
renamed; a restore reads it twice: once to check all of it, once to upload it.

Only Qdrant's REST API is used (no Qdrant snapshots, which the offline stand-in cannot
recover), so this works the same against the official server and the stand-in. A
collection is recreated from what `GET /collections/NAME` reports (vectors, sparse
vectors, HNSW, WAL, optimizer and quantization config, payload indexes). Not saved: the
shard keys of custom sharding, and anything outside collections and aliases (API keys,
cluster state, Qdrant's own snapshots).

A fingerprint hashes, per collection (in name order), its name and essential config
(vectors, sparse vectors, quantization, payload indexes), then its points in id order
(id and payload as canonical JSON: sorted keys, fixed separators; dense vectors as their
float64 values), then its point count; and last the aliases. It is exact for collections
of up to FINGERPRINT_POINTS points. Above that only the first FINGERPRINT_POINTS points
(in id order) are hashed, plus the exact count: the work stays bounded, and a change to
a later point that keeps the count is not seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from envdeck_qdrant.client import QdrantApi, QdrantHttpError, collection_path
from envdeck_qdrant.views import collection_info, collection_names
from tui.core.text import safe_text
from tui.plugins.api import InspectorError, Problem, SavedState, ServiceTarget, StateRef

STATE_FILE = "qdrant-state.jsonl"
FORMAT = "envdeck-qdrant-state"
VERSION = 1
FINGERPRINT_POINTS = 100_000  # per collection: above it, the first ones and the count
SCROLL_PAGE_MAX = 1_000  # points a page; fewer for long vectors (see _page_size)
SCROLL_PAGE_NUMBERS = 256_000  # vector numbers a page, at most
# Fewer, larger batches: the offline stand-in rewrites a collection's file on every write.
UPSERT_BATCH_POINTS = 2_000
UPSERT_BATCH_BYTES = 8 << 20  # well under Qdrant's default 32 MB request limit

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


# ---------------------------------------------------------------- the plugin's calls


def save_state(target: ServiceTarget, ref: StateRef) -> SavedState:
    final = ref.folder / STATE_FILE
    partial = ref.folder / f".{STATE_FILE}.partial"
    try:
        with _Api(target) as api, partial.open("wb") as handle:
            writer = _Writer(handle)
            counts, aliases, fingerprint = _export(api, writer)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
        size = final.stat().st_size
    except OSError as error:
        raise InspectorError(
            Problem.ERROR, f"cannot write {final}: {error.strerror or error}"
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return SavedState(
        location=f"1 file in {ref.folder}",
        size_bytes=size,
        summary=_summary(counts, len(aliases)),
        fingerprint=fingerprint,
    )


def restore_state(target: ServiceTarget, ref: StateRef) -> str:
    path = ref.folder / STATE_FILE
    with _open_state(path) as handle:
        contents = _check_file(path, handle)  # before anything on the server changes
        handle.seek(0)  # the same open file: a state saved again meanwhile cannot mix in
        _replace_data(target, contents, _entries(path, handle))
    return "restored " + _summary(contents.counts, len(contents.aliases))


def _replace_data(
    target: ServiceTarget, contents: _Contents, entries: Iterator[_Collection | _Points]
) -> None:
    with _Api(target) as api:
        present = collection_names(api)
        present_aliases = _aliases(api)
        if present_aliases is None and contents.aliases:
            raise InspectorError(
                Problem.ERROR, "this Qdrant has no aliases API, and the saved state has aliases"
            )
        if present_aliases:
            # First: a saved collection may be named like an alias of the moment.
            deletions = [{"delete_alias": {"alias_name": alias}} for alias, _ in present_aliases]
            api.post("/collections/aliases", {"actions": deletions})
        for name in present:
            if name not in contents.counts:
                api.delete(collection_path(name))
        for entry in entries:
            if isinstance(entry, _Collection):
                _recreate(api, entry)
            else:
                api.put(
                    collection_path(entry.collection, "points") + "?wait=true",
                    {"points": entry.points},
                )
        if contents.aliases:
            creations = [
                {"create_alias": {"collection_name": name, "alias_name": alias}}
                for alias, name in contents.aliases
            ]
            api.post("/collections/aliases", {"actions": creations})


def state_exists(target: ServiceTarget, ref: StateRef) -> bool:
    """Whether `ref` holds a state file that starts like ours (checked in full on restore)."""
    try:
        with (ref.folder / STATE_FILE).open("rb") as handle:
            first = handle.readline(4096)
    except OSError:
        return False
    try:
        header = json.loads(first).get("header")
    except (ValueError, AttributeError):
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT


def delete_state(target: ServiceTarget, ref: StateRef) -> None:
    for name in (STATE_FILE, f".{STATE_FILE}.partial"):
        try:
            (ref.folder / name).unlink(missing_ok=True)
        except OSError as error:
            raise InspectorError(
                Problem.ERROR, f"cannot delete {ref.folder / name}: {error.strerror}"
            ) from None


def fingerprint(target: ServiceTarget) -> str:
    digest = _Fingerprint()
    with _Api(target) as api:
        for name in collection_names(api):
            info = collection_info(api, name)
            digest.collection(name, info)
            path = collection_path(name, "points", "scroll")
            page = _page_size(info)
            offset: Any = None
            hashed = 0
            while True:
                limit = min(page, FINGERPRINT_POINTS - hashed)
                if limit <= 0:
                    break
                records, offset = _scroll_page(api, path, limit, offset)
                for record in records:
                    digest.point(_point(record))
                hashed += len(records)
                if offset is None:
                    break
            count = hashed if offset is None else _exact_count(api, name)
            digest.end_collection(count)
        digest.aliases(_aliases(api) or [])
    return digest.hexdigest()


# ---------------------------------------------------------------- REST


class _Api(QdrantApi):
    """QdrantApi with a deadline a request, not a call: a save or restore of many points
    takes as long as it takes, but every single request still gets `target.timeout`."""

    def __enter__(self) -> _Api:
        return self

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self._deadline = time.monotonic() + self._target.timeout
        return super().request(method, path, body)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self._result(self.request("PUT", path, body))


def _aliases(api: QdrantApi) -> list[tuple[str, str]] | None:
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


def _scroll_page(api: QdrantApi, path: str, limit: int, offset: Any) -> tuple[list[Any], Any]:
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


def _scroll(api: QdrantApi, name: str, page: int) -> Iterator[dict[str, Any]]:
    """Every point of `name`, in id order, with vectors and payload."""
    path = collection_path(name, "points", "scroll")
    offset: Any = None
    while True:
        records, offset = _scroll_page(api, path, page, offset)
        yield from records
        if offset is None:
            return


def _exact_count(api: QdrantApi, name: str) -> int:
    result = api.post(collection_path(name, "points", "count"), {"exact": True})
    count = result.get("count") if isinstance(result, dict) else None
    if not isinstance(count, int):
        raise InspectorError(Problem.ERROR, f"Qdrant did not count {safe_text(name)}")
    return count


def _page_size(info: dict[str, Any]) -> int:
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


def _recreate(api: _Api, collection: _Collection) -> None:
    path = collection_path(collection.name)
    api.delete(path)
    if api.put(path, collection.create) is not True:
        raise InspectorError(
            Problem.ERROR, f"Qdrant did not create collection {safe_text(collection.name)}"
        )
    for key, schema in collection.indexes.items():
        api.put(path + "/index?wait=true", {"field_name": key, "field_schema": schema})


# ---------------------------------------------------------------- what is saved


def _config(info: dict[str, Any]) -> dict[str, Any]:
    config = info.get("config")
    return config if isinstance(config, dict) else {}


def _params(info: dict[str, Any]) -> dict[str, Any]:
    params = _config(info).get("params")
    return params if isinstance(params, dict) else {}


def _create_body(info: dict[str, Any]) -> dict[str, Any]:
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


def _indexes(info: dict[str, Any]) -> dict[str, Any]:
    """Payload indexes as PUT .../index wants their `field_schema`: params, else the type."""
    schema = info.get("payload_schema")
    indexes: dict[str, Any] = {}
    for key, index in sorted((schema or {}).items()):
        if isinstance(index, dict):
            indexes[str(key)] = index.get("params") or index.get("data_type")
    return indexes


def _essential(info: dict[str, Any]) -> dict[str, Any]:
    """What makes two collections the same for the fingerprint (not tuning, not counts)."""
    config, params = _config(info), _params(info)
    return {
        "vectors": params.get("vectors"),
        "sparse_vectors": params.get("sparse_vectors"),
        "quantization": config.get("quantization_config"),
        "indexes": _indexes(info),
    }


def _point(record: dict[str, Any]) -> dict[str, Any]:
    """A scrolled record as it is saved and upserted: a point without vectors or payload
    reads back with `{}`, so it is saved so (and fingerprinted so, either way)."""
    vector = record.get("vector")
    payload = record.get("payload")
    return {
        "id": record.get("id"),
        "vector": {} if vector is None else vector,
        "payload": {} if payload is None else payload,
    }


def _summary(counts: dict[str, int], aliases: int) -> str:
    collections = len(counts)
    points = sum(counts.values())
    text = (
        f"{collections:,} collection{'' if collections == 1 else 's'}, "
        f"{points:,} point{'' if points == 1 else 's'}"
    )
    if aliases:
        text += f", {aliases:,} alias{'' if aliases == 1 else 'es'}"
    return text


def _json_line(value: Any) -> bytes:
    # ASCII only: every string (even one Python alone would accept) survives the trip.
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _vector_bytes(vector: Any) -> bytes:
    """A point's vectors, framed so that no two differ only in where one ends: a dense
    vector as its doubles (writing millions of floats as decimals is the slow part), named
    vectors by sorted name, anything else (sparse, multi) as canonical JSON."""
    if isinstance(vector, list):
        try:
            packed = struct.pack(f"<{len(vector)}d", *vector)
        except (struct.error, OverflowError):
            pass  # a multivector: a list of lists
        else:
            return b"d%d:" % len(packed) + packed
    if isinstance(vector, dict):
        parts = [b"n%d:" % len(vector)]
        for name in sorted(vector):
            key = _canonical(name)
            parts += [b"%d:" % len(key), key, _vector_bytes(vector[name])]
        return b"".join(parts)
    data = _canonical(vector)
    return b"j%d:" % len(data) + data


class _Fingerprint:
    def __init__(self) -> None:
        self._hash = hashlib.sha256(b"envdeck-qdrant-fingerprint/1\n")
        self._in_collection = 0

    def collection(self, name: str, info: dict[str, Any]) -> None:
        self._hash.update(_canonical(["collection", name, _essential(info)]) + b"\n")
        self._in_collection = 0

    def point(self, point: dict[str, Any]) -> None:
        if self._in_collection < FINGERPRINT_POINTS:
            self._hash.update(_canonical(["point", point["id"], point["payload"]]) + b"\n")
            self._hash.update(_vector_bytes(point["vector"]))
        self._in_collection += 1

    def end_collection(self, count: int) -> None:
        self._hash.update(_canonical(["count", count]) + b"\n")

    def aliases(self, aliases: list[tuple[str, str]]) -> None:
        self._hash.update(_canonical(["aliases", sorted(aliases)]) + b"\n")

    def hexdigest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


class _Writer:
    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._hash = hashlib.sha256()

    def line(self, value: Any) -> None:
        data = _json_line(value)
        self._hash.update(data)
        self._handle.write(data)

    def end(self, counts: dict[str, int]) -> None:
        total = sum(counts.values())
        end = {"collections": counts, "points": total, "sha256": self._hash.hexdigest()}
        self._handle.write(_json_line({"end": end}))


def _export(api: _Api, writer: _Writer) -> tuple[dict[str, int], list[tuple[str, str]], str]:
    """Write every collection, its points and the aliases; the counts, aliases and the
    fingerprint of what was written (the one `fingerprint` answers for the same data)."""
    version = _server_version(api)
    names = collection_names(api)
    digest = _Fingerprint()
    writer.line({"header": {"format": FORMAT, "version": VERSION, "qdrant": version}})
    counts: dict[str, int] = {}
    for name in names:
        info = collection_info(api, name)
        digest.collection(name, info)
        create = _create_body(info)
        writer.line({"collection": {"name": name, "create": create, "indexes": _indexes(info)}})
        count = 0
        for record in _scroll(api, name, _page_size(info)):
            point = _point(record)
            writer.line({"point": point})
            digest.point(point)
            count += 1
        digest.end_collection(count)
        counts[name] = count
    aliases = _aliases(api) or []
    digest.aliases(aliases)
    writer.line({"aliases": [{"alias_name": a, "collection_name": c} for a, c in aliases]})
    writer.end(counts)
    return counts, aliases, digest.hexdigest()


def _server_version(api: QdrantApi) -> str:
    """Qdrant's version, for the header (a later reader may want to know); the first
    request of a save, so a server that is down or silent fails it at once."""
    try:
        root = api.request("GET", "/")
    except QdrantHttpError:
        return "unknown"
    version = root.get("version") if isinstance(root, dict) else None
    return version if isinstance(version, str) else "unknown"


# ---------------------------------------------------------------- reading a state file


@dataclass(frozen=True)
class _Collection:
    name: str
    create: dict[str, Any]
    indexes: dict[str, Any]


@dataclass(frozen=True)
class _Points:
    collection: str
    points: list[dict[str, Any]]


@dataclass
class _Contents:
    counts: dict[str, int] = field(default_factory=dict)  # collection -> points, in file order
    aliases: list[tuple[str, str]] = field(default_factory=list)


class _BadFile(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _entry(line: bytes) -> tuple[str, Any]:
    """One line's kind and value."""
    try:
        value = json.loads(line, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _BadFile("a line is not JSON") from None
    if not line.endswith(b"\n") or not isinstance(value, dict) or len(value) != 1:
        raise _BadFile("a line is not one of ours")
    ((kind, content),) = value.items()
    return kind, content


def _check_point(point: Any) -> None:
    if not isinstance(point, dict) or set(point) != {"id", "vector", "payload"}:
        raise _BadFile("a point is malformed")
    point_id = point["id"]
    if not (isinstance(point_id, str) or (type(point_id) is int and point_id >= 0)):
        raise _BadFile("a point's id is neither an integer nor a UUID")
    if not isinstance(point["vector"], list | dict) or not isinstance(point["payload"], dict):
        raise _BadFile("a point's vector or payload is malformed")


def _check_collection(value: Any, known: dict[str, int]) -> str:
    if not isinstance(value, dict) or set(value) != {"name", "create", "indexes"}:
        raise _BadFile("a collection is malformed")
    name = value["name"]
    if not isinstance(name, str) or name in known:
        raise _BadFile("a collection's name is missing or repeated")
    if not isinstance(value["create"], dict) or not isinstance(value["indexes"], dict):
        raise _BadFile(f"collection {name!r} is malformed")
    return name


def _check_aliases(value: Any, known: dict[str, int]) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise _BadFile("the aliases are malformed")
    aliases = []
    for item in value:
        if not isinstance(item, dict) or item.get("collection_name") not in known:
            raise _BadFile("an alias is malformed or names a collection that is not saved")
        if not isinstance(item.get("alias_name"), str):
            raise _BadFile("an alias is malformed")
        aliases.append((str(item["alias_name"]), str(item["collection_name"])))
    return aliases


def _open_state(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InspectorError(Problem.ERROR, f"no saved Qdrant state: {path} is missing") from None
    except OSError as error:
        raise InspectorError(Problem.ERROR, f"cannot read {path}: {error.strerror}") from None


def _check_file(path: Path, handle: IO[bytes]) -> _Contents:
    """What the state file holds, once every line of it has been checked; InspectorError
    when it is cut short, damaged or not ours."""
    try:
        return _check_lines(handle)
    except OSError as error:
        raise InspectorError(Problem.ERROR, f"cannot read {path}: {error.strerror}") from None
    except _BadFile as error:
        raise InspectorError(
            Problem.ERROR,
            f"{path} is not a usable Qdrant state ({error}); nothing was changed",
        ) from None


def _check_lines(handle: IO[bytes]) -> _Contents:
    digest = hashlib.sha256()
    contents = _Contents()
    current: str | None = None
    aliases_seen = False
    end: Any = None
    number = 0
    for number, line in enumerate(handle, 1):
        if end is not None:
            raise _BadFile(f"line {number} follows the end line")
        kind, value = _entry(line)
        if number == 1:
            _check_header(kind, value)
        elif kind == "end":
            end = value
            continue
        elif kind == "collection" and not aliases_seen:
            current = _check_collection(value, contents.counts)
            contents.counts[current] = 0
        elif kind == "point" and current is not None and not aliases_seen:
            _check_point(value)
            contents.counts[current] += 1
        elif kind == "aliases" and not aliases_seen:
            contents.aliases = _check_aliases(value, contents.counts)
            aliases_seen = True
        else:
            raise _BadFile(f"line {number} is out of place or unknown")
        digest.update(line)
    if number == 0:
        raise _BadFile("the file is empty")
    if end is None or not aliases_seen:
        raise _BadFile("the file ends early: was the save interrupted?")
    expected = {
        "collections": contents.counts,
        "points": sum(contents.counts.values()),
        "sha256": digest.hexdigest(),
    }
    if end != expected:
        raise _BadFile("its checksum or counts do not match its contents: it was changed")
    return contents


def _check_header(kind: str, value: Any) -> None:
    if kind != "header" or not isinstance(value, dict) or value.get("format") != FORMAT:
        raise _BadFile("it is not an envdeck Qdrant state")
    version = value.get("version")
    if version != VERSION:
        raise _BadFile(f"it is version {version!r} of the format; this envdeck reads {VERSION}")


def _entries(path: Path, handle: IO[bytes]) -> Iterator[_Collection | _Points]:
    """The checked file's collections, each followed by its points in upsert batches."""
    batch: list[dict[str, Any]] = []
    size = 0
    current = ""
    try:
        for line in handle:
            kind, value = _entry(line)
            if kind == "point":
                batch.append(value)
                size += len(line)
                if len(batch) >= UPSERT_BATCH_POINTS or size >= UPSERT_BATCH_BYTES:
                    yield _Points(current, batch)
                    batch, size = [], 0
                continue
            if batch:
                yield _Points(current, batch)
                batch, size = [], 0
            if kind == "collection":
                current = value["name"]
                yield _Collection(current, value["create"], value["indexes"])
    except (OSError, _BadFile) as error:  # the file was overwritten in place since the check
        raise InspectorError(Problem.ERROR, f"cannot read {path} again: {error}") from None
