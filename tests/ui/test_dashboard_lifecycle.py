"""Streams the dashboard starts in workers never outlive it, however late they start."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from tests.ui.fixed_monitor import ENGINE, SERVICES, FixedFollower, FixedMonitor, IdleWatcher
from tests.ui.test_dashboard_screens import fixed_app
from tui.core.log_buffer import LogLine
from tui.core.logs import FollowOptions
from tui.core.status import EnvironmentStatus
from tui.ui.widgets.services_table import ServicesTable


class RecordingWatcher(IdleWatcher):
    def __init__(self) -> None:
        self.stopped = False

    def start(self) -> None:
        return None

    def stop(self, timeout: float = 1.0) -> None:
        self.stopped = True


class SlowStartMonitor(FixedMonitor):
    """Its log followers and event watchers are handed out only once `release` is set,
    as when the engine is slow to answer: they start after the user has quit."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.follow_asked = threading.Event()
        self.watch_asked = threading.Event()
        self.followers: list[FixedFollower] = []
        self.watchers: list[RecordingWatcher] = []

    def follow_logs(
        self,
        services: Sequence[str],
        on_lines: Callable[[list[LogLine]], None],
        options: FollowOptions,
    ) -> FixedFollower:
        self.follow_asked.set()
        self.release.wait(20)
        follower = super().follow_logs(services, on_lines, options)
        self.followers.append(follower)
        return follower

    def watch(
        self,
        on_change: Callable[[Any], None],
        on_resync: Callable[[Any], None],
        on_engine: Callable[[Any], None],
    ) -> RecordingWatcher:
        self.watch_asked.set()
        self.release.wait(20)
        watcher = RecordingWatcher()
        self.watchers.append(watcher)
        return watcher


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.02)


async def test_a_follower_or_watcher_that_starts_after_quitting_is_stopped() -> None:
    monitor = SlowStartMonitor()
    app = fixed_app(monitor)
    async with app.run_test(size=(120, 30)) as pilot:
        while (
            not app.screen.query(ServicesTable) or not app.screen.query_one(ServicesTable).row_count
        ):
            await pilot.pause(0.02)
        # Asked from the app's timers and workers: waited for without blocking its loop.
        deadline = time.monotonic() + 10
        while not (monitor.follow_asked.is_set() and monitor.watch_asked.is_set()):
            assert monitor.follow_asked.is_set() or time.monotonic() < deadline, (
                "the selected service's logs asked for: not within 10 s"
            )
            assert monitor.watch_asked.is_set() or time.monotonic() < deadline, (
                "Docker's events asked for: not within 10 s"
            )
            await pilot.pause(0.02)
    # The app has gone; now the engine answers.
    monitor.release.set()

    wait_for(lambda: bool(monitor.followers and monitor.watchers), "both handed out")
    wait_for(
        lambda: all(f.stopped for f in monitor.followers),
        "the log follower stopped by the worker that started it",
    )
    wait_for(
        lambda: all(w.stopped for w in monitor.watchers),
        "the watcher stopped by the worker that started it",
    )


READY_SERVICES = tuple(service for service in SERVICES if service.is_ready)


class ListedAheadMonitor(FixedMonitor):
    """Its first listing was taken while the app started; snapshot() counts its calls."""

    def __init__(self) -> None:
        every_service_ready = EnvironmentStatus("shop", ENGINE, READY_SERVICES)
        super().__init__(every_service_ready)
        self.ready: EnvironmentStatus | None = self.status
        self.snapshots = 0

    def snapshot_if_ready(self) -> EnvironmentStatus | None:
        ready, self.ready = self.ready, None
        return ready

    def snapshot(self, *, stats: bool = False) -> EnvironmentStatus:
        self.snapshots += 1
        return super().snapshot(stats=stats)


async def test_a_listing_taken_ahead_is_shown_without_a_worker_and_heard_by_every_part() -> None:
    monitor = ListedAheadMonitor()
    app = fixed_app(monitor)
    async with app.run_test(size=(120, 16)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(ServicesTable)
        assert table.row_count == len(monitor.status.services)
        summary = str(app.screen.query_one("#summary").render())
        assert f"/{len(monitor.status.services)} ready" in summary
        assert monitor.snapshots == 0  # no worker asked for it
        assert monitor.snapshot_if_ready() is None  # it was taken, once
        # It came as the StatusUpdated every listing is: the baseline check heard it too
        # (it notes the environment ready, to take a baseline the first time it is).
        assert app.screen._was_ready  # type: ignore[attr-defined]
