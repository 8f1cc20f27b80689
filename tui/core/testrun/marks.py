"""Where a failing test's own moments fall among the service log lines of its window.

A failure's service logs answer "what did the environment do meanwhile"; the marks answer
"which of those lines came just before it failed". Our pytest plugin reports each phase's
times (its captured output is from within them) and the moment the failing phase raised
(`FinishedEvent.phases`, `failed_at`, `exception`); each becomes a `TimeMark`, merged into
the time-ordered lines: a mark goes after every line logged at or before its moment.
One function for the tests screen, `envdeck bundle open` and a bundle's logs file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tui.core.log_buffer import LogLine, as_timestamp
from tui.core.testrun.events import FinishedEvent


@dataclass(frozen=True, slots=True)
class TimeMark:
    timestamp: str  # fixed-width RFC3339 in UTC (as LogLine's), so strings compare in time
    label: str  # "test failed here (AssertionError)"
    failure: bool = False  # the moment it failed, not a phase boundary

    def line(self) -> str:
        """`──── 12:03:04.512 test failed here (AssertionError) ────`"""
        return f"──── {self.timestamp[11:23]} {self.label} ────"


def failure_marks(result: FinishedEvent) -> list[TimeMark]:
    """The moments of `result` worth a mark, in time order: the start of each phase that
    captured output (that output is from then on), and when it failed. Without the
    plugin's phase times (an older event), the end of the test stands for its failure."""
    marks: list[TimeMark] = []
    captured = {section.when for section in result.sections if section.text.strip()}
    for phase in result.phases:
        if phase.when in captured:
            marks.append(TimeMark(_stamp(phase.start), f"{phase.when} began: its output from here"))
    kind = f" ({result.exception})" if result.exception else ""
    if result.failed_at:
        marks.append(TimeMark(_stamp(result.failed_at), f"test failed here{kind}", failure=True))
    elif result.outcome.value in ("failed", "error") and result.stop:
        marks.append(TimeMark(_stamp(result.stop), "test ended (failed before this)", True))
    return sorted(marks, key=lambda mark: mark.timestamp)


def with_marks(lines: Sequence[LogLine], marks: Sequence[TimeMark]) -> Iterator[LogLine | TimeMark]:
    """`lines` (time-ordered) with each mark after the last line logged at or before it."""
    pending = sorted(marks, key=lambda mark: mark.timestamp)
    at = 0
    for line in lines:
        while at < len(pending) and pending[at].timestamp < line.timestamp:
            yield pending[at]
            at += 1
        yield line
    yield from pending[at:]


def _stamp(moment: str) -> str:
    try:
        return as_timestamp(moment)
    except ValueError:
        return moment
