"""Collections and aliases in memory, their vector maths, and their JSON files on disk.

Everything lives in memory under one lock; every change rewrites that collection's file
atomically (temp file + fsync + os.replace), so a restarted container finds its data and a
crash mid-write leaves the previous file intact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import threading
from dataclasses import dataclass, field
from operator import mul
from pathlib import Path
from typing import Any

from standin_wire import (
    ApiError,
    JsonObject,
    PointId,
    collection_missing,
    parse_point_id,
)

log = logging.getLogger("qdrant_standin")

DISTANCES = ("Cosine", "Euclid", "Dot", "Manhattan")
FILE_FORMAT = "envdeck-qdrant-standin/1"
ALIASES_FORMAT = "envdeck-qdrant-standin-aliases/1"

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


# ---------------------------------------------------------------- vector maths


F32_EPSILON = 2.0**-23  # Rust's f32::EPSILON


def preprocess(distance: str, vector: list[float]) -> list[float]:
    """Qdrant stores Cosine vectors normalised (and returns them so). Like Qdrant's
    `cosine_preprocess`, a vector whose squared length is about 0 or within 1e-6 of 1 is
    kept as it is: a vector read back and written again does not change."""
    if distance != "Cosine":
        return vector
    squared = sum(map(mul, vector, vector))
    if squared < F32_EPSILON or abs(squared - 1.0) <= 1.0e-6:
        return vector
    length = math.sqrt(squared)
    return [x / length for x in vector]


def score(distance: str, query: list[float], stored: list[float]) -> float:
    """The score Qdrant reports: similarity for Cosine/Dot, distance for Euclid/Manhattan."""
    if distance in ("Cosine", "Dot"):
        similarity: float = sum(map(mul, query, stored))
        return similarity
    if distance == "Euclid":
        return math.sqrt(sum((a - b) * (a - b) for a, b in zip(query, stored, strict=True)))
    return sum(abs(a - b) for a, b in zip(query, stored, strict=True))


def larger_is_better(distance: str) -> bool:
    return distance in ("Cosine", "Dot")


def beats_threshold(distance: str, value: float, threshold: float) -> bool:
    # Qdrant's Distance::check_threshold is strict on both sides.
    return value > threshold if larger_is_better(distance) else value < threshold


# ---------------------------------------------------------------- data model


@dataclass
class VectorSpec:
    size: int
    distance: str
    extra: JsonObject = field(default_factory=dict)  # on_disk, hnsw_config...: echoed back

    def describe(self) -> JsonObject:
        return {"size": self.size, "distance": self.distance, **self.extra}


@dataclass
class Point:
    id: PointId
    version: int
    vectors: dict[str, list[float]]  # "" is the unnamed default vector
    payload: JsonObject


@dataclass
class Collection:
    name: str
    vectors: dict[str, VectorSpec]  # "" alone when created with a single unnamed vector
    named: bool
    config: JsonObject  # params (minus vectors), hnsw, optimizer, wal, quantization
    payload_schema: dict[str, JsonObject] = field(default_factory=dict)
    next_operation_id: int = 0
    points: dict[PointId, Point] = field(default_factory=dict)

    def new_operation(self) -> int:
        """Qdrant numbers update operations; a point's version is its last operation's."""
        operation_id = self.next_operation_id
        self.next_operation_id += 1
        return operation_id

    def vectors_config(self) -> JsonObject:
        if not self.named:
            return self.vectors[""].describe()
        return {name: spec.describe() for name, spec in self.vectors.items()}

    def to_document(self) -> JsonObject:
        return {
            "format": FILE_FORMAT,
            "name": self.name,
            "named": self.named,
            "vectors": {name: spec.describe() for name, spec in self.vectors.items()},
            "config": self.config,
            "payload_schema": self.payload_schema,
            "next_operation_id": self.next_operation_id,
            "points": [
                {"id": p.id, "version": p.version, "vectors": p.vectors, "payload": p.payload}
                for p in self.points.values()
            ],
        }

    @classmethod
    def from_document(cls, doc: JsonObject) -> Collection:
        if doc.get("format") != FILE_FORMAT:
            raise ValueError(f"unknown format {doc.get('format')!r}")
        vectors = {
            name: VectorSpec(
                spec["size"],
                spec["distance"],
                {k: v for k, v in spec.items() if k not in ("size", "distance")},
            )
            for name, spec in doc["vectors"].items()
        }
        collection = cls(
            name=doc["name"],
            vectors=vectors,
            named=doc["named"],
            config=doc["config"],
            payload_schema=doc["payload_schema"],
            next_operation_id=doc["next_operation_id"],
        )
        for raw in doc["points"]:
            point_id = parse_point_id(raw["id"])
            collection.points[point_id] = Point(
                point_id, raw["version"], raw["vectors"], raw["payload"]
            )
        return collection


# ---------------------------------------------------------------- storage


def _file_stem(name: str) -> str:
    """A filesystem-safe, collision-free file name for any collection name."""
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


class Store:
    """All collections and aliases. Endpoints run under `lock`, one request at a time."""

    def __init__(self, storage: Path) -> None:
        self.lock = threading.RLock()
        self.collections: dict[str, Collection] = {}
        self.aliases: dict[str, str] = {}  # alias -> collection name
        # A subfolder: the same volume may also hold a real Qdrant's `collections/`.
        self._collections_dir = storage / "standin" / "collections"
        self._snapshots_dir = storage / "standin" / "snapshots"
        self._aliases_path = storage / "standin" / "aliases.json"

    def load(self) -> None:
        if self._collections_dir.is_dir():
            for path in sorted(self._collections_dir.glob("*.json")):
                try:
                    collection = Collection.from_document(json.loads(path.read_bytes()))
                except (OSError, ValueError, KeyError, TypeError, ApiError) as error:
                    log.warning("skipping unreadable collection file %s: %s", path, error)
                    continue
                self.collections[collection.name] = collection
        self._load_aliases()

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
        self.collections[collection.name] = collection
        self.save(collection)

    def remove(self, name: str) -> bool:
        """Delete the collection `name` (never through an alias) and its aliases."""
        doomed = [alias for alias, target in self.aliases.items() if target == name]
        if doomed:
            for alias in doomed:
                del self.aliases[alias]
            self.save_aliases()
        if self.collections.pop(name, None) is None:
            return False
        self._collection_path(name).unlink(missing_ok=True)
        return True

    def save(self, collection: Collection) -> None:
        data = json.dumps(collection.to_document(), separators=(",", ":")).encode()
        write_atomically(self._collection_path(collection.name), data)

    def save_aliases(self) -> None:
        doc = {"format": ALIASES_FORMAT, "aliases": self.aliases}
        write_atomically(self._aliases_path, json.dumps(doc, separators=(",", ":")).encode())

    def snapshot_dir(self, name: str) -> Path:
        return self._snapshots_dir / _file_stem(name)

    def _collection_path(self, name: str) -> Path:
        return self._collections_dir / f"{_file_stem(name)}.json"


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
