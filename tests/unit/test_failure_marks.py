"""The test's moments among its window's service logs (issue 13.3)."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.bundle_samples import FAILED_AT, STOP, sample_failure, sample_logs
from tui.core.testrun.events import CapturedSection
from tui.core.testrun.marks import TimeMark, failure_marks, with_marks


def test_the_failure_is_marked_when_the_failing_phase_raised() -> None:
    marks = failure_marks(sample_failure())
    assert [(m.line(), m.failure) for m in marks] == [
        ("──── 10:00:00.200 call began: its output from here ────", False),
        ("──── 10:00:01.500 test failed here (AssertionError) ────", True),
    ]
    assert marks[-1].timestamp == FAILED_AT.replace("Z", "000Z")


def test_a_phase_that_printed_nothing_gets_no_mark() -> None:
    quiet = replace(sample_failure(), sections=(CapturedSection("Captured stdout call", "  \n"),))
    assert [m.label for m in failure_marks(quiet)] == ["test failed here (AssertionError)"]


def test_without_the_plugins_times_the_end_of_the_test_stands_for_the_failure() -> None:
    older = replace(sample_failure(), phases=(), failed_at="", exception="")
    assert [(m.timestamp[:23], m.label) for m in failure_marks(older)] == [
        (STOP[:23], "test ended (failed before this)")
    ]


def test_a_mark_goes_after_every_line_logged_at_or_before_it() -> None:
    lines = sample_logs()
    at_once = lines[2]._replace(timestamp="2026-01-02T10:00:01.500000000Z")
    mark = TimeMark("2026-01-02T10:00:01.500000000Z", "test failed here", failure=True)
    merged = list(with_marks([*lines[:2], at_once, lines[3]], [mark]))
    assert merged == [lines[0], lines[1], at_once, mark, lines[3]]
    assert list(with_marks(lines[:1], [mark])) == [lines[0], mark]  # after the last line
    assert list(with_marks([], [mark])) == [mark]
