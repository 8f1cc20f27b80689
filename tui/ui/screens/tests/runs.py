"""The session's commands from keys: collect, run (all, the selection, the test under the
cursor, the failures), cancel, watch mode, and the reset dialog."""

from __future__ import annotations

from textual import work

from tui.core.testrun import DiscoveryError
from tui.core.testrun.configured_place import PlaceError
from tui.core.text import safe_text
from tui.reset.steps import Outcome as ResetOutcome
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

    def action_toggle_watch(self) -> None:
        if self.session.watching:
            self.session.stop_watching()
            self.notify("Watch mode off")
            return
        self.session.start_watching()
        self.notify("Watch mode on: saving a file reruns the tests it affects")
