"""Saved states of a whole Redis server (StatefulPlugin) against real, throwaway servers.

Every comparison of data reads the server on its own (`read_everything`), with plain
redis-py calls that share nothing with the plugin: the fingerprint is checked as well,
never instead.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from docker.models.containers import Container

from envdeck_redis import RedisPlugin
from envdeck_redis.state import RESTORE_BATCH_KEYS
from envdeck_redis.state_file import FILE_NAME, StateWriter, parse_state
from envdeck_redis.state_walk import CHUNK_BYTES, CHUNK_ITEMS, SCAN_COUNT
from tests.integration.test_plugin_redis import (
    PASSWORD,
    start_redis,
    throwaway_target,
    wait_for,
)
from tui.core.engine import DockerGateway
from tui.plugins.api import InspectorError, Problem, SavedState, ServiceTarget, StateRef

DBS = 16  # a stock server's logical dbs
# Twenty batches of SCAN and of RESTOREs: a keyspace many times what one batch holds, as
# 100,000 keys were, for a fifth of the time (save and restore at scale: bench.data_diff).
BIG = 20 * max(SCAN_COUNT, RESTORE_BATCH_KEYS)

Key = tuple[int, bytes]  # db, name
Data = dict[Key, tuple[str, Any]]  # type, full value
TTLs = dict[Key, int]  # PTTL: -1 for no expiry


# ---------------------------------------------------------------- independent reads


def connect(port: int, db: int = 0) -> redis.Redis:
    return redis.Redis(port=port, db=db, password=PASSWORD, socket_timeout=10)


def command(client: redis.Redis | redis.client.Pipeline, *args: Any) -> Any:
    """A command redis-py has no typed method for (or types too narrowly)."""
    send: Callable[..., Any] = client.execute_command
    return send(*args)


def text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def as_bytes(raw: bytes | str) -> bytes:
    return raw if isinstance(raw, bytes) else raw.encode()


def read_everything(port: int) -> tuple[Data, TTLs]:
    """Every key of every db: its type and whole value, and its PTTL."""
    data: Data = {}
    ttls: TTLs = {}
    for db in range(DBS):
        client = connect(port, db)
        try:
            for key in client.scan_iter(count=1000):
                kind = text(client.type(key))
                data[db, key] = (kind, read_value(client, kind, key))
                ttls[db, key] = client.pttl(key)
        finally:
            client.close()
    return data, ttls


def read_value(client: redis.Redis, kind: str, key: bytes) -> Any:
    if kind == "string":
        return client.get(key)
    if kind == "hash":
        return client.hgetall(key)
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "set":
        return client.smembers(key)
    if kind == "zset":
        return client.zrange(key, 0, -1, withscores=True)
    assert kind == "stream", kind
    # As Redis sends it: redis-py's usual reply makes a dict of an entry's fields, and a
    # stream entry may repeat a field.
    client.set_response_callback("XRANGE", lambda response, **options: response)
    entries = command(client, "XRANGE", key, "-", "+")
    info = client.xinfo_stream(key)
    groups = []
    for group in client.xinfo_groups(key):
        name = group["name"]
        consumers = [(c["name"], c["pending"]) for c in client.xinfo_consumers(key, name)]
        pending = client.xpending_range(key, name, "-", "+", 10_000)
        groups.append(
            (
                name,
                group["last-delivered-id"],
                group["pending"],
                sorted(consumers),
                [(p["message_id"], p["consumer"], p["times_delivered"]) for p in pending],
            )
        )
    return entries, info["last-generated-id"], sorted(groups)


def assert_same_data(expected: Data, actual: Data) -> None:
    assert sorted(actual) == sorted(expected)  # the same keys in the same dbs
    for key, value in expected.items():
        assert actual[key] == value, key


def assert_ttls_kept(before: TTLs, after: TTLs, elapsed_ms: float) -> None:
    """No expiry where there was none; otherwise what was left when read, less at most
    the time since (restoring gives a key the TTL it had left when it was saved)."""
    assert sorted(after) == sorted(before)
    for key, was in before.items():
        now = after[key]
        if was == -1:
            assert now == -1, key
        else:
            assert was - elapsed_ms - 5 <= now <= was, (key, was, now)


# ---------------------------------------------------------------- the data


BIG_STRING = bytes(range(256)) * (3 * CHUNK_BYTES // 256 + 7)  # four GETRANGE chunks
ODD_KEY = b"odd\x00key\n\r\xff"
LONG = CHUNK_ITEMS * 2 + 500  # collections read in three ranges


def populate(port: int) -> None:
    """Every type, in small and big encodings, binary names and values, three dbs."""
    client = connect(port)
    pipe = client.pipeline(transaction=False)
    pipe.set(b"", b"the empty name")
    pipe.set(ODD_KEY, b"\x00\xff\r\n value \x00")
    pipe.set(b"int", 12345)
    pipe.set(b"big", BIG_STRING)
    pipe.hset(b"hash:small", mapping={b"f\x00\n": b"v\r\n", b"a": b"1", b"": b""})
    pipe.hset(b"hash:big", mapping={f"field:{n}".encode(): n for n in range(LONG)})
    pipe.rpush(b"list:small", b"a", b"\x00", b"a")
    pipe.rpush(b"list:big", *range(LONG))
    pipe.sadd(b"set:int", 1, 2, 3)
    pipe.sadd(b"set:str", b"x\x00", b"y", b"")
    pipe.sadd(b"set:big", *(f"member:{n}" for n in range(LONG)))
    pipe.zadd(b"zset:small", {b"a": 1.5, b"b\x00": -2, b"c": math.inf, b"d": 1.5})
    pipe.zadd(b"zset:big", {f"member:{n}".encode(): n / 7 for n in range(LONG)})
    command(pipe, "XADD", b"stream", "*", "f", "1", "f", "2")  # a repeated field
    command(pipe, "XADD", b"stream", "*", b"\x00bin", b"\xff")
    command(pipe, "XADD", b"stream", "*", "last", "entry")
    pipe.xgroup_create(b"stream", "g1", id="0")
    pipe.xgroup_create(b"stream", "g2", id="$")
    for start in range(0, LONG, 500):
        for n in range(start, start + 500):
            command(pipe, "XADD", b"stream:big", f"1-{n + 1}", "n", n)
    pipe.set(b"ttl:string", b"expires", ex=3600)
    pipe.hset(b"ttl:hash", b"f", b"v")
    pipe.expire(b"ttl:hash", 7200)
    pipe.execute()
    client.xreadgroup("g1", "alice", {b"stream": ">"}, count=2)
    first = command(client, "XRANGE", b"stream", "-", "+", "COUNT", 1)[0][0]
    client.xack(b"stream", "g1", first)
    client.close()
    five = connect(port, 5)
    five.set(b"five", b"in db 5")
    five.set(b"five:ttl", b"soon", px=600_000)
    five.close()
    fifteen = connect(port, 15)
    fifteen.rpush(ODD_KEY, b"same name, another db")
    fifteen.close()


# ---------------------------------------------------------------- servers


@pytest.fixture(scope="module")
def server(gateway: DockerGateway, request: pytest.FixtureRequest) -> int:
    """The published port of a Redis of our own, for this module's tests in turn."""
    return start_redis(gateway, request)[1]


