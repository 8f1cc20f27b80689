"""The dashboard screen: the header, the services table, the selected service's details
(logs, env, health, inspect) and the footer, wired to the parts that keep them current."""

from __future__ import annotations

import asyncio

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches

from tui.ui.deferred import when_usable
from tui.ui.screens.dashboard.actions import ServiceActionsPart
from tui.ui.screens.dashboard.bindings import DASHBOARD_BINDINGS
from tui.ui.screens.dashboard.header import DashboardHeader
from tui.ui.screens.dashboard.inspector import INSPECT_TAB, InspectorPart
from tui.ui.screens.dashboard.live import WATCHER_LATEST_START_SECONDS, LiveState
from tui.ui.screens.dashboard.logs import LogsPart
from tui.ui.screens.dashboard.resets import ResetPart
from tui.ui.widgets.key_bar import KeyBar
from tui.ui.widgets.services_table import ServicesTable

LAST_RESET_REFRESH_SECONDS = 20.0


class DashboardScreen(LiveState, LogsPart, InspectorPart, ServiceActionsPart, ResetPart):
    # Its CSS (dashboard.tcss) is the app's: see EnvdeckApp.CSS_PATH.
    BINDINGS = DASHBOARD_BINDINGS

    def compose(self) -> ComposeResult:
        yield DashboardHeader(id="summary")
        with Vertical(id="services-pane"):
            yield ServicesTable(id="services")
        # The details panel (logs, env, health, inspect: a third of the screen's widgets)
        # is mounted once the first rows are drawn (`show_details`), not before them.
        yield KeyBar()

    def on_mount(self) -> None:
        self.table.focus()
        # The first listing starts Docker's events and the CPU and memory rounds (or
        # this timer does, should it never come).
        self.show_first_listing()
        self.set_timer(WATCHER_LATEST_START_SECONDS, when_usable(self, self.start_watcher_once))
        self.set_timer(
            WATCHER_LATEST_START_SECONDS, when_usable(self, self.start_details)
        )  # should none come
        # The header's last reset: after the first listing's frame (ResetPart), or then.
        self.set_timer(WATCHER_LATEST_START_SECONDS, when_usable(self, self.ask_last_reset_once))
        # The header says how long ago: it ages, and a reset from the command line in
        # another terminal shows too (one small file read, in a worker).
        self.set_interval(LAST_RESET_REFRESH_SECONDS, when_usable(self, self.show_last_reset))

    def on_unmount(self) -> None:
        self._stop_follower()
        self._stop_watcher()

    def action_tests(self) -> None:
        show_tests = getattr(self.app, "show_tests", None)
        if show_tests is None:
            self.notify("No settings: the tests screen needs a project", severity="error")
            return
        show_tests()

    def start_details(self) -> None:
        """Mount the details panel (once), then start what the selection shows in it: in
        a worker, which the screen's closing cancels (a wait in a handler would hold the
        closing up)."""
        if self._details_shown is not None:
            return
        shown = self._details_shown = asyncio.Event()

        async def mount() -> None:
            try:
                await self._mount_details()
            finally:
                shown.set()

        self.run_worker(mount(), group="details-panel", exit_on_error=False)

    async def show_details(self) -> None:
        """The panel mounted, for a key that needs it (or the app closing meanwhile)."""
        self.start_details()
        assert self._details_shown is not None
        await self._details_shown.wait()

    async def _mount_details(self) -> None:
        # Its modules too come after the first frame (issue 17).
        from tui.ui.widgets.service_details import ServiceDetailsPanel  # noqa: PLC0415

        panel = ServiceDetailsPanel(id="details-pane", log_lines=self.log_lines)
        await self.mount(panel, before=self.query_one(KeyBar))
        if not await panel.ready() or not self.is_attached:
            return  # the app closed meanwhile
        self.details_ready = True
        try:
            self._follow_logs()
            selected = self.table.selected
        except NoMatches:
            return  # the app is closing: its widgets go, the innermost first
        if selected is not None:
            self.load_details(selected)

    async def action_toggle_secrets(self) -> None:
        await self.show_details()
        if self.details_ready:
            self.details_panel.action_toggle_secrets()

    async def action_show_tab(self, tab: str) -> None:
        await self.show_details()
        if not self.details_ready:
            return  # the app is closing
        self.details_panel.active = tab
        await self._tab_shown(tab)

    async def on_tabbed_content_tab_activated(self, event: object) -> None:
        await self._tab_shown(self.details_panel.active)

    async def _tab_shown(self, tab: str) -> None:
        self._inspect_tab_shown(tab == INSPECT_TAB)
        if tab == INSPECT_TAB:
            await self.details_panel.mount_inspector()  # the first time only
            self._prepare_inspector()

    def on_services_table_service_selected(self, message: ServicesTable.ServiceSelected) -> None:
        if not self.details_ready:
            return  # `show_details` starts what the selection shows, once it is mounted
        status = message.status
        if not self.logs_merged and status.name != self.logs_service:
            self._follow_logs()
        self.load_details(status)
        if self._inspector_visible():
            self.load_inspector(status)
