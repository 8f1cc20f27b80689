"""Saved states of a whole Redis server: save, restore, and the data's fingerprint.

A saved state is every key of every logical db, as DUMP payloads with the TTL each key
had left, in one file of the StateRef's folder. A restore replaces the server's data as a
whole (FLUSHALL, then RESTORE of every key, each with the TTL it had left when saved), but
only after the file has been read and checked in full: a missing, truncated or corrupt
file changes nothing.

The fingerprint digests every key's db, name, type, value and whether it expires (not how
long it has left), canonically: a hash's fields and a set's members sorted, a zset's
scores as the doubles they are, a stream's entries with its last ID, groups, consumers and
pending entries. Internal encodings (listpack or hashtable, int or raw) do not matter;
a module's type is compared by its DUMP payload.

The keyspace is walked with SCAN (never KEYS); each batch of keys is read in pipelines,
and big values in bounded ranges (GETRANGE, LRANGE, ZRANGE, XRANGE, HSCAN, SSCAN).

File format, version 1 (integers little-endian; `bytes` fields are raw, binary-safe):

    magic         MAGIC (18 bytes)
    version       u16, FORMAT_VERSION
    made by       u16 length, then that many bytes: the server's redis_version (ASCII)
    blocks        any number of:
        tag       b"B"
        db        u32, never below the previous block's
        count     u32, at least 1
        records   count times: key length u32, payload length u64, TTL i64 (the
                  milliseconds the key had left, -1: no expiry), the key, the payload
                  (DUMP's reply: ends with the RDB version, u16, and a CRC64)
    end           b"E", keys u64, dbs u32 (distinct dbs in the blocks)
    checksum      SHA-256 of every byte above (32 bytes), then the end of the file

A key appears at most once in its db.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import redis
from redis.exceptions import RedisError, ResponseError

from envdeck_redis.connection import Connect, RedisSettings, inspector_error
from envdeck_redis.display import as_bytes, count_text, key_text
from tui.plugins.api import InspectorError, Problem, SavedState

FILE_NAME = "redis.envdeck-state"
MAGIC = b"\x89ENVDECK-REDIS\r\n\x1a\n"
FORMAT_VERSION = 1

SCAN_COUNT = 1000  # keys a SCAN call asks for; each batch is then read in one pipeline
CHUNK_ITEMS = 1000  # elements of a collection per range request
CHUNK_BYTES = 1 << 20  # bytes of a string per GETRANGE
RESTORE_BATCH_KEYS = 1000  # RESTOREs per pipeline...
RESTORE_BATCH_BYTES = 8 << 20  # ...or fewer, when their payloads are big

_HEADER = struct.Struct("<H")
_BLOCK = struct.Struct("<II")
_RECORD = struct.Struct("<IQq")
_END = struct.Struct("<QI")
_DIGEST_BYTES = 32
_DUMP_FOOTER = 10  # RDB version (u16) and CRC64 (8 bytes) end every DUMP payload
_NO_EXPIRY = -1


class StateFormatError(Exception):
    """A state file that cannot be restored: missing, truncated, corrupt or too new."""


# A key as saved: its name, the milliseconds it had left (-1: no expiry), DUMP's payload.
SavedKey = tuple[bytes, int, bytes]


def rdb_version(payload: bytes) -> int:
    """The RDB format version a DUMP payload is written in."""
    return int.from_bytes(payload[-_DUMP_FOOTER : -_DUMP_FOOTER + 2], "little")


@dataclass(frozen=True)
class StateFile:
    made_by: str  # the redis_version of the server it was saved from
    dbs: dict[int, dict[bytes, tuple[int, bytes]]]  # db -> key -> (TTL, payload); db order

    def rdb_versions(self) -> set[int]:
        footers = {
            payload[-_DUMP_FOOTER:] for keys in self.dbs.values() for _, payload in keys.values()
        }
        return {rdb_version(footer) for footer in footers}

    @property
    def keys(self) -> int:
        return sum(len(keys) for keys in self.dbs.values())

    @property
    def summary(self) -> str:
        return summary_text(self.keys, len(self.dbs))


def summary_text(keys: int, dbs: int) -> str:
    """ "1,204 keys in 2 dbs"; "no keys"."""
    if keys == 0:
        return "no keys"
    return f"{count_text(keys, 'keys')} in {count_text(dbs, 'dbs')}"


# ---------------------------------------------------------------- the file format


class StateWriter:
    """Writes a state file block by block; `finish` adds the counts and the checksum."""

    def __init__(self, stream: BinaryIO, made_by: str) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self._keys = 0
        self._dbs: list[int] = []
        self.size = 0
        version = made_by.encode("ascii", errors="replace")[:0xFFFF]
        self._write(MAGIC + _HEADER.pack(FORMAT_VERSION) + _HEADER.pack(len(version)) + version)

    def block(self, db: int, keys: Sequence[SavedKey]) -> None:
        if not keys:
            return
        if self._dbs and db < self._dbs[-1]:
            raise ValueError(f"db {db} comes after db {self._dbs[-1]}")
        if not self._dbs or self._dbs[-1] != db:
            self._dbs.append(db)
        parts = [b"B", _BLOCK.pack(db, len(keys))]
        for key, pttl, dump in keys:
            parts += (_RECORD.pack(len(key), len(dump), pttl), key, dump)
        self._write(b"".join(parts))
        self._keys += len(keys)

    def finish(self) -> int:
        """Ends the file; returns its size in bytes."""
        self._write(b"E" + _END.pack(self._keys, len(self._dbs)))
        self._stream.write(self._hash.digest())
        self.size += _DIGEST_BYTES
        return self.size

    def _write(self, data: bytes) -> None:
        self._hash.update(data)
        self._stream.write(data)
        self.size += len(data)


def parse_state(data: bytes) -> StateFile:
    """Every record of a state file, once the whole file has been checked."""
    if not data:
        raise StateFormatError("the file is empty")
    if not data.startswith(MAGIC):
        if MAGIC.startswith(data):
            raise StateFormatError(f"the file is truncated: it ends after {len(data)} bytes")
        raise StateFormatError("this is not an envdeck Redis state file")
    position = len(MAGIC)
    if len(data) < position + 2 * _HEADER.size:
        raise StateFormatError(f"the file is truncated: it ends after {len(data)} bytes")
    (version,) = _HEADER.unpack_from(data, position)
    if version != FORMAT_VERSION:
        raise StateFormatError(
            f"the file has format version {version}; this envdeck reads version "
            f"{FORMAT_VERSION} (was it saved by a newer envdeck?)"
        )
    end = len(data) - _DIGEST_BYTES
    if end < position or hashlib.sha256(data[:end]).digest() != data[end:]:
        raise StateFormatError(
            f"the file is truncated or corrupt: its checksum does not match ({len(data):,} bytes)"
        )
    return _parse_records(data, position + _HEADER.size, end)


def _parse_records(data: bytes, position: int, end: int) -> StateFile:
    """The part after the format version, up to the checksum (which matched)."""

    def need(size: int, what: str) -> None:
        if position + size > end:
            raise StateFormatError(f"corrupt file: {what} at byte {position} runs past its end")

    need(_HEADER.size, "the header")
    (length,) = _HEADER.unpack_from(data, position)
    position += _HEADER.size
    need(length, "the header")
    made_by = data[position : position + length].decode("ascii", errors="replace")
    position += length
    dbs: dict[int, dict[bytes, tuple[int, bytes]]] = {}
    unpack_record = _RECORD.unpack_from
    while True:
        need(1, "a block")
        tag = data[position : position + 1]
        position += 1
        if tag == b"E":
            need(_END.size, "the end")
            keys, db_count = _END.unpack_from(data, position)
            position += _END.size
            break
        if tag != b"B":
            raise StateFormatError(f"corrupt file: unknown block {tag!r} at byte {position - 1}")
        need(_BLOCK.size, "a block")
        db, count = _BLOCK.unpack_from(data, position)
        position += _BLOCK.size
        if count == 0 or (dbs and db < max(dbs)):
            raise StateFormatError(f"corrupt file: a block of {count} keys of db {db}")
        records = dbs.setdefault(db, {})
        for _ in range(count):
            need(_RECORD.size, "a key")
            key_length, dump_length, pttl = unpack_record(data, position)
            position += _RECORD.size
            need(key_length + dump_length, "a key")
            key = data[position : position + key_length]
            position += key_length
            dump = data[position : position + dump_length]
            position += dump_length
            if dump_length < _DUMP_FOOTER or (pttl != _NO_EXPIRY and pttl <= 0):
                raise StateFormatError(f"corrupt file: the record of key {key_text(key)}")
            if key in records:
                raise StateFormatError(f"corrupt file: key {key_text(key)} twice in db {db}")
            records[key] = (pttl, dump)
    if position != end:
        raise StateFormatError(f"corrupt file: {end - position} bytes after its end")
    state = StateFile(made_by, dbs)
    if keys != state.keys or db_count != len(dbs):
        raise StateFormatError(
            f"corrupt file: it says {summary_text(keys, db_count)} but holds {state.summary}"
        )
    return state


def read_state(path: Path) -> StateFile:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StateFormatError(f"{path} does not exist") from None
    except OSError as error:
        raise StateFormatError(f"cannot read {path}: {error.strerror}") from None
    return parse_state(data)


# ---------------------------------------------------------------- the server's dbs


class Databases:
    """One client per logical db: the session's for its own db, others opened alike."""

    def __init__(self, client: redis.Redis, settings: RedisSettings, connect: Connect) -> None:
        self.settings = settings
        self._connect = connect
        self._clients = {settings.db: client}
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
            self._clients[db] = client
        return self._clients[db]

    def with_keys(self) -> list[int]:
        """The dbs INFO keyspace lists with keys, in order."""
        keyspace = self.main.info("keyspace")
        found = []
        for name, stats in keyspace.items():
            if name.startswith("db") and name[2:].isdigit():
                keys = stats.get("keys", 0) if isinstance(stats, dict) else 0
                if int(keys) > 0:
                    found.append(int(name[2:]))
        return sorted(found)

    def redis_version(self) -> str:
        return str(self.main.info("server").get("redis_version", "?"))


