"""What the dashboard asks of the environment, behind a small interface.

The real monitor talks to Docker and compose; snapshot tests give the app a fixed one.
Every method blocks, so the UI calls them from worker threads only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from functools import cached_property, partial
from typing import TYPE_CHECKING, Protocol

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeError
from tui.core.engine_facts import PROJECT_LABEL, EngineUnavailable
from tui.core.environment import Environment, resolve_environment
from tui.core.ownership import ownership_problem
from tui.core.status import (
    EnvironmentStatus,
    ResourceSampler,
    ServiceStatus,
    build_statuses,
    container_status,
    merge_statuses,
    with_resource_usage,
)

if TYPE_CHECKING:
    from tui.core.actions import ServiceActions
    from tui.core.details import ServiceDetails
    from tui.core.engine import DockerGateway
    from tui.core.events import ChangeCallback, EngineCallback
    from tui.core.log_buffer import LogLine
    from tui.core.logs import FollowOptions
    from tui.core.plugin_registry import PluginRegistry
    from tui.core.plugin_session import Inspector

# docker-py and what only the live dashboard uses (logs, events, plugins, actions) are
# imported on first use, in the workers that start after the first frame: the first
# listing goes over plain HTTP (`status_snapshot`), so nothing before the first frame
# needs them (issue 17).
# ruff: noqa: PLC0415

LinesCallback = Callable[[Sequence["LogLine"]], None]  # called with a LineBlock
StatusCallback = Callable[[EnvironmentStatus], None]

# A first listing taken ahead (while the UI starts) serves the first snapshot() if it is
# at most this old; the watcher's re-list on connecting corrects it right after anyway.
PREFETCH_MAX_AGE_SECONDS = 3.0


class EnvironmentMonitor(Protocol):
    def snapshot(self, *, stats: bool = False) -> EnvironmentStatus:
        """The state of every service now (blocking)."""
        ...

    def snapshot_if_ready(self) -> EnvironmentStatus | None:
        """A first snapshot already taken (ahead, while the UI started), or None; never
        waits. What it returns, snapshot() does not return again."""
        ...

    def details(self, status: ServiceStatus) -> ServiceDetails | None:
        """Environment, command and health history of a service's container (blocking)."""
        ...

    def inspector(self, status: ServiceStatus) -> Inspector:
        """The plugin session for a service; NoInspector when none serves it (blocking)."""
        ...

    def follow_logs(
        self, services: Sequence[str], on_lines: LinesCallback, options: FollowOptions
    ) -> LogFollower:
        """A follower (not started) of the services' logs, merged when several."""
        ...

    def watch(
        self, on_change: ChangeCallback, on_resync: StatusCallback, on_engine: EngineCallback
    ) -> Watcher:
        """A watcher (not started) of the project's containers, from Docker's events;
        `on_resync` gets the whole state each time it (re)connects and re-lists."""
        ...

    def resource_usage(
        self, statuses: Sequence[ServiceStatus], cancelled: Callable[[], bool]
    ) -> tuple[ServiceStatus, ...]:
        """`statuses` with CPU and memory of the running ones (blocking, up to ~2 s);
        returns early, with what it has, once `cancelled()` is true."""
        ...


class Watcher(Protocol):
    def start(self) -> None: ...

    def stop(self, timeout: float = 1.0) -> None: ...


class LogFollower(Protocol):
    def start(self) -> None: ...

    def stop(self, timeout: float = 3.0) -> bool: ...


