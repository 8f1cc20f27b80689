"""The test session: one project's tests, their results, its runs and watch mode.

The tests screen and `envdeck test` are two faces of one `TestSession`; neither holds
watch logic of its own. The session owns:

- which of the pytest arguments are tests (asked of pytest once: `arguments.py`), the
  collected tree and every result so far, so a face that goes away and comes back finds
  them all (the app owns the session, not the screen);
- runs: one at a time; a newer one cancels the one going on (pytest interrupted, then its
  whole process group killed: `runner.py`); a run pytest refused in watch mode is followed
  by a run of the whole selection (`whole_selection_instead`);
- watch mode: saves (content changes only: `SourceWatcher`) become the tests they affect
  (`find_affected`, within the user's selection); when to run, hold or merge is
  `RunScheduler`'s policy, so a save during a run, or during a run the health gate holds,
  adds its tests to the next run instead of replacing the earlier save's;
- the health gate: a watch-mode run waits while a service is not ready, saying which and
  why (the healthcheck's own last words), and, when configured, a fast reset first.

Faces listen (`SessionListener`): a change of state to redraw, each event of a run, a
notice to say, the environment holding a run. No Textual here: the session runs on the
asyncio loop it is used from (the app's, or `asyncio.run` in the CLI).

One object in layers, a module each, over one shared state: what the session knows
(arguments, place, tree, results, listeners: `session_base.py`), its runs
(`session_runs.py`), watch mode and the gate's loop (`session_watch.py`); this module adds
the reset before watch runs, cancelling, and the end. Layers, not parts: watch mode starts
runs and each run's end hands the scheduler's next decision back to watch mode, over the
same run state and scheduler. The health gate's questions to the environment are a part
of their own (`health_gate.py`), and what a face hears is `session_listener.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from tui.core.monitor import EnvironmentMonitor
from tui.core.status import ServiceStatus
from tui.core.testrun.health_gate import GATE_POLL_SECONDS, HEALTH_OUTPUT_CHARS
from tui.core.testrun.place import RunPlace
from tui.core.testrun.run_state import RunState
from tui.core.testrun.session_base import SessionResults
from tui.core.testrun.session_listener import SessionListener
from tui.core.testrun.session_watch import WatchMode, describe_paths
from tui.core.testrun.warm import WarmStarts
from tui.reset.steps import Outcome as ResetOutcome

__all__ = [
    "GATE_POLL_SECONDS",
    "HEALTH_OUTPUT_CHARS",
    "FastReset",
    "SessionListener",
    "SessionResults",
    "TestSession",
    "describe_paths",
]

FastReset = Callable[[], ResetOutcome]


class TestSession(WatchMode):
    """One project's test session; see the module's docstring."""

    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(
        self,
        root: Path,
        python: str,
        pytest_args: Sequence[str] = (),
        *,
        monitor: EnvironmentMonitor | None = None,
        warm: WarmStarts | None = None,
        reset: FastReset | None = None,
        ignored_dirs: Sequence[Path] = (),
        place: RunPlace | None = None,
        find_place: Callable[[], RunPlace] | None = None,
    ) -> None:
        super().__init__(
            root,
            python,
            pytest_args,
            monitor=monitor,
            warm=warm,
            ignored_dirs=ignored_dirs,
            place=place,
            find_place=find_place,
        )
        self.reset = reset  # reset_before_watch_runs: a fast reset before each watch run

    async def _reset_first(self, state: RunState) -> bool:
        """reset_before_watch_runs: a fast reset first; False (and why) when it failed."""
        if self.reset is None:
            return True
        state.resetting = True
        self._changed()
        outcome = await asyncio.to_thread(self.reset)
        state.resetting = False
        if outcome.ok:
            done = f"reset the environment to its baseline in {outcome.seconds:.2f} s"
            self._notice(done, in_status_line=True)
        else:
            state.reset_failed = outcome.failure_summary
            failed = f"not running: the reset before the run failed: {state.reset_failed}"
            self._notice(failed, in_status_line=True)
        self._changed()
        return outcome.ok

    async def cancel(self) -> bool:
        """Stops the run going on, or drops the changes the health gate holds. False when
        there was nothing to stop."""
        current = self._current()
        if current is not None and not current.state.over and current.test_run is not None:
            await current.test_run.cancel("stopped by the user")
            return True
        if self.scheduler.holding:
            self.scheduler.drop_held()
            if self.run is not None and not self.run.started:
                self.run.held_by, self.run.dropped = "", True
            self._stop_gate()
            self._held(())
            self._changed()
            return True
        if current is not None and current.task is not None and not current.task.done():
            current.task.cancel()  # resetting, or starting pytest
            return True
        return False

    # ------------------------------------------------------------------ the health gate

    def not_ready(self) -> tuple[ServiceStatus, ...]:
        """The services a run waits for (blocking: call it in a thread); `health_gate.py`."""
        return self.gate.not_ready()

    def why_not_ready(self, service: ServiceStatus) -> str:
        """ "redis unhealthy (Could not connect …)" (blocking: call it in a thread)."""
        return self.gate.why_not_ready(service)

    async def wait_until_ready(self, timeout: float | None = None) -> bool:
        """Until no service holds a run (saying which and why each time that changes);
        False when `timeout` seconds passed first."""
        return await self.gate.wait_until_ready(self._held, timeout)

    # ------------------------------------------------------------------ the end

    async def aclose(self) -> None:
        """Watch mode off, every run stopped (nothing left running), the spare Python gone."""
        self.stop_watching()
        self._stop_gate()
        self._kill_runs()
        tasks = [task for task in (*self._tasks, self._reading) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.warm is not None:
            await self.warm.aclose()

    def kill_now(self) -> None:
        """The same, from code that cannot await (an app shutting down)."""
        if self.watcher is not None:
            self.watcher.stop()
        self._kill_runs()
        for task in (*self._tasks, self._reading):
            if task is not None:
                task.cancel()
        if self.warm is not None:
            self.warm.kill_now()
