"""The tests screen: the project's tests as a tree, run live, failures with service logs.

Two status lines on top: what the project holds (tests, collection errors, the selection,
the filter, watch mode), then what the runs do (what started the current one, its
progress, the last result, or the service a watch-mode run waits for and why). The detail
pane follows the cursor: a failure with every service's logs of its time window, a file's
collection error, a file's or class's outcomes. pytest runs in workers; `P` and `o` hand
the terminal over (`hand_over`, which tests replace to see the exact command).

The screen is a face of the app's `TestSession` (tui/core/testrun/session.py), which
holds the tree, the results, the runs and watch mode: leaving the screen keeps them all,
and watch-mode runs go on while the dashboard is shown. The screen draws what the
session tells it and turns keys into the session's commands; it has no watch logic.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from tui.config.settings import EnvdeckSettings
from tui.core.monitor import EnvironmentMonitor
from tui.core.testrun import (
    CollectedTree,
    CollectErrorEvent,
    DiscoveryError,
    FinishedEvent,
    StartedEvent,
)
from tui.core.testrun.configured_place import PlaceError
from tui.core.testrun.events import TestEvent
from tui.core.testrun.marks import failure_marks
from tui.core.testrun.place import RunPlace
from tui.core.testrun.run_state import RunState
from tui.core.testrun.session import GATE_POLL_SECONDS, SessionListener, TestSession
from tui.core.testrun.window_logs import window_logs
from tui.core.text import safe_text
from tui.reset.service import Resets
from tui.reset.steps import Outcome as ResetOutcome
from tui.ui.widgets.key_bar import KeyBar
from tui.ui.widgets.tests_detail import (
    collection_error_text,
    failure_text,
    group_text,
    leaf_text,
    pytest_said_text,
    report_text,
    service_logs_text,
)
from tui.ui.widgets.tests_tree import FAILING, TestTree

__all__ = ["GATE_POLL_SECONDS", "TestsScreen", "error_line"]

FILTER_DELAY = 0.15  # seconds of no typing before the tree is filtered again
LOGS_DELAY = 0.3  # the cursor rests this long on a failure before its logs are fetched
LOGS_CACHE = 32  # failures whose service logs are kept
HINT = "a runs all · enter runs the selection or the test under the cursor · w watches"

HandOver = Callable[[list[str], Path], None]


class TestsScreen(Screen[None], SessionListener):
    __test__ = False  # a screen, whatever pytest thinks of its name
    CSS_PATH = "tests.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="tests.back"),  # or clears the filter
        Binding("space", "toggle_select", "Select", id="tests.select"),
        Binding("enter", "run_or_open", "Run / open", id="tests.run"),
        Binding("a", "run_all", "Run all", id="tests.run_all"),
        Binding("F", "rerun_failures", "Rerun failed", id="tests.rerun_failed"),
        Binding("w", "toggle_watch", "Watch", id="tests.watch"),
        Binding("slash", "filter", "Filter", id="tests.filter"),
        Binding("n", "next_match", "Next filter match", show=False, id="tests.next"),
        Binding("N", "previous_match", "Previous filter match", show=False, id="tests.previous"),
        # Failures have keys of their own: `n` keeps to the filter's matches (k9s, vim).
        Binding(
            "right_square_bracket",
            "next_failure",
            "Next failure (wraps round)",
            show=False,
            id="tests.next_failure",
        ),
        Binding(
            "left_square_bracket",
            "previous_failure",
            "Previous failure (wraps round)",
            show=False,
            id="tests.previous_failure",
        ),
        Binding("c", "cancel", "Cancel run", show=False, id="tests.cancel"),
        Binding("P", "debug", "Debug (pdb)", id="tests.debug"),
        Binding("o", "open_editor", "Open in $EDITOR", id="tests.edit"),
        Binding("ctrl+r", "discover", "Rediscover", show=False, id="tests.rediscover"),
        Binding("X", "reset_environment", "Reset environment", show=False, id="tests.reset"),
        Binding("B", "bundle_failure", "Failure bundle", show=False, id="tests.bundle"),
        Binding("d", "data_diff", "Data diff (data put back)", show=False, id="tests.diff"),
        Binding(
            "K", "data_diff_keep", "Data diff, keeping the data", show=False, id="tests.diff_keep"
        ),
    ]

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

    def compose(self) -> ComposeResult:
        yield Static("tests", id="tests-status", markup=False)
        yield Static("", id="tests-run", markup=False)
        with Horizontal(id="tests-main"):
            yield TestTree(id="tests-tree")
            with VerticalScroll(id="tests-detail"):
                yield Static("", id="tests-failure", markup=False)
        filter_box = Input(
            placeholder="filter: part of a node id — enter keeps it, esc clears it",
            id="tests-filter",
        )
        filter_box.display = False
        yield filter_box
        yield KeyBar()

    def on_mount(self) -> None:
        self.test_tree.focus()
        self.session.listen(self)
        if self.session.tree is None:
            self.action_discover()
        else:  # the session collected before this screen was made: show what it knows
            self.discovered(self.session.tree)
            self.test_tree.results.update(self.session.results.outcomes)

    # -------------------------------------------------------------- state, for tests too

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

    # -------------------------------------------------------------- status lines

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

    # -------------------------------------------------------------- discovery

    @work(exclusive=True, group="discover", exit_on_error=False)
    async def action_discover(self) -> None:
        try:
            await self.session.discover()
        except DiscoveryError as error:
            self.session.discovery = f"collection failed: {error} (ctrl+r collects again)"
            self.refresh_status()
            self._set_detail(report_text(error.output, str(error), "bold red"), ("discovery",))
        except PlaceError as error:  # the configured test service cannot run them
            self.session.discovery = f"cannot run the tests: {error}"
            self.refresh_status()
            self._set_detail(report_text("", str(error), "bold red"), ("discovery",))

    # -------------------------------------------------------------- what the session says

    def changed(self) -> None:
        if self.is_mounted:
            self.refresh_status()

    def discovered(self, tree: CollectedTree) -> None:
        if not self.is_mounted:
            return
        self.test_tree.load(tree)
        self.refresh_status()
        self.show_detail()

    async def test_event(self, run: RunState, event: TestEvent) -> None:
        if not self.is_mounted:
            return
        tree = self.test_tree
        if isinstance(event, StartedEvent):
            serial = self._run_serials.setdefault(id(run), next(self._serials))
            tree.mark_running(event.nodeid, serial)
        elif isinstance(event, FinishedEvent):
            tree.finished(event)
            self._refresh_detail_for(event.nodeid)
        elif isinstance(event, CollectErrorEvent):
            tree.set_error(event.nodeid, event.longrepr)
            self._refresh_detail_for(event.nodeid)

    def run_ended(self, run: RunState) -> None:
        if not self.is_mounted:
            return
        serial = self._run_serials.pop(id(run), None)
        if serial is not None:
            self.test_tree.run_ended(serial)
        result = run.result
        # pytest refused the run or cut it short (exit 2-5): its words in full, unless the
        # tree already shows them (a collection error).
        said = result is not None and bool(result.message)
        if result is not None and said and (result.exit_code != 2 or not self.test_tree.errors):
            key = ("pytest", str(id(run)))
            self._set_detail(pytest_said_text(run.why, result), key)
        self.refresh_status()

    def notice(self, text: str, *, in_status_line: bool = False) -> None:
        if not in_status_line and self.is_current:
            self.notify(text, markup=False)

    # -------------------------------------------------------------- the selection

    def action_toggle_select(self) -> None:
        nodeid = self.test_tree.cursor_nodeid
        if nodeid is None:
            return
        self.test_tree.toggle_selection(nodeid)
        self.session.selected = self.test_tree.selection_targets()  # watch runs keep to it
        self.refresh_status()
        self.show_detail()

    # -------------------------------------------------------------- the filter

    def action_filter(self) -> None:
        box = self.query_one("#tests-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#tests-filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, lambda: self._apply_filter(event.value))

    @on(Input.Submitted, "#tests-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close_filter_box()
        self._apply_filter(event.value)

    def _apply_filter(self, text: str) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        self.test_tree.set_filter(text.strip())
        self.refresh_status()
        self.show_detail()

    def _close_filter_box(self) -> None:
        box = self.query_one("#tests-filter", Input)
        box.display = False
        self.test_tree.focus()

    def action_back(self) -> None:
        """esc: from the detail pane back to the tree; else clears the filter if there is
        one, else back to the dashboard."""
        if self.detail_pane.has_focus:
            self.test_tree.focus()
            return
        box = self.query_one("#tests-filter", Input)
        if box.display or self.test_tree.filter_text:
            box.value = ""
            self._close_filter_box()
            self._apply_filter("")
            return
        self.app.pop_screen()

    def action_next_match(self) -> None:
        self._jump_to_match(1)

    def action_previous_match(self) -> None:
        self._jump_to_match(-1)

    def _jump_to_match(self, step: int) -> None:
        tree = self.test_tree
        if not tree.filter_text:
            self.notify("No filter: / filters the tests; ] and [ go to the failures")
        elif tree.jump(step, tree.matches()) is None:
            self.notify("No test matches the filter")

    def action_next_failure(self) -> None:
        self._jump_to_failure(1)

    def action_previous_failure(self) -> None:
        self._jump_to_failure(-1)

    def _jump_to_failure(self, step: int) -> None:
        tree = self.test_tree
        if tree.jump(step, tree.shown_failures()) is None:
            hidden = tree.filter_text and (tree.failures() or tree.errors)
            self.notify("No failure the filter shows" if hidden else "No failures")

    # -------------------------------------------------------------- running

    def action_run_or_open(self) -> None:
        tree = self.test_tree
        nodeid = tree.cursor_nodeid
        result = tree.results.get(nodeid or "")
        if result is not None and result.outcome in FAILING:
            self.show_detail(logs_now=True)
            self.detail_pane.focus()  # the report scrolls with the keys; esc or tab: the tree
            return
        targets = tree.selection_targets()
        if targets:
            count = len(tree.selected)
            self.start_run(targets, f"{count} selected test{'s' if count != 1 else ''}")
        elif nodeid is not None:
            self.start_run([nodeid], safe_text(nodeid))

    def action_run_all(self) -> None:
        self.start_run(None, "all tests")

    def action_rerun_failures(self) -> None:
        failed = self.test_tree.failures()
        if not failed:
            self.notify("No failures to rerun")
            return
        self.start_run(failed, f"rerun of {len(failed)} failure{'s' if len(failed) != 1 else ''}")

    def start_run(self, targets: list[str] | None, why: str) -> None:
        """A run of `targets` (None: pytest_args as given) in place of any run going on."""
        self.session.start_run(targets, why)

    @work(exclusive=True, group="cancel", exit_on_error=False)
    async def action_cancel(self) -> None:
        """c: stops the run going on, or drops the one the health gate holds."""
        await self.session.cancel()

    def action_reset_environment(self) -> None:
        """X: the reset dialog, as on the dashboard."""
        from tui.ui.screens.reset import ResetScreen  # noqa: PLC0415 - not on the first frame

        if self.resets is None:
            self.notify("Nothing to reset: no environment", severity="warning")
            return
        self.app.push_screen(ResetScreen(self.resets), self._reset_closed)

    def _reset_closed(self, outcome: ResetOutcome | None) -> None:
        if outcome is None:
            return
        if outcome.ok:
            self.notify(f"{outcome.kind}: done in {outcome.seconds:.2f} s")
        else:
            self.notify(
                f"{outcome.kind} failed: {outcome.failure_summary}",
                severity="error",
                markup=False,
                timeout=10,
            )

    # -------------------------------------------------------------- the detail pane

    def on_tree_node_highlighted(self, event: TestTree.NodeHighlighted[str]) -> None:
        self.show_detail()

    def on_tree_node_selected(self, event: TestTree.NodeSelected[str]) -> None:
        self.show_detail(logs_now=True)  # a click

    def _refresh_detail_for(self, nodeid: str) -> None:
        cursor = self.test_tree.cursor_nodeid
        if cursor is not None and (cursor == nodeid or cursor in self.test_tree.parents_of(nodeid)):
            self.show_detail()

    def show_detail(self, *, logs_now: bool = False) -> None:
        """The detail pane for the node under the cursor; a failure's service logs are
        fetched once the cursor rests on it (at once with `logs_now`)."""
        tree = self.test_tree
        nodeid = self.detail_nodeid = tree.cursor_nodeid
        node = tree.model.get(nodeid or "")
        if nodeid is None or node is None:
            text = Text("no test here" if tree.filter_text else "", style="dim")
            self._set_detail(text, ("empty",))
            return
        if nodeid in tree.errors:
            error = tree.errors[nodeid]
            self._set_detail(collection_error_text(nodeid, error), ("error", nodeid, error))
            return
        result = tree.results.get(nodeid)
        if result is not None and result.outcome in FAILING:
            self._show_failure(result, logs_now=logs_now)
            return
        if node.children:
            leaves = tree.leaves[nodeid]
            text = group_text(
                node,
                (tree.results.get(leaf) for leaf in leaves),
                sum(1 for leaf in leaves if leaf in tree.selected),
                sum(1 for leaf in leaves if leaf in tree.running),
            )
        else:
            text = leaf_text(node, result, nodeid in tree.selected)
        self._set_detail(text, ("node", nodeid))

    def _set_detail(self, text: Text, key: tuple[str, ...]) -> None:
        if self._logs_timer is not None:
            self._logs_timer.stop()
            self._logs_timer = None
        moved = key[:2] != self._detail_key[:2]
        self._detail_key = key
        self.query_one("#tests-failure", Static).update(text)
        if moved:
            self.query_one("#tests-detail", VerticalScroll).scroll_home(animate=False)

    def _show_failure(self, result: FinishedEvent, *, logs_now: bool) -> None:
        window = (result.nodeid, result.start, result.stop)
        key = ("failure", *window)
        logs = self._logs.get(window)
        if key == self._detail_key and (logs is not None or not logs_now):
            return  # already shown, or its logs already on their way
        self._set_detail(failure_text(result, logs), key)
        if logs is None:
            if logs_now:
                self.load_service_logs(result)
            else:
                self._logs_timer = self.set_timer(
                    LOGS_DELAY, lambda: self.load_service_logs(result)
                )

    @work(thread=True, exclusive=True, group="failure-logs", exit_on_error=False)
    def load_service_logs(self, result: FinishedEvent) -> None:
        try:
            lines = window_logs(self.monitor, result.start, result.stop)
            text = service_logs_text(lines, failure_marks(result))  # where it failed, in time
        except Exception as error:
            text = Text(f"── service logs unavailable: {safe_text(str(error))} ──", style="red")
        self.app.call_from_thread(self._logs_loaded, result, text)

    def _logs_loaded(self, result: FinishedEvent, logs: Text) -> None:
        window = (result.nodeid, result.start, result.stop)
        self._logs[window] = logs
        while len(self._logs) > LOGS_CACHE:
            del self._logs[next(iter(self._logs))]
        if self._detail_key == ("failure", *window):
            self.query_one("#tests-failure", Static).update(failure_text(result, logs))

    # -------------------------------------------------------------- data diff

    def action_data_diff(self) -> None:
        self._data_diff(keep=False)

    def action_data_diff_keep(self) -> None:
        self._data_diff(keep=True)

    def _data_diff(self, *, keep: bool) -> None:
        """d / K: rerun the test under the cursor alone and show what it changed in every
        stateful service (`tui.core.testrun.data_diff`); its data back unless K."""
        nodeid = self.test_tree.cursor_nodeid
        node = self.test_tree.model.get(nodeid or "")
        if nodeid is None or node is None or node.children or nodeid in self.test_tree.errors:
            self.notify("Put the cursor on one test: d reruns it and shows what it changed")
            return
        if self.resets is None:
            self.notify("No environment: nothing to diff", severity="warning")
            return
        self._set_detail(Text(f"data diff of {nodeid}: saving, then rerunning it …"), ("diff",))
        self.run_data_diff(nodeid, keep)

    @work(exclusive=True, group="data-diff", exit_on_error=False)
    async def run_data_diff(self, nodeid: str, keep: bool) -> None:
        from tui.core.testrun.data_diff import DataDiffError, diff_one_test  # noqa: PLC0415
        from tui.presentation.diff_text import format_diff_report  # noqa: PLC0415 - on use only

        session = self.session
        try:
            # EnvironmentResets resolves its environment on first use: blocking.
            states = await asyncio.to_thread(getattr, self.resets, "states", None)
            if states is None:
                raise DataDiffError("this environment has no saved states to diff against")
            report = await diff_one_test(
                states,
                session.root,
                nodeid,
                python=session.python,
                extra_args=session.options,
                keep=keep,
                place=await session.ensure_place(),
            )
        except (DataDiffError, PlaceError) as error:
            self._set_detail(Text(f"no data diff: {safe_text(str(error))}", style="red"), ("diff",))
            return
        self._set_detail(Text(safe_text(format_diff_report(report), keep="\n")), ("diff", nodeid))
        self.detail_pane.focus()  # long: it scrolls with the keys

    # -------------------------------------------------------------- failure bundle

    def action_bundle_failure(self) -> None:
        """B: the failure under the cursor as a folder to hand on (`tui.core.bundle`)."""
        result = self.test_tree.results.get(self.test_tree.cursor_nodeid or "")
        if result is None or result.outcome not in FAILING:
            self.notify("No failure here: B writes the bundle of the failure under the cursor")
            return
        self.notify("Writing the failure bundle …", timeout=2)
        self.write_bundle(result)

    @work(thread=True, group="bundle", exit_on_error=False)
    def write_bundle(self, result: FinishedEvent) -> None:
        from tui.core.bundle import write_failure_bundle  # noqa: PLC0415 - on use only
        from tui.reset.state_folder import ensure_state_folder  # noqa: PLC0415

        state = self.settings.state_dir or self.root_dir / ".envdeck"
        try:
            ensure_state_folder(state)  # ignored by git, and by watch mode
            path = write_failure_bundle(state / "bundles", result, self.monitor)
        except Exception as error:
            message = f"Could not write the failure bundle: {error}"
            self.app.call_from_thread(self.notify, message, severity="error", markup=False)
            return
        shown = f"Failure bundle: {path} (envdeck bundle open shows it)"
        self.app.call_from_thread(self.notify, shown, markup=False, timeout=10)

    # -------------------------------------------------------------- debugger, editor

    def debug_argv(self, nodeid: str) -> list[str]:
        """pytest on `nodeid` alone, stopping in pdb at the first failure: here, or in a
        new container of the tests' compose service, with the terminal."""
        return self.session.place.debug_argv(nodeid)

    def editor_argv(self, file: str, line: int | None) -> list[str]:
        """$EDITOR (vi without one) on the file, at `+line` when known."""
        editor = shlex.split(os.environ.get("EDITOR") or "vi")
        position = [f"+{line}"] if line else []
        return [*editor, *position, str(self.root_dir / file)]

    def location(self, nodeid: str) -> tuple[str, int | None]:
        """Where `nodeid` is written: a test's line, a parametrized function's or a
        class's first test, the line a file failed to collect at, or a file's top."""
        tree = self.test_tree
        file = nodeid.split("::", 1)[0]
        if nodeid in tree.errors:
            return file, error_line(tree.errors[nodeid], file)
        node = tree.model.get(nodeid)
        if node is None or node.kind == "file":
            return file, None
        first = tree.model.get(tree.leaves[nodeid][0]) if tree.leaves.get(nodeid) else None
        item = first.item if first is not None else None
        return file, item.lineno if item is not None else None

    def action_debug(self) -> None:
        nodeid = self.test_tree.cursor_nodeid
        if nodeid is None:
            return
        self.hand_over(self.debug_argv(nodeid), self.root_dir)

    def action_open_editor(self) -> None:
        nodeid = self.test_tree.cursor_nodeid
        if nodeid is None:
            return
        argv = self.editor_argv(*self.location(nodeid))
        if shutil.which(argv[0]) is None:
            self.notify(f"$EDITOR ({argv[0]}) is not installed", severity="error", markup=False)
            return
        self.hand_over(argv, self.root_dir)

    def _run_in_terminal(self, argv: list[str], cwd: Path) -> None:
        try:
            with self.app.suspend():
                subprocess.call(argv, cwd=cwd)
        except SuspendNotSupported:
            self.notify("This terminal cannot hand over", severity="error")

    # -------------------------------------------------------------- watch mode

    def action_toggle_watch(self) -> None:
        if self.session.watching:
            self.session.stop_watching()
            self.notify("Watch mode off")
            return
        self.session.start_watching()
        self.notify("Watch mode on: saving a file reruns the tests it affects")


