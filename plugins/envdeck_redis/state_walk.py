"""Walking a whole Redis server: every key of every logical db, its DUMP and TTL for a
save, and the data's fingerprint.

The fingerprint digests every key's db, name, type, value and whether it expires (not how
long it has left), canonically: a hash's fields and a set's members sorted, a zset's
scores as the doubles they are, a stream's entries with its last ID, groups, consumers and
pending entries. Internal encodings (listpack or hashtable, int or raw) do not matter;
a module's type is compared by its DUMP payload.

The keyspace is walked with SCAN (never KEYS); each batch of keys is read in pipelines,
and big values in bounded ranges (GETRANGE, LRANGE, ZRANGE, XRANGE, HSCAN, SSCAN).

One module (~400 lines): each type's pipelined opening and its bounded reading are two
halves of the same walk over a batch, so they stay next to each other.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

import redis
from redis.client import Pipeline
from redis.exceptions import ResponseError

from envdeck_redis.connection import Connect, RedisSettings
from envdeck_redis.state_file import NO_EXPIRY, SavedKey

SCAN_COUNT = 1000  # keys a SCAN call asks for; each batch of as many is read in pipelines
CHUNK_ITEMS = 1000  # elements of a collection per range request
CHUNK_BYTES = 1 << 20  # bytes of a string per GETRANGE


class Databases:
    """Clients of our own, one per logical db: on the session's connections for its own
    db, the others opened alike. Their XRANGE replies are as Redis sent them."""

    def __init__(self, client: redis.Redis, settings: RedisSettings, connect: Connect) -> None:
        self.settings = settings
        self._connect = connect
        # Its reply callbacks are ours to change; closing it closes nothing of the session's.
        own = redis.Redis(connection_pool=client.connection_pool)
        self._clients = {settings.db: _raw_xrange(own)}
        self._opened: list[redis.Redis] = []

    def __enter__(self) -> Databases:
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self._opened:
            client.close()

    @property
    def main(self) -> redis.Redis:
        return self._clients[self.settings.db]

    def client(self, db: int) -> redis.Redis:
        if db not in self._clients:
            client = self._connect(replace(self.settings, db=db))
            self._opened.append(client)
            self._clients[db] = _raw_xrange(client)
        return self._clients[db]

    def with_keys(self) -> list[int]:
        """The dbs INFO keyspace lists with keys, in order."""
        keyspace: dict[str, Any] = self.main.info("keyspace")
        return sorted(
            int(name[2:])
            for name, stats in keyspace.items()
            if name.startswith("db") and isinstance(stats, dict) and int(stats.get("keys", 0))
        )

    def redis_version(self) -> str:
        return str(self.main.info("server").get("redis_version", "?"))


def _raw_xrange(client: redis.Redis) -> redis.Redis:
    """`client`, its XRANGE replies left as Redis sent them: redis-py's usual reply makes
    a dict of an entry's fields, which loses a field the entry repeats."""
    client.set_response_callback("XRANGE", _as_sent)
    return client


def _as_sent(response: Any, **options: Any) -> Any:
    return response


def _batches(client: redis.Redis) -> Iterator[list[bytes]]:
    """Every key of the client's db once, SCAN_COUNT at a time (SCAN may repeat a key)."""
    seen: set[bytes] = set()
    keys: Iterator[bytes] = client.scan_iter(count=SCAN_COUNT)
    while batch := list(islice(keys, SCAN_COUNT)):
        fresh = list(dict.fromkeys(key for key in batch if key not in seen))
        seen.update(fresh)
        if fresh:
            yield fresh


# ---------------------------------------------------------------- the walk


@dataclass(frozen=True)
class Walked:
    fingerprint: str
    keys: int
    dbs: int


def walk(dbs: Databases, keep: Callable[[int, list[SavedKey]], None] | None = None) -> Walked:
    """Reads every key of every db: its digest, and with `keep` its DUMP and TTL too."""
    digests: dict[int, dict[bytes, bytes]] = {}
    for db in dbs.with_keys():
        client = dbs.client(db)
        found = digests.setdefault(db, {})
        for batch in _batches(client):
            saved = _walk_batch(client, batch, found, dump=keep is not None)
            if keep is not None and saved:
                keep(db, saved)
    keys = sum(len(found) for found in digests.values())
    return Walked(_combine(digests), keys, sum(1 for found in digests.values() if found))


def fingerprint(dbs: Databases) -> str:
    return walk(dbs).fingerprint