@pytest.fixture
def port(server: int) -> int:
    """The shared throwaway server, empty at the start of each test."""
    client = connect(server)
    client.flushall()
    client.close()
    return server


@pytest.fixture
def target(port: int) -> ServiceTarget:
    return throwaway_target(port, options={"password": PASSWORD})


def ref(folder: Path, name: str = "baseline") -> StateRef:
    folder.mkdir(parents=True, exist_ok=True)
    return StateRef(name, folder)


def saved_file(saved: StateRef) -> Path:
    return saved.folder / FILE_NAME


# ---------------------------------------------------------------- save, dirty, restore


def dirty(port: int) -> None:
    """Every kind of change a test run makes: added, changed, deleted keys, TTLs."""
    client = connect(port)
    client.set(b"added", b"by a test")
    client.set(b"int", b"999")
    client.hset(b"hash:small", b"a", b"2")
    client.lset(b"list:big", LONG - 3, "changed")
    client.sadd(b"set:int", 4)
    client.zadd(b"zset:big", {b"member:2400": -1})
    client.xadd(b"stream", {b"new": b"entry"})
    client.xreadgroup("g2", "bob", {b"stream": ">"})
    client.delete(ODD_KEY, b"hash:big")
    client.delete(b"set:str")
    client.rpush(b"set:str", b"x\x00")  # the same name, now a list
    client.persist(b"ttl:string")
    client.expire(b"list:small", 100)
    client.close()
    five = connect(port, 5)
    five.pexpire(b"five:ttl", 5_000)
    five.close()
    seven = connect(port, 7)
    seven.set(b"seven", b"a db the state does not have")
    seven.close()


