"""The tests screen: the project's tests as a tree, run live, failures with service logs.

Two status lines on top: what the project holds (tests, collection errors, the selection,
the filter, watch mode), then what the runs do (what started the current one, its
progress, the last result, or the service a watch-mode run waits for and why). The detail
pane follows the cursor: a failure with every service's logs of its time window, a file's
collection error, a file's or class's outcomes. pytest runs in workers; `P` and `o` hand
the terminal over (`hand_over`, which tests replace to see the exact command).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
from tui.core.status import ServiceStatus
from tui.core.testrun import (
    CollectedEvent,
    CollectedTree,
    CollectErrorEvent,
    CollectionFinishedEvent,
    DiscoveryError,
    FinishedEvent,
    OutcomeCounts,
    SessionFinishedEvent,
    StartedEvent,
    TestRun,
    TestRunError,
    discover,
)
from tui.core.testrun.arguments import (
    PytestArguments,
    read_arguments,
    read_without_pytest,
    whole_selection_instead,
)
from tui.core.testrun.project import project_python
from tui.core.testrun.pytest_words import headline
from tui.core.testrun.warm import WarmStarts
from tui.core.testrun.window_logs import window_logs
from tui.core.text import safe_text
from tui.core.watch import (
    Affected,
    IgnoreRules,
    ImportGraph,
    SourceWatcher,
    find_affected,
    narrow,
)
from tui.core.watch.gate import why_not_ready
from tui.reset.service import Resets
from tui.reset.steps import no_progress
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

GATE_POLL_SECONDS = 1.0
FILTER_DELAY = 0.15  # seconds of no typing before the tree is filtered again
LOGS_DELAY = 0.3  # the cursor rests this long on a failure before its logs are fetched
LOGS_CACHE = 32  # failures whose service logs are kept
HINT = "a runs all · enter runs the selection or the test under the cursor · w watches"

HandOver = Callable[[list[str], Path], None]


@dataclass
class RunLine:
    """The second status line: one run, from what started it to its result."""

    why: str  # "all tests", "src/app/db.py changed → 3 affected tests"
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

    @property
    def css_class(self) -> str:
        if self.dropped:
            return "-idle"
        if self.problem or self.reset_failed:
            return "-failed"
        if self.result is not None and self.result.exit_code != 0:
            return "-failed"  # failures, errors, a collection error, cancelled, no tests
        if self.held_by or self.resetting:
            return "-held"
        if self.result is not None:
            return "-passed"
        return "-running"


class TestsScreen(Screen[None]):
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
    ]

    def __init__(
        self,
        settings: EnvdeckSettings,
        monitor: EnvironmentMonitor,
        resets: Resets | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.monitor = monitor
        self.resets = resets  # for reset_before_watch_runs
        self.root_dir = (settings.config_dir or Path.cwd()).resolve()
        self.python = project_python(self.root_dir, settings.test_python)
        # Which of pytest_args are tests, as pytest reads them: asked before discovery
        # when only pytest can tell (arguments.py).
        self.arguments = read_without_pytest(settings.pytest_args)
        self.tree_data: CollectedTree | None = None
        self.run: TestRun | None = None
        self.run_line: RunLine | None = None
        self.discovery = ""  # collecting, or why collecting failed
        self.watching: SourceWatcher | None = None
        # Runs the argv with the terminal handed over; tests replace it to see the argv.
        self.hand_over: HandOver = self._run_in_terminal
        self._serials = itertools.count(1)
        self.detail_nodeid: str | None = None  # what the detail pane is about
        self._detail_key: tuple[str, ...] = ()
        self._logs: dict[tuple[str, str, str], Text] = {}
        self._logs_timer: Timer | None = None
        self._filter_timer: Timer | None = None
        # The next run's Python, started ahead with pytest imported (warm.py), as in
        # `envdeck test --watch`; one spare at a time, prepared by one caller at a time.
        self.warm = WarmStarts() if settings.test_warm_start else None
        self._warm_lock = asyncio.Lock()

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
        self.action_discover()

    # -------------------------------------------------------------- state, for tests too

    @property
    def test_tree(self) -> TestTree:
        return self.query_one(TestTree)

    @property
    def detail_pane(self) -> VerticalScroll:
        return self.query_one("#tests-detail", VerticalScroll)

    @property
    def selection(self) -> list[str]:
        """The tests pytest_args select (files, folders, node ids), as pytest reads them."""
        return self.arguments.selection if self.arguments is not None else []

    @property
    def options(self) -> list[str]:
        """pytest_args but the selection: every option with its value."""
        return self.arguments.options if self.arguments is not None else []

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
        if self.discovery:
            parts.append(self.discovery)
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
        if self.watching is not None:
            parts.append("watch on")
        self.query_one("#tests-status", Static).update(Text(safe_text(" · ".join(parts))))
        line = self.query_one("#tests-run", Static)
        run = self.run_line
        idle = "waiting for a change" if self.watching is not None else HINT
        text = run.text() if run is not None else idle
        if self.watching is not None:
            text = f"watch · {text}"
        line.update(Text(safe_text(text)))
        line.set_classes(run.css_class if run is not None else "-idle")

    # -------------------------------------------------------------- discovery

    @work(exclusive=True, group="discover", exit_on_error=False)
    async def action_discover(self) -> None:
        self.discovery = "collecting …"
        self.refresh_status()
        await self._read_arguments()
        try:
            collected = await discover(self.root_dir, self.python, self.options)
        except DiscoveryError as error:
            self.discovery = f"collection failed: {error} (ctrl+r collects again)"
            self.refresh_status()
            self._set_detail(report_text(error.output, str(error), "bold red"), ("discovery",))
            return
        self.discovery = ""
        self.tree_data = collected
        self.test_tree.load(collected)
        self.refresh_status()
        self.show_detail()
        await self._prepare_warm_start()  # the first run is warm too

    async def _read_arguments(self) -> PytestArguments:
        if self.arguments is None:
            args = self.settings.pytest_args
            self.arguments = await read_arguments(self.root_dir, self.python, args)
        return self.arguments

    async def _prepare_warm_start(self) -> None:
        if self.warm is not None and self.is_attached:
            async with self._warm_lock:
                await self.warm.prepare(self.root_dir, self.python)

    # -------------------------------------------------------------- the selection

    def action_toggle_select(self) -> None:
        nodeid = self.test_tree.cursor_nodeid
        if nodeid is None:
            return
        self.test_tree.toggle_selection(nodeid)
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
        if self.arguments is None:  # the selection is not known before pytest has read them
            self.notify("pytest is reading pytest_args: run all in a moment")
            return
        self.start_run(list(self.selection), "all tests")

    def action_rerun_failures(self) -> None:
        failed = self.test_tree.failures()
        if not failed:
            self.notify("No failures to rerun")
            return
        self.start_run(failed, f"rerun of {len(failed)} failure{'s' if len(failed) != 1 else ''}")

    def start_run(self, targets: list[str], why: str, *, gated: bool = False) -> None:
        """A run of `targets` (pytest's default with none) in place of any run going on;
        `gated`: not before every service of the environment is ready."""
        self.run_tests(targets, why, gated)

    @work(exclusive=True, group="testrun", exit_on_error=False)
    async def run_tests(self, targets: list[str], why: str, gated: bool) -> None:
        serial = next(self._serials)
        line = self.run_line = RunLine(why)
        self.refresh_status()
        if self.run is not None:
            await self.run.cancel("a newer run")
        if gated:
            await self._wait_for_environment(line)
            if not await self._reset_before_run(line):
                return
        tree = self.test_tree
        restructure = False  # the run found tests or files discovery did not
        current: TestRun | None = None
        arguments = await self._read_arguments()
        try:
            async with TestRun(
                self.root_dir,
                python=self.python,
                nodeids=targets,
                extra_args=arguments.options,
                warm=self.warm,
            ) as run:
                self.run = current = run
                line.started, line.warm_start = True, run.warm_start
                self.refresh_status()
                async for event in run.events():
                    if isinstance(event, StartedEvent):
                        tree.mark_running(event.nodeid, serial)
                    elif isinstance(event, FinishedEvent):
                        tree.finished(event)
                        line.counts[event.outcome.value] = (
                            line.counts.get(event.outcome.value, 0) + 1
                        )
                        self.refresh_status()
                        self._refresh_detail_for(event.nodeid)
                    elif isinstance(event, CollectionFinishedEvent):
                        line.total = event.count
                        self.refresh_status()
                    elif isinstance(event, CollectErrorEvent):
                        tree.set_error(event.nodeid, event.longrepr)
                        self.refresh_status()
                        self._refresh_detail_for(event.nodeid)
                    elif isinstance(event, CollectedEvent):
                        restructure = restructure or any(
                            item.nodeid not in tree.model or item.file in tree.errors
                            for item in event.items
                        )
                line.result = await run.wait()
        except TestRunError as error:
            line.problem = str(error)
        finally:
            if current is not None and self.run is current:
                self.run = None
            tree.run_ended(serial)
            if self.run_line is line:
                self.refresh_status()
        if self._pytest_said(line, str(serial), targets if gated else None, arguments):
            return
        if restructure and line.result is not None and not line.result.cancelled:
            self.action_discover()  # new tests, or a file that collects again
        elif line.result is not None and not line.result.cancelled:
            await self._prepare_warm_start()  # the next run's, while nobody waits

    def _pytest_said(
        self, line: RunLine, key: str, watched: list[str] | None, arguments: PytestArguments
    ) -> bool:
        """After a run pytest refused or cut short (exit 2-5): its words in full in the
        detail pane, and, for a watch-mode run of `watched` that pytest refused, a run it
        accepts instead: the whole selection. True when that run was started."""
        result = line.result
        if result is None or not result.message:
            return False
        if result.exit_code != 2 or not self.test_tree.errors:  # else the tree shows them
            self._set_detail(pytest_said_text(line.why, result), ("pytest", key))
        instead = None if watched is None else whole_selection_instead(watched, arguments, result)
        if instead is None:
            return False
        whole = " ".join(self.selection) or "all tests"
        self.start_run(list(self.selection), f"{instead} → {whole} instead", gated=True)
        return True

    @work(exclusive=True, group="cancel", exit_on_error=False)
    async def action_cancel(self) -> None:
        """c: stops the run going on, or drops the one the health gate holds."""
        line = self.run_line
        if self.run is not None:
            await self.run.cancel("stopped by the user")
        elif line is not None and line.held_by:
            self.workers.cancel_group(self, "testrun")
            line.held_by, line.dropped = "", True
            self.refresh_status()

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
            text = service_logs_text(window_logs(self.monitor, result.start, result.stop))
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

    # -------------------------------------------------------------- debugger, editor

    def debug_argv(self, nodeid: str) -> list[str]:
        """pytest on `nodeid` alone, stopping in pdb at the first failure."""
        return [self.python, "-m", "pytest", "--pdb", "-p", "no:cacheprovider", nodeid]

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
        if self.watching is not None:
            self.watching.stop()
            self.watching = None
            self.notify("Watch mode off")
            self.refresh_status()
            return
        # A configured state_dir inside the project: a reset before a run writes there.
        state_dirs = [self.settings.state_dir] if self.settings.state_dir else []
        self.watching = SourceWatcher(
            self.root_dir, rules=IgnoreRules(self.root_dir, ignored_dirs=state_dirs)
        )
        self.watch_files(self.watching)
        self.refresh_status()
        self.notify("Watch mode on: saving a file reruns the tests it affects")

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def watch_files(self, watcher: SourceWatcher) -> None:
        graph = ImportGraph(self.root_dir)
        async for batch in watcher.abatches():
            # Reading and parsing the changed files is disk work: not on the UI's loop.
            affected = await asyncio.to_thread(find_affected, graph, batch.paths)
            if affected.nothing:
                continue
            chosen = self.test_tree.selection_targets() or self.selection
            targets = narrow(chosen, affected, root=self.root_dir)
            if not targets and not affected.run_all:
                reason = safe_text(affected.reason)
                self.notify(f"{reason}: none of the selected tests is affected", markup=False)
                continue
            self.start_run(targets, self.trigger_text(batch.paths, affected, targets), gated=True)

    def trigger_text(self, changed: Iterable[Path], affected: Affected, targets: list[str]) -> str:
        """What started a watch-mode run: "src/app/db.py changed → 3 affected tests"."""
        count = self.tests_in(targets)
        if affected.run_all:
            tests = "all tests" if count is None else f"all {count} tests"
            return f"{affected.reason} → {tests}"
        what = describe_paths(self.root_dir, changed)
        if count is None:
            files = len(affected.test_files)
            return f"{what} changed → the affected tests of {files} file{'s' * (files != 1)}"
        return f"{what} changed → {count} affected test{'s' * (count != 1)}"

    def tests_in(self, targets: Sequence[str]) -> int | None:
        """How many of the collected tests `targets` (pytest arguments) run."""
        if self.tree_data is None:
            return None
        if not targets:
            return self.tree_data.count
        return sum(
            1
            for item in self.tree_data.items
            if any(
                item.nodeid == target
                or item.nodeid.startswith(f"{target}::")
                or item.file.startswith(f"{target.rstrip('/')}/")
                for target in targets
            )
        )

    async def _reset_before_run(self, line: RunLine) -> bool:
        """With reset_before_watch_runs: a fast reset first; False when it failed."""
        if not self.settings.reset_before_watch_runs or self.resets is None:
            return True
        line.resetting = True
        self.refresh_status()
        outcome = await asyncio.to_thread(self.resets.fast_reset, no_progress)
        line.resetting = False
        if not outcome.ok:
            line.reset_failed = outcome.failure_summary
        self.refresh_status()
        return outcome.ok

    async def _wait_for_environment(self, line: RunLine) -> None:
        """Health gate: hold the run while a service is starting or unhealthy, saying
        which and why (the healthcheck's own last output)."""
        while True:
            held_by = await asyncio.to_thread(self._gate_text)
            if not held_by:
                line.held_by = ""
                return
            line.held_by = held_by
            if line.held_since is None:
                line.held_since = time.monotonic()
            self.refresh_status()
            await asyncio.sleep(GATE_POLL_SECONDS)

    def _gate_text(self) -> str:
        """The services a run waits for, and why; "" when none (or when the environment
        cannot be asked: a broken monitor must not hold the tests forever)."""
        try:
            waiting = self.monitor.snapshot().gating_services
            return ", ".join(self._why_not_ready(service) for service in waiting)
        except Exception:
            return ""

    def _why_not_ready(self, service: ServiceStatus) -> str:
        why = f"{safe_text(service.name)} {why_not_ready(service)}"
        details = self.monitor.details(service)
        probe = details.health_log[0] if details is not None and details.health_log else None
        if probe is not None and probe.exit_code != 0:
            masked = probe.output_masked  # shown in a header: never revealed here
            output = masked.splitlines()[0] if masked else f"exit {probe.exit_code}"
            why += f" ({safe_text(output)[:120]})"
        return why

    def on_unmount(self) -> None:
        if self.watching is not None:
            self.watching.stop()
        if self.run is not None:
            self.run.kill_now()
        if self.warm is not None:
            self.warm.kill_now()


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