def new_session(
    settings: EnvdeckSettings, monitor: EnvironmentMonitor, resets: Resets | None
) -> TestSession:
    """The session of the project `settings` describe, as the app makes it."""
    from tui.core.testrun.project import project_python  # noqa: PLC0415
    from tui.core.testrun.warm import WarmStarts  # noqa: PLC0415
    from tui.reset.steps import no_progress  # noqa: PLC0415

    root = (settings.config_dir or Path.cwd()).resolve()
    reset = None
    if settings.reset_before_watch_runs and resets is not None:
        reset = functools.partial(resets.fast_reset, no_progress)
    find_place = None
    if settings.test_service:  # the tests run in a compose service: found in a worker
        find_place = functools.partial(configured_place, settings, monitor)
    return TestSession(
        root,
        project_python(root, settings.test_python),
        settings.pytest_args,
        monitor=monitor,
        warm=WarmStarts() if settings.test_warm_start else None,
        reset=reset,
        # A configured state_dir inside the project: a reset before a run writes there.
        ignored_dirs=[settings.state_dir] if settings.state_dir else [],
        find_place=find_place,
    )


def configured_place(settings: EnvdeckSettings, monitor: EnvironmentMonitor) -> RunPlace:
    """Where the settings say the tests run, with the environment's compose command and
    engine when the monitor knows them (blocking: `compose config`)."""
    from tui.core.monitor import DockerEnvironmentMonitor  # noqa: PLC0415
    from tui.core.testrun.configured_place import run_place  # noqa: PLC0415

    if isinstance(monitor, DockerEnvironmentMonitor):
        environment = monitor.environment(engine_connected=True)
        return run_place(settings, compose=environment.compose, gateway=monitor.gateway)
    return run_place(settings)


def error_line(longrepr: str, file: str) -> int | None:
    """The line of `file` a collection error points at, from pytest's report: the last
    `File ".../file", line N` (a SyntaxError) or `file:N: in ...` (an import error)."""
    name = re.escape(file)
    found = re.findall(
        rf'File "(?:[^"]*/)?{name}", line (\d+)|^(?:\S*/)?{name}:(\d+): ', longrepr, re.MULTILINE
    )
    if not found:
        return None
    syntax, traceback = found[-1]
    return int(syntax or traceback)
