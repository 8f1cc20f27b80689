"""`envdeck test`'s plain lines for a failure's service logs and the failures summary."""

from __future__ import annotations

from tui.core.log_buffer import LogLine
from tui.core.testrun.printer import format_window_logs

START, STOP = "2026-01-02T10:00:00.000000Z", "2026-01-02T10:00:01.000000Z"


def line(service: str, second: int, text: str) -> LogLine:
    return LogLine(service, "abc", f"2026-01-02T10:00:00.{second:03d}000000Z", text, "stdout")


def test_window_logs_are_bounded_to_the_last_lines_saying_how_many_are_left_out() -> None:
    lines = [line("redis" if i % 2 else "db", i, f"line {i}") for i in range(5)]
    assert format_window_logs(lines, START, STOP, limit=2).splitlines() == [
        "---------- service logs 10:00:00.000 - 10:00:01.000 UTC ----------",
        "... 3 earlier lines not shown",
        "redis | 10:00:00.003 line 3",
        "db    | 10:00:00.004 line 4",
    ]


def test_a_quiet_window_says_so() -> None:
    assert format_window_logs([], START, STOP, limit=40).endswith(
        "(no service logged anything in that window)"
    )


def test_service_names_and_lines_cannot_drive_the_terminal() -> None:
    shown = format_window_logs([line("r\x1b[2J", 1, "x\x1b]0;t\x07")], START, STOP, limit=5)
    assert "\x1b" not in shown
    assert "\x07" not in shown