def test_a_restore_gives_back_exactly_what_was_saved(
    target: ServiceTarget, port: int, tmp_path: Path
) -> None:
    populate(port)
    plugin = RedisPlugin()
    state = ref(tmp_path / "baseline")
    started = time.monotonic()
    before, ttls_before = read_everything(port)
    # Whichever db the target names, the state is the whole server's.
    saved = plugin.save_state(
        throwaway_target(port, options={"password": PASSWORD, "db": 5}), state
    )
    assert saved == SavedState(
        location=FILE_NAME,
        size_bytes=saved_file(state).stat().st_size,
        summary=f"{len(before)} keys in 3 dbs",
        fingerprint=plugin.fingerprint(target),
    )
    assert sorted(path.name for path in tmp_path.joinpath("baseline").iterdir()) == [FILE_NAME]

    dirty(port)
    changed, _ = read_everything(port)
    assert changed != before
    assert plugin.fingerprint(target) != saved.fingerprint

    assert plugin.restore_state(target, state) == f"restored {len(before)} keys in 3 dbs"
    after, ttls_after = read_everything(port)
    assert_same_data(before, after)  # the added keys and db 7 are gone too
    assert_ttls_kept(ttls_before, ttls_after, (time.monotonic() - started) * 1000)
    assert plugin.fingerprint(target) == saved.fingerprint
    # The state is unchanged by a restore: a second one gives the same again.
    dirty(port)
    plugin.restore_state(target, state)
    assert_same_data(before, read_everything(port)[0])


def test_a_restore_gives_each_key_the_ttl_it_had_left_when_saved(
    target: ServiceTarget, port: int, tmp_path: Path
) -> None:
    client = connect(port)
    client.set(b"session", b"s", px=60_000)
    client.set(b"forever", b"f")
    plugin = RedisPlugin()
    state = ref(tmp_path)
    plugin.save_state(target, state)
    saved_at = time.monotonic()
    wait_for(lambda: client.pttl(b"session") < 58_500, 10, "the TTL to run down by 1.5 s")
    plugin.restore_state(target, state)
    restored = client.pttl(b"session")
    since_save = (time.monotonic() - saved_at) * 1000
    assert 60_000 - 50 - since_save <= restored <= 60_000
    assert restored > 58_500 + 1_000  # back to what was left at the save, not counting on
    assert client.pttl(b"forever") == -1
    client.close()


def test_an_empty_server_saves_and_restores_as_empty(
    target: ServiceTarget, port: int, tmp_path: Path
) -> None:
    plugin = RedisPlugin()
    state = ref(tmp_path)
    saved = plugin.save_state(target, state)
    assert saved.summary == "no keys"
    connect(port, 3).set(b"later", b"1")
    assert plugin.fingerprint(target) != saved.fingerprint
    assert plugin.restore_state(target, state) == "restored no keys"
    assert read_everything(port) == ({}, {})
    assert plugin.fingerprint(target) == saved.fingerprint


def test_a_key_saved_with_little_time_left_expires_again_after_a_restore(
    target: ServiceTarget, port: int, tmp_path: Path
) -> None:
    client = connect(port)
    client.set(b"brief", b"b", px=400)
    plugin = RedisPlugin()
    state = ref(tmp_path)
    plugin.save_state(target, state)
    wait_for(lambda: client.exists(b"brief") == 0, 5, "the key to expire")
    plugin.restore_state(target, state)
    assert client.pttl(b"brief") != -1  # expiring again (-2: already gone), never kept
    wait_for(lambda: client.exists(b"brief") == 0, 5, "the restored key to expire")
    client.close()


# ---------------------------------------------------------------- fingerprints


