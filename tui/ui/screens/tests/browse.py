"""Moving about the tree: the selection, the filter (typed, kept, cleared) and the jumps to
its matches and to the failures."""

from __future__ import annotations

from textual import on
from textual.widgets import Input

from tui.ui.deferred import when_usable
from tui.ui.screens.tests.base import FILTER_DELAY, TestsBase


class BrowsePart(TestsBase):
    def action_toggle_select(self) -> None:
        nodeid = self.test_tree.cursor_nodeid
        if nodeid is None:
            return
        self.test_tree.toggle_selection(nodeid)
        self.session.selected = self.test_tree.selection_targets()  # watch runs keep to it
        self.refresh_status()
        self.show_detail()

    def action_filter(self) -> None:
        box = self.query_one("#tests-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#tests-filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        if event.value.strip() == self.test_tree.filter_text:
            return  # esc's clearing, or a space typed: nothing to filter again
        self._filter_timer = self.set_timer(
            FILTER_DELAY, when_usable(self, lambda: self._apply_filter(event.value))
        )

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
