"""What a data diff needs of Redis values: the saved ones, read back from the state file
for a few keys, and short previews of a value, on the server or from a DUMP payload.

The state file is read record by record, keeping only the wanted keys (their payloads
are skipped, not copied): one pass over a file of a million keys, never a dict of them
all. A saved value is read by RESTOREing its DUMP payload under a scratch name of our
own in the same db, which is deleted at once: Redis decodes its own format.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from envdeck_redis.display import as_bytes, count_text, key_text, ttl_text, value_text
from envdeck_redis.state_file import FILE_NAME, MAGIC, NO_EXPIRY
from tui.plugins.api import InspectorError, Problem
from tui.plugins.diff_build import preview

PREVIEW_ELEMENTS = 5  # of a collection, in a preview
SCRATCH_PREFIX = b"envdeck:diff-scratch:"

_U16 = struct.Struct("<H")
_BLOCK = struct.Struct("<II")
_RECORD = struct.Struct("<IQq")

# A saved key: the milliseconds it had left when saved (-1: no expiry), its DUMP payload.
Saved = tuple[int, bytes]


def saved_keys(
    folder: Path, wanted: Collection[tuple[int, bytes]] | None
) -> dict[tuple[int, bytes], Saved]:
    """The saved (TTL, payload) of the `wanted` (db, key)s that the state holds; of every
    key with `wanted=None`. The file is the one `save_state` has just written."""
    found: dict[tuple[int, bytes], Saved] = {}
    path = folder / FILE_NAME
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InspectorError(Problem.ERROR, f"cannot read {path}: {error.strerror}") from None
    for db, key, start, end, pttl in _records(data):
        if wanted is None or (db, key) in wanted:
            found[(db, key)] = (pttl, data[start:end])
    return found


def _records(data: bytes) -> Iterator[tuple[int, bytes, int, int, int]]:
    """(db, key, payload start, payload end, TTL) of every record, in file order."""
    if not data.startswith(MAGIC):
        raise InspectorError(Problem.ERROR, "the saved Redis state is not envdeck's")
    position = len(MAGIC) + _U16.size
    (length,) = _U16.unpack_from(data, position)
    position += _U16.size + length
    unpack = _RECORD.unpack_from
    while data[position : position + 1] == b"B":
        db, count = _BLOCK.unpack_from(data, position + 1)
        position += 1 + _BLOCK.size
        for _ in range(count):
            key_length, payload_length, pttl = unpack(data, position)
            position += _RECORD.size
            key = data[position : position + key_length]
            position += key_length
            yield db, key, position, position + payload_length, pttl
            position += payload_length


@contextmanager
def restored_aside(client: redis.Redis, payload: bytes) -> Iterator[bytes]:
    """A scratch key holding the saved value, deleted when the block ends."""
    scratch = SCRATCH_PREFIX + uuid.uuid4().hex.encode()
    client.restore(scratch, 0, payload)
    try:
        yield scratch
    finally:
        client.delete(scratch)


def ttl_field(pttl: int) -> str:
    """A TTL in a diff: "-" for none, else the time it had left when read."""
    return ttl_text(-1 if pttl in (NO_EXPIRY, -1) else pttl)


def value_preview(client: redis.Redis, key: bytes, kind: str) -> str:
    """A short look at a value: its first characters, or first few elements and size."""
    reader = _PREVIEWS.get(kind)
    if reader is None:
        return f"a {preview(kind)} value"
    return reader(client, key)


def _string(client: redis.Redis, key: bytes) -> str:
    raw = as_bytes(client.getrange(key, 0, 255))
    size = int(client.strlen(key))
    shown = preview(value_text(raw, complete=len(raw) >= size))
    return shown if len(raw) >= size else f"{shown}… ({count_text(size, 'bytes')})"


def _hash(client: redis.Redis, key: bytes) -> str:
    fields: dict[Any, Any]
    _, fields = client.hscan(key, 0, count=PREVIEW_ELEMENTS * 4)  # type: ignore[assignment]
    pairs = sorted(fields.items())[:PREVIEW_ELEMENTS]
    text = ", ".join(f"{key_text(field)}={key_text(value)}" for field, value in pairs)
    return _sized(text, int(client.hlen(key)), len(pairs), "fields")


def _list(client: redis.Redis, key: bytes) -> str:
    items = client.lrange(key, 0, PREVIEW_ELEMENTS - 1)
    text = ", ".join(key_text(item) for item in items)
    return _sized(text, int(client.llen(key)), len(items), "items")


def _set(client: redis.Redis, key: bytes) -> str:
    _, members = client.sscan(key, 0, count=PREVIEW_ELEMENTS * 4)
    shown = sorted(as_bytes(member) for member in members)[:PREVIEW_ELEMENTS]
    text = ", ".join(key_text(member) for member in shown)
    return _sized(text, int(client.scard(key)), len(shown), "members")


def _zset(client: redis.Redis, key: bytes) -> str:
    members: list[Any] = client.zrange(key, 0, PREVIEW_ELEMENTS - 1, withscores=True)
    text = ", ".join(f"{key_text(member)}:{score!r}" for member, score in members)
    return _sized(text, int(client.zcard(key)), len(members), "members")


def _stream(client: redis.Redis, key: bytes) -> str:
    entries: list[Any] = client.xrevrange(key, "+", "-", count=1) or []
    last = f"last {key_text(entries[0][0])}" if entries else "empty"
    return f"{last} ({count_text(int(client.xlen(key)), 'entries')})"


def _sized(text: str, size: int, shown: int, unit: str) -> str:
    more = "…" if size > shown else ""
    return f"{preview(text)}{more} ({count_text(size, unit)})"


_PREVIEWS = {
    "string": _string,
    "hash": _hash,
    "list": _list,
    "set": _set,
    "zset": _zset,
    "stream": _stream,
}