class DockerEnvironmentMonitor:
    """Status of one compose project from the real engine."""

    def __init__(self, settings: EnvdeckSettings, gateway: DockerGateway | None = None) -> None:
        self.settings = settings
        # Given (tests, benchmarks: maybe another engine than the environment names), or
        # made on first use, after the first frame (`gateway`).
        self._gateway = gateway
        self._gateway_lock = threading.Lock()
        self._environment: Environment | None = None
        self._environment_lock = threading.Lock()  # resolved once, whoever asks first
        self._resources: ResourceSampler | None = None
        self._prefetch_lock = threading.Lock()
        self._prefetched: Future[tuple[float, EnvironmentStatus]] | None = None
        self._prefetch_used = False

    @property
    def gateway(self) -> DockerGateway:
        """The docker-py gateway to the chosen engine (importing docker-py on first use)."""
        with self._gateway_lock:
            if self._gateway is None:
                from tui.core.engine import DockerGateway

                self._gateway = DockerGateway(timeout=self.settings.engine_timeout)
            return self._gateway

    @cached_property
    def registry(self) -> PluginRegistry:
        from tui.core.plugin_registry import PluginRegistry

        # On first use: reading every package's entry points is ~70 ms before the first frame.
        return PluginRegistry()

    def environment(self, engine_connected: bool) -> Environment:
        with self._environment_lock:
            if self._environment is None:
                self._environment = resolve_environment(
                    self.settings, self.gateway if engine_connected else None
                )
            return self._environment

    def prefetch(self) -> None:
        """Take the first snapshot now, in a thread, e.g. while the UI is still importing
        and composing: the engine, `compose config` (a subprocess) and the listing are
        then done when the screen asks. Only the first snapshot() uses it."""
        prefetched: Future[tuple[float, EnvironmentStatus]] = Future()
        with self._prefetch_lock:
            if self._prefetched is not None or self._prefetch_used:
                return
            self._prefetched = prefetched
        threading.Thread(
            target=self._run_prefetch, args=(prefetched,), name="envdeck-prefetch", daemon=True
        ).start()

    def _run_prefetch(self, prefetched: Future[tuple[float, EnvironmentStatus]]) -> None:
        try:
            status = self._first_snapshot()
        except Exception as error:  # the first snapshot() raises it, as it would have
            prefetched.set_exception(error)
        else:
            prefetched.set_result((time.monotonic(), status))

    def _first_snapshot(self) -> EnvironmentStatus:
        """The first listing over plain HTTP when the monitor reaches the engine the
        environment names (`envdeck` itself): docker-py is not imported for it. A given
        gateway (maybe another engine) is asked through docker-py, as every later one."""
        if self._gateway is not None:
            return self._take_snapshot()
        from tui.core.status_snapshot import StatusReader

        reader = StatusReader(self.settings)
        try:
            # Held while it resolves the environment, as `environment()` holds it: whoever
            # asks meanwhile waits for this `compose config` instead of running another.
            with self._environment_lock:
                status = reader.snapshot()
                if self._environment is None:
                    self._environment = reader.resolved
        finally:
            reader.close()
        return status

    def snapshot_if_ready(self) -> EnvironmentStatus | None:
        with self._prefetch_lock:
            prefetched = self._prefetched
        # A failed one is left to snapshot(), which raises it in its worker.
        if prefetched is None or not prefetched.done() or prefetched.exception() is not None:
            return None
        return self._take_prefetched()

    def _take_prefetched(self) -> EnvironmentStatus | None:
        with self._prefetch_lock:
            prefetched, self._prefetched = self._prefetched, None
            self._prefetch_used = True
        if prefetched is None:
            return None
        taken, status = prefetched.result()
        if time.monotonic() - taken > PREFETCH_MAX_AGE_SECONDS:
            return None
        return status

    def inspector(self, status: ServiceStatus) -> Inspector:
        from tui.core.plugin_registry import PluginLoadError
        from tui.core.plugin_session import NoInspector, inspector_for

        environment = self.environment(engine_connected=True)
        try:
            return inspector_for(
                self.settings, environment, self.registry, status.name, status, gateway=self.gateway
            )
        except PluginLoadError as error:
            raise NoInspector(str(error)) from None

    def follow_logs(
        self, services: Sequence[str], on_lines: LinesCallback, options: FollowOptions
    ) -> LogFollower:
        from tui.core.logs import DockerLogSource, MergedLogFollower, ServiceLogFollower

        project = self.environment(engine_connected=True).project.name
        source = DockerLogSource(self.gateway)
        if len(services) == 1:
            return ServiceLogFollower(source, project, services[0], on_lines, options=options)
        return MergedLogFollower(source, project, list(services), on_lines, options=options)

    def watch(
        self, on_change: ChangeCallback, on_resync: StatusCallback, on_engine: EngineCallback
    ) -> Watcher:
        from tui.core.events import ProjectWatcher

        project = self.environment(engine_connected=True).project

        def resynced(by_container: dict[str, ServiceStatus]) -> None:
            # The watcher has just listed every container: the whole state, no second list.
            statuses = merge_statuses(project, by_container.values())
            on_resync(EnvironmentStatus(project.name, self.gateway.info(), statuses))

        return ProjectWatcher(
            self.gateway.clone(),
            project.name,
            on_change,
            on_resync=resynced,
            on_engine=on_engine,
            describe=partial(container_status, project),
        )

    def resource_usage(
        self, statuses: Sequence[ServiceStatus], cancelled: Callable[[], bool]
    ) -> tuple[ServiceStatus, ...]:
        # One request per running container, CPU averaged since the previous call.
        if self._resources is None:
            self._resources = ResourceSampler(self.gateway)
        return self._resources.usage(statuses, cancelled)

    def actions(self) -> ServiceActions:
        """Actions on this project (blocking: resolves the project on first use)."""
        from tui.core.actions import ServiceActions

        environment = self.environment(engine_connected=True)
        return ServiceActions(self.gateway, environment, self.settings)

    def snapshot(self, *, stats: bool = False) -> EnvironmentStatus:
        if not stats and (prefetched := self._take_prefetched()) is not None:
            return prefetched
        return self._take_snapshot(stats=stats)

    def _take_snapshot(self, *, stats: bool = False) -> EnvironmentStatus:
        engine = self.gateway.info()
        try:
            environment = self.environment(engine.connected)
        except ComposeError as error:
            return EnvironmentStatus("?", engine, (), problem=str(error))
        name = environment.project.name
        if not engine.connected:
            return EnvironmentStatus(name, engine, ())
        try:
            containers = self.gateway.project_containers(name)
        except EngineUnavailable:
            return EnvironmentStatus(name, self.gateway.info(), ())
        statuses = build_statuses(environment.project, containers)
        if stats:
            statuses = with_resource_usage(self.gateway, statuses)
        foreign = ownership_problem(containers, self.settings, environment.compose, name)
        return EnvironmentStatus(name, engine, statuses, foreign=foreign)

    def details(self, status: ServiceStatus) -> ServiceDetails | None:
        from tui.core.details import details_from_inspect
        from tui.core.engine import ENGINE_GONE

        if status.container is None:
            return None
        try:
            container = self.gateway.client.containers.get(status.container)
        except (EngineUnavailable, *ENGINE_GONE):
            return None
        project = self._environment.project.name if self._environment else None
        if container.labels.get(PROJECT_LABEL) != project:
            return None  # a name reused by another project's container: not ours to show
        return details_from_inspect(status.name, container.attrs)
