"""The test session's runs (`session.py`): one at a time; a newer one cancels the one going
on (pytest interrupted, then its whole process group killed: `runner.py`); a run pytest
refused in watch mode is followed by a run of the whole selection
(`whole_selection_instead`). Each event is kept (`SessionBase._apply`) and told to the
listeners; when a run ends, the scheduler says what comes next (watch mode carries it out).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from tui.core.testrun.arguments import describe_run, whole_selection_instead
from tui.core.testrun.configured_place import PlaceError
from tui.core.testrun.events import CollectionFinishedEvent, FinishedEvent, SessionFinishedEvent
from tui.core.testrun.run_state import RunState
from tui.core.testrun.runner import TestRun, TestRunError
from tui.core.testrun.session_base import SessionBase
from tui.core.testrun.uncaptured import UncapturedOutput
from tui.core.text import safe_text
from tui.core.watch.scheduler import Action, Decision


@dataclass
class _Run:
    id: int
    state: RunState
    task: asyncio.Task[SessionFinishedEvent | None] | None = None
    test_run: TestRun | None = None


class SessionRuns(SessionBase):
    """Starts, stops and follows the session's runs; see the module's docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._runs: dict[int, _Run] = {}

    # What the layers above carry out.

    def _decide(self, decision: Decision) -> None:
        """Carries out what the scheduler decided (watch mode: `session_watch.py`)."""
        raise NotImplementedError

    async def _reset_first(self, state: RunState) -> bool:
        """Before a watch-mode run, the reset if one is configured (`session.py`); False
        when it failed (and the run does not go on)."""
        return True

    # ------------------------------------------------------------------ runs

    @property
    def running(self) -> bool:
        return any(not run.state.over for run in self._runs.values())

    @property
    def test_run(self) -> TestRun | None:
        """The pytest going on, if any."""
        current = self._current()
        return current.test_run if current is not None else None

    def _current(self) -> _Run | None:
        return self._runs[max(self._runs)] if self._runs else None

    def start_run(self, targets: list[str] | None, why: str) -> RunState:
        """The user's run of `targets` (None: the arguments as given) in place of any run
        going on. Changes watch mode holds still run after it."""
        decision = self.scheduler.run_started(why)
        assert decision.run_id is not None
        return self._launch(decision.run_id, targets, RunState(why), decision.cancel_run_id)

    async def run_now(
        self, targets: list[str] | None, why: str, *, reset_first: bool = False
    ) -> SessionFinishedEvent | None:
        """A run, awaited: its result, or None when pytest could not start (or the reset
        before it failed, with `reset_first`)."""
        decision = self.scheduler.run_started(why)
        assert decision.run_id is not None
        state = RunState(why, watch=reset_first)
        self._launch(decision.run_id, targets, state, decision.cancel_run_id)
        task = self._runs[decision.run_id].task
        assert task is not None
        return await asyncio.shield(task)

    def _launch(
        self, run_id: int, targets: list[str] | None, state: RunState, cancel_id: int | None
    ) -> RunState:
        self.run = state
        run = self._runs[run_id] = _Run(run_id, state)
        run.task = self._spawn(self._replace_then_run(run, targets, cancel_id))
        for old in [key for key, known in self._runs.items() if known.state.over]:
            if old != run_id:
                del self._runs[old]
        self._changed()
        return state

    async def _replace_then_run(
        self, run: _Run, targets: list[str] | None, cancel_id: int | None
    ) -> SessionFinishedEvent | None:
        if cancel_id is not None:
            await self._stop_run(cancel_id, "a newer run")
        return await self._execute(run, targets)

    async def _stop_run(self, run_id: int, reason: str) -> None:
        """Stops run `run_id` (not yet started: dropped) and waits until it is over."""
        old = self._runs.get(run_id)
        if old is None or old.task is None or old.task.done():
            return
        if old.test_run is not None:
            await old.test_run.cancel(reason)  # pytest says "cancelled", its result shows it
        else:
            old.task.cancel()
        await asyncio.gather(old.task, return_exceptions=True)

    async def _execute(self, run: _Run, targets: list[str] | None) -> SessionFinishedEvent | None:
        try:
            return await self._execute_run(run, targets)
        except asyncio.CancelledError:
            if not run.state.over:  # stopped before pytest said how it ended
                run.state.dropped = not run.state.started
                run.state.resetting = False
                self._ended(run)
            raise

    async def _execute_run(
        self, run: _Run, targets: list[str] | None
    ) -> SessionFinishedEvent | None:
        state = run.state
        if state.watch and not await self._reset_first(state):
            self._ended(run)
            return None
        extra_args = list(self.args)
        new_tests = False  # the run found tests (or files) collection did not
        try:
            await self.ensure_place()
            if targets is not None:
                extra_args = (await self.read_arguments()).options
            async with TestRun(
                self.root,
                python=self.python,
                nodeids=targets or (),
                extra_args=extra_args,
                warm=self.warm,
                place=self.place,
            ) as test_run:
                run.test_run = test_run
                state.started, state.warm_start = True, test_run.warm_start
                self._changed()
                console = UncapturedOutput()
                async for received in test_run.events():
                    event = console.attach(received)
                    new_tests = self._apply(state, event) or new_tests
                    for listener in self.listeners:
                        await listener.test_event(state, event)
                    if isinstance(event, FinishedEvent | CollectionFinishedEvent):
                        self._changed()
                state.result = await test_run.wait()
        except (TestRunError, PlaceError) as error:
            state.problem = str(error)
        finally:
            run.test_run = None
            if state.result is not None:
                self.last_result = state.result
        self._ended(run)
        result = state.result
        completed = result is not None and not result.cancelled
        if completed and result is not None and self._fall_back(run, targets, result):
            return result
        decision = self.scheduler.run_finished(run.id)  # held changes may start now
        self._decide(decision)
        if completed and new_tests and self.tree is not None:
            self._spawn(self._rediscover())
        elif completed and decision.action is Action.NONE:
            await self.prepare_warm_start()  # the next run's, while nobody waits
        return result

    def _ended(self, run: _Run) -> None:
        for listener in self.listeners:
            listener.run_ended(run.state)
        self._changed()

    def _fall_back(
        self, run: _Run, targets: list[str] | None, result: SessionFinishedEvent
    ) -> bool:
        """A watch-mode run of `targets` pytest refused (a broken conftest below them):
        the whole selection instead, which pytest accepts. True when that run started."""
        if not run.state.watch or targets is None or self.arguments is None:
            return False
        instead = whole_selection_instead(targets, self.arguments, result)
        if instead is None:
            return False
        whole = " ".join(self.selection) or "all tests"
        self._notice(
            f"{instead}: running the whole selection instead ({describe_run(self.args)})",
            in_status_line=True,
        )
        self.start_run(None, safe_text(f"{instead} → {whole} instead"))
        return True

    async def _rediscover(self) -> None:
        with contextlib.suppress(Exception):
            await self.discover()

    def _kill_runs(self) -> None:
        """Every pytest of the session killed at once (shutting down)."""
        for run in list(self._runs.values()):
            if run.test_run is not None:
                run.test_run.kill_now()
