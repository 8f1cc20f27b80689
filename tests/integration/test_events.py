"""ProjectWatcher against the real engine, on throwaway containers of throwaway projects.

Latencies are printed (run with `-s` to see them) and recorded as test properties.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import docker.errors
import pytest
from docker.models.containers import Container

from tests.integration.socket_proxy import SocketProxy, sockets_connected_to
from tests.integration.throwaway_containers import new_project, run_service
from tui.core.engine import DockerGateway
from tui.core.events import ContainerChange, EngineState, ProjectWatcher
from tui.core.status import ServiceStatus

SECOND = 1_000_000_000  # Docker's healthcheck durations are in nanoseconds
T = TypeVar("T")


class Recorder:
    """Collects the watcher's callbacks, each stamped with when it arrived."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.changes: list[tuple[float, ContainerChange]] = []
        self.resyncs: list[tuple[float, dict[str, ServiceStatus]]] = []
        self.engine: list[tuple[float, EngineState]] = []
        self.wall_clock: dict[int, float] = {}  # id(item) -> arrival, to compare with the daemon's

    def on_change(self, change: ContainerChange) -> None:
        self._record(self.changes, change)

    def on_resync(self, statuses: dict[str, ServiceStatus]) -> None:
        self._record(self.resyncs, statuses)

    def on_engine(self, state: EngineState) -> None:
        self._record(self.engine, state)

    def _record(self, into: list[tuple[float, Any]], item: object) -> None:
        with self._condition:
            into.append((time.monotonic(), item))
            self.wall_clock[id(item)] = time.time()
            self._condition.notify_all()

    def wait_for(self, find: Callable[[], T | None], timeout: float, what: str) -> T:
        """The first non-None `find()`, waiting at most `timeout` seconds for it."""
        found: list[T] = []

        def ready() -> bool:
            result = find()
            if result is not None:
                found.append(result)
            return bool(found)

        with self._condition:
            assert self._condition.wait_for(ready, timeout), f"no {what} within {timeout} s"
        return found[0]

    def change(
        self, container: Container, kind: str, timeout: float = 5, after: float = 0
    ) -> tuple[float, ContainerChange]:
        def find() -> tuple[float, ContainerChange] | None:
            return next(
                (
                    (at, change)
                    for at, change in self.changes
                    if at >= after and change.container_id == container.id and change.kind == kind
                ),
                None,
            )

        return self.wait_for(find, timeout, f"{kind!r} change of {container.name}")

    def resync(
        self, timeout: float = 5, after: float = 0
    ) -> tuple[float, dict[str, ServiceStatus]]:
        def find() -> tuple[float, dict[str, ServiceStatus]] | None:
            return next(((at, s) for at, s in self.resyncs if at >= after), None)

        return self.wait_for(find, timeout, "resync")

    def engine_state(self, connected: bool, timeout: float, after: float = 0) -> float:
        def find() -> float | None:
            return next(
                (at for at, state in self.engine if at >= after and state.connected == connected),
                None,
            )

        return self.wait_for(find, timeout, f"engine connected={connected}")


@pytest.fixture
def project() -> str:
    return new_project("events")


@pytest.fixture
def spawn(gateway: DockerGateway) -> Iterator[Callable[..., Container]]:
    """Starts a throwaway container of a throwaway project; removes them all afterwards."""
    created: list[Container] = []

    def run(
        project: str, service: str, command: str = "exec sleep infinity", **options: Any
    ) -> Container:
        # init: signals reach `sleep`, so stop and kill are quick
        container = run_service(
            gateway, project, service, ["bash", "-c", command], init=True, **options
        )
        created.append(container)
        return container

    yield run
    for container in created:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


@pytest.fixture
def watch(gateway: DockerGateway) -> Iterator[Callable[..., tuple[ProjectWatcher, Recorder]]]:
    """Starts a watcher with a recorder; stops it at the end and checks it stops quickly."""
    watchers: list[ProjectWatcher] = []

    def start(project: str, via: DockerGateway | None = None) -> tuple[ProjectWatcher, Recorder]:
        recorder = Recorder()
        watcher = ProjectWatcher(
            via or gateway,
            project,
            recorder.on_change,
            on_resync=recorder.on_resync,
            on_engine=recorder.on_engine,
        )
        watcher.start()
        watchers.append(watcher)
        recorder.resync()  # the stream is open once the first resync arrives
        return watcher, recorder

    yield start
    for watcher in watchers:
        began = time.monotonic()
        watcher.stop()
        assert not watcher.running
        assert time.monotonic() - began < 1.0


def watcher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("envdeck-events")]


def test_a_started_container_is_reported_running(
    project: str,
    spawn: Callable[..., Container],
    watch: Callable[..., tuple[ProjectWatcher, Recorder]],
) -> None:
    _, recorder = watch(project)
    assert recorder.engine[0][1] == EngineState(True)
    container = spawn(project, "web")
    _, created = recorder.change(container, "created")
    _, started = recorder.change(container, "started")
    assert created.service == started.service == "web"
    assert started.status is not None
    assert (started.status.name, started.status.state) == ("web", "running")
    assert started.status.container == f"{project}-web"


