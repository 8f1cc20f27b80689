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
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.monitor import EnvironmentMonitor
from tui.core.status import ServiceStatus
from tui.core.testrun.arguments import (
    PytestArguments,
    describe_run,
    read_arguments,
    read_without_pytest,
    whole_selection_instead,
)
from tui.core.testrun.configured_place import PlaceError
from tui.core.testrun.discovery import DiscoveryError, discover
from tui.core.testrun.events import (
    CollectedEvent,
    CollectErrorEvent,
    CollectionFinishedEvent,
    FinishedEvent,
    SessionFinishedEvent,
    TestEvent,
)
from tui.core.testrun.model import CollectedTree
from tui.core.testrun.place import ComposeService, LocalInterpreter, RunPlace
from tui.core.testrun.run_state import RunState
from tui.core.testrun.runner import TestRun, TestRunError
from tui.core.testrun.uncaptured import UncapturedOutput
from tui.core.testrun.warm import WarmStarts
from tui.core.text import safe_text
from tui.core.watch.affected import Affected, find_affected, narrow
from tui.core.watch.gate import why_not_ready
from tui.core.watch.graph import ImportGraph
from tui.core.watch.ignore import IgnoreRules
from tui.core.watch.scheduler import Action, Decision, RunScheduler
from tui.core.watch.watcher import ChangeBatch, SourceWatcher
from tui.reset.steps import Outcome as ResetOutcome

GATE_POLL_SECONDS = 1.0
HEALTH_OUTPUT_CHARS = 120

FastReset = Callable[[], ResetOutcome]


class SessionListener:
    """What a face hears from the session; every method may be left as it is."""

    def changed(self) -> None:
        """The state changed: the run line, the watch mode, the tree, the results."""

    async def test_event(self, run: RunState, event: TestEvent) -> None:
        """One event of `run`, as it happens (the session has applied it already)."""

    def run_ended(self, run: RunState) -> None:
        """`run` is over: finished, cancelled, refused, or never started."""

    def discovered(self, tree: CollectedTree) -> None:
        """A (new) collected tree: after `discover`, or after a run found new tests."""

    def notice(self, text: str, *, in_status_line: bool = False) -> None:
        """One thing to tell the user, in words (already safe to show); `in_status_line`:
        the run's line says it too (a face with one may keep quiet)."""

    def held(self, services: tuple[ServiceStatus, ...], text: str) -> None:
        """A run waits for these services (`text`: which and why); () when it waits no more."""


@dataclass
class _Run:
    id: int
    state: RunState
    task: asyncio.Task[SessionFinishedEvent | None] | None = None
    test_run: TestRun | None = None


@dataclass
class SessionResults:
    """Every result so far: the latest outcome of each test, each file that did not collect."""

    outcomes: dict[str, FinishedEvent] = field(default_factory=dict)
    collect_errors: dict[str, str] = field(default_factory=dict)  # file node id -> report


