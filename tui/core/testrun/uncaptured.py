"""What a test printed when pytest did not capture it (`-s`, `--capture=no`): it went to
the console, not into the test's report, and a failure would show nothing of it. The
console output between a test's start and its end is attached to its report, when it
failed and pytest captured nothing for it, as one more section."""

from __future__ import annotations

import dataclasses
from collections import deque

from tui.core.testrun.events import (
    CapturedSection,
    FinishedEvent,
    OutputEvent,
    StartedEvent,
    TestEvent,
)
from tui.core.testrun.model import Outcome

SECTION_TITLE = "Console output while it ran (pytest did not capture it)"
MAX_CHARS = 64 * 1024  # the end of it, past this
FAILING = (Outcome.FAILED, Outcome.ERROR)


class UncapturedOutput:
    """Follows one run's events in order; `attach` returns each, a failure with its
    uncaptured console output added."""

    def __init__(self) -> None:
        self._running: str | None = None
        self._chunks: deque[str] = deque()
        self._size = 0

    def attach(self, event: TestEvent) -> TestEvent:
        if isinstance(event, StartedEvent):
            self._running, self._size = event.nodeid, 0
            self._chunks.clear()
        elif isinstance(event, OutputEvent) and self._running is not None:
            self._chunks.append(event.text)
            self._size += len(event.text)
            while self._size > MAX_CHARS and len(self._chunks) > 1:
                self._size -= len(self._chunks.popleft())
        elif isinstance(event, FinishedEvent):
            return self._finished(event)
        return event

    def _finished(self, event: FinishedEvent) -> FinishedEvent:
        # One FinishedEvent a test, after its teardown: what it printed is all in.
        text = "".join(self._chunks)[-MAX_CHARS:] if event.nodeid == self._running else ""
        self._running, self._size = None, 0
        self._chunks.clear()
        captured = any(section.stream in ("stdout", "stderr") for section in event.sections)
        if event.outcome not in FAILING or captured or not text.strip():
            return event
        section = CapturedSection(SECTION_TITLE, text)
        return dataclasses.replace(event, sections=(*event.sections, section))