def _arg(data: bytes) -> bytes:
    """One argument in Redis's wire format (RESP)."""
    return b"$%d\r\n%b\r\n" % (len(data), data)


@functools.lru_cache(maxsize=256)
def _word(arg: str | int) -> bytes:
    """A command's name, option or number as an argument, packed once."""
    return _arg(str(arg).encode())


def _packed(command: Sequence[bytes | str | int]) -> bytes:
    head = b"*%d\r\n" % len(command)
    return head + b"".join(_arg(arg) if isinstance(arg, bytes) else _word(arg) for arg in command)


Template = tuple[bytes, bytes]  # a command packed around its key: what comes before, after


def _template(*args: str | int | None) -> Template:
    """A command with one key (the None): packed once, the key added per use."""
    at = args.index(None)
    before = b"*%d\r\n" % len(args) + b"".join(_word(arg) for arg in args[:at] if arg is not None)
    return before, b"".join(_word(arg) for arg in args[at + 1 :] if arg is not None)


def _for_keys(keys: Iterable[bytes], templates: Sequence[Template]) -> bytes:
    parts: list[bytes] = []
    for key in keys:
        arg = _arg(key)
        for before, after in templates:
            parts += (before, arg, after)
    return b"".join(parts)


def _send(client: redis.Redis, packed: bytes, count: int) -> list[Any]:
    """The replies to `count` packed commands as Redis sent them (bytes, ints, lists,
    nil; an error reply as its ResponseError), sent at once on one pooled connection.

    redis-py's pipelines cost about three times as much per command, and their reply
    callbacks would turn a stream entry's fields into a dict (losing a repeated field)."""
    if count == 0:
        return []
    pool = client.connection_pool
    connection: Any = pool.get_connection()  # typed loosely by redis-py
    try:
        connection.send_packed_command([packed], check_health=False)
        replies: list[Any] = []
        for _ in range(count):
            try:
                replies.append(connection.read_response(disable_decoding=True))
            except ResponseError as error:  # the replies after it are still to be read
                replies.append(error)
    except BaseException:
        connection.disconnect()  # never hand back a connection with replies unread
        raise
    finally:
        pool.release(connection)
    return replies


