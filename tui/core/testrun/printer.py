"""A run as plain lines, for terminals without the dashboard (`envdeck test`)."""

from __future__ import annotations

from collections.abc import Sequence

from tui.core.log_buffer import LogLine
from tui.core.testrun.events import (
    CollectErrorEvent,
    CollectionFinishedEvent,
    FinishedEvent,
    SessionFinishedEvent,
    TestEvent,
)
from tui.core.testrun.model import Outcome
from tui.core.testrun.pytest_words import exit_meaning
from tui.core.text import safe_text

# pytest's own words, so the lines read like `pytest -rA`.
OUTCOME_WORDS = {
    Outcome.RUNNING: "RUNNING",
    Outcome.PASSED: "PASSED",
    Outcome.FAILED: "FAILED",
    Outcome.ERROR: "ERROR",
    Outcome.SKIPPED: "SKIPPED",
    Outcome.XFAILED: "XFAIL",
    Outcome.XPASSED: "XPASS",
}


def format_event(event: TestEvent) -> str | None:
    """One line for an event worth a line, or None (output, started, collected items).

    PASSED tests/test_x.py::test_a (0.12s)
    ERROR tests/test_x.py::test_b (0.01s) at setup
    SKIPPED tests/test_x.py::test_c (0.00s) - needs redis 8
    """
    if isinstance(event, FinishedEvent):
        line = f"{OUTCOME_WORDS[event.outcome]} {safe_text(event.nodeid)} ({event.duration:.2f}s)"
        if event.when not in (None, "call"):
            line += f" at {event.when}"
        return line + (f" - {safe_text(event.reason)}" if event.reason else "")
    if isinstance(event, CollectErrorEvent):
        return f"ERROR collecting {safe_text(event.nodeid)}"
    if isinstance(event, CollectionFinishedEvent):
        extra = [f"{event.deselected} deselected"] if event.deselected else []
        extra += [f"{event.errors} errors"] if event.errors else []
        return f"collected {event.count} tests" + (f" ({', '.join(extra)})" if extra else "")
    if isinstance(event, SessionFinishedEvent):
        ending = "cancelled, " if event.cancelled else ""
        return (
            f"{event.counts.summary()} in {event.duration:.2f}s"
            f" ({ending}exit code {event.exit_code})"
        )
    return None


def format_failure(event: FinishedEvent) -> str:
    """A failed test's whole report: pytest's traceback and diff, then what it captured."""
    parts = [f"{'_' * 20} {event.nodeid} {'_' * 20}", event.longrepr or event.reason]
    parts += [
        f"{'-' * 10} {section.title} {'-' * 10}\n{section.text}" for section in event.sections
    ]
    text = "\n".join(part.rstrip("\n") for part in parts)
    return "\n".join(safe_text(line) for line in text.splitlines())


def format_collect_error(event: CollectErrorEvent) -> str:
    """pytest's report of a file (or folder: its conftest.py) it could not collect."""
    return _safe_lines(f"{'_' * 20} {event.nodeid} {'_' * 20}\n{event.longrepr}")


def format_pytest_message(result: SessionFinishedEvent) -> str | None:
    """What pytest itself said about a run it refused or cut short (exit 2-5), verbatim
    under a heading; None when it said nothing or the run was cancelled."""
    if not result.message or result.cancelled:
        return None
    heading = f"pytest said (exit code {result.exit_code}, {exit_meaning(result.exit_code)}):"
    return _safe_lines(f"{heading}\n{result.message}")


def _safe_lines(text: str) -> str:
    return "\n".join(safe_text(line.rstrip()) for line in text.splitlines())


SUMMARY_REASON_WIDTH = 160  # characters of a failure's one-line reason in the summary


def failure_headline(event: FinishedEvent) -> str:
    """The one line pytest's short summary gives a failure: the first `E` line of its
    report (the assertion), else its reason, else its report's last line."""
    report = event.longrepr.splitlines()
    said = next((line[1:].strip() for line in report if line.startswith("E ")), "")
    said = said or event.reason.strip() or next((ln.strip() for ln in reversed(report) if ln), "")
    return safe_text(said)[:SUMMARY_REASON_WIDTH]


def format_failures_summary(failures: Sequence[FinishedEvent]) -> str | None:
    """A run's failures again, one line each, at the very end (after maybe thousands of
    lines): `FAILED tests/test_x.py::test_a - assert 1 == 2`. None when nothing failed."""
    if not failures:
        return None
    lines = [f"{'=' * 20} failures summary: {len(failures)} {'=' * 20}"]
    for event in failures:
        where = f" at {event.when}" if event.when not in (None, "call") else ""
        headline = failure_headline(event)
        lines.append(
            f"{OUTCOME_WORDS[event.outcome]} {safe_text(event.nodeid)}{where}"
            + (f" - {headline}" if headline else "")
        )
    return "\n".join(lines)


def format_window_logs(lines: Sequence[LogLine], start: str, stop: str, *, limit: int) -> str:
    """Every service's log lines of a test's window, merged, the last `limit` of them
    (saying how many earlier ones are left out): what the environment did meanwhile."""
    heading = f"{'-' * 10} service logs {start[11:23]} - {stop[11:23]} UTC {'-' * 10}"
    if not lines:
        return f"{heading}\n(no service logged anything in that window)"
    shown = lines[-limit:] if limit > 0 else []
    width = max((len(safe_text(line.service)) for line in shown), default=0)
    out = [heading]
    if len(lines) > len(shown):
        out.append(f"... {len(lines) - len(shown)} earlier lines not shown")
    out += [
        f"{safe_text(line.service).ljust(width)} | {line.timestamp[11:23]} {safe_text(line.text)}"
        for line in shown
    ]
    return "\n".join(out)
