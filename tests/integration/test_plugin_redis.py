"""The Redis inspector against real Redis servers.

The sample environment's Redis is shared with other tests running at the same time: every
test writes under its own uuid prefix and removes it, and the big keyspace lives in a
spare logical db flushed at the end. Passwords, the slow log's settings and a service
going away use throwaway containers of their own.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis
from docker.models.containers import Container

from envdeck_redis import RedisPlugin
from envdeck_redis.browser import SCAN_CALLS_MAX, SCAN_COUNT_MAX
from envdeck_redis.connection import RedisSettings, open_client
from envdeck_redis.display import as_bytes
from tests.conftest import SampleEnv
from tests.integration.conftest import published_port, run_on_loopback
from tui.core.engine import DockerGateway
from tui.core.plugin_registry import PluginRegistry, build_target
from tui.plugins.api import (
    InspectorError,
    KeyValues,
    Problem,
    ServiceTarget,
    Table,
    TextBlock,
    ViewRequest,
    ViewResult,
)

IMAGE = "envdeck-base:bookworm"
PASSWORD = "s3cret"
# Twenty pages of 1,000 keys, and more keys than two pages may SCAN (a narrow pattern
# takes several pages): as telling as 100,000 keys for the browser's rules, built sooner.
BIG = 20_000
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # none of these in a line
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # a text keeps its lines


class CountingRedis(redis.Redis):
    """A client that records the commands it sends outside pipelines (SCAN, GETRANGE...)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(args)
        send: Callable[..., Any] = super().execute_command
        return send(*args, **options)

    @property
    def names(self) -> Counter[str]:
        return Counter(str(args[0]).upper() for args in self.sent)


class CountingPlugin(RedisPlugin):
    def __init__(self) -> None:
        self.clients: list[CountingRedis] = []
        super().__init__(connect=self._open)

    def _open(self, settings: RedisSettings) -> redis.Redis:
        client = open_client(settings, CountingRedis)
        assert isinstance(client, CountingRedis)
        self.clients.append(client)
        return client

    @property
    def last(self) -> CountingRedis:
        return self.clients[-1]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)


def show(target: ServiceTarget, view: str, query: str = "", **request: Any) -> ViewResult:
    return RedisPlugin().show(target, ViewRequest(view, query, **request))


def table(result: ViewResult, index: int = 0) -> Table:
    section = result.sections[index]
    assert isinstance(section, Table), section
    return section


def summary(result: ViewResult) -> dict[str, str]:
    section = result.sections[0]
    assert isinstance(section, KeyValues), section
    return dict(section.items)


def assert_safe(result: ViewResult) -> None:
    """Every string in `result` is a str free of control characters; only a TextBlock's
    text may keep line breaks and tabs."""
    for section in result.sections:
        lines = [section.title]
        if isinstance(section, KeyValues):
            lines += [text for item in section.items for text in item]
        elif isinstance(section, Table):
            lines += [*section.columns, section.note]
            lines += [cell for row in section.rows for cell in row]
        else:
            assert isinstance(section.text, str)
            assert not CONTROL_IN_TEXT.search(section.text), section.text
        for line in lines:
            assert isinstance(line, str)
            assert not CONTROL.search(line), line


# ---------------------------------------------------------------- the shared Redis


@pytest.fixture(scope="module")
def target(sample_env: SampleEnv) -> ServiceTarget:
    return build_target(sample_env.environment.project.services["redis"], None)


@pytest.fixture(scope="module")
def direct(sample_env: SampleEnv) -> Iterator[redis.Redis]:
    """Our own client on db 0, to write what the inspector should show."""
    client = redis.Redis(port=sample_env.port("redis", 6379), socket_timeout=10)
    yield client
    client.close()


@pytest.fixture
def prefix(direct: redis.Redis) -> Iterator[bytes]:
    prefix = f"envdeck-test:{uuid.uuid4().hex[:12]}:".encode()
    yield prefix
    leftovers = list(direct.scan_iter(match=prefix + b"*", count=1000))
    if leftovers:
        direct.unlink(*leftovers)


