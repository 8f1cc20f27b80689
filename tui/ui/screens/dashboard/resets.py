"""`X`: the reset dialog; the header's "last reset" item; and the baseline, taken by
itself the first time the environment is seen up and healthy without a usable one (one it
cannot take is said once per reason, calmly, with the setting that fixes it)."""

from __future__ import annotations

from textual import work

from tui.core.status import EnvironmentStatus
from tui.ui.deferred import when_usable
from tui.ui.screens.dashboard.base import AFTER_FIRST_FRAME_SECONDS, DashboardBase
from tui.ui.screens.dashboard.header import DashboardHeader
from tui.ui.screens.reset_dialog import open_reset_dialog

LAST_RESET_ITEM = "last-reset"


class ResetPart(DashboardBase):
    _was_ready = False
    _last_reset_asked = False

    def action_reset_environment(self) -> None:
        open_reset_dialog(self, self.resets, after=self._reset_done)

    def _reset_done(self) -> None:
        self.show_last_reset()
        self.refresh_status()

    @work(thread=True, exclusive=True, group="last-reset", exit_on_error=False)
    def show_last_reset(self) -> None:
        if self.resets is None:
            return
        from tui.presentation.reset_text import last_reset_text  # noqa: PLC0415 - issue 17

        text = last_reset_text(self.resets.last_reset())
        self.app.call_from_thread(self.query_one(DashboardHeader).set_item, LAST_RESET_ITEM, text)

    def ask_last_reset_once(self) -> None:
        """The header's last reset, read once at start: after the first listing's frame
        is written (issue 17), or by DashboardScreen's timer should no listing come."""
        if not self._last_reset_asked:
            self._last_reset_asked = True
            self.show_last_reset()

    def listing_shown(self, status: EnvironmentStatus) -> None:
        if not self._last_reset_asked:
            self.set_timer(AFTER_FIRST_FRAME_SECONDS, when_usable(self, self.ask_last_reset_once))
        self._check_baseline_when_ready(status)

    def _check_baseline_when_ready(self, status: EnvironmentStatus) -> None:
        ready = status.exit_code == 0
        if ready and not self._was_ready and self.resets is not None:
            # After the frame that shows the listing is written: a baseline imports
            # docker-py and the plugins and copies data, and a worker started as the frame
            # is refreshed holds the GIL the terminal writer thread needs (issue 17).
            self.set_timer(AFTER_FIRST_FRAME_SECONDS, when_usable(self, self.ensure_baseline))
        self._was_ready = ready

    @work(thread=True, exclusive=True, group="baseline", exit_on_error=False)
    def ensure_baseline(self) -> None:
        """The first time the environment is healthy (or its volumes were recreated since)."""
        if self.resets is None:
            return
        from tui.reset.baseline_notice import NO_BASELINE_TITLE  # noqa: PLC0415 - issue 17
        from tui.reset.steps import no_progress  # noqa: PLC0415

        overview = self.resets.overview()
        if overview.baseline_problem is None:
            return
        outcome = self.resets.take_baseline(no_progress)
        notice = self.resets.baseline_notice(outcome)
        if outcome.ok:
            self.notify("Baseline taken: X resets the data to it", timeout=4)
        elif notice is not None:
            # Calm and once per reason: on a project we did not write, credentials the
            # plugins cannot guess are ordinary, not an error of every start.
            self.notify(notice, title=NO_BASELINE_TITLE, markup=False, timeout=20)