class TestSession:
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
        self.root = root
        self.python = python
        # Where pytest runs (place.py: `run_place(settings, ...)`); unset: `python` here.
        self.place = place or LocalInterpreter(python)
        # Or found when first needed (blocking: `compose config`), in a thread, once.
        self._find_place = find_place
        self._place_lock = asyncio.Lock()
        self.args = list(pytest_args)  # pytest's, verbatim: it reads them itself
        self.monitor = monitor
        self.warm = warm
        self.reset = reset  # reset_before_watch_runs: a fast reset before each watch run
        self.ignored_dirs = list(ignored_dirs)
        self.listeners: list[SessionListener] = []
        # Which of the arguments are tests; None until pytest said (when only it can).
        self.arguments: PytestArguments | None = read_without_pytest(self.args)
        self._reading: asyncio.Task[PytestArguments] | None = None
        self.tree: CollectedTree | None = None
        self._known: frozenset[str] = frozenset()  # the tree's node ids
        self._waiting_text = ""  # the services holding a run, and why (the gate's last answer)
        self.discovery = ""  # "collecting …", or why collecting failed
        self.results = SessionResults()
        self.selected: list[str] = []  # the user's choice (node ids): watch runs keep to it
        self.run: RunState | None = None  # the run going on, held, or last over
        self.last_result: SessionFinishedEvent | None = None
        self.scheduler = RunScheduler(root=root)
        self.watcher: SourceWatcher | None = None
        self._graph: ImportGraph | None = None
        self._affected: dict[Path, Affected] = {}  # each changed path: what its save meant
        self._runs: dict[int, _Run] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watch_task: asyncio.Task[None] | None = None
        self._gate_task: asyncio.Task[None] | None = None
        self._warm_lock = asyncio.Lock()

    # ------------------------------------------------------------------ listening

    def listen(self, listener: SessionListener) -> None:
        if listener not in self.listeners:
            self.listeners.append(listener)

    def _changed(self) -> None:
        for listener in self.listeners:
            listener.changed()

    def _notice(self, text: str, *, in_status_line: bool = False) -> None:
        for listener in self.listeners:
            listener.notice(text, in_status_line=in_status_line)

    # ------------------------------------------------------------------ arguments, tree

    @property
    def selection(self) -> list[str]:
        """The tests the arguments select (files, folders, node ids), as pytest reads them."""
        return self.arguments.selection if self.arguments is not None else []

    @property
    def options(self) -> list[str]:
        """The arguments but the selection: every option with its value."""
        return self.arguments.options if self.arguments is not None else list(self.args)

    async def ensure_place(self) -> RunPlace:
        """Where the tests run, found first if the session was given a way to find it
        (PlaceError, `configured_place.py`, when the configured service cannot run them)."""
        async with self._place_lock:
            if self._find_place is not None:
                self.place = await asyncio.to_thread(self._find_place)
                self._find_place = None
        return self.place

    async def read_arguments(self) -> PytestArguments:
        """Which arguments are tests: asked of pytest once, however many callers ask."""
        if self.arguments is not None:
            return self.arguments
        await self.ensure_place()
        if self._reading is None:
            self._reading = asyncio.create_task(
                read_arguments(self.root, self.python, self.args, place=self.place)
            )
        self.arguments = await asyncio.shield(self._reading)
        return self.arguments

    def start_reading_arguments(self) -> None:
        """Ask pytest now, while something else goes on (the first run, collection)."""
        if self.arguments is None and self._reading is None:
            self._reading = asyncio.create_task(
                read_arguments(self.root, self.python, self.args, place=self.place)
            )

    async def discover(self) -> CollectedTree:
        """Collect the tests the arguments select, so the tree is what "all tests" runs
        (when pytest refuses the selection, as below a conftest that does not import, the
        whole project instead, its errors shown): DiscoveryError when pytest collected
        nothing (PlaceError when the tests' service cannot run them); the listeners hear
        of the new tree."""
        self.discovery = "collecting …"
        self._changed()
        try:
            await self.ensure_place()
            arguments = await self.read_arguments()
            try:
                tree = await discover(self.root, self.python, self.args, place=self.place)
            except DiscoveryError:
                if not arguments.selection:
                    raise
                tree = await discover(self.root, self.python, self.options, place=self.place)
        except BaseException as error:
            self.discovery = f"collection failed: {error}" if isinstance(error, Exception) else ""
            self._changed()
            raise
        self.discovery = ""
        self._set_tree(tree)
        self.prepare_graph()  # so the first save in watch mode finds it built
        await self.prepare_warm_start()  # the first run is warm too
        return tree

    def prepare_graph(self) -> None:
        """Build the import graph (which test imports what) in a thread, ahead of the
        first save: on a large project that is seconds the save would otherwise wait."""
        if self._graph is None:
            self._graph = ImportGraph(self.root)
            self._spawn(asyncio.to_thread(self._graph.build_ahead))

    def _set_tree(self, tree: CollectedTree) -> None:
        self.tree = tree
        self._known = frozenset(item.nodeid for item in tree.items)
        self.results.collect_errors = {error.nodeid: error.longrepr for error in tree.errors}
        for listener in self.listeners:
            listener.discovered(tree)
        self._changed()

    def tests_in(self, targets: Sequence[str] | None) -> int | None:
        """How many of the collected tests `targets` (pytest arguments; None or []: the
        whole selection) run; None before collection."""
        if self.tree is None:
            return None
        if not targets:
            return self.tree.count
        return sum(
            1
            for item in self.tree.items
            if any(
                item.nodeid == target
                or item.nodeid.startswith(f"{target}::")
                or item.file.startswith(f"{target.rstrip('/')}/")
                for target in targets
            )
        )

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
        if state.watch and self.reset is not None and not await self._reset_first(state):
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

    def _apply(self, state: RunState, event: TestEvent) -> bool:
        """Keep what `event` says; True when it names tests or files not in the tree."""
        if isinstance(event, FinishedEvent):
            self.results.outcomes[event.nodeid] = event
            state.counts[event.outcome.value] = state.counts.get(event.outcome.value, 0) + 1
        elif isinstance(event, CollectionFinishedEvent):
            state.total = event.count
        elif isinstance(event, CollectErrorEvent):
            self.results.collect_errors[event.nodeid] = event.longrepr
        elif isinstance(event, CollectedEvent) and self.tree is not None:
            known = self._known
            errors = self.results.collect_errors
            return any(item.nodeid not in known or item.file in errors for item in event.items)
        return False

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

    async def _reset_first(self, state: RunState) -> bool:
        """reset_before_watch_runs: a fast reset first; False (and why) when it failed."""
        assert self.reset is not None
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

    async def prepare_warm_start(self) -> None:
        if self._find_place is not None:
            return  # not known yet where the tests run
        if self.warm is not None and self.place.warm_starts:
            async with self._warm_lock:
                await self.warm.prepare(self.root, self.python)

    # ------------------------------------------------------------------ the health gate

    def not_ready(self) -> tuple[ServiceStatus, ...]:
        """The services a run waits for (blocking: call it in a thread). None of them when
        the environment cannot be asked: a broken monitor must not hold the tests forever."""
        if self.monitor is None:
            return ()
        try:
            waiting = self.monitor.snapshot().gating_services
        except Exception:
            return ()
        # The service the tests run in is started for each run (`compose run`): it never
        # has a container of its own to wait for.
        runner = self.place.service if isinstance(self.place, ComposeService) else None
        return tuple(service for service in waiting if service.name != runner)

    def why_not_ready(self, service: ServiceStatus) -> str:
        """ "redis unhealthy (Could not connect …)": the state and the healthcheck's last
        words, masked (blocking: call it in a thread)."""
        why = why_not_ready(service)
        details = self.monitor.details(service) if self.monitor is not None else None
        probe = details.health_log[0] if details is not None and details.health_log else None
        if probe is not None and probe.exit_code != 0:
            masked = probe.output_masked  # shown in a header: never revealed here
            output = masked.splitlines()[0] if masked else f"exit {probe.exit_code}"
            why += f" ({safe_text(output)[:HEALTH_OUTPUT_CHARS]})"
        return why

    def _blockers(self) -> tuple[tuple[ServiceStatus, ...], dict[str, str]]:
        waiting = self.not_ready()
        blockers = {safe_text(s.name): self._safe_why(s) for s in waiting}
        self._waiting_text = _blocker_text(blockers)
        return waiting, blockers

    def _safe_why(self, service: ServiceStatus) -> str:
        try:
            return self.why_not_ready(service)
        except Exception:
            return why_not_ready(service)

    def _held(self, services: tuple[ServiceStatus, ...], text: str = "") -> None:
        for listener in self.listeners:
            listener.held(services, text)

    async def wait_until_ready(self, timeout: float | None = None) -> bool:
        """Until no service holds a run (saying which and why each time that changes);
        False when `timeout` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        said = ""
        while True:
            waiting, blockers = await asyncio.to_thread(self._blockers)
            text = _blocker_text(blockers)
            if text != said:
                self._held(waiting, text)
                said = text
            if not waiting:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(GATE_POLL_SECONDS)

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
            waiting, blockers = await asyncio.to_thread(self._blockers)
            if not self.scheduler.holding:
                return
            self._held(waiting, self._waiting_text)
            if self.run is not None and self.run.held_by and self._waiting_text:
                self.run.held_by = self._waiting_text
            self._changed()
            decision = self.scheduler.set_blockers(blockers)
            if decision.action is Action.START:
                self._gate_task = None
            self._decide(decision)

    # ------------------------------------------------------------------ watch mode

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
            waiting, blockers = await asyncio.to_thread(self._blockers)
            self.scheduler.set_blockers(blockers, decide=False)
            if waiting:
                self._held(waiting, _blocker_text(blockers))
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
            held_by = self._waiting_text or decision.waiting_for
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

    # ------------------------------------------------------------------ the end

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def aclose(self) -> None:
        """Watch mode off, every run stopped (nothing left running), the spare Python gone."""
        self.stop_watching()
        self._stop_gate()
        for run in list(self._runs.values()):
            if run.test_run is not None:
                run.test_run.kill_now()
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
        for run in self._runs.values():
            if run.test_run is not None:
                run.test_run.kill_now()
        for task in (*self._tasks, self._reading):
            if task is not None:
                task.cancel()
        if self.warm is not None:
            self.warm.kill_now()


def _blocker_text(blockers: dict[str, str]) -> str:
    return ", ".join(f"{service} {why}" for service, why in blockers.items())


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
