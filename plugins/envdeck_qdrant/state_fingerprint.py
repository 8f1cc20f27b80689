"""The fingerprint of a Qdrant server's data, for envdeck's reset and snapshots.

It hashes, per collection (in name order), its name and essential config (vectors, sparse
vectors, quantization, payload indexes), then its points in id order (id and payload as
canonical JSON: sorted keys, fixed separators; dense vectors as their float64 values),
then its point count; and last the aliases. It is exact for collections of up to
FINGERPRINT_POINTS points. Above that only the first FINGERPRINT_POINTS points (in id
order) are hashed, plus the exact count: the work stays bounded, and a change to a later
point that keeps the count is not seen. A save computes the same digest as it writes.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any

from envdeck_qdrant.client import collection_path
from envdeck_qdrant.state_api import (
    StateApi,
    aliases_of,
    essential_config,
    exact_count,
    page_size,
    saved_point,
    scroll_page,
)
from envdeck_qdrant.views import collection_info, collection_names
from tui.plugins.api import ServiceTarget

FINGERPRINT_POINTS = 100_000  # per collection: above it, the first ones and the count


def fingerprint(target: ServiceTarget) -> str:
    digest = Fingerprint()
    with StateApi(target) as api:
        for name in collection_names(api):
            info = collection_info(api, name)
            digest.collection(name, info)
            path = collection_path(name, "points", "scroll")
            page = page_size(info)
            offset: Any = None
            hashed = 0
            while True:
                limit = min(page, FINGERPRINT_POINTS - hashed)
                if limit <= 0:
                    break
                records, offset = scroll_page(api, path, limit, offset)
                for record in records:
                    digest.point(saved_point(record))
                hashed += len(records)
                if offset is None:
                    break
            count = hashed if offset is None else exact_count(api, name)
            digest.end_collection(count)
        digest.aliases(aliases_of(api) or [])
    return digest.hexdigest()


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


class Fingerprint:
    def __init__(self) -> None:
        self._hash = hashlib.sha256(b"envdeck-qdrant-fingerprint/1\n")
        self._in_collection = 0

    def collection(self, name: str, info: dict[str, Any]) -> None:
        self._hash.update(_canonical(["collection", name, essential_config(info)]) + b"\n")
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