def apply(port: int, db: int, change: Callable[[redis.Redis], Any]) -> None:
    client = connect(port, db)
    try:
        change(client)
    finally:
        client.close()


def first_pending(client: redis.Redis) -> bytes:
    pending: Any = client.xpending_range(b"stream", "g1", "-", "+", 1)
    return bytes(pending[0]["message_id"])


CHANGES: dict[str, Callable[[redis.Redis], Any]] = {
    "a key added": lambda c: c.set(b"added", b"1"),
    "a key deleted": lambda c: c.delete(b"list:small"),
    "a string changed": lambda c: c.set(ODD_KEY, b"\x00\xff\r\n value \x01"),
    "a byte deep in a big string": lambda c: c.setrange(b"big", 2 * CHUNK_BYTES + 5, b"!"),
    "the empty name's value": lambda c: c.set(b"", b"other"),
    "a hash value": lambda c: c.hset(b"hash:small", b"f\x00\n", b"v\r"),
    "a hash field added": lambda c: c.hset(b"hash:small", b"new", b""),
    "a field of a big hash": lambda c: c.hset(b"hash:big", f"field:{LONG - 1}", b"x"),
    "a list's order": lambda c: (c.lset(b"list:small", 0, "\x00"), c.lset(b"list:small", 1, "a")),
    "an item late in a big list": lambda c: c.lset(b"list:big", LONG - 1, "x"),
    "a set member": lambda c: (c.srem(b"set:str", b"y"), c.sadd(b"set:str", b"z")),
    "a member of a big set": lambda c: (c.srem(b"set:big", "member:7"), c.sadd(b"set:big", "m")),
    "a score": lambda c: c.zadd(b"zset:small", {b"d": 1.5000001}),  # the same order
    "a score late in a big zset": lambda c: c.zadd(b"zset:big", {f"member:{LONG - 1}": 1e9}),
    "a zset member renamed": lambda c: (
        c.zrem(b"zset:small", b"d"),
        c.zadd(b"zset:small", {b"e": 1.5}),
    ),
    "a stream entry added": lambda c: c.xadd(b"stream", {b"f": b"1"}),
    "a stream entry deleted": lambda c: c.xdel(b"stream:big", f"1-{LONG}"),
    "a stream's last ID": lambda c: command(c, "XSETID", b"stream:big", "2-0"),
    "a group added": lambda c: c.xgroup_create(b"stream", "g3", id="0"),
    "a group's position": lambda c: c.xgroup_setid(b"stream", "g2", id="0"),
    "a pending entry acknowledged": lambda c: c.xack(b"stream", "g1", first_pending(c)),
    "a pending entry claimed": lambda c: c.xclaim(b"stream", "g1", "carol", 0, [first_pending(c)]),
    "a type changed": lambda c: (c.delete(b"list:small"), c.sadd(b"list:small", b"a", b"\x00")),
    "a TTL added": lambda c: c.expire(b"int", 1000),
    "a TTL removed": lambda c: c.persist(b"ttl:string"),
    "a key moved to another db": lambda c: c.move(b"int", 3),
    "a binary name, one byte": lambda c: c.rename(ODD_KEY, ODD_KEY[:-1] + b"\xfe"),
}


@pytest.fixture(scope="module")
def populated(server: int, tmp_path_factory: pytest.TempPathFactory) -> tuple[StateRef, str]:
    """The populated server's saved state and fingerprint, to undo each change with."""
    client = connect(server)
    client.flushall()
    client.close()
    populate(server)
    target = throwaway_target(server, options={"password": PASSWORD})
    state = ref(tmp_path_factory.mktemp("populated"))
    saved = RedisPlugin().save_state(target, state)
    return state, saved.fingerprint


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_each_kind_of_change_changes_the_fingerprint(
    server: int, populated: tuple[StateRef, str], change: str
) -> None:
    state, base = populated
    target = throwaway_target(server, options={"password": PASSWORD})
    plugin = RedisPlugin()
    plugin.restore_state(target, state)
    assert plugin.fingerprint(target) == base
    apply(server, 0, CHANGES[change])
    assert plugin.fingerprint(target) != base
    plugin.restore_state(target, state)
    assert plugin.fingerprint(target) == base


