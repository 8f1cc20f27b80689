"""The services table kept current: Docker's events as they come, a slow re-list for what
events cannot say, CPU and memory every few seconds while the table is on screen, and the
selected service's details.

Nothing here runs on a timer when nothing happens except those two slow rounds, and an
update that changes nothing writes nothing (see ServicesTable)."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from textual import work
from textual.timer import Timer
from textual.worker import get_current_worker

from tui.core.compose_cli import ComposeError
from tui.core.engine_facts import EngineUnavailable
from tui.core.monitor import Watcher
from tui.core.status import EnvironmentStatus, ServiceStatus
from tui.ui.deferred import when_usable
from tui.ui.messages import (
    ContainerChanged,
    ContainersResynced,
    DetailsLoaded,
    EngineChanged,
    ResourcesUpdated,
    StatusUpdated,
)
from tui.ui.screens.dashboard.base import AFTER_FIRST_FRAME_SECONDS, DashboardBase
from tui.ui.screens.dashboard.header import DashboardHeader

if TYPE_CHECKING:  # the watcher's modules come after the first frame (issue 17)
    from tui.core.container_events import ContainerChange, EngineState

# Live state comes from Docker's events; this slow re-list only catches what events
# cannot say (a service with no container yet) and heals after any gap.
RECONCILE_SECONDS = 15.0
# CPU and memory every 5 s while something is busy; while no figure moves by two points
# of CPU or a twentieth of its memory or more, less and less often (up to every 20 s): a
# table of idle services costs next to nothing. Any change of a container brings the 5 s
# back.
STATS_SECONDS = 5.0
STATS_MAX_SECONDS = 20.0
WATCHER_RETRY_SECONDS = 5.0
WATCHER_LATEST_START_SECONDS = 2.0


FOREIGN_ITEM = "foreign"


class LiveState(DashboardBase):
    _reconcile_timer: Timer | None = None
    _stats_interval = STATS_SECONDS
    _stats_started = False
    _engine_lost = False
    _watcher_started = False

    @property
    def header(self) -> DashboardHeader:
        return self.query_one(DashboardHeader)

    # ------------------------------------------------------------------ the re-list

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def refresh_status(self) -> None:
        self.post_message(StatusUpdated(self.monitor.snapshot()))

    def show_first_listing(self) -> None:
        """The listing taken while the app started, in the first frame when it is there
        already (no worker, no second layout); else asked for in a worker. Either way the
        other parts hear of it from `_show_status` (`listing_shown`)."""
        ready = self.monitor.snapshot_if_ready()
        if ready is None:
            self.refresh_status()
        else:
            self._show_listing(ready)

    def on_status_updated(self, message: StatusUpdated) -> None:
        self._show_listing(message.status)

    def _show_listing(self, status: EnvironmentStatus) -> None:
        self._show_status(status)
        # Said while it lasts: the table shows another checkout's containers as if ours.
        foreign = status.foreign
        self.header.set_item(
            FOREIGN_ITEM, None if foreign is None else f"⚠ {foreign.split(': ', 1)[0]}"
        )

    def _show_status(self, status: EnvironmentStatus) -> None:
        self.status = status
        self._engine_lost = not status.engine.connected
        self.header.show_status(status)
        table = self.table
        table.update_services(status.services)
        if table.selected is not None and self.details_ready:
            self.load_details(table.selected)  # its health history moves on by itself
        # One re-list RECONCILE_SECONDS after the last one finished, whatever asked for
        # it (events, actions, a reconnect): never a second chain of timers.
        if self._reconcile_timer is not None:
            self._reconcile_timer.stop()
        self._reconcile_timer = self.set_timer(
            RECONCILE_SECONDS, when_usable(self, self.refresh_status)
        )
        # What starts with the first listing waits until its frame is written: the writer
        # thread needs the GIL for every chunk of a frame, and the panel's mount and
        # docker-py's import in the workers would hold it meanwhile (issue 17).
        if not self._watcher_started:
            # Docker's events from here on: the watcher's re-list on connecting covers
            # whatever happened before.
            self.set_timer(AFTER_FIRST_FRAME_SECONDS, when_usable(self, self.start_watcher_once))
        if not self.details_ready:
            # Then the details panel, the selection's log follower and its details.
            self.set_timer(AFTER_FIRST_FRAME_SECONDS, when_usable(self, self.start_details))
        if not self._stats_started and table.statuses:
            self._stats_started = True
            self.set_timer(AFTER_FIRST_FRAME_SECONDS, when_usable(self, self.refresh_resources))
        self.listing_shown(status)

    # ------------------------------------------------------------------ events

    def start_watcher_once(self) -> None:
        if not self._watcher_started:
            self._watcher_started = True
            self.start_watcher()

    @work(thread=True, exclusive=True, group="watcher", exit_on_error=False)
    def start_watcher(self) -> None:
        try:
            watcher = self.monitor.watch(self._post_change, self._post_resync, self._post_engine)
            watcher.start()
        except (EngineUnavailable, ComposeError):
            self.app.call_from_thread(self.set_timer, WATCHER_RETRY_SECONDS, self.start_watcher)
            return
        self._hand_over(watcher, self._adopt_watcher, watcher.stop)

    # The watcher's thread calls these; post_message is thread-safe.
    def _post_change(self, change: ContainerChange) -> None:
        self.post_message(ContainerChanged(change))

    def _post_resync(self, status: EnvironmentStatus) -> None:
        self.post_message(ContainersResynced(status))

    def _post_engine(self, state: EngineState) -> None:
        self.post_message(EngineChanged(state))

    def _adopt_watcher(self, watcher: Watcher) -> None:
        if self.is_attached:
            self.watcher = watcher
        else:
            threading.Thread(target=watcher.stop, daemon=True).start()

    def _stop_watcher(self) -> None:
        if self.watcher is not None:
            threading.Thread(target=self.watcher.stop, daemon=True).start()
            self.watcher = None

    def on_container_changed(self, message: ContainerChanged) -> None:
        change = message.change
        table = self.table
        previous = next(
            (
                s
                for s in table.statuses.values()
                if s.container and change.status and s.container == change.status.container
            ),
            None,
        )
        from tui.presentation.change_text import change_toast  # noqa: PLC0415 - issue 17

        toast = change_toast(change, previous)
        if toast is not None:
            self.notify(toast.message, severity=toast.severity, markup=False)  # type: ignore[arg-type]
        self._stats_interval = STATS_SECONDS  # something happens: figures every 5 s again
        if change.status is None:
            self.refresh_status()  # a container went away: re-list, the service may be missing
            return
        status = change.status
        if previous is not None and status.state == "running":
            status = replace(status, cpu_percent=previous.cpu_percent, mem_bytes=previous.mem_bytes)
        table.apply_status(status)
        if table.selected is not None and table.selected.name == status.name:
            self.load_details(table.selected)

    def on_containers_resynced(self, message: ContainersResynced) -> None:
        self._show_status(message.status)

    def on_engine_changed(self, message: EngineChanged) -> None:
        if not message.state.connected:
            self.notify(
                f"Docker engine unreachable: {message.state.error or ''}",
                severity="error",
                markup=False,
            )
            self.header.show_engine_lost(message.state.error)
            self._engine_lost = True
        elif self._engine_lost:
            # The watcher's re-list after reconnecting brings the state too; this one
            # also covers a re-list that fails.
            self.refresh_status()

    # ------------------------------------------------------------------ CPU and memory

    @work(thread=True, exclusive=True, group="stats", exit_on_error=False)
    def refresh_resources(self) -> None:
        worker = get_current_worker()
        try:
            # Only while the table is on screen: under another screen nobody reads it.
            if self.app.screen is not self:
                return
            statuses = tuple(self.table.statuses.values())
            if not any(s.state == "running" for s in statuses):
                return
            usage = self.monitor.resource_usage(statuses, lambda: worker.is_cancelled)
            if worker.is_cancelled:
                return
            moved = usage_moved(statuses, usage)
            self._stats_interval = (
                STATS_SECONDS if moved else min(self._stats_interval * 2, STATS_MAX_SECONDS)
            )
            self.post_message(ResourcesUpdated(usage))
        finally:
            if not worker.is_cancelled:  # cancelled: the screen or the app is going away
                self.app.call_from_thread(
                    self.set_timer, self._stats_interval, self.refresh_resources
                )

    def on_resources_updated(self, message: ResourcesUpdated) -> None:
        self.table.apply_resources(message.statuses)

    # ------------------------------------------------------------------ details

    @work(thread=True, exclusive=True, group="details", exit_on_error=False)
    def load_details(self, status: ServiceStatus) -> None:
        self.post_message(DetailsLoaded(status.name, self.monitor.details(status)))

    def on_details_loaded(self, message: DetailsLoaded) -> None:
        if not self.details_ready:
            return
        selected = self.table.selected
        panel = self.details_panel
        # The panel renders every assignment: only a change is assigned.
        if (
            selected is not None
            and selected.name == message.service
            and panel.details != message.details
        ):
            panel.details = message.details


def usage_moved(before: tuple[ServiceStatus, ...], after: tuple[ServiceStatus, ...]) -> bool:
    """Did any container's CPU move by two points or more, or its memory by a twentieth?"""
    known = {s.container: s for s in before if s.container}
    return any(_moved(known.get(status.container or ""), status) for status in after)


def _moved(old: ServiceStatus | None, new: ServiceStatus) -> bool:
    if new.cpu_percent is None:
        return False
    if old is None or old.cpu_percent is None:
        return True  # a first figure
    if abs(new.cpu_percent - old.cpu_percent) >= 2.0:
        return True
    return abs((new.mem_bytes or 0) - (old.mem_bytes or 0)) * 20 > (old.mem_bytes or 0)
