from __future__ import annotations

import pytest

from tui.core.log_buffer import LogLine
from tui.core.log_filter import BadPattern, FilterMode, LogFilter, parse_filter
from tui.presentation.log_format import format_line, wrap

LINE = LogLine("redis", "abc", "2026-11-22T03:07:37.355949644Z", "Ready to accept", "stdout")


def test_plain_text_filter_is_literal_and_case_insensitive() -> None:
    search = parse_filter("a.c")
    assert search == LogFilter("a.c", regex=False, mode=FilterMode.HIGHLIGHT)
    assert search.matches("xA.Cx")
    assert not search.matches("abc")  # the dot is a dot
    assert search.spans("a.c and A.C") == [(0, 3), (8, 11)]


def test_slashes_make_a_regex_and_bang_hides_the_rest() -> None:
    search = parse_filter("!/err(or)?\\b/")
    assert (search.regex, search.mode) == (True, FilterMode.HIDE)
    assert search.matches("an error here")
    assert not search.matches("errand")


def test_a_bad_regex_is_a_clear_error() -> None:
    with pytest.raises(BadPattern, match="not a valid regex"):
        parse_filter("/(unclosed/").matches("x")


def test_empty_pattern_matches_nothing() -> None:
    assert not parse_filter("").matches("anything")
    assert parse_filter("//").spans("abc") == []


def test_line_format_with_prefix_and_timestamps() -> None:
    assert format_line(LINE, timestamps=False, prefix_width=None) == "Ready to accept"
    assert format_line(LINE, timestamps=True, prefix_width=8) == (
        "redis    │ 03:07:37.355 Ready to accept"
    )


def test_wrap() -> None:
    assert list(wrap("abcdefg", 3)) == ["abc", "def", "g"]
    assert list(wrap("ab", 3)) == ["ab"]
    assert list(wrap("", 3)) == [""]


def test_the_service_prefix_is_made_safe_too() -> None:
    hostile = LogLine("x\x1b]0;t\x07", "c", LINE.timestamp, "ok", "stdout")
    assert "\x1b" not in format_line(hostile, timestamps=False, prefix_width=12)


def test_since_windows_and_times() -> None:
    from datetime import UTC, datetime

    from tui.presentation.log_format import window_or_time

    now = datetime(2026, 11, 22, 4, 0, 0, tzinfo=UTC)
    assert window_or_time("90s", now).startswith("2026-11-22T03:58:30")
    assert window_or_time("2d", now).startswith("2026-11-20T04:00:00")
    assert window_or_time("2026-11-22T03:00:00Z") == "2026-11-22T03:00:00Z"
    with pytest.raises(ValueError, match="neither a window"):
        window_or_time("yesterday")