def spare_db(sample_env: SampleEnv) -> tuple[int, redis.Redis]:
    """An empty logical db of 9..15 and a client on it."""
    for db in range(15, 8, -1):
        client = redis.Redis(port=sample_env.port("redis", 6379), db=db, socket_timeout=10)
        if client.dbsize() == 0:
            return db, client
        client.close()
    pytest.fail("dbs 9..15 of the sample Redis are all in use")


@pytest.fixture(scope="module")
def big_db(sample_env: SampleEnv) -> Iterator[tuple[int, redis.Redis]]:
    """BIG keys, written in MSET batches of 10,000, plus one needle."""
    assert BIG > 2 * SCAN_CALLS_MAX * SCAN_COUNT_MAX, "more keys than two pages may SCAN"
    db, client = spare_db(sample_env)
    try:
        pipeline = client.pipeline(transaction=False)
        for start in range(0, BIG, 10_000):
            pipeline.mset({f"item:{n:07d}": n for n in range(start, min(start + 10_000, BIG))})
        pipeline.set("needle:1", "found")
        pipeline.execute()
        assert client.dbsize() == BIG + 1
        yield db, client
    finally:
        client.flushdb()
        client.close()


def test_the_registry_picks_this_plugin_for_the_sample_redis(sample_env: SampleEnv) -> None:
    spec = sample_env.environment.project.services["redis"]
    plugin = PluginRegistry().for_target(build_target(spec, None))
    assert isinstance(plugin, RedisPlugin)


def test_overview_shows_server_memory_and_keyspace(
    target: ServiceTarget, direct: redis.Redis, prefix: bytes
) -> None:
    direct.set(prefix + b"k", "v")
    direct.get(prefix + b"k")
    result = show(target, "overview")
    server, memory, keys = (dict(s.items) for s in result.sections[:3] if isinstance(s, KeyValues))
    assert re.fullmatch(r"redis \d+\.\d+\.\d+", server["server"])
    assert server["mode"] == "standalone, master"
    assert memory["maxmemory"] == "256.0 MiB"
    assert memory["eviction policy"] == "allkeys-lru"
    assert re.fullmatch(r"\d+\.\d% \(.+ hits, .+ misses\)", keys["hit rate"])
    keyspace = table(result, 3)
    assert keyspace.columns == ("db", "keys", "with expiry", "avg TTL")
    assert any(row[0].startswith("0 ") for row in keyspace.rows)


def test_every_value_type_is_previewed(
    target: ServiceTarget, direct: redis.Redis, prefix: bytes
) -> None:
    direct.set(prefix + b"string", "hello")
    direct.hset(prefix + b"hash", mapping={"name": "Ada", "lang": "en"})
    direct.rpush(prefix + b"list", "a", "b", "c")
    direct.sadd(prefix + b"set", "x", "y")
    direct.zadd(prefix + b"zset", {"low": 1.5, "high": 10})
    stream_id = direct.xadd(prefix + b"stream", {"event": "signup", "user": "7"})

    def key(name: str) -> ViewResult:
        return show(target, "key", (prefix + name.encode()).decode())

    string = key("string")
    assert summary(string)["type"] == "string"
    assert summary(string)["size"] == "5 B"
    assert string.sections[1] == TextBlock("Value", "hello")
    hash_rows = table(key("hash"), 1)
    assert sorted(hash_rows.rows) == [("lang", "en"), ("name", "Ada")]
    assert hash_rows.note == "all 2 fields"
    assert table(key("list"), 1).rows == (("0", "a"), ("1", "b"), ("2", "c"))
    assert sorted(table(key("set"), 1).rows) == [("x",), ("y",)]
    assert table(key("zset"), 1).rows == (("0", "low", "1.5"), ("1", "high", "10.0"))
    stream = key("stream")
    assert summary(stream)["size"] == "1 entry"
    assert table(stream, 1).rows == ((as_bytes(stream_id).decode(), "event=signup user=7"),)


