"""Collections and aliases: one Qdrant Edge shard per collection, plus its REST metadata.

Points, payloads, payload indexes, filters, scoring and ordering are Qdrant's own engine
(qdrant-edge-py). What Qdrant keeps outside a shard, the collection's REST-level config
(vector params as given, HNSW, optimizer, WAL and quantization config, payload index
params, the operation counter), is a small JSON file beside the shard. Every write is
flushed before it is answered, so a restarted container finds what it was told.

Layout under --storage: standin/edge/<stem>/collection.json and .../shard/,
standin/aliases.json, standin/snapshots/<stem>/.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import qdrant_edge as edge
from standin_wire import ApiError, JsonObject, collection_missing, engine_error

log = logging.getLogger("qdrant_standin")

DISTANCES = ("Cosine", "Euclid", "Dot", "Manhattan")
META_FORMAT = "envdeck-qdrant-standin-edge/1"
ALIASES_FORMAT = "envdeck-qdrant-standin-aliases/1"
LEGACY_FORMAT = "envdeck-qdrant-standin/1"  # the hand-written stand-in's JSON files

# Defaults a fresh Qdrant 1.12 reports in a collection's config (config/config.yaml).
DEFAULT_HNSW: JsonObject = {
    "m": 16,
    "ef_construct": 100,
    "full_scan_threshold": 10000,
    "max_indexing_threads": 0,
    "on_disk": False,
}
DEFAULT_OPTIMIZER: JsonObject = {
    "deleted_threshold": 0.2,
    "vacuum_min_vector_number": 1000,
    "default_segment_number": 0,
    "max_segment_size": None,
    "memmap_threshold": None,
    "indexing_threshold": 20000,
    "flush_interval_sec": 5,
    "max_optimization_threads": None,
}
DEFAULT_WAL: JsonObject = {"wal_capacity_mb": 32, "wal_segments_ahead": 0}
DEFAULT_PARAMS: JsonObject = {
    "shard_number": 1,
    "replication_factor": 1,
    "write_consistency_factor": 1,
    "on_disk_payload": True,
}

_DATATYPES = {
    "float32": edge.VectorStorageDatatype.Float32,
    "float16": edge.VectorStorageDatatype.Float16,
    "uint8": edge.VectorStorageDatatype.Uint8,
}


@dataclass
class VectorSpec:
    size: int
    distance: str
    extra: JsonObject = field(default_factory=dict)  # on_disk, hnsw_config...: echoed back

    def describe(self) -> JsonObject:
        return {"size": self.size, "distance": self.distance, **self.extra}

    def engine_params(self) -> edge.EdgeVectorParams:
        on_disk = self.extra.get("on_disk")
        return edge.EdgeVectorParams(
            size=self.size,
            distance=getattr(edge.Distance, self.distance),
            on_disk=on_disk if isinstance(on_disk, bool) else None,
            datatype=_DATATYPES.get(str(self.extra.get("datatype"))),
        )


@dataclass
class Collection:
    name: str
    vectors: dict[str, VectorSpec]  # "" alone when created with a single unnamed vector
    named: bool
    config: JsonObject  # params (minus vectors), hnsw, optimizer, wal, quantization
    payload_schema: dict[str, JsonObject] = field(default_factory=dict)  # REST info as given
    next_operation_id: int = 0
    shard: edge.EdgeShard | None = None

    @property
    def engine(self) -> edge.EdgeShard:
        assert self.shard is not None, "a collection is served only with its shard open"
        return self.shard

    def new_operation(self) -> int:
        """Qdrant numbers update operations; UpdateResult reports the number."""
        operation_id = self.next_operation_id
        self.next_operation_id += 1
        return operation_id

    def update(self, operation: edge.UpdateOperation) -> None:
        """Apply one change through the engine and flush it: answered means on disk."""
        try:
            self.engine.update(operation)
        except Exception as error:
            raise engine_error(error) from None
        self.engine.flush()

    def vectors_config(self) -> JsonObject:
        if not self.named:
            return self.vectors[""].describe()
        return {name: spec.describe() for name, spec in self.vectors.items()}

    def engine_config(self) -> edge.EdgeConfig:
        # No WAL: the edge WAL replays an update that failed (e.g. an unknown vector name)
        # on the next load; each update is flushed instead, so disk matches what was served.
        vectors: edge.EdgeVectorParams | dict[str, edge.EdgeVectorParams]
        if self.named:
            vectors = {name: spec.engine_params() for name, spec in self.vectors.items()}
        else:
            vectors = self.vectors[""].engine_params()
        on_disk_payload = self.config["params"].get("on_disk_payload")
        return edge.EdgeConfig(
            vectors=vectors,
            on_disk_payload=on_disk_payload if isinstance(on_disk_payload, bool) else None,
            wal_enabled=False,
        )

    def to_meta(self) -> JsonObject:
        return {
            "format": META_FORMAT,
            "name": self.name,
            "named": self.named,
            "vectors": {name: spec.describe() for name, spec in self.vectors.items()},
            "config": self.config,
            "payload_schema": self.payload_schema,
            "next_operation_id": self.next_operation_id,
        }

    @classmethod
    def from_meta(cls, doc: JsonObject, formats: tuple[str, ...] = (META_FORMAT,)) -> Collection:
        if doc.get("format") not in formats:
            raise ValueError(f"unknown format {doc.get('format')!r}")
        vectors = {
            name: VectorSpec(
                spec["size"],
                spec["distance"],
                {k: v for k, v in spec.items() if k not in ("size", "distance")},
            )
            for name, spec in doc["vectors"].items()
        }
        return cls(
            name=doc["name"],
            vectors=vectors,
            named=doc["named"],
            config=doc["config"],
            payload_schema=doc["payload_schema"],
            next_operation_id=doc["next_operation_id"],
        )


# ---------------------------------------------------------------- storage


def _file_stem(name: str) -> str:
    """A filesystem-safe, collision-free folder name for any collection name."""
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64].lstrip(".")
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{readable}-{digest}"


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


class Store:
    """All collections and aliases. Endpoints run under `lock`, one request at a time."""

    def __init__(self, storage: Path) -> None:
        self.lock = threading.RLock()
        self.collections: dict[str, Collection] = {}
        self.aliases: dict[str, str] = {}  # alias -> collection name
        # A subfolder: the same volume may also hold a real Qdrant's `collections/`.
        self._edge_dir = storage / "standin" / "edge"
        self._legacy_dir = storage / "standin" / "collections"
        self._snapshots_dir = storage / "standin" / "snapshots"
        self._aliases_path = storage / "standin" / "aliases.json"

    def load(self, import_points: Callable[[Collection, list[Any]], None]) -> None:
        """Open every collection's shard; `import_points` moves the points of a collection
        the hand-written stand-in stored as JSON (before the engine) into a new shard."""
        if self._edge_dir.is_dir():
            for folder in sorted(self._edge_dir.iterdir()):
                if folder.name.startswith("."):
                    continue  # a collection created or deleted halfway
                try:
                    meta = json.loads((folder / "collection.json").read_bytes())
                    collection = Collection.from_meta(meta)
                    collection.shard = edge.EdgeShard.load(str(folder / "shard"))
                except Exception as error:
                    log.warning("skipping unreadable collection %s: %s", folder, error)
                    continue
                self.collections[collection.name] = collection
        self._migrate_legacy(import_points)
        self._load_aliases()

    def _migrate_legacy(self, import_points: Callable[[Collection, list[Any]], None]) -> None:
        if not self._legacy_dir.is_dir():
            return
        for path in sorted(self._legacy_dir.glob("*.json")):
            try:
                doc = json.loads(path.read_bytes())
                collection = Collection.from_meta(doc, formats=(LEGACY_FORMAT,))
                if collection.name not in self.collections:
                    self.add(collection)
                    import_points(collection, doc["points"])
                    self.save(collection)
                    log.info("moved collection %r from %s into its shard", collection.name, path)
                path.unlink()
            except (OSError, ValueError, KeyError, TypeError, ApiError) as error:
                log.warning("skipping unreadable collection file %s: %s", path, error)

    def _load_aliases(self) -> None:
        if not self._aliases_path.is_file():
            return
        try:
            doc = json.loads(self._aliases_path.read_bytes())
            if doc.get("format") != ALIASES_FORMAT:
                raise ValueError(f"unknown format {doc.get('format')!r}")
            aliases = {str(alias): str(name) for alias, name in doc["aliases"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("skipping unreadable alias file %s: %s", self._aliases_path, error)
            return
        self.aliases = {a: n for a, n in aliases.items() if n in self.collections}

    def resolve(self, name: str) -> str:
        """The collection `name` means: an alias's collection, else `name` itself (as
        Qdrant's `resolve_name`, an alias wins over a collection of the same name)."""
        return self.aliases.get(name, name)

    def get(self, name: str) -> Collection:
        """The collection called `name`, or the one the alias `name` points to."""
        resolved = self.resolve(name)
        collection = self.collections.get(resolved)
        if collection is None:
            raise collection_missing(resolved)
        return collection

    def add(self, collection: Collection) -> None:
        """Create the collection's shard (in a hidden folder, then renamed into place)."""
        folder = self._folder(collection.name)
        building = folder.with_name(f".{folder.name}.new")
        shutil.rmtree(building, ignore_errors=True)
        try:
            collection.shard = edge.EdgeShard.create(
                str(building / "shard"), collection.engine_config()
            )
        except Exception as error:
            shutil.rmtree(building, ignore_errors=True)
            raise engine_error(error) from None
        write_atomically(building / "collection.json", _json_bytes(collection.to_meta()))
        collection.engine.close()
        os.replace(building, folder)
        collection.shard = edge.EdgeShard.load(str(folder / "shard"))
        self.collections[collection.name] = collection

    def remove(self, name: str) -> bool:
        """Delete the collection `name` (never through an alias) and its aliases."""
        doomed = [alias for alias, target in self.aliases.items() if target == name]
        if doomed:
            for alias in doomed:
                del self.aliases[alias]
            self.save_aliases()
        collection = self.collections.pop(name, None)
        if collection is None:
            return False
        collection.engine.close()
        folder = self._folder(name)
        trash = folder.with_name(f".{folder.name}.deleted")
        os.replace(folder, trash)  # gone at once; a crash mid-delete leaves only trash
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def save(self, collection: Collection) -> None:
        """Write the collection's metadata (config, payload index params, operation ids)."""
        path = self._folder(collection.name) / "collection.json"
        write_atomically(path, _json_bytes(collection.to_meta()))

    def save_aliases(self) -> None:
        doc = {"format": ALIASES_FORMAT, "aliases": self.aliases}
        write_atomically(self._aliases_path, _json_bytes(doc))

    def close(self) -> None:
        for collection in self.collections.values():
            if collection.shard is not None:
                collection.shard.close()
                collection.shard = None

    def snapshot_dir(self, name: str) -> Path:
        return self._snapshots_dir / _file_stem(name)

    def _folder(self, name: str) -> Path:
        return self._edge_dir / _file_stem(name)


@dataclass(frozen=True)
class Call:
    """One request as an endpoint function sees it."""

    store: Store
    params: dict[str, str]  # path parameters, URL-decoded
    query: dict[str, str]
    body: Any  # parsed JSON, None when the request had no body

    @property
    def collection(self) -> Collection:
        return self.store.get(self.params["collection"])