def test_a_change_in_another_db_changes_the_fingerprint(
    server: int, populated: tuple[StateRef, str]
) -> None:
    state, base = populated
    target = throwaway_target(server, options={"password": PASSWORD})
    plugin = RedisPlugin()
    plugin.restore_state(target, state)
    apply(server, 15, lambda c: c.rpush(ODD_KEY, b"more"))
    assert plugin.fingerprint(target) != base


def test_the_time_left_on_a_ttl_is_not_data(server: int, populated: tuple[StateRef, str]) -> None:
    state, base = populated
    target = throwaway_target(server, options={"password": PASSWORD})
    plugin = RedisPlugin()
    plugin.restore_state(target, state)
    apply(server, 0, lambda c: c.expire(b"ttl:string", 10))
    apply(server, 5, lambda c: c.pexpire(b"five:ttl", 1_234_567))
    assert plugin.fingerprint(target) == base


def encodings(client: redis.Redis, keys: list[bytes]) -> list[bytes]:
    return [bytes(client.object("encoding", key)) for key in keys]


def test_equal_data_in_other_encodings_has_the_same_fingerprint(
    target: ServiceTarget, port: int
) -> None:
    client = connect(port)
    plugin = RedisPlugin()
    keys = [b"h", b"s", b"z", b"n"]

    client.hset(b"h", mapping={b"a": b"1", b"b": b"2"})
    client.sadd(b"s", 1, 2, 3)
    client.zadd(b"z", {b"a": 1, b"b": 2})
    client.set(b"n", 123)
    compact = encodings(client, keys)
    fingerprint = plugin.fingerprint(target)

    client.flushall()
    client.hset(b"h", mapping={b"b": b"2", b"long": b"x" * 100, b"a": b"1"})  # another order
    client.hdel(b"h", b"long")
    client.sadd(b"s", 3, b"text", 2, 1)
    client.srem(b"s", b"text")
    client.zadd(b"z", {f"m{n}".encode(): n for n in range(200)} | {b"b": 2, b"a": 1})
    client.zrem(b"z", *(f"m{n}" for n in range(200)))
    client.set(b"n", b"12")
    client.append(b"n", b"3")
    grown = encodings(client, keys)
    assert all(a != b for a, b in zip(compact, grown, strict=True)), (compact, grown)
    assert plugin.fingerprint(target) == fingerprint
    client.close()


def known_data(port: int) -> None:
    """A little of every type, a TTL, a stream with a group, in two dbs."""
    client = connect(port)
    client.set(b"s", b"text\x00")
    client.set(b"n", 42, ex=3600)
    client.hset(b"h", mapping={b"b": b"2", b"a": b"1"})
    client.rpush(b"l", b"x", b"\x00", b"x")
    client.sadd(b"set", b"m", b"", 7)
    client.zadd(b"z", {b"a": 0.1, b"b": -math.inf, b"c": 3})
    command(client, "XADD", b"x", "1-1", "f", "1", "f", "2")
    command(client, "XADD", b"x", "1-2", b"\xff", b"")
    client.xgroup_create(b"x", "g", id="0")
    client.xreadgroup("g", "c", {b"x": ">"}, count=1)
    client.close()
    apply(port, 2, lambda c: command(c, "XADD", b"x", "5-1", "f", "1", "f", "2"))


# What the first fingerprint (2cc8598, which read Redis's replies itself) gave for
# known_data on Redis 7.0: a baseline's fingerprint is compared with later ones, so the
# same data must keep giving it. Changing the digest means a new fingerprint version.
KNOWN_FINGERPRINT = "81eb5c6efafc9240b6a91cb16da15c1b5e7a7cf664978675ac6a1dc363bafd91"


def test_the_same_data_keeps_its_fingerprint(target: ServiceTarget, port: int) -> None:
    known_data(port)
    assert RedisPlugin().fingerprint(target) == KNOWN_FINGERPRINT


@pytest.mark.parametrize("db", [0, 3], ids=["the target's db", "another db"])
def test_a_stream_entrys_repeated_field_is_data(target: ServiceTarget, port: int, db: int) -> None:
    """redis-py's usual XRANGE reply makes a dict of an entry's fields: "f 1 f 2" would
    read as "f 2", just as "f 3 f 2" does."""
    plugin = RedisPlugin()
    client = connect(port, db)
    fingerprints = []
    for first in ("1", "3"):
        client.flushall()
        command(client, "XADD", b"x", "1-1", "f", first, "f", "2")
        fingerprints.append(plugin.fingerprint(target))
    client.close()
    assert fingerprints[0] != fingerprints[1]


