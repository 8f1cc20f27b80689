"""Saved states of a whole Redis server: save, restore, and the data's fingerprint.

A saved state is every key of every logical db, as DUMP payloads with the TTL each key
had left, in one file of the StateRef's folder (its format: state_file.py). A save walks
the keyspace (state_walk.py), which gives the fingerprint as well. A restore replaces the
server's data as a whole (FLUSHALL, then RESTORE of every key, each with the TTL it had
left when saved), but only after the file has been read and checked in full: a missing,
truncated or corrupt file changes nothing.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import redis
from redis.client import Pipeline
from redis.exceptions import RedisError, ResponseError

from envdeck_redis.connection import inspector_error
from envdeck_redis.display import key_text
from envdeck_redis.state_file import (
    DUMP_FOOTER,
    FILE_NAME,
    NO_EXPIRY,
    StateFile,
    StateFormatError,
    StateWriter,
    rdb_version,
    read_state,
    summary_text,
)
from envdeck_redis.state_walk import Databases, fingerprint, walk
from tui.plugins.api import InspectorError, Problem, SavedState

__all__ = ["FILE_NAME", "Databases", "fingerprint", "load", "restore", "save"]

RESTORE_BATCH_KEYS = 1000  # RESTOREs per pipeline...
RESTORE_BATCH_BYTES = 8 << 20  # ...or fewer, when their payloads are big


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
    pipe = client.pipeline(transaction=False)
    batch: list[bytes] = []
    size = 0
    for key, (pttl, payload) in keys.items():
        pipe.restore(key, 0 if pttl == NO_EXPIRY else pttl, payload, replace=True)
        batch.append(key)
        size += len(payload)
        if len(batch) >= RESTORE_BATCH_KEYS or size >= RESTORE_BATCH_BYTES:
            _restored(pipe, db, batch)
            batch, size = [], 0
    _restored(pipe, db, batch)


def _restored(pipe: Pipeline, db: int, batch: list[bytes]) -> None:
    """Runs the RESTOREs of `batch`; the first that Redis refused, as an error naming its key."""
    replies = pipe.execute(raise_on_error=False)
    for key, reply in zip(batch, replies, strict=True):
        if isinstance(reply, ResponseError):
            raise ResponseError(f"RESTORE of key {key_text(key)} in db {db}: {reply}")


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
        payload = client.dump(key) if key is not None else None
        if isinstance(payload, bytes) and len(payload) >= DUMP_FOOTER:
            return rdb_version(payload)
    return None
