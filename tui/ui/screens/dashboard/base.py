"""What every part of the dashboard screen shares: its state and a few lookups."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from textual.screen import Screen
from textual.worker import get_current_worker

from tui.core.monitor import EnvironmentMonitor, LogFollower, Watcher
from tui.core.status import EnvironmentStatus
from tui.reset.service import Resets
from tui.ui.widgets.services_table import ServicesTable

if TYPE_CHECKING:
    from tui.core.actions import ServiceActions
    from tui.core.plugin_session import Inspector
    from tui.ui.widgets.service_details import ServiceDetailsPanel

Resource = TypeVar("Resource")

# How long after the first listing is applied the rest of the dashboard starts (see
# `LiveState._show_status`; the baseline check waits as long). bench.latency, first
# frame, 9 runs each: 0.01 s gave 1.66x the minimal Textual app's CPU, 0.1 s 1.44x.
AFTER_FIRST_FRAME_SECONDS = 0.1


class DashboardBase(Screen[None]):
    """The state the parts (live, logs, inspector, actions) read and write."""

    # Re-list the project now: a worker of the live part, which the other parts call.
    refresh_status: Callable[[], object]

    def __init__(
        self,
        monitor: EnvironmentMonitor,
        actions: Callable[[], ServiceActions] | None = None,
        *,
        log_lines: int = 10_000,
        resets: Resets | None = None,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.actions = actions
        self.resets = resets
        self.log_lines = log_lines
        self.status: EnvironmentStatus | None = None
        self.inspectors: dict[str, Inspector] = {}
        self.follower: LogFollower | None = None
        self.follower_generation = 0
        self.logs_merged = False
        self.logs_since: str | None = None
        self.logs_service: str | None = None
        self.watcher: Watcher | None = None
        # The details panel is mounted (after the first listing is drawn: `show_details`).
        self.details_ready = False
        self._details_shown: asyncio.Event | None = None  # set once show_details is done

    @property
    def table(self) -> ServicesTable:
        return self.query_one(ServicesTable)

    @property
    def details_panel(self) -> ServiceDetailsPanel:
        """Mounted once `details_ready`: anything that may come sooner checks that."""
        # Imported with the panel, after the first frame (issue 17).
        from tui.ui.widgets.service_details import ServiceDetailsPanel  # noqa: PLC0415

        return self.query_one(ServiceDetailsPanel)

    def start_details(self) -> None:
        """Mount the details panel once the first listing is drawn (DashboardScreen)."""
        raise NotImplementedError

    def listing_shown(self, status: EnvironmentStatus) -> None:
        """Every listing drawn, however it came (a re-list, the watcher's, the one taken
        while the app started): for the parts that act on it (ResetPart)."""

    def _selected_service(self) -> str | None:
        selected = self.table.selected
        if selected is None:
            self.notify("No service selected", severity="warning")
        return selected.name if selected else None

    def _hand_over(
        self, resource: Resource, adopt: Callable[[Resource], None], stop: Callable[[], object]
    ) -> None:
        """From a worker thread: give the UI a follower or watcher it has started, or stop
        it here when nobody is left to take it (the screen or the app has gone), so no
        stream outlives the dashboard."""
        if not get_current_worker().is_cancelled:
            try:
                self.app.call_from_thread(adopt, resource)
            except RuntimeError:
                pass  # the app is no longer running
            else:
                return
        stop()
