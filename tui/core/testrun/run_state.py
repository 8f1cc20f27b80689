"""One run of a test session as the user follows it: what started it, what holds it, its
progress and its result; `text()` is the line both faces show (the tests screen's second
status line; the dashboard header's tests item is `summary()`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tui.core.testrun.events import SessionFinishedEvent
from tui.core.testrun.model import OutcomeCounts
from tui.core.testrun.pytest_words import headline


@dataclass
class RunState:
    """One run, from what started it to its result."""

    why: str  # "all tests", "src/app/db.py changed → 3 affected tests"
    watch: bool = False  # started by a save in watch mode
    held_by: str = ""  # the services a watch-mode run waits for, and why
    held_since: float | None = None  # time.monotonic() when it began to wait
    started: bool = False
    warm_start: bool = False  # it took a Python started ahead (warm.py)
    total: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    result: SessionFinishedEvent | None = None
    problem: str = ""  # pytest could not start
    dropped: bool = False  # cancelled while it was held
    resetting: bool = False  # the environment is being reset before the run (config)
    reset_failed: str = ""  # why that reset failed: the run did not start

    @property
    def over(self) -> bool:
        """Nothing more will happen to this run."""
        return (
            self.result is not None or bool(self.problem) or self.dropped or bool(self.reset_failed)
        )

    def text(self) -> str:
        if self.reset_failed:
            return f"{self.why} · not run: the reset before it failed: {self.reset_failed}"
        if self.resetting:
            return f"resetting the environment to its baseline — then {self.why}"
        if self.problem:
            return f"{self.why} · could not start pytest: {self.problem}"
        if self.dropped:
            return f"{self.why} · not run: cancelled while it waited for the environment"
        if self.held_by:
            held = time.monotonic() - (self.held_since or time.monotonic())
            return f"held {held:.0f} s until ready: {self.held_by} — then {self.why}"
        if self.result is not None:
            end = "cancelled, " if self.result.cancelled else ""
            said = headline(self.result.message, self.result.exit_code)  # pytest's own words
            return (
                f"{self.why} · {self.result.counts.summary()} in {self.result.duration:.2f}s"
                f" ({end}exit {self.result.exit_code}{': ' if said else ''}{said})"
            )
        if not self.started:
            return f"{self.why} · starting pytest …"
        done = sum(self.counts.values())
        progress = f"{done}/{self.total}" if self.total is not None else f"{done}"
        so_far = OutcomeCounts(**self.counts).summary() if done else "…"
        return f"{self.why} · running {progress} · {so_far}"

    def summary(self) -> str:
        """A few words for the dashboard header: the outcome, or what the run is doing."""
        if self.result is not None:
            end = " (cancelled)" if self.result.cancelled else ""
            return f"{self.result.counts.summary()}{end}"
        if self.reset_failed or self.problem:
            return "not run"
        if self.dropped:
            return "dropped"
        if self.held_by:
            return "held until ready"
        if self.resetting:
            return "resetting"
        done = sum(self.counts.values())
        return f"running {done}/{self.total}" if self.total is not None else "running"

    @property
    def state(self) -> str:
        """ "idle", "failed", "held", "passed" or "running": how to colour it."""
        if self.dropped:
            return "idle"
        if self.problem or self.reset_failed:
            return "failed"
        if self.result is not None and self.result.exit_code != 0:
            return "failed"  # failures, errors, a collection error, cancelled, no tests
        if self.held_by or self.resetting:
            return "held"
        if self.result is not None:
            return "passed"
        return "running"
