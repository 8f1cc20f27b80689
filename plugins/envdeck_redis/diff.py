"""What one test changed in a Redis server: keys added, removed and changed (type, TTL,
value), in every logical db.

How it stays quick. Before the test, keyspace notifications are switched on for the
whole server (`CONFIG SET notify-keyspace-events`, the previous setting's flags plus
`KA`; the setting is put back exactly on `close`) and one connection of ours subscribes
to `__keyspace@*__:*`. Redis publishes every write's key as it happens, so after the
test the changed keys are known without a scan: a server of a million keys where the
test touches ten reads ten keys. A PUBLISH of our own on a private channel, read back on
the same connection, proves every notification of the test has arrived (Redis keeps
their order). Their values before the test come from the state envdeck saved just
before it (one pass over the state file, keeping only those keys); a saved value is
read by RESTOREing it under a scratch name, deleted at once.

Where it is exact, where not. A key is "changed" when its type or value differs (the
fingerprint's digest: encodings do not count) or its TTL was set, changed or removed; a
key written back as it was is not listed. FLUSHALL, FLUSHDB and SWAPDB send no
per-key notifications: when INFO commandstats shows the test ran one, every saved key
is checked too (a read of all of them, said in a note). Should Redis drop our
subscriber (its pubsub output buffer limit, on a test writing millions of keys), the
diff says it is incomplete.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import redis
from redis.exceptions import RedisError

from envdeck_redis.connection import Connect, inspector_error, settings_for
from envdeck_redis.diff_values import (
    SCRATCH_PREFIX,
    Saved,
    restored_aside,
    saved_keys,
    ttl_field,
    value_preview,
)
from envdeck_redis.display import as_bytes, key_text
from envdeck_redis.state_file import NO_EXPIRY
from envdeck_redis.state_walk import key_states
from tui.plugins.api import (
    Change,
    DiffItem,
    InspectorError,
    Problem,
    ServiceDiff,
    ServiceTarget,
    StateRef,
)
from tui.plugins.diff_build import bounded_group, groups_with_changes

SETTING = "notify-keyspace-events"
WANTED_FLAGS = "KA"  # keyspace channel (K), every command class (A)
KEYSPACE_PATTERN = b"__keyspace@*__:*"
FLUSHING_COMMANDS = ("flushall", "flushdb", "swapdb")
BARRIER_SECONDS = 30.0
TTL_EVENTS = frozenset({b"expire", b"persist"})

DbKey = tuple[int, bytes]


@dataclass(frozen=True)
class KeyState:
    """A key as a diff compares it: type, TTL (ms, -1 none) and value digest."""

    kind: str
    pttl: int
    digest: bytes


def classify(
    before: KeyState | None, after: KeyState | None, events: frozenset[bytes]
) -> Change | None:
    """How one key changed, from what it was and is; None when it is as it was. A TTL
    counts as changed when the test set or removed one (its events say so), not when it
    merely ran down."""
    if before is None:
        return None if after is None else Change.ADDED
    if after is None:
        return Change.REMOVED
    if before.kind != after.kind or before.digest != after.digest:
        return Change.CHANGED
    if (before.pttl >= 0) != (after.pttl >= 0) or events & TTL_EVENTS:
        return Change.CHANGED
    return None


class RedisDiffWatch:
    """Keyspace notifications of one server, from `begin` until `close`."""

    def __init__(self, target: ServiceTarget, before: StateRef, connect: Connect) -> None:
        self._settings = settings_for(target)
        self._connect = connect
        self._before = before
        self._client = connect(self._settings)
        self._events: dict[DbKey, set[bytes]] = {}
        self._lock = threading.Lock()
        self._barrier = b"envdeck:diff-barrier:" + uuid.uuid4().hex.encode()
        self._barrier_seen = threading.Event()
        self._lost: str | None = None
        self._stop = threading.Event()
        self._previous: str | None = None
        try:
            self._previous = _setting(self._client)
            self._client.config_set(SETTING, _with_flags(self._previous, WANTED_FLAGS))
            self._pubsub = self._client.pubsub()  # type: ignore[no-untyped-call]
            self._pubsub.psubscribe(KEYSPACE_PATTERN)
            self._pubsub.subscribe(self._barrier)
            self._confirm_subscriptions(2)
            self._flushes = _flush_calls(self._client)
        except RedisError as error:
            self.close()
            raise inspector_error(error, self._settings) from error
        self._reader = threading.Thread(target=self._read, name="envdeck-redis-diff", daemon=True)
        self._reader.start()

    def _confirm_subscriptions(self, count: int) -> None:
        confirmed = 0
        while confirmed < count:
            message = self._pubsub.get_message(timeout=self._settings.timeout)
            if message is None:
                raise InspectorError(Problem.TIMEOUT, "Redis did not confirm our subscription")
            if message["type"] in ("subscribe", "psubscribe"):
                confirmed += 1

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._pubsub.get_message(timeout=0.2)
            except (RedisError, OSError, ValueError) as error:
                if not self._stop.is_set():
                    self._lost = str(error) or type(error).__name__
                self._barrier_seen.set()  # nothing more will come: finish must not wait
                return
            if message is not None:
                self._receive(message)

    def _receive(self, message: Mapping[str, Any]) -> None:
        if message["type"] == "message" and message["channel"] == self._barrier:
            self._barrier_seen.set()
            return
        if message["type"] != "pmessage":
            return
        where = _keyspace_key(message["channel"])
        if where is None or where[1].startswith(SCRATCH_PREFIX):
            return
        with self._lock:
            self._events.setdefault(where, set()).add(bytes(message["data"]))

    # ------------------------------------------------------------ the diff

    def finish(self, limit: int) -> ServiceDiff:
        try:
            return self._finish(limit)
        except RedisError as error:
            raise inspector_error(error, self._settings) from error

    def _finish(self, limit: int) -> ServiceDiff:
        self._client.publish(self._barrier, b"end")
        if not self._barrier_seen.wait(BARRIER_SECONDS):
            self._lost = "the notifications stopped arriving"
        notes: list[str] = []
        if self._lost is not None:
            notes.append(
                f"Redis dropped envdeck's notifications ({self._lost}): keys changed after "
                "that are missing, so this diff is incomplete"
            )
        with self._lock:
            events = {where: frozenset(names) for where, names in self._events.items()}
        flushed = _flush_calls(self._client) != self._flushes
        if flushed:
            notes.append("the test flushed or swapped dbs: every saved key was checked too")
        saved = saved_keys(self._before.folder, None if flushed else set(events))
        candidates = sorted(set(events) | set(saved))
        after = self._read_states(candidates)
        found: dict[Change, list[DbKey]] = {change: [] for change in Change}
        for where in candidates:
            now = after.get(where)
            was = self._saved_state(where, saved.get(where), compare=now is not None)
            change = classify(was, now, events.get(where, frozenset()))
            if change is not None:
                found[change].append(where)
        groups = [
            bounded_group(
                change,
                f"keys {change.value}",
                (self._item(where, saved.get(where), after.get(where)) for where in keys),
                len(keys),
                limit,
            )
            for change, keys in found.items()
        ]
        return ServiceDiff(groups_with_changes(groups), tuple(notes))

    def _db(self, db: int) -> redis.Redis:
        if db == self._settings.db:
            return self._client
        return self._connect(replace(self._settings, db=db))

    def _read_states(self, candidates: Iterable[DbKey]) -> dict[DbKey, KeyState]:
        by_db: dict[int, list[bytes]] = {}
        for db, key in candidates:
            by_db.setdefault(db, []).append(key)
        states: dict[DbKey, KeyState] = {}
        for db, keys in by_db.items():
            client = self._db(db)
            try:
                for start in range(0, len(keys), 1000):
                    read = key_states(client, keys[start : start + 1000])
                    for key, (kind, pttl, digest) in read.items():
                        states[(db, key)] = KeyState(kind, pttl, digest)
            finally:
                if client is not self._client:
                    client.close()
        return states

    def _saved_state(self, where: DbKey, saved: Saved | None, *, compare: bool) -> KeyState | None:
        """What a saved key was; its value is read (from its payload) only to `compare`
        it with the key as it is now: a key that is gone is removed, whatever it was."""
        if saved is None:
            return None
        if not compare:
            return KeyState("", saved[0], b"")
        client = self._db(where[0])
        try:
            with restored_aside(client, saved[1]) as scratch:
                ((kind, _, digest),) = key_states(client, [scratch]).values()
        finally:
            if client is not self._client:
                client.close()
        return KeyState(kind, saved[0], digest)

    def _item(self, where: DbKey, saved: Saved | None, after: KeyState | None) -> DiffItem:
        db, key = where
        client = self._db(db)
        try:
            before_fields: tuple[tuple[str, str], ...] = ()
            if saved is not None:
                with restored_aside(client, saved[1]) as scratch:
                    kind = as_text(client.type(scratch))
                    before_fields = _fields(kind, saved[0], value_preview(client, scratch, kind))
            after_fields: tuple[tuple[str, str], ...] = ()
            if after is not None:
                after_fields = _fields(
                    after.kind, after.pttl, value_preview(client, key, after.kind)
                )
        finally:
            if client is not self._client:
                client.close()
        label = key_text(key) if db == self._settings.db else f"db {db}: {key_text(key)}"
        return DiffItem(label, before_fields, after_fields)

    def close(self) -> None:
        self._stop.set()
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(timeout=2.0)
        pubsub = getattr(self, "_pubsub", None)
        try:
            if pubsub is not None:
                pubsub.close()
            if self._previous is not None:
                self._client.config_set(SETTING, self._previous)
        except RedisError:
            pass  # the server went away: its setting went with it
        finally:
            self._client.close()


def as_text(raw: bytes | str) -> str:
    return as_bytes(raw).decode("ascii", "replace")


def _fields(kind: str, pttl: int, value: str) -> tuple[tuple[str, str], ...]:
    return (("type", kind), ("ttl", ttl_field(pttl)), ("value", value))


def _setting(client: redis.Redis) -> str:
    reply: dict[Any, Any] = client.config_get(SETTING)
    raw = reply.get(SETTING.encode(), reply.get(SETTING, b""))
    return raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)


def _with_flags(current: str, wanted: str) -> str:
    """`current`'s flags plus `wanted`'s: other subscribers keep what they had."""
    return current + "".join(flag for flag in wanted if flag not in current)


def _flush_calls(client: redis.Redis) -> tuple[int, ...]:
    stats: dict[str, Any] = client.info("commandstats")
    return tuple(
        int((stats.get(f"cmdstat_{name}") or {}).get("calls", 0)) for name in FLUSHING_COMMANDS
    )


def _keyspace_key(channel: bytes) -> DbKey | None:
    """(db, key) of a `__keyspace@<db>__:<key>` channel."""
    prefix = b"__keyspace@"
    if not channel.startswith(prefix):
        return None
    db, separator, key = channel[len(prefix) :].partition(b"__:")
    if not separator or not db.isdigit():
        return None
    return int(db), key


__all__ = ["NO_EXPIRY", "RedisDiffWatch", "classify"]
