"""What a run's events say so far: which tests are running, and each test's outcome.

Pure: fed the plugin's events in order, it passes them on as they should be shown, and
at the end finishes the tests pytest never finished (it was stopped, or it crashed).
"""

from __future__ import annotations

from dataclasses import replace

from tui.core.testrun.events import FinishedEvent, SessionFinishedEvent, StartedEvent, TestEvent
from tui.core.testrun.model import Outcome, OutcomeCounts, utc_timestamp


class RunProgress:
    def __init__(self) -> None:
        self.outcomes: dict[str, Outcome] = {}  # RUNNING while a test runs
        self.running: dict[str, StartedEvent] = {}
        self.stop_reason: str | None = None  # set when envdeck ends the run

    def apply(self, event: TestEvent) -> TestEvent | None:
        """The event to pass on, or None for pytest's own session end: the runner has
        the last word, once the process is gone."""
        if isinstance(event, SessionFinishedEvent):
            return None
        if isinstance(event, StartedEvent):
            self.running[event.nodeid] = event
            self.outcomes[event.nodeid] = Outcome.RUNNING
        elif isinstance(event, FinishedEvent):
            self.running.pop(event.nodeid, None)
            if event.interrupted and self.stop_reason is not None:
                event = replace(event, reason=self.stop_reason)  # say who interrupted it
            self.outcomes[event.nodeid] = event.outcome
        return event

    def finish_open_tests(
        self, returncode: int, now: float, monotonic: float
    ) -> list[FinishedEvent]:
        """An `error` for each test still running when pytest's process ended."""
        reason = self.stop_reason or f"pytest exited ({returncode}) during this test"
        ended = [
            FinishedEvent(
                nodeid=started.nodeid,
                outcome=Outcome.ERROR,
                duration=max(0.0, monotonic - started.start_monotonic),  # one system-wide clock
                when="call",
                longrepr="",
                reason=reason,
                sections=(),
                start=started.start,
                stop=utc_timestamp(now),
                interrupted=True,
            )
            for started in self.running.values()
        ]
        for event in ended:
            self.apply(event)
        return ended

    def counts(self) -> OutcomeCounts:
        return OutcomeCounts.of(self.outcomes.values())