def _checked(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return replies


def _one(client: redis.Redis, *command: bytes | str | int) -> Any:
    return _checked(_send(client, _packed(command), 1))[0]


def _scan(client: redis.Redis) -> Iterator[list[bytes]]:
    """Every key of the client's db once, in SCAN batches (SCAN may repeat a key)."""
    seen: set[bytes] = set()
    cursor = 0
    while True:
        cursor, found = client.scan(cursor, count=SCAN_COUNT)
        fresh = [key for key in dict.fromkeys(map(as_bytes, found)) if key not in seen]
        seen.update(fresh)
        if fresh:
            yield fresh
        if cursor == 0:
            return


# ---------------------------------------------------------------- fingerprints


def _frame(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data


def _text(raw: Any) -> bytes:
    """A reply that is text or a number, as bytes; nil as empty."""
    if raw is None:
        return b""
    if isinstance(raw, bytes):
        return raw
    return str(raw).encode()


def _pairs(flat: Sequence[Any]) -> dict[bytes, Any]:
    return {_text(flat[index]): flat[index + 1] for index in range(0, len(flat) - 1, 2)}


def _next_id(entry_id: bytes) -> bytes:
    """The smallest stream ID after `entry_id` (XRANGE's exclusive "(" needs Redis 6.2)."""
    millis, _, sequence = entry_id.partition(b"-")
    if int(sequence) < 2**64 - 1:
        return millis + b"-" + str(int(sequence) + 1).encode()
    return str(int(millis) + 1).encode() + b"-0"


# The first part of a value, by the key's type.
_OPENINGS: dict[str, tuple[Template, ...]] = {
    "string": (_template("GETRANGE", None, 0, CHUNK_BYTES - 1),),
    "list": (_template("LRANGE", None, 0, CHUNK_ITEMS - 1),),
    "hash": (_template("HSCAN", None, 0, "COUNT", CHUNK_ITEMS),),
    "set": (_template("SSCAN", None, 0, "COUNT", CHUNK_ITEMS),),
    "zset": (_template("ZRANGE", None, 0, CHUNK_ITEMS - 1, "WITHSCORES"),),
    "stream": (
        _template("XRANGE", None, "-", "+", "COUNT", CHUNK_ITEMS),
        _template("XINFO", "STREAM", None),
        _template("XINFO", "GROUPS", None),
    ),
}
_MODULE_TYPE = (_template("DUMP", None),)  # its serialised form is all we can compare
# Every key is first read as the string most keys are: its TTL, its first bytes (for any
# other type, a WRONGTYPE error) and, for a save, its DUMP. Only the others cost a TYPE.
_FIRST = (_template("PTTL", None), *_OPENINGS["string"])
_FIRST_AND_DUMP = (*_FIRST, _template("DUMP", None))
_TYPE = (_template("TYPE", None),)
_RESTORE = b"*5\r\n" + _word("RESTORE")  # RESTORE key ttl payload REPLACE
_REPLACE = _word("REPLACE")


def _value_digest(
    client: redis.Redis, kind: str, key: bytes, expires: bool, replies: list[Any]
) -> bytes:
    """The digest of a key's type, value and TTL presence, whatever their encodings."""
    name = kind.encode()
    digest = hashlib.sha256(bytes([len(name)]) + name + (b"\x01" if expires else b"\x00"))
    update = digest.update
    if kind == "string":
        chunk, offset = replies[0], 0
        while True:
            update(chunk)
            offset += len(chunk)
            if len(chunk) < CHUNK_BYTES:
                break
            chunk = _one(client, "GETRANGE", key, offset, offset + CHUNK_BYTES - 1)
    elif kind in ("list", "zset"):
        items, start = replies[0], 0
        width = 2 if kind == "zset" else 1
        while True:
            for index in range(0, len(items), width):
                update(_frame(items[index]))
                if width == 2:  # a score as the double Redis holds, however it prints it
                    update(_frame(float(items[index + 1]).hex().encode()))
            start += len(items) // width
            if len(items) < CHUNK_ITEMS * width:
                break
            extra = ("WITHSCORES",) if kind == "zset" else ()
            command = "LRANGE" if kind == "list" else "ZRANGE"
            items = _one(client, command, key, start, start + CHUNK_ITEMS - 1, *extra)
    elif kind in ("hash", "set"):
        cursor, found = replies[0]
        fields: dict[bytes, bytes] = {}
        while True:
            if kind == "hash":
                fields.update(_pairs(found))
            else:
                fields.update(dict.fromkeys(found, b""))
            if int(cursor) == 0:
                break
            scan = "HSCAN" if kind == "hash" else "SSCAN"
            cursor, found = _one(client, scan, key, cursor, "COUNT", CHUNK_ITEMS)
        for field in sorted(fields):
            update(_frame(field) + (_frame(fields[field]) if kind == "hash" else b""))
    elif kind == "stream":
        _stream_digest(client, key, replies, update)
    else:
        update(_frame(_text(replies[0])))
    return digest.digest()


def _stream_digest(
    client: redis.Redis, key: bytes, replies: list[Any], update: Callable[[bytes], None]
) -> None:
    entries, stream_info, groups = replies
    while True:
        for entry_id, fields in entries:
            update(_frame(entry_id) + struct.pack("<Q", len(fields)))
            for item in fields:
                update(_frame(item))
        if len(entries) < CHUNK_ITEMS:
            break
        start = _next_id(entries[-1][0])
        entries = _one(client, "XRANGE", key, start, "+", "COUNT", CHUNK_ITEMS)
    info = _pairs(stream_info)
    for field in (b"last-generated-id", b"max-deleted-entry-id", b"entries-added"):
        update(_frame(field) + _frame(_text(info.get(field))))
    described = sorted((_pairs(group) for group in groups), key=lambda group: group[b"name"])
    for group in described:
        name = group[b"name"]
        update(b"group" + _frame(name))
        for field in (b"last-delivered-id", b"entries-read", b"pending"):
            update(_frame(_text(group.get(field))))
        consumers = [_pairs(consumer) for consumer in _one(client, "XINFO", "CONSUMERS", key, name)]
        for consumer in sorted(consumers, key=lambda consumer: consumer[b"name"]):
            update(b"consumer" + _frame(consumer[b"name"]) + _frame(_text(consumer[b"pending"])))
        start = b"-"
        while True:  # the pending entries: ID, owner, deliveries (idle times are not data)
            pending = _one(client, "XPENDING", key, name, start, "+", CHUNK_ITEMS)
            for entry_id, owner, _idle, deliveries in pending:
                update(b"pending" + _frame(entry_id) + _frame(owner) + _frame(_text(deliveries)))
            if len(pending) < CHUNK_ITEMS:
                break
            start = _next_id(pending[-1][0])


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
        for batch in _scan(client):
            saved = _walk_batch(client, batch, found, dump=keep is not None)
            if keep is not None and saved:
                keep(db, saved)
    keys = sum(len(found) for found in digests.values())
    return Walked(_combine(digests), keys, sum(1 for found in digests.values() if found))


def _walk_batch(
    client: redis.Redis, batch: list[bytes], digests: dict[bytes, bytes], *, dump: bool
) -> list[SavedKey]:
    first = _FIRST_AND_DUMP if dump else _FIRST
    per_key = len(first)
    replies = _send(client, _for_keys(batch, first), len(batch) * per_key)
    present: list[tuple[bytes, str, int, bytes | None, list[Any]]] = []
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
            saved.append((key, max(pttl, 1) if pttl >= 0 else _NO_EXPIRY, payload))
    return saved


def _open_others(
    client: redis.Redis, others: list[tuple[bytes, int, bytes | None]]
) -> list[tuple[bytes, str, int, bytes | None, list[Any]]]:
    """The keys that are not strings: their types, then the first part of their values."""
    kinds = _checked(_send(client, _for_keys((key for key, *_ in others), _TYPE), len(others)))
    typed = [
        (key, _text(kind).decode(), pttl, payload)
        for (key, pttl, payload), kind in zip(others, kinds, strict=True)
        if kind != b"none"  # gone since
    ]
    openings = [_OPENINGS.get(kind, _MODULE_TYPE) for _, kind, _, _ in typed]
    packed = b"".join(
        _for_keys((key,), templates) for (key, *_), templates in zip(typed, openings, strict=True)
    )
    replies = _checked(_send(client, packed, sum(map(len, openings))))
    opened = []
    position = 0
    for (key, kind, pttl, payload), templates in zip(typed, openings, strict=True):
        opened.append((key, kind, pttl, payload, replies[position : position + len(templates)]))
        position += len(templates)
    return opened


def fingerprint(dbs: Databases) -> str:
    return walk(dbs).fingerprint


# ---------------------------------------------------------------- save and restore


def save(dbs: Databases, folder: Path) -> SavedState:
    """Every key into FILE_NAME in `folder`, written aside and renamed when complete."""
    path = folder / FILE_NAME
    partial = folder / (FILE_NAME + ".saving")
    made_by = dbs.redis_version()
    try:
        with partial.open("wb") as stream:
            writer = StateWriter(stream, made_by)
            walked = walk(dbs, writer.block)
            size = writer.finish()
            stream.flush()
            os.fsync(stream.fileno())
        partial.replace(path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise InspectorError(
            Problem.ERROR, f"cannot write {path}: {error.strerror or error}"
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return SavedState(
        location=FILE_NAME,
        size_bytes=size,
        summary=summary_text(walked.keys, walked.dbs),
        fingerprint=walked.fingerprint,
    )


def load(folder: Path, service: str, name: str) -> StateFile:
    """The saved state, checked in full, or an InspectorError that says why not."""
    try:
        return read_state(folder / FILE_NAME)
    except StateFormatError as error:
        raise InspectorError(
            Problem.ERROR,
            f"cannot restore {service} from {name}: {error}; its data was left as it is",
        ) from None


def restore(dbs: Databases, state: StateFile) -> str:
    """Replaces the server's data with `state`: FLUSHALL, then every key RESTOREd."""
    _check_restorable(dbs, state)
    try:
        dbs.main.flushall(asynchronous=True)  # the keyspace is empty at once, freed aside
    except ResponseError:
        dbs.main.flushall()  # Redis before 4.0 has no FLUSHALL ASYNC
    try:
        for db, keys in state.dbs.items():
            _restore_db(dbs.client(db), db, keys)
    except RedisError as error:
        problem = inspector_error(error, dbs.settings)
        raise InspectorError(
            problem.problem,
            f"{problem}; the restore stopped after FLUSHALL, so Redis holds only part of "
            "the saved data: restore again",
        ) from error
    return f"restored {state.summary}"


def _restore_db(client: redis.Redis, db: int, keys: dict[bytes, tuple[int, bytes]]) -> None:
    """RESTORE ... REPLACE of every key, pipelined in batches of bounded size."""
    batch: list[bytes] = []
    parts: list[bytes] = []
    size = 0
    for index, (key, (pttl, payload)) in enumerate(keys.items()):
        ttl = _word(0) if pttl == _NO_EXPIRY else _arg(b"%d" % pttl)
        parts += (_RESTORE, _arg(key), ttl, _arg(payload), _REPLACE)
        batch.append(key)
        size += len(payload)
        last = index == len(keys) - 1
        if last or len(batch) >= RESTORE_BATCH_KEYS or size >= RESTORE_BATCH_BYTES:
            replies = _send(client, b"".join(parts), len(batch))
            for name, reply in zip(batch, replies, strict=True):
                if isinstance(reply, ResponseError):
                    raise ResponseError(f"RESTORE of key {key_text(name)} in db {db}: {reply}")
            batch, parts, size = [], [], 0


def _check_restorable(dbs: Databases, state: StateFile) -> None:
    """What would make a restore fail half-way, found before anything is flushed."""
    for db in state.dbs:
        try:
            dbs.client(db).ping()  # connecting SELECTs the db
        except ResponseError as error:
            raise InspectorError(
                Problem.ERROR,
                f"the saved data has keys in db {db}, which this Redis cannot select "
                f"({error}); nothing was changed",
            ) from None
    newest = max(state.rdb_versions(), default=None)
    if newest is None:
        return
    ours = _server_rdb_version(dbs)
    if ours is not None and newest > ours:
        raise InspectorError(
            Problem.ERROR,
            f"the saved data came from Redis {state.made_by} (RDB format {newest}), which this "
            f"Redis (RDB format {ours}) cannot read; nothing was changed",
        )


def _server_rdb_version(dbs: Databases) -> int | None:
    """The RDB version this server writes, from a DUMP of one of its keys; None when it
    holds none (then a failed restore cannot lose anything)."""
    for db in dbs.with_keys():
        client = dbs.client(db)
        key = client.randomkey()
        payload = _one(client, "DUMP", key) if key is not None else None
        if isinstance(payload, bytes) and len(payload) >= _DUMP_FOOTER:
            return rdb_version(payload)
    return None
