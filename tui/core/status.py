"""A snapshot of the environment's state, in the shape `envdeck status --json` promises."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any

from docker.models.containers import Container

from tui.core.compose_model import ComposeProject
from tui.core.engine import ENGINE_GONE, SERVICE_LABEL, DockerGateway, EngineInfo, EngineUnavailable

# Exit codes of `envdeck status` (and of every command that reports state).
EXIT_OK, EXIT_NOT_READY, EXIT_UNKNOWN = 0, 1, 2

# Docker answers a one-shot stats request when its collector next runs (every second),
# so a round takes up to ~2 s; one that hangs is given up after this.
STATS_ROUND_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class PortBinding:
    host_ip: str
    host_port: int | None
    container_port: int
    protocol: str


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    container: str | None
    state: str  # Docker's state, or "missing" when the service has no container
    health: str  # healthy | unhealthy | starting | none
    exit_code: int | None
    restarts: int
    started_at: str | None
    image: str | None
    ports: tuple[PortBinding, ...]
    cpu_percent: float | None = None
    mem_bytes: int | None = None

    @property
    def is_ready(self) -> bool:
        """Up and healthy, or a one-shot service (init, migration) that finished with 0."""
        if self.state == "running":
            return self.health in ("healthy", "none")
        return self.state == "exited" and self.exit_code == 0 and self.restarts == 0


@dataclass(frozen=True)
class EnvironmentStatus:
    project: str
    engine: EngineInfo
    services: tuple[ServiceStatus, ...]
    problem: str | None = None  # e.g. compose refused the files: state cannot be told

    @property
    def gating_services(self) -> tuple[ServiceStatus, ...]:
        """Running services a test run should wait for: starting or unhealthy."""
        return tuple(
            s
            for s in self.services
            if s.state == "running" and s.health in ("starting", "unhealthy")
        )

    @property
    def exit_code(self) -> int:
        if not self.engine.connected or self.problem is not None:
            return EXIT_UNKNOWN
        return (
            EXIT_OK
            if self.services and all(s.is_ready for s in self.services)
            else (EXIT_NOT_READY)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "engine": {"connected": self.engine.connected, "version": self.engine.version},
            "services": [asdict(service) for service in self.services],
        }


def service_status_from_inspect(service: str, attrs: Mapping[str, Any]) -> ServiceStatus:
    """ServiceStatus from a container's `docker inspect` document."""
    state = attrs.get("State") or {}
    status = str(state.get("Status") or "unknown")
    # Docker keeps the last health verdict of a stopped container; it no longer applies.
    health = (state.get("Health") or {}).get("Status") or "none" if status == "running" else "none"
    finished = status in ("exited", "dead")
    return ServiceStatus(
        name=service,
        container=str(attrs.get("Name", "")).lstrip("/") or None,
        state=status,
        health=health,
        exit_code=int(state["ExitCode"]) if finished and "ExitCode" in state else None,
        restarts=int(attrs.get("RestartCount") or 0),
        started_at=state.get("StartedAt") if status == "running" else None,
        image=(attrs.get("Config") or {}).get("Image"),
        ports=tuple(_bindings((attrs.get("NetworkSettings") or {}).get("Ports") or {})),
    )


def _bindings(ports: Mapping[str, Any]) -> Iterable[PortBinding]:
    for spec, bindings in sorted(ports.items()):
        container_port, _, protocol = spec.partition("/")
        for binding in bindings or ():
            yield PortBinding(
                host_ip=binding.get("HostIp") or "",
                host_port=int(binding["HostPort"]) if binding.get("HostPort") else None,
                container_port=int(container_port),
                protocol=protocol or "tcp",
            )


def missing_service(name: str, image: str | None) -> ServiceStatus:
    return ServiceStatus(name, None, "missing", "none", None, 0, None, image, ())


def build_statuses(
    project: ComposeProject, containers: Sequence[Container]
) -> tuple[ServiceStatus, ...]:
    """One entry per container of a known service, and one `missing` per service with none.

    Containers of services no longer in the files (orphans) are listed too: they are
    still running and still this project's.
    """
    return merge_statuses(
        project,
        [
            service_status_from_inspect(container.labels.get(SERVICE_LABEL, "?"), container.attrs)
            for container in containers
        ],
    )


def merge_statuses(
    project: ComposeProject, found: Iterable[ServiceStatus]
) -> tuple[ServiceStatus, ...]:
    """The containers' statuses in the table's order (service, then container), with a
    `missing` entry for each service of the project that has none."""
    by_service: dict[str, list[ServiceStatus]] = {}
    for status in found:
        by_service.setdefault(status.name, []).append(status)
    statuses: list[ServiceStatus] = []
    for name in sorted({*project.services, *by_service}):
        containers = by_service.get(name)
        if containers:
            statuses += sorted(containers, key=lambda status: status.container or "")
        else:
            statuses.append(missing_service(name, project.services[name].image))
    return tuple(statuses)


def cpu_percent(first: Mapping[str, Any], second: Mapping[str, Any]) -> float | None:
    """CPU use between two stats samples, as `docker stats` computes it (100% = one core)."""
    try:
        cpu_delta = (
            second["cpu_stats"]["cpu_usage"]["total_usage"]
            - first["cpu_stats"]["cpu_usage"]["total_usage"]
        )
        system_delta = (
            second["cpu_stats"]["system_cpu_usage"] - first["cpu_stats"]["system_cpu_usage"]
        )
        cpus = second["cpu_stats"].get("online_cpus") or len(
            second["cpu_stats"]["cpu_usage"].get("percpu_usage") or [1]
        )
    except (KeyError, TypeError):
        return None
    if system_delta <= 0 or cpu_delta < 0:
        return 0.0
    return round(float(cpu_delta) / float(system_delta) * float(cpus) * 100.0, 2)