def key_states(client: redis.Redis, keys: list[bytes]) -> dict[bytes, tuple[str, int, bytes]]:
    """Each of `keys` there is: its type, PTTL and the digest of its value alone (not of
    its TTL), as the fingerprint reads it; what a data diff compares (diff.py)."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.pttl(key)
    pttls = pipe.execute()
    there: list[tuple[bytes, int, bytes | None]] = [
        (key, pttl, None) for key, pttl in zip(keys, pttls, strict=True) if pttl != -2
    ]
    return {
        key: (kind, pttl, _value_digest(client, kind, key, False, opened))
        for key, kind, pttl, _, opened in (_open_others(client, there) if there else [])
    }


# A key as read: its name, type, PTTL, DUMP (for a save) and the first part of its value.
_Opened = tuple[bytes, str, int, bytes | None, list[Any]]


def _walk_batch(
    client: redis.Redis, batch: list[bytes], digests: dict[bytes, bytes], *, dump: bool
) -> list[SavedKey]:
    # Every key is first read as the string most keys are: its TTL, its first bytes (for
    # any other type, a WRONGTYPE error) and, for a save, its DUMP. Only the others cost
    # a TYPE.
    pipe = client.pipeline(transaction=False)
    for key in batch:
        pipe.pttl(key)
        _open_string(pipe, key)
        if dump:
            pipe.dump(key)
    replies = pipe.execute(raise_on_error=False)
    per_key = 3 if dump else 2
    present: list[_Opened] = []
    others: list[tuple[bytes, int, bytes | None]] = []
    for index, key in enumerate(batch):
        pttl, chunk, *rest = replies[index * per_key : (index + 1) * per_key]
        payload = rest[0] if rest else None
        for reply in (pttl, payload):
            if isinstance(reply, ResponseError):
                raise reply
        if pttl == -2 or (dump and payload is None):
            continue  # gone (deleted or expired) since SCAN found it
        if not isinstance(chunk, ResponseError):
            present.append((key, "string", pttl, payload, [chunk]))
        elif str(chunk).startswith("WRONGTYPE"):
            others.append((key, pttl, payload))
        else:
            raise chunk
    if others:
        present += _open_others(client, others)
    saved: list[SavedKey] = []
    for key, kind, pttl, payload, opened in present:
        digests[key] = _value_digest(client, kind, key, pttl >= 0, opened)
        if payload is not None:
            # PTTL says 0 for a key in its last millisecond; RESTORE takes 0 as "never".
            saved.append((key, max(pttl, 1) if pttl >= 0 else NO_EXPIRY, payload))
    return saved


def _open_others(
    client: redis.Redis, others: list[tuple[bytes, int, bytes | None]]
) -> list[_Opened]:
    """The keys that are not strings: their types, then the first part of their values."""
    pipe = client.pipeline(transaction=False)
    for key, _, _ in others:
        pipe.type(key)
    kinds = pipe.execute()
    typed = [
        (key, kind.decode(), pttl, payload)
        for (key, pttl, payload), kind in zip(others, kinds, strict=True)
        if kind != b"none"  # gone since
    ]
    spans = []
    for key, kind, _, _ in typed:
        start = len(pipe)
        _OPENINGS.get(kind, _open_module)(pipe, key)
        spans.append((start, len(pipe)))
    replies = pipe.execute()
    return [
        (key, kind, pttl, payload, replies[start:end])
        for (key, kind, pttl, payload), (start, end) in zip(typed, spans, strict=True)
    ]


# ---------------------------------------------------------------- values


# The commands that read the first part of a value, queued on a pipeline, by the key's type.
def _open_string(pipe: Pipeline, key: bytes) -> None:
    pipe.getrange(key, 0, CHUNK_BYTES - 1)


def _open_list(pipe: Pipeline, key: bytes) -> None:
    pipe.lrange(key, 0, CHUNK_ITEMS - 1)


def _open_hash(pipe: Pipeline, key: bytes) -> None:
    pipe.hscan(key, 0, count=CHUNK_ITEMS)


def _open_set(pipe: Pipeline, key: bytes) -> None:
    pipe.sscan(key, 0, count=CHUNK_ITEMS)


def _open_zset(pipe: Pipeline, key: bytes) -> None:
    pipe.zrange(key, 0, CHUNK_ITEMS - 1, withscores=True)


def _open_stream(pipe: Pipeline, key: bytes) -> None:
    pipe.xrange(key, "-", "+", count=CHUNK_ITEMS)
    pipe.xinfo_stream(key)
    pipe.xinfo_groups(key)


def _open_module(pipe: Pipeline, key: bytes) -> None:
    pipe.dump(key)  # a module type's serialised form is all we can compare


_OPENINGS: dict[str, Callable[[Pipeline, bytes], None]] = {
    "string": _open_string,
    "list": _open_list,
    "hash": _open_hash,
    "set": _open_set,
    "zset": _open_zset,
    "stream": _open_stream,
}

# The rest of a value, from the first part: each digester feeds `update` the value in a
# canonical form, reading what the first part did not hold in bounded ranges.
Update = Callable[[bytes], None]


def _value_digest(
    client: redis.Redis, kind: str, key: bytes, expires: bool, opened: list[Any]
) -> bytes:
    """The digest of a key's type, value and TTL presence, whatever their encodings."""
    name = kind.encode()
    digest = hashlib.sha256(bytes([len(name)]) + name + (b"\x01" if expires else b"\x00"))
    _DIGESTERS.get(kind, _module_value)(client, key, opened, digest.update)
    return digest.digest()