def test_big_values_are_fetched_in_ranges_and_shown_in_part(
    target: ServiceTarget, direct: redis.Redis, prefix: bytes
) -> None:
    direct.set(prefix + b"big", b"x" * 1_000_000)
    pipeline = direct.pipeline(transaction=False)
    for start in range(0, 10_000, 2_500):
        pipeline.rpush(prefix + b"long", *range(start, start + 2_500))
    pipeline.execute()
    plugin = CountingPlugin()

    big = plugin.show(target, ViewRequest("key", (prefix + b"big").decode()))
    value = big.sections[1]
    assert isinstance(value, TextBlock)
    assert value.title == "Value: first 4,096 of 1,000,000 bytes"
    assert value.text == "x" * 4096
    assert "GET" not in plugin.last.names  # GETRANGE only
    long = plugin.show(target, ViewRequest("key", (prefix + b"long").decode(), limit=100))
    items = table(long, 1)
    assert summary(long)["size"] == "10,000 items"
    assert items.rows[:2] == (("0", "0"), ("1", "1"))
    assert len(items.rows) == 100
    assert items.note == "first 100 of 10,000 items"
    assert ("LRANGE", prefix + b"long", 0, 99) in plugin.last.sent


def test_ttl_is_shown_in_the_browser_and_the_key_view(
    target: ServiceTarget, direct: redis.Redis, prefix: bytes
) -> None:
    direct.set(prefix + b"session", "s", ex=3600)
    direct.set(prefix + b"forever", "f")
    rows = {row[0]: row for row in table(show(target, "keys", prefix.decode() + "*")).rows}
    expiring = rows[(prefix + b"session").decode()]
    assert expiring[1] == "string"
    assert expiring[2].startswith(("59m", "1h 00m"))
    assert rows[(prefix + b"forever").decode()][2] == "-"
    assert summary(show(target, "key", (prefix + b"session").decode()))["TTL"] == expiring[2]


def test_hostile_names_and_values_come_back_as_safe_text(
    target: ServiceTarget, direct: redis.Redis, prefix: bytes
) -> None:
    hostile = [b"\x1b[31mred\x1b[0m", b"\xff\xfe", b"[bold]markup[/bold]", b"nul\x00", b"a\nb"]
    for index, raw in enumerate(hostile):
        direct.set(prefix + raw, b"value \x1b]52;c;evil\x07 " + raw)
        direct.hset(prefix + b"hash", raw, raw)
        direct.rpush(prefix + b"list", raw)
        direct.sadd(prefix + b"set", raw)
        direct.zadd(prefix + b"zset", {raw: index})
        direct.xadd(prefix + b"stream", {raw: raw})

    browsed = show(target, "keys", prefix.decode() + "*")
    names = [row[0] for row in table(browsed).rows]
    assert len(names) == len(hostile) + 5
    assert (prefix + b"[bold]markup[/bold]").decode() in names
    for name in names:  # each shown name opens its key again, binary or not
        opened = show(target, "key", name)
        assert summary(opened)["name"] == name
        assert_safe(opened)
    assert_safe(browsed)
    binary = show(target, "key", prefix.decode() + "\\xff\\xfe").sections[1]
    assert binary == TextBlock("Value", "value ␛]52;c;evil␇ \\xff\\xfe")
    lines = show(target, "key", prefix.decode() + "a\\x0ab").sections[1]
    assert lines == TextBlock("Value", "value ␛]52;c;evil␇ a\nb")


def test_delete_key_removes_exactly_that_key(
    target: ServiceTarget, direct: redis.Redis, prefix: bytes
) -> None:
    direct.set(prefix + b"doomed\x1b", "1")
    direct.set(prefix + b"kept", "2")
    shown = (prefix + b"doomed").decode() + "␛"  # as the browser shows it
    assert RedisPlugin().run_action(target, "delete_key", {"key": shown}) == f"deleted key {shown}"
    assert direct.exists(prefix + b"doomed\x1b") == 0
    assert direct.exists(prefix + b"kept") == 1
    again = RedisPlugin().run_action(target, "delete_key", {"key": shown})
    assert again.startswith("no key")


