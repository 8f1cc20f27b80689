"""DockerEnvironmentMonitor against the sample stack: the first listing taken ahead, and
the whole state from the watcher's own re-list."""

from __future__ import annotations

import queue
import time

import pytest
from docker.models.containers import Container

from tests.conftest import SampleEnv
from tui.core.engine import DockerGateway
from tui.core.monitor import DockerEnvironmentMonitor
from tui.core.status import EnvironmentStatus, ServiceStatus


class CountingGateway(DockerGateway):
    """The real gateway, counting the listings it makes."""

    listings = 0

    def project_containers(self, project: str, *, one_off: bool = False) -> list[Container]:
        self.listings += 1
        return super().project_containers(project, one_off=one_off)


def table(statuses: tuple[ServiceStatus, ...]) -> list[tuple[str, str | None, str, str]]:
    return [(s.name, s.container, s.state, s.health) for s in statuses]


def test_the_first_snapshot_is_the_one_taken_ahead_and_later_ones_are_fresh(
    sample_env: SampleEnv,
) -> None:
    gateway = CountingGateway()
    monitor = DockerEnvironmentMonitor(sample_env.settings, gateway)

    monitor.prefetch()
    monitor.prefetch()  # a second call starts nothing more
    first = monitor.snapshot()  # waits for the listing under way
    assert gateway.listings == 1
    assert first.project == sample_env.project
    assert first.engine.connected
    assert first.exit_code == 0
    services = {status.name for status in first.services}
    assert services == set(sample_env.environment.project.services)

    second = monitor.snapshot()
    assert gateway.listings == 2  # asked again, not the prefetched one twice
    assert table(second.services) == table(first.services)

    monitor.prefetch()  # too late: snapshots are already being taken
    monitor.snapshot()
    assert gateway.listings == 3


def test_the_watchers_relist_brings_the_whole_state(sample_env: SampleEnv) -> None:
    monitor = DockerEnvironmentMonitor(sample_env.settings, DockerGateway())
    resyncs: queue.Queue[EnvironmentStatus] = queue.Queue()
    watcher = monitor.watch(lambda change: None, resyncs.put, lambda state: None)
    watcher.start()
    try:
        resynced = resyncs.get(timeout=15)  # connecting re-lists the project
    finally:
        watcher.stop()

    snapshot = monitor.snapshot()
    assert resynced.project == sample_env.project
    assert resynced.engine.connected
    assert resynced.engine.version == snapshot.engine.version
    assert table(resynced.services) == table(snapshot.services)


def test_a_finished_listing_taken_ahead_is_had_without_waiting_once(
    sample_env: SampleEnv,
) -> None:
    gateway = CountingGateway()
    monitor = DockerEnvironmentMonitor(sample_env.settings, gateway)
    assert monitor.snapshot_if_ready() is None  # nothing taken ahead

    monitor.prefetch()
    deadline = time.monotonic() + 15
    ready = monitor.snapshot_if_ready()
    while ready is None and time.monotonic() < deadline:
        time.sleep(0.01)  # polled: it never waits for the listing under way
        ready = monitor.snapshot_if_ready()
    assert ready is not None
    assert {status.name for status in ready.services} == set(
        sample_env.environment.project.services
    )
    assert monitor.snapshot_if_ready() is None  # had once
    monitor.snapshot()
    assert gateway.listings == 2  # asked again, not the one taken ahead twice


class FailingGateway(CountingGateway):
    def project_containers(self, project: str, *, one_off: bool = False) -> list[Container]:
        raise RuntimeError("the engine broke mid-listing")


def test_a_listing_taken_ahead_that_failed_is_left_to_snapshot(sample_env: SampleEnv) -> None:
    monitor = DockerEnvironmentMonitor(sample_env.settings, FailingGateway())
    monitor.prefetch()
    prefetched = monitor._prefetched
    assert prefetched is not None
    assert isinstance(prefetched.exception(timeout=15), RuntimeError)
    assert monitor.snapshot_if_ready() is None
    with pytest.raises(RuntimeError, match="broke mid-listing"):
        monitor.snapshot()
