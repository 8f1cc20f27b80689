"""The Redis inspector's pure logic: safe text, formatting, matching, settings, errors,
and the SCAN page loop (against a scripted fake; the real server is in integration)."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
import redis
from redis.exceptions import AuthenticationError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from envdeck_redis import RedisPlugin
from envdeck_redis.browser import SCAN_CALLS_MAX, SCAN_COUNT_MAX, scan_page
from envdeck_redis.connection import RedisSettings, inspector_error, settings_for
from envdeck_redis.display import (
    bytes_text,
    count_text,
    duration_text,
    key_candidates,
    key_text,
    micros_text,
    ttl_text,
    value_text,
)
from tui.plugins.api import InspectorError, Match, Problem, ServiceTarget, ViewRequest

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

HOSTILE_KEYS = [
    b"\x1b[31mred\x1b[0m",
    b"\xff\xfe not utf-8",
    b"[bold]markup[/bold]",
    b"nul\x00byte",
    b"line\nbreak\ttab\r",
    "ключ \u202e bidi".encode(),
    b"c1 \xc2\x85 next-line",
    b"looks escaped \\x41",
    b"",
]


def target(**changes: Any) -> ServiceTarget:
    values: dict[str, Any] = {
        "service": "cache",
        "image": "redis:7-alpine",
        "host": "127.0.0.1",
        "ports": {6379: 16379},
        "environment": {},
    }
    values.update(changes)
    return ServiceTarget(**values)


# ---------------------------------------------------------------- text


@pytest.mark.parametrize("raw", HOSTILE_KEYS)
def test_key_text_is_one_safe_line_that_leads_back_to_the_key(raw: bytes) -> None:
    text = key_text(raw)
    assert isinstance(text, str)
    assert not CONTROL.search(text)
    assert "\u202e" not in text
    assert raw in key_candidates(text)


def test_key_text_keeps_readable_names_as_they_are() -> None:
    assert key_text("user:42:ключ [bold]".encode()) == "user:42:ключ [bold]"
    assert key_candidates("user:42") == [b"user:42"]


def test_value_text_escapes_control_characters_but_keeps_lines() -> None:
    text = value_text(b"a\x1b[2Jb\nc\td\x00\xff")
    assert text == "a␛[2Jb\nc\td␀\\xff"


def test_value_text_of_a_prefix_drops_a_character_cut_in_half() -> None:
    prefix = "é".encode() * 3 + "é".encode()[:1]
    assert value_text(prefix, complete=False) == "ééé"
    assert value_text(prefix) == "ééé\\xc3"


def test_numbers_read_naturally() -> None:
    assert bytes_text(512) == "512 B"
    assert bytes_text(1536) == "1.5 KiB"
    assert bytes_text(256 * 1024 * 1024) == "256.0 MiB"
    assert count_text(1, "entries") == "1 entry"
    assert count_text(10_000, "items") == "10,000 items"
    assert duration_text(3725) == "1h 02m"
    assert duration_text(90_000) == "1d 01h"
    assert micros_text(850) == "850 µs"
    assert micros_text(12_300) == "12.3 ms"


def test_ttl_shows_no_expiry_as_a_dash_and_a_gone_key_as_vanished() -> None:
    assert ttl_text(-1) == "-"
    assert ttl_text(-2) == "vanished"
    assert ttl_text(3_600_000) == "1h 00m"
    assert ttl_text(1_500) == "1.5s"


# ---------------------------------------------------------------- matching and settings


@pytest.mark.parametrize(
    ("image", "ports", "expected"),
    [
        ("redis:7-alpine", {6379: 6379}, Match.IMAGE),
        ("docker.io/valkey/valkey:8", {}, Match.IMAGE),
        ("eqalpha/keydb:latest", {}, Match.IMAGE),
        ("envdeck-base:bookworm", {6379: 16379}, Match.PORT),
        ("postgres:15", {5432: 5432}, Match.NO),
    ],
)
def test_matches_by_image_then_by_port(image: str, ports: dict[int, int], expected: Match) -> None:
    assert RedisPlugin().matches(target(image=image, ports=ports)) == expected


def test_no_published_port_is_down() -> None:
    with pytest.raises(InspectorError) as caught:
        settings_for(target(ports={}))
    assert caught.value.problem is Problem.DOWN
    assert "[tool.envdeck.services.cache]" in str(caught.value)


def test_a_db_that_is_no_number_is_a_clear_error() -> None:
    with pytest.raises(InspectorError) as caught:
        settings_for(target(options={"db": "two"}))
    assert caught.value.problem is Problem.ERROR


def test_settings_come_from_options_before_the_environment() -> None:
    from_env = settings_for(target(environment={"REDIS_PASSWORD": "env"}, timeout=2.0))
    assert (from_env.password, from_env.db, from_env.timeout) == ("env", 0, 2.0)
    configured = settings_for(
        target(environment={"REDIS_PASSWORD": "env"}, options={"password": "opt", "db": 3})
    )
    assert (configured.password, configured.db, configured.port) == ("opt", 3, 16379)


# ---------------------------------------------------------------- errors

SETTINGS = RedisSettings("cache", "127.0.0.1", 16379, 0, 1.5)


def refused() -> RedisConnectionError:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except OSError:
        # As redis-py does: its error raised while handling the OSError.
        try:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:16379.") from None
        except RedisConnectionError as error:
            return error


@pytest.mark.parametrize(
    ("error", "settings", "problem", "words"),
    [
        (AuthenticationError("Authentication required."), SETTINGS, Problem.AUTH,
         "asks for a password: set password in [tool.envdeck.services.cache]"),
        (AuthenticationError("invalid username-password pair"),
         RedisSettings("cache", "127.0.0.1", 16379, 0, 1.5, password="x"), Problem.AUTH,
         "rejected the password"),
        (ResponseError("NOAUTH Authentication required."), SETTINGS, Problem.AUTH, "password"),
        (RedisTimeoutError("Timeout reading from socket"), SETTINGS, Problem.TIMEOUT, "1.5 s"),
        (refused(), SETTINGS, Problem.REFUSED, "is cache running?"),
        (RedisConnectionError("Connection closed by server."), SETTINGS, Problem.DOWN,
         "not reachable"),
        (ResponseError("WRONGTYPE Operation against a key"), SETTINGS, Problem.ERROR, "WRONGTYPE"),
    ],
)  # fmt: skip
def test_failures_become_plain_inspector_errors(
    error: redis.RedisError, settings: RedisSettings, problem: Problem, words: str
) -> None:
    mapped = inspector_error(error, settings)
    assert mapped.problem is problem
    assert words in str(mapped)


def test_an_unknown_view_is_an_error_not_a_crash() -> None:
    with pytest.raises(InspectorError) as caught:
        RedisPlugin().show(target(), ViewRequest("nope"))
    assert caught.value.problem is Problem.ERROR


# ---------------------------------------------------------------- the SCAN loop


class ScriptedScan:
    """Answers SCAN from a script of (next cursor, keys) batches, recording each call."""

    def __init__(self, batches: list[tuple[int, list[bytes]]]) -> None:
        self.batches = batches
        self.calls: list[tuple[int, int]] = []

    def scan(self, cursor: int, match: str, count: int) -> tuple[int, list[bytes]]:
        self.calls.append((cursor, count))
        return self.batches[len(self.calls) - 1]


def scan_with(batches: list[tuple[int, list[bytes]]], cursor: int, limit: int) -> Any:
    fake = ScriptedScan(batches)
    return scan_page(cast(redis.Redis, fake), cursor, "*", limit), fake


def test_a_page_drops_keys_scan_returned_twice() -> None:
    page, _ = scan_with([(5, [b"a", b"b", b"a"]), (0, [b"b", b"c"])], 0, 10)
    assert page.keys == (b"a", b"b", b"c")
    assert (page.cursor, page.calls) == (0, 2)


def test_a_page_stops_once_it_has_enough_keys_and_hands_on_the_cursor() -> None:
    page, fake = scan_with([(7, [b"a", b"b", b"c"]), (0, [b"d"])], 3, 2)
    assert page.keys == (b"a", b"b", b"c")
    assert page.cursor == 7
    assert fake.calls == [(3, 10)]


def test_a_narrow_pattern_costs_a_bounded_number_of_scans_per_page() -> None:
    page, fake = scan_with([(n + 1, []) for n in range(100)], 0, 100)
    assert page.keys == ()
    assert page.calls == len(fake.calls) == SCAN_CALLS_MAX
    assert page.cursor == SCAN_CALLS_MAX  # the next page resumes where this one stopped
    counts = [count for _, count in fake.calls]
    assert counts == sorted(counts)
    assert max(counts) == SCAN_COUNT_MAX
