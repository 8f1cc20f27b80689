"""A failing test's uncaptured console output (`-s`) joins its report; nothing else does."""

from __future__ import annotations

from tui.core.testrun.events import CapturedSection, FinishedEvent, OutputEvent, StartedEvent
from tui.core.testrun.model import Outcome
from tui.core.testrun.uncaptured import MAX_CHARS, SECTION_TITLE, UncapturedOutput


def started(nodeid: str) -> StartedEvent:
    return StartedEvent(nodeid, "t0", 0.0)


def finished(nodeid: str, outcome: Outcome, *sections: CapturedSection) -> FinishedEvent:
    return FinishedEvent(nodeid, outcome, 0.1, "call", "", "", sections, "t0", "t1")


def test_a_failure_gets_what_was_printed_while_it_ran_and_nothing_before() -> None:
    console = UncapturedOutput()
    console.attach(OutputEvent("collected 2 items\n"))
    console.attach(started("t.py::a"))
    console.attach(OutputEvent("value is 41\n"))
    event = console.attach(finished("t.py::a", Outcome.FAILED))
    assert isinstance(event, FinishedEvent)
    assert event.sections == (CapturedSection(SECTION_TITLE, "value is 41\n"),)


def test_a_pass_or_a_captured_failure_is_left_as_it_is() -> None:
    console = UncapturedOutput()
    console.attach(started("t.py::a"))
    console.attach(OutputEvent("chatty\n"))
    passed = finished("t.py::a", Outcome.PASSED)
    assert console.attach(passed) is passed
    console.attach(started("t.py::b"))
    console.attach(OutputEvent("pytest's own progress\n"))
    captured = finished("t.py::b", Outcome.FAILED, CapturedSection("Captured stdout call", "x"))
    assert console.attach(captured) is captured


def test_only_the_end_of_a_flood_is_kept() -> None:
    console = UncapturedOutput()
    console.attach(started("t.py::a"))
    for _ in range(200):
        console.attach(OutputEvent("y" * 1000))
    console.attach(OutputEvent("the last words"))
    event = console.attach(finished("t.py::a", Outcome.ERROR))
    assert isinstance(event, FinishedEvent)
    text = event.sections[-1].text
    assert len(text) <= MAX_CHARS
    assert text.endswith("the last words")
