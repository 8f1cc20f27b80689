"""Reset and snapshot progress, records and the last reset, as plain text."""

from __future__ import annotations

import time

from tui.core.text import safe_text
from tui.reset.steps import StepEvent, StepState
from tui.reset.store import LastReset, StateRecord

MARKS = {
    StepState.RUNNING: "....",
    StepState.DONE: "ok  ",
    StepState.FAILED: "FAIL",
    StepState.SKIPPED: "skip",
}


def step_line(event: StepEvent) -> str:
    """`[ok  ] reset redis  0.12 s  restored 3 keys, checked`"""
    ended = event.state in (StepState.DONE, StepState.FAILED)
    timing = f"  {event.seconds:.2f} s" if ended and event.seconds is not None else ""
    detail = f"  {safe_text(event.detail)}" if event.detail else ""
    return f"[{MARKS[event.state]}] {event.title}{timing}{detail}"


def size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def age_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h ago"
    return f"{seconds // 86400:.0f} days ago"


def describe_record(record: StateRecord, now: float | None = None, *, clock: bool = True) -> str:
    """A saved state: its name, when (local time unless not `clock`), how big, and one
    line a service."""
    now = time.time() if now is None else now
    age = age_text(now - record.created_at)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created_at))
    lines = [
        f"{safe_text(record.name)}  {f'{when} ({age})' if clock else age}  "
        f"{size_text(record.size_bytes)}"
    ]
    for service, part in sorted(record.parts.items()):
        lines.append(
            f"  {service:<12} {part.plugin:<9} {size_text(part.size_bytes):>9}  "
            f"{safe_text(part.summary)}"
        )
    for service, reason in sorted(record.skipped.items()):
        lines.append(f"  {service:<12} not saved: {safe_text(reason)}")
    return "\n".join(lines)


def last_reset_text(last: LastReset | None, now: float | None = None) -> str:
    """For the header: `reset 2 min ago (fast reset, 0.41 s)`."""
    if last is None:
        return "no reset yet"
    now = time.time() if now is None else now
    verdict = "" if last.ok else ", failed"
    return f"reset {age_text(now - last.at)} ({last.kind}, {last.seconds:.2f} s{verdict})"
