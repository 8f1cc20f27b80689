"""What every part of the tests screen shares: its state, the lookups the tests read, the
two status lines and the detail pane's one write."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from rich.text import Text
from textual.app import SuspendNotSupported
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from tui.config.settings import EnvdeckSettings
from tui.core.monitor import EnvironmentMonitor
from tui.core.testrun import CollectedTree, FinishedEvent
from tui.core.testrun.run_state import RunState
from tui.core.testrun.session import SessionListener, TestSession
from tui.core.text import safe_text
from tui.reset.service import Resets
from tui.ui.deferred import usable
from tui.ui.screens.tests.wiring import new_session
from tui.ui.widgets.tests_tree import TestTree

FILTER_DELAY = 0.15  # seconds of no typing before the tree is filtered again
LOGS_DELAY = 0.3  # the cursor rests this long on a failure before its logs are fetched
LOGS_CACHE = 32  # failures whose service logs are kept
HINT = "a runs all · enter runs the selection or the test under the cursor · w watches"

HandOver = Callable[[list[str], Path], None]


class ShowDetail(Protocol):
    def __call__(self, *, logs_now: bool = False) -> None: ...


class TestsBase(Screen[None], SessionListener):
    """The state the parts (listener, browse, runs, detail, reports, terminal) read and
    write."""

    # The detail pane for the node under the cursor: the detail part's, which others call.
    show_detail: ShowDetail

    def __init__(
        self,
        settings: EnvdeckSettings,
        monitor: EnvironmentMonitor,
        resets: Resets | None = None,
        session: TestSession | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.monitor = monitor
        self.resets = resets  # X
        # The app's session (it outlives the screen); a screen of its own without one.
        self.session = session or new_session(settings, monitor, resets)
        self.root_dir = self.session.root
        self.python = self.session.python
        # Runs the argv with the terminal handed over; tests replace it to see the argv.
        self.hand_over: HandOver = self._run_in_terminal
        self._serials = itertools.count(1)
        self._run_serials: dict[int, int] = {}  # id() of a run's state -> its tree serial
        self.detail_nodeid: str | None = None  # what the detail pane is about
        self._detail_key: tuple[str, ...] = ()
        self._logs: dict[tuple[str, str, str], Text] = {}
        self._logs_timer: Timer | None = None
        self._filter_timer: Timer | None = None

    @property
    def usable(self) -> bool:
        """Popped, the screen keeps its widgets (it is installed: the session goes on);
        while the app shuts down they go."""
        return usable(self)

    @property
    def test_tree(self) -> TestTree:
        return self.query_one(TestTree)

    @property
    def tree_data(self) -> CollectedTree | None:
        return self.session.tree

    @property
    def run_line(self) -> RunState | None:
        """The run going on, held, or last over (the second status line)."""
        return self.session.run

    @property
    def watching(self) -> bool:
        return self.session.watching

    @property
    def detail_pane(self) -> VerticalScroll:
        return self.query_one("#tests-detail", VerticalScroll)

    @property
    def selection(self) -> list[str]:
        """The tests pytest_args select (files, folders, node ids), as pytest reads them."""
        return self.session.selection

    @property
    def results(self) -> dict[str, FinishedEvent]:
        return self.test_tree.results

    @property
    def selected(self) -> set[str]:
        return self.test_tree.selected

    def refresh_status(self) -> None:
        tree = self.test_tree
        parts = [f"tests · {self.root_dir.name}"]
        if self.session.discovery:
            parts.append(self.session.discovery)
        if self.tree_data is not None:
            count = self.tree_data.count
            parts.append(f"{count} test{'s' if count != 1 else ''}")
            if self.tree_data.deselected:
                parts.append(f"{self.tree_data.deselected} deselected")
        if tree.errors:
            errors = len(tree.errors)
            parts.append(f"{errors} collection error{'s' if errors != 1 else ''}")
        if tree.selected:
            parts.append(f"{len(tree.selected)} selected")
        if tree.filter_text:
            shown = len(tree.matches())
            parts.append(f"filter “{safe_text(tree.filter_text)}”: {shown} matching")
        if self.watching:
            parts.append("watch on")
        self.query_one("#tests-status", Static).update(Text(safe_text(" · ".join(parts))))
        line = self.query_one("#tests-run", Static)
        run = self.run_line
        idle = "waiting for a change" if self.watching else HINT
        text = run.text() if run is not None else idle
        if self.watching:
            text = f"watch · {text}"
        line.update(Text(safe_text(text)))
        line.set_classes(f"-{run.state}" if run is not None else "-idle")

    def _set_detail(self, text: Text, key: tuple[str, ...]) -> None:
        if self._logs_timer is not None:
            self._logs_timer.stop()
            self._logs_timer = None
        moved = key[:2] != self._detail_key[:2]
        self._detail_key = key
        self.query_one("#tests-failure", Static).update(text)
        if moved:
            self.query_one("#tests-detail", VerticalScroll).scroll_home(animate=False)

    def _run_in_terminal(self, argv: list[str], cwd: Path) -> None:
        try:
            with self.app.suspend():
                subprocess.call(argv, cwd=cwd)
        except SuspendNotSupported:
            self.notify("This terminal cannot hand over", severity="error")