def _string_value(client: redis.Redis, key: bytes, opened: list[Any], update: Update) -> None:
    chunk: Any = opened[0]  # bytes, as every reply of ours (redis-py types them loosely)
    offset = 0
    while True:
        update(chunk)
        offset += len(chunk)
        if len(chunk) < CHUNK_BYTES:
            return
        chunk = client.getrange(key, offset, offset + CHUNK_BYTES - 1)


def _list_value(client: redis.Redis, key: bytes, opened: list[Any], update: Update) -> None:
    items: list[Any] = opened[0]
    start = 0
    while True:
        for item in items:
            update(_frame(item))
        start += len(items)
        if len(items) < CHUNK_ITEMS:
            return
        items = client.lrange(key, start, start + CHUNK_ITEMS - 1)


def _zset_value(client: redis.Redis, key: bytes, opened: list[Any], update: Update) -> None:
    members: list[Any] = opened[0]  # (member, score as a float)
    start = 0
    while True:
        for member, score in members:  # a score as the double Redis holds, however it prints
            update(_frame(member) + _frame(score.hex().encode()))
        start += len(members)
        if len(members) < CHUNK_ITEMS:
            return
        members = client.zrange(key, start, start + CHUNK_ITEMS - 1, withscores=True)


def _hash_value(client: redis.Redis, key: bytes, opened: list[Any], update: Update) -> None:
    cursor, fields = opened[0]
    while cursor:
        cursor, more = client.hscan(key, cursor, count=CHUNK_ITEMS)
        fields.update(more)
    for field in sorted(fields):
        update(_frame(field) + _frame(fields[field]))


def _set_value(client: redis.Redis, key: bytes, opened: list[Any], update: Update) -> None:
    cursor, found = opened[0]
    members = set(found)
    while cursor:
        cursor, more = client.sscan(key, cursor, count=CHUNK_ITEMS)
        members.update(more)
    for member in sorted(members):
        update(_frame(member))


def _stream_value(client: redis.Redis, key: bytes, opened: list[Any], update: Update) -> None:
    entries, info, groups = opened
    while True:  # each entry as Redis sent it: its ID, then its fields and values
        for entry_id, fields in entries:
            update(_frame(entry_id) + struct.pack("<Q", len(fields)))
            for item in fields:
                update(_frame(item))
        if len(entries) < CHUNK_ITEMS:
            break
        entries = client.xrange(key, _next_id(entries[-1][0]), "+", count=CHUNK_ITEMS)
    for field in ("last-generated-id", "max-deleted-entry-id", "entries-added"):
        update(_frame(field.encode()) + _frame(_text(info.get(field))))
    for group in sorted(groups, key=lambda group: group["name"]):
        name = group["name"]
        update(b"group" + _frame(name))
        for field in ("last-delivered-id", "entries-read", "pending"):
            update(_frame(_text(group.get(field))))
        consumers = client.xinfo_consumers(key, name)
        for consumer in sorted(consumers, key=lambda consumer: consumer["name"]):
            update(b"consumer" + _frame(consumer["name"]) + _frame(_text(consumer["pending"])))
        start = "-"
        while True:  # the pending entries: ID, owner, deliveries (idle times are not data)
            pending: list[dict[str, Any]] = client.xpending_range(
                key, name, start, "+", CHUNK_ITEMS
            )
            for entry in pending:
                update(b"pending" + _frame(entry["message_id"]) + _frame(entry["consumer"]))
                update(_frame(_text(entry["times_delivered"])))
            if len(pending) < CHUNK_ITEMS:
                break
            start = _next_id(pending[-1]["message_id"])


def _module_value(client: redis.Redis, key: bytes, opened: list[Any], update: Update) -> None:
    update(_frame(_text(opened[0])))  # its DUMP payload; nil when it is gone since


_DIGESTERS: dict[str, Callable[[redis.Redis, bytes, list[Any], Update], None]] = {
    "string": _string_value,
    "list": _list_value,
    "hash": _hash_value,
    "set": _set_value,
    "zset": _zset_value,
    "stream": _stream_value,
}


def _frame(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data


def _text(raw: Any) -> bytes:
    """A reply that is text or a number, as bytes; nil as empty."""
    if raw is None:
        return b""
    if isinstance(raw, bytes):
        return raw
    return str(raw).encode()


def _next_id(entry_id: bytes) -> str:
    """The smallest stream ID after `entry_id` (XRANGE's exclusive "(" needs Redis 6.2)."""
    millis, _, sequence = entry_id.partition(b"-")
    if int(sequence) < 2**64 - 1:
        return f"{int(millis)}-{int(sequence) + 1}"
    return f"{int(millis) + 1}-0"


def _combine(digests: dict[int, dict[bytes, bytes]]) -> str:
    total = hashlib.sha256(b"envdeck-redis-fingerprint-1\n")
    for db in sorted(digests):
        keys = digests[db]
        if not keys:
            continue
        total.update(struct.pack("<IQ", db, len(keys)))
        for key in sorted(keys):
            total.update(_frame(key) + keys[key])
    return total.hexdigest()
