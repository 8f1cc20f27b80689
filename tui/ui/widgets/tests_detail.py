"""What the tests screen's detail pane says about the node under the cursor.

Every piece of untrusted text (pytest's reports, what tests printed, service logs) goes
into `rich.text.Text` line by line through `safe_text`: never parsed as markup, control
characters shown as visible escapes, newlines kept as lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text

from tui.core.log_buffer import LogLine
from tui.core.testrun import (
    FinishedEvent,
    OutcomeCounts,
    SessionFinishedEvent,
    TestItem,
    TestNode,
)
from tui.core.testrun.marks import TimeMark, with_marks
from tui.core.testrun.pytest_words import exit_meaning
from tui.core.text import safe_text
from tui.presentation.log_format import format_line
from tui.ui.widgets.tests_tree import FAILING, ICONS, STYLES

SERVICE_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "bright_red")
LOGS_HEADING = "── service logs while it ran ──"
LOGS_LOADING = "── service logs while it ran: loading … ──"


def safe_lines(text: str) -> list[str]:
    """`text` as display-safe lines (safe_text alone would show the newlines as ␊)."""
    return [safe_text(line) for line in text.splitlines()]


def report_text(text: str, heading: str, heading_style: str) -> Text:
    """A heading, then pytest's report with its `E   ` lines (the error) in red."""
    out = Text(safe_text(heading), style=heading_style)
    for line in safe_lines(text):
        out.append("\n")
        if line.startswith("E ") or line == "E":
            out.append(line, style="red")
        elif line.startswith(("____", "----")):
            out.append(line, style="bold")
        else:
            out.append(line)
    return out


def collection_error_text(nodeid: str, longrepr: str) -> Text:
    heading = f"‼ {safe_text(nodeid or '(rootdir)')}: collection error (pytest could not import it)"
    text = report_text(longrepr, heading, "bold red")
    text.append("\n\no opens the file at the error · P collects it under the debugger", "dim")
    return text


def pytest_said_text(why: str, result: SessionFinishedEvent) -> Text:
    """What pytest said about a run it refused or cut short (exit 2-5), as it said it."""
    meaning = exit_meaning(result.exit_code)
    heading = f"pytest said (exit {result.exit_code}, {meaning}) — {why}"
    text = Text(safe_text(heading), style="bold red")
    for line in safe_lines(result.message):
        text.append(f"\n{line}")
    return text


def failure_text(result: FinishedEvent, logs: Text | None) -> Text:
    """The failure's report and what the test captured, then every service's log lines
    of the test's time window (`logs`; None while they load)."""
    word = "error" if result.outcome.value == "error" else "failed"
    where = f" at {result.when}" if result.when not in (None, "call") else ""
    heading = f"{ICONS[result.outcome]} {result.nodeid} — {word}{where} in {result.duration:.2f}s"
    text = report_text(result.longrepr or result.reason, heading, STYLES[result.outcome])
    for section in result.sections:
        text.append(f"\n── {safe_text(section.title)} ──", style="bold")
        for line in safe_lines(section.text):
            text.append(f"\n{line}")
    text.append("\n\n")
    text.append_text(logs if logs is not None else Text(LOGS_LOADING, style="dim"))
    return text


def service_logs_text(lines: Sequence[LogLine], marks: Sequence[TimeMark] = ()) -> Text:
    """Merged, one colour per service, with timestamps: what each service did meanwhile;
    `marks` (`tui.core.testrun.marks.failure_marks`) placed among them by time."""
    text = Text(LOGS_HEADING, style="bold")
    if not lines:  # the marks first: they are moments, not lines some service logged
        for mark in marks:
            text.append(f"\n{safe_text(mark.line())}", style=_mark_style(mark))
        text.append("\n(no service logged anything in that window)", style="dim")
        return text
    width = max(len(safe_text(line.service)) for line in lines)
    services = sorted({line.service for line in lines})
    styles = {s: SERVICE_STYLES[i % len(SERVICE_STYLES)] for i, s in enumerate(services)}
    for line in with_marks(lines, marks):
        text.append("\n")
        if isinstance(line, TimeMark):
            text.append(safe_text(line.line()), style=_mark_style(line))
            continue
        shown = format_line(line, timestamps=True, prefix_width=width)
        prefix = len(safe_text(line.service).ljust(width)[:width])
        text.append(safe_text(shown[:prefix]), style=styles[line.service])
        text.append(safe_text(shown[prefix:]))
    return text


def _mark_style(mark: TimeMark) -> str:
    return "bold reverse red" if mark.failure else "bold dim"


def leaf_text(node: TestNode, result: FinishedEvent | None, selected: bool) -> Text:
    """A test that did not fail: where it is, its marks and its last outcome."""
    text = Text(safe_text(node.nodeid), style="bold")
    if result is None:
        text.append("\nnot run yet", style="dim")
    else:
        text.append("\n")
        text.append(
            f"{ICONS[result.outcome]} {result.outcome.value} in {result.duration:.2f}s",
            style=STYLES.get(result.outcome, ""),
        )
        if result.reason:
            text.append(f" — {safe_text(result.reason)}")
    text.append_text(_item_lines(node.item))
    if selected:
        text.append("\nselected", style="cyan")
    return text


def _item_lines(item: TestItem | None) -> Text:
    text = Text()
    if item is None:
        return text
    if item.lineno is not None:
        text.append(f"\n{safe_text(item.file)}, line {item.lineno}")
    if item.markers:
        text.append(f"\nmarks: {safe_text(', '.join(item.markers))}")
    return text


def group_text(
    node: TestNode, outcomes: Iterable[FinishedEvent | None], selected: int, running: int
) -> Text:
    """A file, class or function: how many tests, how they did, how many are selected."""
    kind = {"file": "file", "class": "class", "function": "parametrized test"}.get(node.kind, "")
    text = Text(safe_text(node.nodeid), style="bold")
    text.append(f"  {kind} · {node.count} test{'s' if node.count != 1 else ''}", style="dim")
    results = [r for r in outcomes if r is not None]
    counts = OutcomeCounts.of(r.outcome for r in results)
    not_run = node.count - len(results)
    parts = [counts.summary()] if results else []
    if running:
        parts.append(f"{running} running")
    if not_run:
        parts.append(f"{not_run} not run yet")
    text.append("\n" + ", ".join(parts))
    if selected:
        text.append(f"\n{selected} selected", style="cyan")
    failed = [r for r in results if r.outcome in FAILING]
    for result in failed[:20]:
        text.append("\n")
        text.append(f"{ICONS[result.outcome]} {safe_text(result.nodeid)}", style="red")
    if len(failed) > 20:
        text.append(f"\n… and {len(failed) - 20} more failures", style="dim")
    return text
