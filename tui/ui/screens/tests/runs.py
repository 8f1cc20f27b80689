"""The session's commands from keys: collect, run (all, the selection, the test under the
cursor, the failures), cancel, watch mode, and the reset dialog."""

from __future__ import annotations

from textual import work

from tui.core.testrun import DiscoveryError
from tui.core.testrun.configured_place import PlaceError
from tui.core.text import safe_text
from tui.ui.screens.reset_dialog import open_reset_dialog
from tui.ui.screens.tests.base import TestsBase
from tui.ui.widgets.tests_detail import report_text
from tui.ui.widgets.tests_tree import FAILING


class RunsPart(TestsBase):
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
        open_reset_dialog(self, self.resets)

    def action_toggle_watch(self) -> None:
        if self.session.watching:
            self.session.stop_watching()
            self.notify("Watch mode off")
            return
        self.session.start_watching()
        self.notify("Watch mode on: saving a file reruns the tests it affects")
