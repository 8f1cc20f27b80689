"""The tests screen: the project's tests as a tree, run live, failures with service logs."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, Tree
from textual.widgets.tree import TreeNode

from tui.config.settings import EnvdeckSettings
from tui.core.log_buffer import LogLine
from tui.core.logs import FollowOptions
from tui.core.monitor import EnvironmentMonitor
from tui.core.testrun import (
    CollectedTree,
    DiscoveryError,
    FinishedEvent,
    Outcome,
    StartedEvent,
    TestNode,
    TestRun,
    TestRunError,
    discover,
    format_failure,
)
from tui.core.testrun.project import project_python, split_args
from tui.core.text import safe_text
from tui.core.watch import ImportGraph, SourceWatcher, find_affected, narrow
from tui.presentation.log_format import format_line

ICONS = {
    Outcome.RUNNING: "◌",
    Outcome.PASSED: "✔",
    Outcome.FAILED: "✘",
    Outcome.ERROR: "‼",
    Outcome.SKIPPED: "∅",
    Outcome.XFAILED: "x",
    Outcome.XPASSED: "X",
}
STYLES = {
    Outcome.PASSED: "green",
    Outcome.FAILED: "bold red",
    Outcome.ERROR: "bold red",
    Outcome.RUNNING: "yellow",
    Outcome.XPASSED: "yellow",
}


class TestsScreen(Screen[None]):
    __test__ = False  # a screen, whatever pytest thinks of its name
    CSS_PATH = "tests.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="tests.back"),
        Binding("space", "toggle_select", "Select", id="tests.select"),
        Binding("enter", "run_or_open", "Run / open", id="tests.run"),
        Binding("a", "run_all", "Run all", id="tests.run_all"),
        Binding("F", "rerun_failures", "Rerun failed", id="tests.rerun_failed"),
        Binding("w", "toggle_watch", "Watch", id="tests.watch"),
        Binding("c", "cancel", "Cancel run", id="tests.cancel"),
        Binding("P", "debug", "Debug (pdb)", id="tests.debug"),
        Binding("o", "open_editor", "Open in $EDITOR", id="tests.edit"),
        Binding("ctrl+r", "discover", "Rediscover", show=False, id="tests.rediscover"),
    ]

    def __init__(self, settings: EnvdeckSettings, monitor: EnvironmentMonitor) -> None:
        super().__init__()
        self.settings = settings
        self.monitor = monitor
        self.root_dir = (settings.config_dir or Path.cwd()).resolve()
        self.python = project_python(self.root_dir, settings.test_python)
        self.selection, self.options = split_args(settings.pytest_args)
        self.tree_data: CollectedTree | None = None
        self.results: dict[str, FinishedEvent] = {}
        self.selected: set[str] = set()
        self.nodes: dict[str, TreeNode[str]] = {}
        self.names: dict[str, tuple[str, int | None]] = {}  # node id -> (name, count)
        self.run: TestRun | None = None
        self.watching: SourceWatcher | None = None

    def compose(self) -> ComposeResult:
        yield Static("tests · discovering…", id="tests-status", markup=False)
        with Horizontal(id="tests-main"):
            yield Tree[str]("tests", id="tests-tree")
            with VerticalScroll(id="tests-detail"):
                yield Static("", id="tests-failure", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Tree).focus()
        self.action_discover()

    # -------------------------------------------------------------- discovery

    def _status(self, text: str) -> None:
        self.query_one("#tests-status", Static).update(Text(safe_text(text)))

    @work(exclusive=True, group="discover", exit_on_error=False)
    async def action_discover(self) -> None:
        self._status(f"tests · collecting in {self.root_dir} …")
        try:
            collected = await discover(self.root_dir, self.python, self.options)
        except DiscoveryError as error:
            self._status(f"tests · collection failed: {error}")
            self.query_one("#tests-failure", Static).update(Text(safe_text(error.output)))
            return
        self.tree_data = collected
        self._build_tree(collected)
        errors = f" · {len(collected.errors)} collection errors" if collected.errors else ""
        self._status(f"tests · {collected.count} tests{errors} · {self.root_dir}")

    def _build_tree(self, collected: CollectedTree) -> None:
        tree = self.query_one(Tree)
        tree.clear()
        self.nodes.clear()
        self.names.clear()
        tree.root.expand()
        for node in collected.files():
            self._add(tree.root, node)

    def _add(self, parent: TreeNode[str], node: TestNode) -> None:
        if node.error is not None:
            label = Text(f"‼ {node.name} — collection error", style="bold red")
            added = parent.add_leaf(label, data=node.nodeid)
        elif node.children:
            added = parent.add(
                self._label(node.name, node.nodeid, node.count), data=node.nodeid, expand=True
            )
            for child in node.children:
                self._add(added, child)
        else:
            added = parent.add_leaf(self._label(node.name, node.nodeid), data=node.nodeid)
        self.nodes[node.nodeid] = added
        self.names[node.nodeid] = (node.name, node.count if node.children else None)

    def _label(self, name: str, nodeid: str, count: int | None = None) -> Text:
        mark = "● " if nodeid in self.selected else "  "
        result = self.results.get(nodeid)
        text = Text(mark)
        if result is not None:
            text.append(f"{ICONS[result.outcome]} ", style=STYLES.get(result.outcome, ""))
        text.append(safe_text(name))
        if count is not None:
            text.append(f" ({count})", style="dim")
        if result is not None and result.duration:
            text.append(f" {result.duration:.2f}s", style="dim")
        return text

    def _relabel(self, nodeid: str, outcome: Outcome | None = None) -> None:
        node = self.nodes.get(nodeid)
        if node is None:
            return
        name, count = self.names[nodeid]
        if outcome is Outcome.RUNNING:
            node.set_label(Text(f"  {ICONS[Outcome.RUNNING]} {safe_text(name)}", style="yellow"))
        else:
            node.set_label(self._label(name, nodeid, count))

    # -------------------------------------------------------------- running

    def _current_nodeid(self) -> str | None:
        node = self.query_one(Tree).cursor_node
        return node.data if node is not None else None

    def action_toggle_select(self) -> None:
        nodeid = self._current_nodeid()
        if nodeid is None:
            return
        self.selected.symmetric_difference_update({nodeid})
        self._relabel(nodeid)

    def action_run_or_open(self) -> None:
        nodeid = self._current_nodeid()
        if nodeid in self.results and self.results[nodeid].outcome in (
            Outcome.FAILED,
            Outcome.ERROR,
        ):
            self._show_failure(self.results[nodeid])
            return
        targets = sorted(self.selected) or ([nodeid] if nodeid else [])
        self.start_run(targets, "selection")

    def action_run_all(self) -> None:
        self.start_run(list(self.selection), "all")

    def action_rerun_failures(self) -> None:
        failed = [
            n for n, r in self.results.items() if r.outcome in (Outcome.FAILED, Outcome.ERROR)
        ]
        if not failed:
            self.notify("No failures to rerun")
            return
        self.start_run(failed, "the failures")

    def start_run(self, targets: list[str], why: str) -> None:
        self.run_tests(targets, why)

    @work(exclusive=True, group="testrun", exit_on_error=False)
    async def run_tests(self, targets: list[str], why: str) -> None:
        self._status(f"tests · running {why} ({len(targets) or 'all'}) …")
        counts: dict[str, int] = {}
        try:
            async with TestRun(
                self.root_dir, python=self.python, nodeids=targets, extra_args=self.options
            ) as run:
                self.run = run
                async for event in run.events():
                    if isinstance(event, StartedEvent):
                        self._relabel(event.nodeid, Outcome.RUNNING)
                    elif isinstance(event, FinishedEvent):
                        self.results[event.nodeid] = event
                        counts[event.outcome.value] = counts.get(event.outcome.value, 0) + 1
                        self._relabel(event.nodeid)
                        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                        self._status(f"tests · {why}: {summary}")
                result = await run.wait()
        except TestRunError as error:
            self._status(f"tests · could not start pytest: {error}")
            return
        finally:
            self.run = None
        self._status(
            f"tests · {why}: {result.counts.summary()} in {result.duration:.2f}s"
            f" (exit {result.exit_code})"
        )

    @work(exclusive=True, group="cancel", exit_on_error=False)
    async def action_cancel(self) -> None:
        if self.run is not None:
            await self.run.cancel("stopped by the user")

    # -------------------------------------------------------------- a failure

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        result = self.results.get(event.node.data or "")
        if result is not None and result.outcome in (Outcome.FAILED, Outcome.ERROR):
            self._show_failure(result)

    def _show_failure(self, result: FinishedEvent) -> None:
        self.query_one("#tests-failure", Static).update(
            Text(safe_text(format_failure(result)) + "\n\n── service logs while it ran: loading …")
        )
        self.load_service_logs(result)

    @work(thread=True, exclusive=True, group="failure-logs", exit_on_error=False)
    def load_service_logs(self, result: FinishedEvent) -> None:
        lines: list[LogLine] = []
        try:
            status = self.monitor.snapshot()
            services = sorted({s.name for s in status.services if s.container})
            follower = (
                self.monitor.follow_logs(
                    services,
                    lines.extend,
                    FollowOptions(since=result.start, until=result.stop, follow=False),
                )
                if services
                else None
            )
            if follower is not None:
                follower.start()
                wait = getattr(follower, "wait", None)
                if wait is not None:
                    wait(10.0)
                follower.stop(timeout=2.0)
        except Exception as error:
            lines = [
                LogLine("envdeck", "", "", f"── service logs unavailable: {error} ──", "envdeck")
            ]
        width = max((len(line.service) for line in lines), default=8)
        text = "\n".join(format_line(line, timestamps=True, prefix_width=width) for line in lines)
        body = safe_text(format_failure(result)) + "\n\n── service logs while it ran ──\n"
        body += text or "(no service logged anything in that window)"
        self.app.call_from_thread(self.query_one("#tests-failure", Static).update, Text(body))

    # -------------------------------------------------------------- debugger, editor

    def _test_location(self) -> tuple[str, int | None] | None:
        nodeid = self._current_nodeid()
        if nodeid is None or self.tree_data is None:
            return None
        item = self.tree_data.item(nodeid)
        file = nodeid.split("::", 1)[0]
        return file, item.lineno if item else None

    def action_debug(self) -> None:
        nodeid = self._current_nodeid()
        if nodeid is None:
            return
        argv = [self.python, "-m", "pytest", "--pdb", "-p", "no:cacheprovider", nodeid]
        self._suspended(argv, cwd=self.root_dir)

    def action_open_editor(self) -> None:
        location = self._test_location()
        if location is None:
            return
        file, line = location
        editor = shlex.split(os.environ.get("EDITOR") or "vi")
        if shutil.which(editor[0]) is None:
            self.notify(f"$EDITOR ({editor[0]}) is not installed", severity="error", markup=False)
            return
        position = [f"+{line}"] if line else []
        self._suspended([*editor, *position, str(self.root_dir / file)], cwd=self.root_dir)

    def _suspended(self, argv: list[str], cwd: Path) -> None:
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
            return
        self.watching = SourceWatcher(self.root_dir)
        self.watch_files(self.watching)
        self.notify("Watch mode on: saving a file reruns the tests it affects")

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def watch_files(self, watcher: SourceWatcher) -> None:
        graph = ImportGraph(self.root_dir)
        async for batch in watcher.abatches():
            affected = find_affected(graph, batch.paths)
            if affected.nothing:
                continue
            targets = narrow(sorted(self.selected) or self.selection, affected, root=self.root_dir)
            if not targets and not affected.run_all:
                continue
            if self.run is not None:
                await self.run.cancel("a newer change")
            await self._wait_for_environment()
            self.start_run(targets, affected.reason)

    async def _wait_for_environment(self) -> None:
        while True:
            status = await asyncio.to_thread(self.monitor.snapshot)
            waiting = status.gating_services
            if not waiting:
                return
            names = ", ".join(f"{s.name} ({s.health})" for s in waiting)
            self._status(f"tests · waiting for {names} before running")
            await asyncio.sleep(1.0)

    def on_unmount(self) -> None:
        if self.watching is not None:
            self.watching.stop()
        if self.run is not None:
            self.run.kill_now()
