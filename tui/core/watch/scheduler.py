"""When watch mode runs the tests: the policy alone, no threads, no clock of its own.

Inputs are events (a batch of changes arrived, a run started or finished, a service is not
ready or became ready); each returns a `Decision`:

- START: nothing is running and the environment is ready: run for `changes`.
- RESTART: a change came during a run: cancel run `cancel_run_id` (it tests stale code),
  start run `run_id` for the union of its changes and the new ones.
- WAIT: a service the tests need is starting or unhealthy: hold the changes; no run
  starts until every service is ready. `waiting_for` says which and why.
- CANCEL_AND_WAIT: a change came during a run while a service is not ready: cancel the
  run, hold its changes with the new ones.
- COALESCE: more changes while waiting: folded into the held ones, still one run.
- NONE: nothing to do.

Run ids tie `run_finished` to a run: a cancelled run that reports its end late is ignored.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class Action(Enum):
    START = "start"
    RESTART = "restart"
    WAIT = "wait"
    CANCEL_AND_WAIT = "cancel_and_wait"
    COALESCE = "coalesce"
    NONE = "none"


@dataclass(frozen=True)
class Decision:
    action: Action
    changes: frozenset[Path] = frozenset()  # START/RESTART: run for these; waits: held ones
    run_id: int | None = None  # the run to start; pass it back to `run_finished`
    cancel_run_id: int | None = None  # the run to cancel first
    trigger: str = ""  # START/RESTART: what triggered the run, in words
    waiting_for: str = ""  # "postgres (starting: health check 2 of 5)"


@dataclass(frozen=True)
class SchedulerStatus:
    state: str  # "idle", "running" or "waiting"
    text: str


@dataclass(frozen=True)
class _Run:
    id: int
    changes: frozenset[Path]
    trigger: str


class RunScheduler:
    """Decides when to run; the caller runs, cancels, and reports back."""

    def __init__(
        self, *, root: Path | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._root = root
        self._clock = clock
        self._ids = itertools.count(1)
        self._run: _Run | None = None
        self._held: set[Path] = set()  # changes not yet run
        self._held_batches = 0
        self._waiting_since: float | None = None
        self._waited_on: dict[str, None] = {}  # services that held up the run, in order
        self._blockers: dict[str, str] = {}  # service -> why it is not ready

    # ------------------------------------------------------------------ inputs

    def batch_arrived(self, paths: Iterable[Path]) -> Decision:
        batch = frozenset(paths)
        if not batch:
            return Decision(Action.NONE)
        was_holding = bool(self._held)
        self._held |= batch
        self._held_batches += 1
        if self._blockers:
            return self._hold(was_holding)
        cancelled = self._run
        return self._start(
            cancelled, "restarted: the change came during a run" if cancelled else ""
        )

    def run_started(self, trigger: str = "started by hand") -> Decision:
        """A run the scheduler did not start (the user's). Cancel the one it replaces."""
        replaced = self._run
        self._run = _Run(next(self._ids), frozenset(), trigger)
        return Decision(
            Action.NONE,
            run_id=self._run.id,
            cancel_run_id=replaced.id if replaced else None,
            trigger=trigger,
        )

    def run_finished(self, run_id: int) -> Decision:
        if self._run is None or self._run.id != run_id:
            return Decision(Action.NONE)  # a cancelled run ending late
        self._run = None
        if self._held and not self._blockers:
            return self._start(None, "held until the run in progress finished")
        if self._held:
            return self._waiting(Action.WAIT)
        return Decision(Action.NONE)

    def environment_not_ready(self, service: str, why: str) -> Decision:
        """`service` is starting or unhealthy: no run starts until it is ready."""
        self._blockers[service] = why
        if self._held and self._run is None:
            self._waited_on[service] = None
            return self._waiting(Action.WAIT)
        return Decision(Action.NONE, waiting_for=self._blocker_text())

    def environment_ready(self, service: str | None = None) -> Decision:
        """`service` (or, with None, every service) is ready again."""
        if service is None:
            self._blockers.clear()
        else:
            self._blockers.pop(service, None)
        if not self._held or self._run is not None:
            return Decision(Action.NONE, waiting_for=self._blocker_text())
        if self._blockers:
            return self._waiting(Action.WAIT)
        return self._start(None, self._waited_text())

    def set_blockers(self, blockers: dict[str, str], *, decide: bool = True) -> Decision:
        """The services not ready now (service -> why), replacing what was known: the
        health gate's answer each time it is asked. With `decide`, held changes start
        once none is left; without, only the knowledge changes (a batch is about to
        arrive and decide)."""
        for service in blockers:
            if self._held and self._run is None:
                self._waited_on[service] = None
        self._blockers = dict(blockers)
        if not decide or not self._held or self._run is not None:
            return Decision(Action.NONE, waiting_for=self._blocker_text())
        if self._blockers:
            return self._waiting(Action.WAIT)
        return self._start(None, self._waited_text())

    def drop_held(self) -> frozenset[Path]:
        """The user dropped the held changes: they will not run. Returns them."""
        dropped = frozenset(self._held)
        self._held, self._held_batches = set(), 0
        self._waiting_since, self._waited_on = None, {}
        return dropped

    @property
    def holding(self) -> frozenset[Path]:
        """Changes not yet run (waiting for the environment or for the run going on)."""
        return frozenset(self._held)

    @property
    def held_batches(self) -> int:
        return self._held_batches

    # ------------------------------------------------------------------ state

    @property
    def status(self) -> SchedulerStatus:
        if self._run is not None:
            return SchedulerStatus("running", f"running: {self._run.trigger}")
        if self._held:
            held = self._describe(self._held)
            return SchedulerStatus("waiting", f"{self._waited_text()}; holding {held}")
        if self._blockers:
            return SchedulerStatus("idle", f"watching; not ready: {self._blocker_text()}")
        return SchedulerStatus("idle", "watching for changes")

    # ------------------------------------------------------------------ decisions

    def _hold(self, was_holding: bool) -> Decision:
        self._waited_on.update(dict.fromkeys(self._blockers))
        if self._run is not None:
            cancelled, self._run = self._run, None
            self._held |= cancelled.changes  # they were never fully tested
            return self._waiting(Action.CANCEL_AND_WAIT, cancel_run_id=cancelled.id)
        return self._waiting(Action.COALESCE if was_holding else Action.WAIT)

    def _waiting(self, action: Action, cancel_run_id: int | None = None) -> Decision:
        if self._waiting_since is None:
            self._waiting_since = self._clock()
        return Decision(
            action,
            changes=frozenset(self._held),
            cancel_run_id=cancel_run_id,
            waiting_for=self._blocker_text(),
        )

    def _start(self, cancelled: _Run | None, context: str) -> Decision:
        changes = frozenset(self._held | (cancelled.changes if cancelled else frozenset()))
        trigger = f"{self._describe(changes)} changed"
        if self._held_batches > 1:
            trigger += f" ({self._held_batches} batches)"
        if context:
            trigger += f" — {context}"
        self._run = _Run(next(self._ids), changes, trigger)
        self._held, self._held_batches = set(), 0
        self._waiting_since, self._waited_on = None, {}
        return Decision(
            Action.RESTART if cancelled else Action.START,
            changes=changes,
            run_id=self._run.id,
            cancel_run_id=cancelled.id if cancelled else None,
            trigger=trigger,
        )

    def _blocker_text(self) -> str:
        return "; ".join(f"{service} ({why})" for service, why in self._blockers.items())

    def _waited_text(self) -> str:
        waited = 0.0 if self._waiting_since is None else self._clock() - self._waiting_since
        if self._blockers:
            return f"waiting {waited:.0f} s for {self._blocker_text()}"
        services = ", ".join(self._waited_on) or "the environment"
        return f"ran once {services} became ready (waited {waited:.0f} s)"

    def _describe(self, paths: Iterable[Path]) -> str:
        shown = sorted(self._shown(path) for path in paths)
        if not shown:
            return "nothing"
        if len(shown) > 3:
            return f"{', '.join(shown[:2])} and {len(shown) - 2} more"
        return ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1]

    def _shown(self, path: Path) -> str:
        if self._root is not None and self._root in path.parents:
            return path.relative_to(self._root).as_posix()
        return path.as_posix()