def test_the_keyspace_is_walked_with_scan_and_bounded_ranges(
    target: ServiceTarget, port: int, tmp_path: Path
) -> None:
    """Every command the server ran for a save and a fingerprint, from its slow log."""
    populate(port)
    client = connect(port)
    client.config_set("slowlog-max-len", 1_000_000)
    client.config_set("slowlog-log-slower-than", 0)
    try:
        client.slowlog_reset()
        plugin = RedisPlugin()
        plugin.save_state(target, ref(tmp_path))
        plugin.fingerprint(target)
        logged = client.slowlog_get(1_000_000)
    finally:
        client.config_set("slowlog-log-slower-than", 10_000)
        client.config_set("slowlog-max-len", 128)
        client.close()
    commands = [as_bytes(entry["command"]) for entry in logged]
    names = {command.split(b" ", 1)[0].upper() for command in commands}
    assert b"SCAN" in names
    assert b"DUMP" in names
    assert not names & {b"KEYS", b"GET", b"HGETALL", b"SMEMBERS"}
    assert not [command for command in commands if command.endswith(b" -1")]  # no "to the end"
    assert b"LRANGE list:big 1000 1999" in commands
    assert b"ZRANGE zset:big 2000 2999 WITHSCORES" in commands
    assert f"GETRANGE big {2 * CHUNK_BYTES} {3 * CHUNK_BYTES - 1}".encode() in commands
    for scan in (b"HSCAN hash:big ", b"SSCAN set:big "):  # cursors past the first
        assert any(c.startswith(scan) and not c.startswith(scan + b"0 ") for c in commands)
    assert b"XRANGE stream:big 1-1001 + COUNT 1000" in commands


# ---------------------------------------------------------------- bad files, bad servers


