"""The HTTP plugin's pure logic: which port, which paths, bodies made safe, the history."""

from __future__ import annotations

import json
from typing import Any

import pytest

from envdeck_http import HttpPlugin
from envdeck_http.client import http_port, request_path
from envdeck_http.history import History, HistoryEntry
from envdeck_http.render import body_preview, body_text, decode
from tui.plugins.api import InspectorError, Match, Problem, ServiceTarget


def target(ports: dict[int, int], **options: Any) -> ServiceTarget:
    return ServiceTarget("svc", "img", "127.0.0.1", ports, {}, options)


def test_the_port_is_the_option_else_the_lowest_that_may_speak_http() -> None:
    assert http_port(target({9000: 19000, 8080: 18080})) == 18080
    assert http_port(target({5432: 15432, 8080: 18080})) == 18080
    assert http_port(target({8080: 18080}, port="4000")) == 4000
    assert http_port(target({6379: 6379})) is None
    assert http_port(target({})) is None


def test_it_is_the_fallback_for_anything_with_an_http_port() -> None:
    plugin = HttpPlugin()
    assert plugin.matches(target({8080: 8080})) is Match.FALLBACK
    assert plugin.matches(target({5432: 5432})) is Match.NO
    assert plugin.matches(target({})) is Match.NO


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("/search?q=x", "/search?q=x"),
        ("health", "/health"),
        ("", "/"),
        ("//evil.example/x", "/evil.example/x"),
    ],
)
def test_requests_stay_on_the_service(query: str, path: str) -> None:
    assert request_path(query) == path


def test_urls_are_refused() -> None:
    with pytest.raises(InspectorError) as caught:
        request_path("https://example.com/")
    assert caught.value.problem is Problem.REFUSED_QUERY


def test_json_bodies_are_pretty_and_hostile_text_is_safe() -> None:
    body = json.dumps({"title": "\x1b]0;x\x07", "raw": "\x9b"}, ensure_ascii=False).encode()
    text = body_text(body, "application/json", truncated=False)
    assert text.splitlines()[1] == '  "title": "\\u001b]0;x\\u0007",'
    assert "\x9b" not in text


def test_plain_bodies_keep_their_lines_but_lose_control_characters() -> None:
    text = body_text(b"line one\n\x1b[31mline two\r\n", "text/plain", truncated=True)
    assert text == "line one\n␛[31mline two\n… (truncated)"


def test_long_bodies_are_cut() -> None:
    text = body_text(b"x" * 10_000, "text/plain", truncated=False, limit=100)
    assert text == "x" * 100 + "\n… (truncated)"


def test_binary_bodies_are_not_shown() -> None:
    assert body_text(b"\x89PNG\x00\x00", "image/png", truncated=False).startswith("(binary")
    assert body_preview(b"\x00\x01", "application/octet-stream").startswith("(binary")


def test_the_preview_is_one_short_line() -> None:
    preview = body_preview(b'{\n  "status":\n  "ok"\n}' + b" pad" * 100, "application/json", 40)
    assert "\n" not in preview
    assert len(preview) == 40
    assert preview.startswith('{ "status": "ok" }')


def test_the_charset_is_honoured() -> None:
    assert decode("café".encode("latin-1"), "text/plain; charset=ISO-8859-1") == "café"
    assert decode(b"caf\xc3\xa9", "text/plain; charset=no-such-charset") == "café"


def test_history_is_per_service_bounded_and_newest_first() -> None:
    history = History(size=3)
    for number in range(5):
        history.record("a", HistoryEntry(float(number), "GET", f"/{number}", "200", 1.0))
    history.record("b", HistoryEntry(0.0, "GET", "/b", "down", None))
    assert [entry.path for entry in history.newest_first("a")] == ["/4", "/3", "/2"]
    assert [entry.status for entry in history.newest_first("b")] == ["down"]
    assert history.newest_first("c") == []