def memory_bytes(sample: Mapping[str, Any]) -> int | None:
    """Memory in use without the page cache, as `docker stats` shows it."""
    memory = sample.get("memory_stats") or {}
    usage = memory.get("usage")
    if usage is None:
        return None
    stats = memory.get("stats") or {}
    cache = stats.get("inactive_file", stats.get("total_inactive_file", stats.get("cache", 0)))
    return int(usage) - int(cache or 0)


def with_resource_usage(
    gateway: DockerGateway,
    containers: Sequence[Container],
    statuses: Sequence[ServiceStatus],
    interval: float = 0.25,
) -> tuple[ServiceStatus, ...]:
    """Statuses with CPU and memory of the running containers (two quick samples each)."""
    running = {c.name: c for c in containers if c.status == "running"}

    def sample(container: Container) -> tuple[str, dict[str, Any] | None]:
        try:
            return container.name or "", gateway.container_stats(container)
        except ENGINE_GONE:
            return container.name or "", None

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(running)))) as pool:
        first = dict(pool.map(sample, running.values()))
        time.sleep(interval)  # the CPU figure is a rate: it needs two points in time
        second = dict(pool.map(sample, running.values()))
    result = []
    for status in statuses:
        before, after = first.get(status.container or ""), second.get(status.container or "")
        if before and after:
            result.append(
                replace(
                    status, cpu_percent=cpu_percent(before, after), mem_bytes=memory_bytes(after)
                )
            )
        else:
            result.append(status)
    return tuple(result)


class ResourceSampler:
    """CPU and memory of running containers for a view that asks every few seconds.

    One stats request per container per round, by name (no listing): CPU is averaged
    since the container's sample of the previous round. A container without one (the
    first round, a new container) is sampled twice, `interval` apart, as
    `with_resource_usage` does.
    """

    def __init__(
        self,
        gateway: DockerGateway,
        interval: float = 0.25,
        round_timeout: float = STATS_ROUND_TIMEOUT_SECONDS,
    ) -> None:
        self._gateway = gateway
        self._interval = interval
        self._round_timeout = round_timeout
        self._previous: dict[str, dict[str, Any]] = {}

    def usage(
        self, statuses: Sequence[ServiceStatus], cancelled: Callable[[], bool] = lambda: False
    ) -> tuple[ServiceStatus, ...]:
        """`statuses` with the running ones' CPU and memory. Returns early, with what it
        has, once `cancelled()` is true (polled every 0.1 s): quitting never waits for
        Docker's stats collector."""
        names = [s.container for s in statuses if s.state == "running" and s.container]
        if not names:
            self._previous.clear()
            return tuple(statuses)
        new = [name for name in names if name not in self._previous]
        if new:
            first = self._sample_all(new, cancelled)
            self._previous.update({n: s for n, s in first.items() if s is not None})
            # The CPU figure is a rate: two points in time.
            if _wait_unless(cancelled, self._interval):
                return tuple(statuses)
        current = self._sample_all(names, cancelled)
        result = []
        for status in statuses:
            name = status.container or ""
            before, after = self._previous.get(name), current.get(name)
            if before and after:
                cpu, memory = cpu_percent(before, after), memory_bytes(after)
                result.append(replace(status, cpu_percent=cpu, mem_bytes=memory))
            else:
                result.append(status)
        if not cancelled():
            self._previous = {name: sample for name, sample in current.items() if sample}
        return tuple(result)

    def _sample_all(
        self, names: Sequence[str], cancelled: Callable[[], bool]
    ) -> dict[str, dict[str, Any] | None]:
        """One sample per container, all at once, each on a daemon thread: one still
        waiting for Docker when the app quits holds nothing up."""
        samples: queue.SimpleQueue[tuple[str, dict[str, Any] | None]] = queue.SimpleQueue()
        for name in names:
            threading.Thread(
                target=self._sample_into, args=(name, samples), name="envdeck-stats", daemon=True
            ).start()
        found: dict[str, dict[str, Any] | None] = {}
        deadline = time.monotonic() + self._round_timeout
        while len(found) < len(names) and not cancelled():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                name, sample = samples.get(timeout=min(0.1, left))
            except queue.Empty:
                continue
            found[name] = sample
        return found

    def _sample_into(
        self, name: str, samples: queue.SimpleQueue[tuple[str, dict[str, Any] | None]]
    ) -> None:
        try:
            sample = self._sample(name)
        except Exception:  # e.g. an answer docker-py cannot decode: no figure this round
            sample = (name, None)
        samples.put(sample)  # always: the round waits for every container's answer

    def _sample(self, name: str) -> tuple[str, dict[str, Any] | None]:
        try:
            stats = self._gateway.client.api.stats(name, stream=False, one_shot=True)
        except (EngineUnavailable, *ENGINE_GONE):
            return name, None
        return name, stats if isinstance(stats, dict) else None


def _wait_unless(cancelled: Callable[[], bool], seconds: float) -> bool:
    """Sleep `seconds` in slices; True as soon as `cancelled()` is."""
    deadline = time.monotonic() + seconds
    while not cancelled():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(0.1, left))
    return True
