"""Steps of a reset or snapshot operation, timed and reported as they happen."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class StepState(Enum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StepEvent:
    """A step started or ended; `seconds` is set once it ended."""

    title: str
    state: StepState
    detail: str = ""
    seconds: float | None = None


Progress = Callable[[StepEvent], None]


def no_progress(_: StepEvent) -> None:
    return None


class StepFailed(Exception):
    """A step could not be done; the message says why, for the user."""


@dataclass(frozen=True)
class Outcome:
    """What an operation did, step by step."""

    kind: str  # "fast reset", "hard reset", "restore snapshot NAME", "save snapshot NAME"
    steps: tuple[StepEvent, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(step.state is not StepState.FAILED for step in self.steps)

    @property
    def failed(self) -> tuple[StepEvent, ...]:
        return tuple(step for step in self.steps if step.state is StepState.FAILED)

    @property
    def failure_summary(self) -> str:
        return "; ".join(f"{step.title}: {step.detail}" for step in self.failed)


class StepRunner:
    """Runs steps, reports them, and keeps their results (safe across threads)."""

    def __init__(self, kind: str, progress: Progress = no_progress) -> None:
        self.kind = kind
        self._progress = progress
        self._results: list[StepEvent] = []
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def run(self, title: str, work: Callable[[], str]) -> bool:
        """Run one step; False when it failed (its reason is kept and reported)."""
        self._progress(StepEvent(title, StepState.RUNNING))
        started = time.monotonic()
        try:
            detail = work()
        except StepFailed as error:
            return self._end(StepEvent(title, StepState.FAILED, str(error), _since(started)))
        except Exception as error:  # plugin and engine code: reported as the step's failure
            reason = str(error) or type(error).__name__
            return self._end(StepEvent(title, StepState.FAILED, reason, _since(started)))
        return self._end(StepEvent(title, StepState.DONE, detail, _since(started)))

    def skip(self, title: str, reason: str) -> None:
        self._end(StepEvent(title, StepState.SKIPPED, reason, 0.0))

    def _end(self, event: StepEvent) -> bool:
        with self._lock:
            self._results.append(event)
        self._progress(event)
        return event.state is not StepState.FAILED

    def outcome(self) -> Outcome:
        with self._lock:
            steps = tuple(self._results)
        return Outcome(self.kind, steps, _since(self._started))


def _since(started: float) -> float:
    return time.monotonic() - started
