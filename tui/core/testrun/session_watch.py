"""The test session's watch mode (`session.py`): saves (content changes only:
`SourceWatcher`) become the tests they affect (`find_affected`, within the user's
selection); when to run, hold or merge is `RunScheduler`'s policy, so a save during a run,
or during a run the health gate holds, adds its tests to the next run instead of replacing
the earlier save's. While the gate holds changes, its loop asks the environment each
second (`health_gate.py`) and starts the run when nothing holds it any more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tui.core.testrun.health_gate import GATE_POLL_SECONDS, blocker_text
from tui.core.testrun.run_state import RunState
from tui.core.testrun.session_runs import SessionRuns
from tui.core.text import safe_text
from tui.core.watch.affected import Affected, find_affected, narrow
from tui.core.watch.graph import ImportGraph
from tui.core.watch.ignore import IgnoreRules
from tui.core.watch.scheduler import Action, Decision
from tui.core.watch.watcher import ChangeBatch, SourceWatcher


class WatchMode(SessionRuns):
    """Watch mode and the health gate's loop over the session's runs; see the module's
    docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watcher: SourceWatcher | None = None
        self._affected: dict[Path, Affected] = {}  # each changed path: what its save meant
        self._watch_task: asyncio.Task[None] | None = None
        self._gate_task: asyncio.Task[None] | None = None

    @property
    def watching(self) -> bool:
        return self.watcher is not None

    def start_watching(self) -> SourceWatcher:
        """Watch mode on: each save runs the tests it affects (within the selection)."""
        if self.watcher is not None:
            return self.watcher
        self.watcher = SourceWatcher(
            self.root, rules=IgnoreRules(self.root, ignored_dirs=self.ignored_dirs)
        )
        self.prepare_graph()
        self._watch_task = self._spawn(self._watch(self.watcher))
        self._changed()
        return self.watcher

    def stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self._watch_task is not None:
            self._watch_task.cancel()
            self._watch_task = None
        self._changed()

    async def _watch(self, watcher: SourceWatcher) -> None:
        async for batch in watcher.abatches():
            await self.batch_arrived(batch)

    async def batch_arrived(self, batch: ChangeBatch) -> None:
        """One burst of saves: the tests it affects run, or join the run to come."""
        graph = self._graph = self._graph or ImportGraph(self.root)
        # Reading and parsing the changed files is disk work: not on the caller's loop.
        affected = await asyncio.to_thread(find_affected, graph, batch.paths)
        if affected.nothing:
            return
        arguments = self.arguments
        if arguments is None and not self.selected:
            arguments = await self.read_arguments()
            if not arguments.understood:
                why = safe_text(arguments.why_unknown)
                self._notice(f"cannot tell which pytest arguments are tests ({why}): all run")
        targets = self._targets_for(affected)
        if targets == []:
            self._notice(f"{safe_text(affected.reason)}: none of the selected tests is affected")
            return
        self._affected.update(dict.fromkeys(batch.paths, affected))
        if self.monitor is not None:
            waiting, blockers = await asyncio.to_thread(self.gate.blockers)
            self.scheduler.set_blockers(blockers, decide=False)
            if waiting:
                self._held(waiting, blocker_text(blockers))
        self._decide(self.scheduler.batch_arrived(batch.paths))

    def _targets_for(self, affected: Affected) -> list[str] | None:
        """The affected tests within the user's choice (else the arguments' selection);
        [] when none is affected; None for a run of the arguments as given."""
        if self.selected:
            return narrow(self.selected, affected, root=self.root)
        arguments = self.arguments
        if affected.run_all or arguments is None or not arguments.understood:
            return None
        return narrow(arguments.selection, affected, root=self.root)

    def _decide(self, decision: Decision) -> None:
        """Carries out what the scheduler decided."""
        action = decision.action
        if action in (Action.START, Action.RESTART):
            self._stop_gate()
            affected = self._merged(decision.changes)
            targets = self._targets_for(affected)
            why = self.trigger_text(decision.changes, affected, targets)
            if action is Action.RESTART:
                self._notice("a newer change: cancelling the running tests", in_status_line=True)
            what = " ".join(targets) if targets else "the selection"
            running = f"{safe_text(affected.reason)}: running {safe_text(what)}"
            self._notice(running, in_status_line=True)
            assert decision.run_id is not None
            state = RunState(why, watch=True)
            self._launch(decision.run_id, targets, state, decision.cancel_run_id)
            self._held(())
        elif action in (Action.WAIT, Action.CANCEL_AND_WAIT, Action.COALESCE):
            if decision.cancel_run_id is not None:
                self._spawn(self._stop_run(decision.cancel_run_id, "the environment is not ready"))
            affected = self._merged(decision.changes)
            why = self.trigger_text(decision.changes, affected, self._targets_for(affected))
            held = self.run if self.run is not None and self.run.held_by else None
            since = held.held_since if held is not None else time.monotonic()
            held_by = self.gate.waiting_text or decision.waiting_for
            self.run = RunState(why, watch=True, held_by=held_by, held_since=since)
            self._ensure_gate()
            self._changed()

    def _merged(self, paths: Iterable[Path]) -> Affected:
        """What the saves of `paths` mean together (each as it was when saved)."""
        seen: dict[int, Affected] = {}
        for path in paths:
            affected = self._affected.get(path)
            if affected is not None:
                seen[id(affected)] = affected
        found = list(seen.values())
        if len(found) == 1:
            return found[0]
        run_all = next((a for a in found if a.run_all), None)
        if run_all is not None:
            return run_all
        tests = frozenset().union(*(a.test_files for a in found)) if found else frozenset()
        reasons = "; ".join(a.reason for a in found)
        return Affected(False, tests, reasons or "changes")

    def trigger_text(
        self, changed: Iterable[Path], affected: Affected, targets: Sequence[str] | None
    ) -> str:
        """What started a watch-mode run: "src/app/db.py changed → 3 affected tests"."""
        count = self.tests_in(targets)
        if affected.run_all:
            tests = "all tests" if count is None else f"all {count} tests"
            return f"{safe_text(affected.reason)} → {tests}"
        what = describe_paths(self.root, changed)
        if count is None:
            files = len(affected.test_files)
            return f"{what} changed → the affected tests of {files} file{'s' * (files != 1)}"
        return f"{what} changed → {count} affected test{'s' * (count != 1)}"

    # ------------------------------------------------------------------ the health gate

    def _ensure_gate(self) -> None:
        if self._gate_task is None or self._gate_task.done():
            self._gate_task = self._spawn(self._gate_loop())

    def _stop_gate(self) -> None:
        if self._gate_task is not None and self._gate_task is not asyncio.current_task():
            self._gate_task.cancel()
        self._gate_task = None

    async def _gate_loop(self) -> None:
        """While watch mode holds changes: asks the environment each second."""
        while self.scheduler.holding:
            await asyncio.sleep(GATE_POLL_SECONDS)
            if not self.scheduler.holding:
                return
            waiting, blockers = await asyncio.to_thread(self.gate.blockers)
            if not self.scheduler.holding:
                return
            waiting_text = self.gate.waiting_text
            self._held(waiting, waiting_text)
            if self.run is not None and self.run.held_by and waiting_text:
                self.run.held_by = waiting_text
            self._changed()
            decision = self.scheduler.set_blockers(blockers)
            if decision.action is Action.START:
                self._gate_task = None
            self._decide(decision)


def describe_paths(root: Path, paths: Iterable[Path]) -> str:
    """ "src/a.py", "src/a.py and b.py", "src/a.py, b.py and 3 more" (relative to root)."""
    shown = []
    for path in sorted(paths):
        try:
            shown.append(path.relative_to(root).as_posix())
        except ValueError:
            shown.append(str(path))
    shown = [safe_text(name) for name in shown]
    if len(shown) > 2:
        return f"{', '.join(shown[:2])} and {len(shown) - 2} more"
    return " and ".join(shown) or "nothing"