def corrupted(original: Path, folder: Path, how: str) -> StateRef:
    state = ref(folder / how)
    data = original.read_bytes()
    if how == "truncated to half":
        saved_file(state).write_bytes(data[: len(data) // 2])
    elif how == "last byte missing":
        saved_file(state).write_bytes(data[:-1])
    elif how == "one byte changed":
        changed = bytearray(data)
        changed[len(data) // 2] ^= 0x40
        saved_file(state).write_bytes(bytes(changed))
    elif how == "empty":
        saved_file(state).write_bytes(b"")
    elif how == "something else":
        saved_file(state).write_bytes(b"*1\r\n$8\r\nFLUSHALL\r\n")
    else:
        assert how == "missing"
    return state


def test_a_bad_file_is_refused_and_the_data_is_left_alone(
    target: ServiceTarget, port: int, tmp_path: Path
) -> None:
    populate(port)
    plugin = RedisPlugin()
    good = ref(tmp_path / "good")
    plugin.save_state(target, good)
    dirty(port)
    now, ttls = read_everything(port)
    for how in [
        "truncated to half",
        "last byte missing",
        "one byte changed",
        "empty",
        "something else",
        "missing",
    ]:
        with pytest.raises(InspectorError) as caught:
            plugin.restore_state(target, corrupted(saved_file(good), tmp_path, how))
        assert caught.value.problem is Problem.ERROR, how
        assert str(caught.value).startswith("cannot restore cache from baseline: "), how
        assert str(caught.value).endswith("its data was left as it is"), how
        after, ttls_after = read_everything(port)
        assert_same_data(now, after)
        assert sorted(ttls_after) == sorted(ttls)


def rewritten(state: StateRef, into: StateRef, change: Callable[[bytes], bytes]) -> None:
    """`state`'s file with each payload changed, as a valid file (checksum and all)."""
    original = parse_state(saved_file(state).read_bytes())
    with saved_file(into).open("wb") as stream:
        writer = StateWriter(stream, "99.0.0")
        for db, keys in original.dbs.items():
            writer.block(
                db, [(key, pttl, change(payload)) for key, (pttl, payload) in keys.items()]
            )
        writer.finish()


def test_a_state_from_a_newer_redis_is_refused_before_anything_is_flushed(
    target: ServiceTarget, port: int, tmp_path: Path
) -> None:
    """A DUMP payload names its RDB version; one newer than the server's own is refused
    while the data is still there (RESTORE would fail only after FLUSHALL)."""
    client = connect(port)
    client.set(b"k", b"v")
    plugin = RedisPlugin()
    state = ref(tmp_path / "ours")
    plugin.save_state(target, state)
    future = ref(tmp_path / "future")

    def newer(payload: bytes) -> bytes:
        version = int.from_bytes(payload[-10:-8], "little") + 1
        return payload[:-10] + version.to_bytes(2, "little") + payload[-8:]

    rewritten(state, future, newer)
    client.set(b"other", b"stays")
    with pytest.raises(InspectorError) as caught:
        plugin.restore_state(target, future)
    assert caught.value.problem is Problem.ERROR
    assert "came from Redis 99.0.0" in str(caught.value)
    assert "nothing was changed" in str(caught.value)
    assert client.get(b"other") == b"stays"
    client.close()


def test_a_payload_redis_rejects_after_the_flush_is_reported_as_such(
    target: ServiceTarget, port: int, tmp_path: Path
) -> None:
    """Only a payload altered before it was written gets past the file's checksum; Redis
    then refuses it (its CRC64), and the message says the data is now partial."""
    client = connect(port)
    client.set(b"k", b"v")
    plugin = RedisPlugin()
    state = ref(tmp_path / "ours")
    plugin.save_state(target, state)
    broken = ref(tmp_path / "broken")
    rewritten(state, broken, lambda payload: payload[:-1] + bytes([payload[-1] ^ 1]))
    with pytest.raises(InspectorError) as caught:
        plugin.restore_state(target, broken)
    assert caught.value.problem is Problem.ERROR
    message = str(caught.value)
    assert "RESTORE of key k in db 0" in message
    assert "checksum" in message  # Redis's own words: "DUMP payload version or checksum..."
    assert message.endswith("Redis holds only part of the saved data: restore again")
    assert plugin.restore_state(target, state) == "restored 1 key in 1 db"
    assert client.get(b"k") == b"v"
    client.close()


def test_a_wrong_password_is_an_auth_problem(port: int, tmp_path: Path) -> None:
    plugin = RedisPlugin()
    wrong = throwaway_target(port, options={"password": "nope"})
    for call in (
        lambda: plugin.save_state(wrong, ref(tmp_path)),
        lambda: plugin.fingerprint(wrong),
    ):
        with pytest.raises(InspectorError) as caught:
            call()
        assert caught.value.problem is Problem.AUTH
    assert not (tmp_path / FILE_NAME).exists()
    assert not (tmp_path / (FILE_NAME + ".saving")).exists()


def expect_problem(call: Callable[[], object], within: float) -> InspectorError:
    started = time.monotonic()
    with pytest.raises(InspectorError) as caught:
        call()
    assert time.monotonic() - started < within
    return caught.value


def test_a_service_that_hangs_or_stops_is_reported_plainly(
    gateway: DockerGateway, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    container, port = start_redis(gateway, request)
    populate(port)
    target = throwaway_target(port, options={"password": PASSWORD}, timeout=0.5)
    plugin = RedisPlugin()
    state = ref(tmp_path / "state")
    plugin.save_state(target, state)
    connect(port).set(b"after", b"the save")
    before, _ = read_everything(port)

    container.pause()  # the port still accepts; nothing answers
    try:
        for call in (
            lambda: plugin.restore_state(target, state),
            lambda: plugin.fingerprint(target),
            lambda: plugin.save_state(target, ref(tmp_path / "while-paused")),
        ):
            assert expect_problem(call, within=5).problem is Problem.TIMEOUT
    finally:
        container.unpause()
    assert_same_data(before, read_everything(port)[0])  # nothing was flushed

    stop(container)
    for call in (
        lambda: plugin.restore_state(target, state),
        lambda: plugin.fingerprint(target),
        lambda: plugin.save_state(target, ref(tmp_path / "while-stopped")),
    ):
        gone = expect_problem(call, within=5)
        assert gone.problem in (Problem.REFUSED, Problem.DOWN)
        assert "cache" in str(gone)
    assert not (tmp_path / "while-stopped" / FILE_NAME).exists()
    assert not (tmp_path / "while-stopped" / (FILE_NAME + ".saving")).exists()


def stop(container: Container) -> None:
    container.stop(timeout=1)
    wait_for(lambda: _status(container) == "exited", 20, "the container to stop")


def _status(container: Container) -> str:
    container.reload()
    return str(container.status)


# ---------------------------------------------------------------- a big keyspace


def test_a_big_keyspace_saves_and_restores_in_many_batches(
    target: ServiceTarget,
    port: int,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    client = connect(port)
    pipe = client.pipeline(transaction=False)
    for start in range(0, BIG, 10_000):
        pipe.mset({f"item:{n:07d}": n for n in range(start, min(start + 10_000, BIG))})
    pipe.execute()
    client.expire("item:0000007", 3600)
    plugin = RedisPlugin()
    state = ref(tmp_path)

    started = time.monotonic()
    saved = plugin.save_state(target, state)
    save_seconds = time.monotonic() - started
    assert saved.summary == f"{BIG:,} keys in 1 db"

    client.delete(*(f"item:{n:07d}" for n in range(0, BIG, 100)))
    client.mset({f"later:{n}": n for n in range(1000)})
    client.set("item:0000001", "changed")

    started = time.monotonic()
    message = plugin.restore_state(target, state)
    restore_seconds = time.monotonic() - started
    started = time.monotonic()
    fingerprint = plugin.fingerprint(target)
    check_seconds = time.monotonic() - started

    assert message == f"restored {BIG:,} keys in 1 db"
    assert fingerprint == saved.fingerprint
    assert client.dbsize() == BIG
    assert client.get("item:0000001") == b"1"
    last = BIG - 100  # a deleted one, back
    assert client.get(f"item:{last:07d}") == str(last).encode()
    assert client.exists("later:5") == 0
    assert 0 < client.ttl("item:0000007") <= 3600
    client.close()
    record_property("save_seconds", round(save_seconds, 2))
    record_property("restore_seconds", round(restore_seconds, 2))
    record_property("fingerprint_seconds", round(check_seconds, 2))
    record_property("file_bytes", saved.size_bytes)
    print(
        f"\n{BIG:,} keys: save {save_seconds:.2f} s ({saved.size_bytes:,} bytes), "
        f"restore {restore_seconds:.2f} s, fingerprint {check_seconds:.2f} s"
    )


def test_a_small_environment_resets_quickly(
    target: ServiceTarget, port: int, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """About what the sample environment holds: a few dozen keys."""
    client = connect(port)
    client.mset({f"config:{n}": f'{{"flag": {n}}}' for n in range(30)})
    client.hset("session:1", mapping={"user": "7", "role": "admin"})
    client.rpush("queue", *range(20))
    plugin = RedisPlugin()
    state = ref(tmp_path)
    started = time.monotonic()
    saved = plugin.save_state(target, state)
    save_seconds = time.monotonic() - started
    client.set("config:3", "changed")
    started = time.monotonic()
    plugin.restore_state(target, state)
    assert plugin.fingerprint(target) == saved.fingerprint  # a reset checks its result
    reset_seconds = time.monotonic() - started
    assert client.get("config:3") == b'{"flag": 3}'
    client.close()
    record_property("save_seconds", round(save_seconds, 3))
    record_property("reset_seconds", round(reset_seconds, 3))
    print(
        f"\n32 keys: save {save_seconds * 1000:.0f} ms, restore+check {reset_seconds * 1000:.0f} ms"
    )


def test_state_files_are_kept_aside_and_deleted(
    target: ServiceTarget, port: int, tmp_path: Path
) -> None:
    connect(port).set(b"k", b"v")
    plugin = RedisPlugin()
    state = ref(tmp_path / "named")
    assert not plugin.state_exists(target, state)
    plugin.save_state(target, state)
    assert plugin.state_exists(target, state)
    copy = ref(tmp_path / "moved")  # the store renames a state's folder once it is complete
    shutil.copy(saved_file(state), saved_file(copy))
    plugin.delete_state(target, state)
    assert not plugin.state_exists(target, state)
    assert plugin.restore_state(target, copy) == "restored 1 key in 1 db"
