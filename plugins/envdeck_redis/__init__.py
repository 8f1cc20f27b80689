"""envdeck's Redis inspector: server overview, key browser, values, slow log; saved
states of the whole server for reset and snapshots (state.py); what one test changed
(diff.py).

Every call opens its own short-lived connection (connection.py), so a restarted service
needs no reconnect logic and a dead one fails within the target's timeout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import ClassVar

import redis
from redis.exceptions import ResponseError

from envdeck_redis.browser import keys_view
from envdeck_redis.connection import REDIS_PORT, Connect, open_client, session
from envdeck_redis.diff import RedisDiffWatch
from envdeck_redis.display import count_text, key_text
from envdeck_redis.overview import overview_sections, slowlog_sections
from envdeck_redis.state import FILE_NAME, Databases, load, restore, save
from envdeck_redis.state import fingerprint as data_fingerprint
from envdeck_redis.values import key_view, resolve_key
from tui.plugins.api import (
    Action,
    InspectorError,
    Match,
    Problem,
    SavedState,
    ServiceTarget,
    StateRef,
    View,
    ViewRequest,
    ViewResult,
    image_or_port_match,
)

__all__ = ["RedisPlugin"]

# Image names of Redis and the servers that speak its protocol.
IMAGES = frozenset({"redis", "redis-stack", "redis-stack-server", "valkey", "keydb"})

VIEWS = (
    View("overview", "Overview"),
    View("keys", "Keys", takes_query=True, query_hint="glob pattern, e.g. user:* (default *)"),
    View("key", "Key", takes_query=True, query_hint="key name, as the key browser shows it"),
    View("slowlog", "Slow log"),
)

ACTIONS = (
    Action("delete_key", "Delete a key", destructive=True, params=("key",)),
    Action("flush_db", "Flush the database (FLUSHDB)", destructive=True),
)


class RedisPlugin:
    name: ClassVar[str] = "redis"
    title: ClassVar[str] = "Redis"

    def __init__(self, connect: Connect = open_client) -> None:
        self._connect = connect  # tests pass a client that counts its commands

    def matches(self, target: ServiceTarget) -> Match:
        return image_or_port_match(target, IMAGES, REDIS_PORT)

    def views(self, target: ServiceTarget) -> Sequence[View]:
        return VIEWS

    def show(self, target: ServiceTarget, request: ViewRequest) -> ViewResult:
        with session(target, self._connect) as (client, settings):
            if request.view == "overview":
                return ViewResult(overview_sections(client, settings.db))
            if request.view == "keys":
                return keys_view(client, settings.db, request.query, request.cursor, request.limit)
            if request.view == "key":
                return ViewResult(key_view(client, settings.db, request.query, request.limit))
            if request.view == "slowlog":
                return ViewResult(slowlog_sections(client))
        raise InspectorError(Problem.ERROR, f"the Redis inspector has no view {request.view!r}")

    def actions(self, target: ServiceTarget) -> Sequence[Action]:
        return ACTIONS

    def run_action(self, target: ServiceTarget, action: str, params: Mapping[str, str]) -> str:
        with session(target, self._connect) as (client, settings):
            if action == "delete_key":
                return _delete_key(client, settings.db, params.get("key", ""))
            if action == "flush_db":
                keys = client.dbsize()
                client.flushdb(asynchronous=True)  # frees memory in the background
                return f"flushed db {settings.db} ({count_text(keys, 'keys')})"
        raise InspectorError(Problem.ERROR, f"the Redis inspector has no action {action!r}")

    # ------------------------------------------------------------ saved states
    # Every db of the server, whichever db the target names: a reset replaces it all.

    def save_state(self, target: ServiceTarget, ref: StateRef) -> SavedState:
        with (
            session(target, self._connect) as (client, settings),
            Databases(client, settings, self._connect) as dbs,
        ):
            return save(dbs, ref.folder)

    def restore_state(self, target: ServiceTarget, ref: StateRef) -> str:
        state = load(ref.folder, target.service, ref.name)  # checked before Redis is touched
        with (
            session(target, self._connect) as (client, settings),
            Databases(client, settings, self._connect) as dbs,
        ):
            return restore(dbs, state)

    def state_exists(self, target: ServiceTarget, ref: StateRef) -> bool:
        return (ref.folder / FILE_NAME).is_file()

    def delete_state(self, target: ServiceTarget, ref: StateRef) -> None:
        for name in (FILE_NAME, FILE_NAME + ".saving"):
            with contextlib.suppress(FileNotFoundError):
                (ref.folder / name).unlink()

    def begin_diff(self, target: ServiceTarget, before: StateRef) -> RedisDiffWatch:
        """Keyspace notifications from now on (diff.py): what one test changes."""
        return RedisDiffWatch(target, before, self._connect)

    def fingerprint(self, target: ServiceTarget) -> str:
        with (
            session(target, self._connect) as (client, settings),
            Databases(client, settings, self._connect) as dbs,
        ):
            return data_fingerprint(dbs)


def _delete_key(client: redis.Redis, db: int, name: str) -> str:
    key = resolve_key(client, name)
    if key is None:
        return f"no key {name} in db {db}: nothing deleted"
    try:
        client.unlink(key)  # frees a big value in the background, unlike DEL
    except ResponseError:
        client.delete(key)  # Redis before 4.0 has no UNLINK
    return f"deleted key {key_text(key)}"
