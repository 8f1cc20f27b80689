"""The detail pane: what the node under the cursor is, and a failure with every service's
logs of its time window, fetched in a worker once the cursor rests on it."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.widgets import Static

from tui.core.testrun import FinishedEvent
from tui.core.testrun.marks import failure_marks
from tui.core.testrun.window_logs import window_logs
from tui.core.text import safe_text
from tui.ui.deferred import when_usable
from tui.ui.screens.tests.base import LOGS_CACHE, LOGS_DELAY, TestsBase
from tui.ui.widgets.tests_detail import (
    collection_error_text,
    failure_text,
    group_text,
    leaf_text,
    service_logs_text,
)
from tui.ui.widgets.tests_tree import FAILING, TestTree


class DetailPart(TestsBase):
    def on_tree_node_highlighted(self, event: TestTree.NodeHighlighted[str]) -> None:
        self.show_detail()

    def on_tree_node_selected(self, event: TestTree.NodeSelected[str]) -> None:
        self.show_detail(logs_now=True)  # a click

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
                    LOGS_DELAY, when_usable(self, lambda: self.load_service_logs(result))
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
        if not self.usable:
            return  # the app closed while the logs were read
        window = (result.nodeid, result.start, result.stop)
        self._logs[window] = logs
        while len(self._logs) > LOGS_CACHE:
            del self._logs[next(iter(self._logs))]
        if self._detail_key == ("failure", *window):
            self.query_one("#tests-failure", Static).update(failure_text(result, logs))
