"""What the session says, drawn: the tree marks tests running and finished, the status
lines follow, and pytest's own words go to the detail pane when it refused a run."""

from __future__ import annotations

from tui.core.testrun import CollectedTree, CollectErrorEvent, FinishedEvent, StartedEvent
from tui.core.testrun.events import TestEvent
from tui.core.testrun.run_state import RunState
from tui.ui.screens.tests.base import TestsBase
from tui.ui.widgets.tests_detail import pytest_said_text


class SessionPart(TestsBase):
    def changed(self) -> None:
        if self.usable:
            self.refresh_status()

    def discovered(self, tree: CollectedTree) -> None:
        if not self.usable:
            return
        self.test_tree.load(tree)
        self.refresh_status()
        self.show_detail()

    async def test_event(self, run: RunState, event: TestEvent) -> None:
        if not self.usable:
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
        if not self.usable:
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

    def _refresh_detail_for(self, nodeid: str) -> None:
        cursor = self.test_tree.cursor_nodeid
        if cursor is not None and (cursor == nodeid or cursor in self.test_tree.parents_of(nodeid)):
            self.show_detail()