def test_a_killed_container_is_reported_died_with_its_exit_code_in_under_a_second(
    project: str,
    spawn: Callable[..., Container],
    watch: Callable[..., tuple[ProjectWatcher, Recorder]],
    record_property: Callable[[str, object], None],
) -> None:
    container = spawn(project, "worker")
    _, recorder = watch(project)
    _, statuses = recorder.resyncs[0]
    assert statuses[container.id or ""].state == "running"

    killed_at = time.monotonic()
    container.kill()
    seen_at, died = recorder.change(container, "died", timeout=5)
    latency = seen_at - killed_at
    delivery = recorder.wall_clock[id(died)] - died.event_time  # the daemon's event -> us
    record_property("kill_to_callback_ms", round(latency * 1000, 1))
    record_property("event_to_callback_ms", round(delivery * 1000, 1))
    print(
        f"\nkill -> 'died' callback: {latency * 1000:.0f} ms, event -> it {delivery * 1000:.0f} ms"
    )
    assert died.exit_code == 137  # SIGKILL
    assert died.status is not None
    assert died.status.state == "exited"
    assert latency < 1.0, f"'died' arrived {latency:.3f} s after the kill"


def test_an_unhealthy_container_reports_why_from_its_healthcheck(
    project: str,
    spawn: Callable[..., Container],
    watch: Callable[..., tuple[ProjectWatcher, Recorder]],
    record_property: Callable[[str, object], None],
) -> None:
    _, recorder = watch(project)
    container = spawn(
        project,
        "api",
        command="touch /tmp/ok; exec sleep infinity",
        healthcheck={
            "test": ["CMD-SHELL", "test -f /tmp/ok || (echo 'no /tmp/ok'; exit 1)"],
            "interval": SECOND // 5,
            "timeout": 2 * SECOND,
            "retries": 1,
        },
    )
    _, healthy = recorder.change(container, "health", timeout=10)
    assert healthy.status is not None
    assert healthy.status.health == "healthy"

    broken_at = time.monotonic()
    container.exec_run(["rm", "/tmp/ok"])
    seen_at, unhealthy = recorder.change(container, "health", after=broken_at, timeout=10)
    latency = seen_at - broken_at
    record_property("unhealthy_to_callback_ms", round(latency * 1000, 1))
    print(f"\nhealth check broken -> 'health' callback: {latency * 1000:.0f} ms (interval 200 ms)")
    assert unhealthy.status is not None
    assert unhealthy.status.health == "unhealthy"
    assert unhealthy.health_log, "the health change carries the check's recent runs"
    last = unhealthy.health_log[-1]
    assert (last.exit_code, last.output) == (1, "no /tmp/ok")


def test_another_projects_events_never_reach_the_callback(
    project: str,
    spawn: Callable[..., Container],
    watch: Callable[..., tuple[ProjectWatcher, Recorder]],
) -> None:
    _, recorder = watch(project)
    # A longer name sharing our prefix: label filters must match exactly, not by prefix.
    stranger = spawn(f"{project}-other", "web")
    stranger.kill()
    stranger.remove(force=True)
    marker = spawn(project, "marker")  # ours, started after everything of the other project
    recorder.change(marker, "started")
    assert {change.container_id for _, change in recorder.changes} == {marker.id}
    assert all(stranger.id not in statuses for _, statuses in recorder.resyncs)


def test_the_engine_going_and_coming_back_is_reported_and_resynced(
    project: str,
    gateway: DockerGateway,
    spawn: Callable[..., Container],
    watch: Callable[..., tuple[ProjectWatcher, Recorder]],
    record_property: Callable[[str, object], None],
) -> None:
    threads_before = threading.active_count()
    container = spawn(project, "db")
    with SocketProxy() as proxy:
        via_proxy = DockerGateway(base_url=proxy.base_url, timeout=5)
        watcher, recorder = watch(project, via=via_proxy)
        assert recorder.resyncs[0][1][container.id or ""].state == "running"

        cut_at = time.monotonic()
        proxy.cut()
        noticed_at = recorder.engine_state(connected=False, timeout=2, after=cut_at)
        record_property("cut_to_disconnected_ms", round((noticed_at - cut_at) * 1000, 1))
        print(f"\nengine cut -> on_engine(connected=False): {(noticed_at - cut_at) * 1000:.0f} ms")
        # The old client and its stream are closed, not left for the garbage collector.
        assert _eventually(lambda: sockets_connected_to(proxy.path) == 0)

        container.stop(timeout=0)  # through the real socket: the watcher cannot see this
        restored_at = time.monotonic()
        proxy.restore()
        recorder.engine_state(connected=True, timeout=15, after=restored_at)
        _, statuses = recorder.resync(timeout=5, after=restored_at)
        assert statuses[container.id or ""].state == "exited"

        container.start()  # events flow again after the reconnect
        recorder.change(container, "started", after=restored_at)

        began = time.monotonic()
        watcher.stop()
        assert time.monotonic() - began < 1.0
        assert not watcher_threads()
        via_proxy.reset()
        assert sockets_connected_to(proxy.path) == 0
    assert _eventually(lambda: threading.active_count() == threads_before), (
        f"{threading.active_count()} threads alive, {threads_before} before: "
        f"{[t.name for t in threading.enumerate()]}"
    )


def _eventually(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
