"""What a test leaves to read: the data diff of the test under the cursor (d, K) and the
failure bundle (B), each made in a worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text
from textual import work

from tui.core.testrun import FinishedEvent
from tui.core.testrun.configured_place import PlaceError
from tui.core.text import safe_text
from tui.ui.screens.tests.base import TestsBase
from tui.ui.widgets.tests_tree import FAILING


class ReportsPart(TestsBase):
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

        try:
            # The state folder the resets use (beside the compose file, or state_dir), so
            # a project has one .envdeck; without an environment, the project's own.
            state = resets_state_folder(self.resets)
            state = state or self.settings.state_dir or self.root_dir / ".envdeck"
            ensure_state_folder(state)  # ignored by git, and by watch mode
            path = write_failure_bundle(state / "bundles", result, self.monitor)
        except Exception as error:
            message = f"Could not write the failure bundle: {error}"
            self.app.call_from_thread(self.notify, message, severity="error", markup=False)
            return
        shown = f"Failure bundle: {path} (envdeck bundle open shows it)"
        self.app.call_from_thread(self.notify, shown, markup=False, timeout=10)


def resets_state_folder(resets: object) -> Path | None:
    """Where the resets keep their states (blocking: may resolve the environment); None
    when there is no environment to ask."""
    try:
        states = getattr(resets, "states", None)
    except Exception:  # the engine or compose cannot say: the bundle is written anyway
        return None
    return states.store.root if states is not None else None
