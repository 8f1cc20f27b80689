"""The file a saved state of a whole Redis server is kept in: written block by block as
the keyspace is walked, and read back only once it has been checked in full.

Format version 1 (integers little-endian; `bytes` fields are raw, binary-safe):

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

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from envdeck_redis.display import count_text, key_text

FILE_NAME = "redis.envdeck-state"
MAGIC = b"\x89ENVDECK-REDIS\r\n\x1a\n"
FORMAT_VERSION = 1
NO_EXPIRY = -1  # a record's TTL when the key does not expire
DUMP_FOOTER = 10  # RDB version (u16) and CRC64 (8 bytes) end every DUMP payload

_HEADER = struct.Struct("<H")
_BLOCK = struct.Struct("<II")
_RECORD = struct.Struct("<IQq")
_END = struct.Struct("<QI")
_DIGEST_BYTES = 32


class StateFormatError(Exception):
    """A state file that cannot be restored: missing, truncated, corrupt or too new."""


# A key as saved: its name, the milliseconds it had left (-1: no expiry), DUMP's payload.
SavedKey = tuple[bytes, int, bytes]


def rdb_version(payload: bytes) -> int:
    """The RDB format version a DUMP payload is written in."""
    return int.from_bytes(payload[-DUMP_FOOTER : -DUMP_FOOTER + 2], "little")


@dataclass(frozen=True)
class StateFile:
    made_by: str  # the redis_version of the server it was saved from
    dbs: dict[int, dict[bytes, tuple[int, bytes]]]  # db -> key -> (TTL, payload); db order

    def rdb_versions(self) -> set[int]:
        footers = {
            payload[-DUMP_FOOTER:] for keys in self.dbs.values() for _, payload in keys.values()
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
            if dump_length < DUMP_FOOTER or (pttl != NO_EXPIRY and pttl <= 0):
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