def test_flush_db_empties_the_configured_db_only(
    sample_env: SampleEnv, target: ServiceTarget, direct: redis.Redis, prefix: bytes
) -> None:
    db, client = spare_db(sample_env)
    try:
        client.mset({f"k{n}": n for n in range(50)})
        direct.set(prefix + b"elsewhere", "stays")
        message = RedisPlugin().run_action(replace(target, options={"db": db}), "flush_db", {})
        assert message == f"flushed db {db} (50 keys)"
        assert client.dbsize() == 0
        assert direct.exists(prefix + b"elsewhere") == 1
    finally:
        client.flushdb()
        client.close()


# ---------------------------------------------------------------- a big keyspace


def test_the_browser_pages_through_a_big_keyspace_at_bounded_cost(
    sample_env: SampleEnv,
    target: ServiceTarget,
    big_db: tuple[int, redis.Redis],
    record_property: Callable[[str, object], None],
) -> None:
    db, _ = big_db
    plugin = CountingPlugin()
    pings = Pinger(sample_env.port("redis", 6379))
    seen: list[str] = []
    scans: list[int] = []
    cursor: str | None = None
    started = time.monotonic()
    with pings:
        while True:
            result = plugin.show(
                replace(target, options={"db": db}), ViewRequest("keys", "*", cursor, limit=1000)
            )
            page = table(result)
            assert len(page.rows) <= 1000 + SCAN_COUNT_MAX
            seen += [row[0] for row in page.rows]
            scans.append(plugin.last.names["SCAN"])
            assert "KEYS" not in plugin.last.names
            cursor = result.next_cursor
            if cursor is None:
                break
            assert len(scans) < BIG, "the browser never finished"
    elapsed = time.monotonic() - started
    assert len(seen) == BIG + 1
    assert len(set(seen)) == len(seen)  # no key twice, within or across pages
    assert max(scans) <= SCAN_CALLS_MAX
    assert pings.answered > 0
    assert pings.errors == []
    record_property("pages", len(scans))
    record_property("seconds", round(elapsed, 2))
    record_property("max_ping_ms", round(pings.slowest * 1000, 1))
    slowest_ms = pings.slowest * 1000
    print(f"\n{BIG:,} keys: {len(scans)} pages in {elapsed:.2f} s, at most {max(scans)} SCANs")
    print(f"a page; {pings.answered} PINGs meanwhile, the slowest {slowest_ms:.1f} ms")


def test_a_narrow_pattern_pages_on_without_scanning_everything_at_once(
    target: ServiceTarget, big_db: tuple[int, redis.Redis]
) -> None:
    db, _ = big_db
    plugin = CountingPlugin()
    found: list[tuple[str, ...]] = []
    cursor: str | None = None
    pages = 0
    while True:
        result = plugin.show(
            replace(target, options={"db": db}), ViewRequest("keys", "needle:*", cursor, limit=50)
        )
        found += table(result).rows
        pages += 1
        assert plugin.last.names["SCAN"] <= SCAN_CALLS_MAX
        cursor = result.next_cursor
        if cursor is None:
            break
    assert [row[:2] for row in found] == [("needle:1", "string")]
    assert pages > 1  # one page never walks all BIG keys


