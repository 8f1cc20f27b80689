"""What the test session knows (`session.py`): where and with which arguments the tests
run, the collected tree, every result so far, and who listens.

The session is one object in layers, each a module: this one, its runs
(`session_runs.py`), watch mode (`session_watch.py`) and `TestSession` itself. They share
one state (the run going on, the scheduler, the listeners): a layer per concern reads
better than one class of 750 lines, and the state stays in one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.monitor import EnvironmentMonitor
from tui.core.status import ServiceStatus
from tui.core.testrun.arguments import PytestArguments, read_arguments, read_without_pytest
from tui.core.testrun.discovery import DiscoveryError, discover
from tui.core.testrun.events import (
    CollectedEvent,
    CollectErrorEvent,
    CollectionFinishedEvent,
    FinishedEvent,
    SessionFinishedEvent,
    TestEvent,
)
from tui.core.testrun.health_gate import HealthGate
from tui.core.testrun.model import CollectedTree
from tui.core.testrun.place import ComposeService, LocalInterpreter, RunPlace
from tui.core.testrun.run_state import RunState
from tui.core.testrun.session_listener import SessionListener
from tui.core.testrun.warm import WarmStarts
from tui.core.watch.graph import ImportGraph
from tui.core.watch.scheduler import RunScheduler


@dataclass
class SessionResults:
    """Every result so far: the latest outcome of each test, each file that did not collect."""

    outcomes: dict[str, FinishedEvent] = field(default_factory=dict)
    collect_errors: dict[str, str] = field(default_factory=dict)  # file node id -> report


class SessionBase:
    """The session's state and what it knows of the tests; see the module's docstring."""

    def __init__(
        self,
        root: Path,
        python: str,
        pytest_args: Sequence[str] = (),
        *,
        monitor: EnvironmentMonitor | None = None,
        warm: WarmStarts | None = None,
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
        self.gate = HealthGate(monitor, self._runs_in)  # it holds the monitor: `monitor`
        self.warm = warm
        self.ignored_dirs = list(ignored_dirs)
        self.listeners: list[SessionListener] = []
        # Which of the arguments are tests; None until pytest said (when only it can).
        self.arguments: PytestArguments | None = read_without_pytest(self.args)
        self._reading: asyncio.Task[PytestArguments] | None = None
        self.tree: CollectedTree | None = None
        self._known: frozenset[str] = frozenset()  # the tree's node ids
        self.discovery = ""  # "collecting …", or why collecting failed
        self.results = SessionResults()
        self.selected: list[str] = []  # the user's choice (node ids): watch runs keep to it
        self.run: RunState | None = None  # the run going on, held, or last over
        self.last_result: SessionFinishedEvent | None = None
        self.scheduler = RunScheduler(root=root)
        self._graph: ImportGraph | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._warm_lock = asyncio.Lock()

    @property
    def monitor(self) -> EnvironmentMonitor | None:
        """The environment the health gate asks (None: nothing holds a run)."""
        return self.gate.monitor

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

    def _held(self, services: tuple[ServiceStatus, ...], text: str = "") -> None:
        for listener in self.listeners:
            listener.held(services, text)

    # ------------------------------------------------------------------ arguments, place

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

    def _runs_in(self) -> str | None:
        """The service the tests run in, if it is one (the health gate never waits for it)."""
        return self.place.service if isinstance(self.place, ComposeService) else None

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

    async def prepare_warm_start(self) -> None:
        if self._find_place is not None:
            return  # not known yet where the tests run
        if self.warm is not None and self.place.warm_starts:
            async with self._warm_lock:
                await self.warm.prepare(self.root, self.python)

    # ------------------------------------------------------------------ the tree, results

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

    # ------------------------------------------------------------------ tasks

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
