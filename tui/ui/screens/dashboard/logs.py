"""The log pane's source: one follower, of the selected service or of all of them, restarted
when the selection, the merged view or the time window changes. Batches reach the pane as
messages tagged with the follower's generation, so a stale follower's lines are dropped."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import work

from tui.core.compose_cli import ComposeError
from tui.core.engine_facts import EngineUnavailable
from tui.core.monitor import LogFollower
from tui.ui.messages import LogLinesArrived
from tui.ui.screens.dashboard.base import DashboardBase

if TYPE_CHECKING:
    from tui.core.log_buffer import LogLine
    from tui.ui.widgets.log_view import LogView

INITIAL_TAIL = 500  # lines of history when following starts without a time window


class LogsPart(DashboardBase):
    @property
    def log_view(self) -> LogView:
        """In the details panel: mounted, with its modules imported, after the first frame."""
        from tui.ui.widgets.log_view import LogView  # noqa: PLC0415

        return self.query_one(LogView)

    def _follow_logs(self) -> None:
        """(Re)start the one log follower for what the pane should show."""
        if not self.details_ready:
            return  # `show_details` starts it once the pane is mounted
        table = self.table
        services = sorted({s.name for s in table.statuses.values()})
        selected = table.selected
        if self.logs_merged:
            wanted, title = services, f"all services ({len(services)})"
        elif selected is not None:
            wanted, title = [selected.name], selected.name
        else:
            return
        if self.logs_since:
            title += f" · since {self.logs_since}"
        self.follower_generation += 1
        self.logs_service = None if self.logs_merged else wanted[0]
        self.log_view.start(title, services, merged=self.logs_merged)
        previous, self.follower = self.follower, None
        self._switch_follower(previous, wanted, self.follower_generation)

    @work(thread=True, exclusive=True, group="logs", exit_on_error=False)
    def _switch_follower(
        self, previous: LogFollower | None, services: list[str], generation: int
    ) -> None:
        # The log modules come with the first follower, after the first frame (issue 17).
        from tui.core.log_options import FollowOptions  # noqa: PLC0415
        from tui.presentation.log_format import engine_line, since_timestamp  # noqa: PLC0415

        options = FollowOptions(
            tail=None if self.logs_since else INITIAL_TAIL,
            since=since_timestamp(self.logs_since) if self.logs_since else None,
        )

        def deliver(lines: Sequence[LogLine]) -> None:
            self.post_message(LogLinesArrived(generation, lines))

        try:
            follower = self.monitor.follow_logs(services, deliver, options)
            follower.start()
        except (EngineUnavailable, ComposeError) as error:
            self.post_message(LogLinesArrived(generation, [engine_line(str(error))]))
            return
        finally:
            # Stopped once the new one reads: the selected service's lines need not wait
            # for the old threads to end (their late lines carry an old generation).
            if previous is not None:
                previous.stop(timeout=2.0)
        self._hand_over(
            follower,
            lambda started: self._adopt_follower(started, generation),
            lambda: follower.stop(timeout=2.0),
        )

    def _adopt_follower(self, follower: LogFollower, generation: int) -> None:
        if generation == self.follower_generation and self.is_attached:
            self.follower = follower
        else:
            self._stop_in_background(follower)  # the user moved on meanwhile

    def _stop_in_background(self, follower: LogFollower) -> None:
        threading.Thread(target=follower.stop, kwargs={"timeout": 2.0}, daemon=True).start()

    def _stop_follower(self) -> None:
        if self.follower is not None:
            self._stop_in_background(self.follower)
            self.follower = None

    def on_log_lines_arrived(self, message: LogLinesArrived) -> None:
        if message.generation == self.follower_generation:
            self.log_view.add_lines(message.lines)

    def on_log_view_all_services_toggled(self, message: LogView.AllServicesToggled) -> None:
        self.logs_merged = not self.logs_merged
        self._follow_logs()

    def on_log_view_since_chosen(self, message: LogView.SinceChosen) -> None:
        self.logs_since = message.since
        self._follow_logs()