class Pinger:
    """PINGs Redis from its own connection while the browser runs, noting the slowest."""

    def __init__(self, port: int) -> None:
        self._client = redis.Redis(port=port, socket_timeout=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.answered = 0
        self.slowest = 0.0
        self.errors: list[Exception] = []

    def __enter__(self) -> Pinger:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                assert self._client.ping()
            except Exception as error:  # collected and asserted on by the test
                self.errors.append(error)
                return
            self.answered += 1
            self.slowest = max(self.slowest, time.monotonic() - started)
            self._stop.wait(0.01)


# ---------------------------------------------------------------- throwaway servers


def start_redis(gateway: DockerGateway, request: pytest.FixtureRequest) -> tuple[Container, int]:
    """A password-protected Redis of our own, removed when the test is done."""
    project = f"envdeck-test-redis-{uuid.uuid4().hex[:8]}"
    command = ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"]  # noqa: S104
    command += ["--requirepass", PASSWORD, "--save", ""]
    container = run_on_loopback(gateway, IMAGE, 6379, project, command=command)
    request.addfinalizer(lambda: container.remove(force=True))
    wait_for(lambda: published_port(container, 6379) is not None, 20, "the port to be published")
    port = published_port(container, 6379)
    assert port is not None
    wait_for(lambda: _answers(port), 20, f"Redis in {container.name} to answer")
    return container, port


def _answers(port: int) -> bool:
    client = redis.Redis(port=port, password=PASSWORD, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def throwaway_target(port: int, **changes: Any) -> ServiceTarget:
    target = ServiceTarget("cache", "redis:7", "127.0.0.1", {6379: port}, {}, timeout=2.0)
    return replace(target, **changes)


@pytest.fixture(scope="module")
def secured(gateway: DockerGateway, request: pytest.FixtureRequest) -> int:
    """The published port of a Redis that wants PASSWORD."""
    return start_redis(gateway, request)[1]


def expect_problem(target: ServiceTarget, view: str = "overview") -> InspectorError:
    with pytest.raises(InspectorError) as caught:
        show(target, view)
    return caught.value


def test_a_missing_or_wrong_password_is_an_auth_problem(secured: int) -> None:
    missing = expect_problem(throwaway_target(secured))
    assert missing.problem is Problem.AUTH
    assert str(missing) == (
        "Redis asks for a password: set password in [tool.envdeck.services.cache]"
    )
    wrong = expect_problem(throwaway_target(secured, options={"password": "nope"}))
    assert wrong.problem is Problem.AUTH
    assert "rejected the password" in str(wrong)


def test_the_password_comes_from_the_config_or_the_service_env(secured: int) -> None:
    configured = throwaway_target(secured, options={"password": PASSWORD})
    from_env = throwaway_target(secured, environment={"REDIS_PASSWORD": PASSWORD})
    for target in (configured, from_env):
        assert summary(show(target, "overview"))["server"].startswith("redis ")


def test_the_slow_log_view_lists_recent_slow_commands(secured: int) -> None:
    client = redis.Redis(port=secured, password=PASSWORD, socket_timeout=5)
    marker = f"marker-{uuid.uuid4().hex}"
    try:
        client.config_set("slowlog-log-slower-than", 0)  # log everything, on our server only
        client.set(marker, "1")
        result = show(throwaway_target(secured, options={"password": PASSWORD}), "slowlog")
    finally:
        client.config_set("slowlog-log-slower-than", 10_000)
        client.close()
    log = table(result)
    assert log.columns == ("id", "when", "duration", "command", "client")
    assert any(row[3] == f"SET {marker} 1" for row in log.rows)
    assert re.fullmatch(r"latest \d+ of \d+ entries · logs commands slower than 0 µs", log.note)


def test_a_service_that_stops_or_hangs_is_reported_plainly(
    gateway: DockerGateway, request: pytest.FixtureRequest
) -> None:
    container, port = start_redis(gateway, request)
    target = throwaway_target(port, options={"password": PASSWORD}, timeout=0.5)
    assert table(show(target, "keys")).rows == ()

    container.pause()  # the port still accepts; nothing answers
    started = time.monotonic()
    hung = expect_problem(target, "keys")
    assert hung.problem is Problem.TIMEOUT
    assert time.monotonic() - started < 5  # no retries stacked on the timeout
    container.unpause()

    container.stop(timeout=1)
    gone = expect_problem(target, "keys")
    assert gone.problem in (Problem.REFUSED, Problem.DOWN)
    assert "cache" in str(gone)
