"""A snapshot of the environment's state, in the shape `envdeck status --json` promises."""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from tui.core.compose_model import ComposeProject
from tui.core.engine_facts import SERVICE_LABEL, EngineInfo, EngineUnavailable
from tui.core.one_shot import is_one_shot, must_finish, stop_requested

if TYPE_CHECKING:
    from tui.core.engine import Container, DockerGateway

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
    # Not in `status --json`: what the project declares and how the last run ended.
    one_shot: bool = False  # a migration, a seeder (tui.core.one_shot decides)
    must_finish: bool = False  # a declared job: not ready while it still runs
    stop_requested: bool = False  # its last run was stopped or killed, not ended on its own

    @property
    def is_done(self) -> bool:
        """A one-shot service that finished: exited 0 on its own (tui.core.one_shot)."""
        return (
            self.one_shot
            and self.state == "exited"
            and self.exit_code == 0
            and not self.stop_requested
        )

    @property
    def is_ready(self) -> bool:
        """Up and healthy (or up with no healthcheck), or done. The one readiness rule:
        `status`'s exit code, the table, the header's count and the toasts all ask it."""
        if self.state == "running":
            # A migration that the config or a dependent says must complete is not ready
            # until it has: running, it may still fail.
            return self.health in ("healthy", "none") and not self.must_finish
        return self.is_done


@dataclass(frozen=True)
class EnvironmentStatus:
    project: str
    engine: EngineInfo
    services: tuple[ServiceStatus, ...]
    problem: str | None = None  # e.g. compose refused the files: state cannot be told
    # Why the project's containers are another checkout's (tui.core.ownership), or None:
    # up and healthy, but not this checkout's environment, so never "ready" from here.
    foreign: str | None = None

    @property
    def gating_services(self) -> tuple[ServiceStatus, ...]:
        """Services a test run should wait for: every one not ready (starting, unhealthy,
        stopped, exited, not created); a finished one-shot is ready (`ServiceStatus.is_ready`).
        """
        return tuple(s for s in self.services if not s.is_ready)

    @property
    def exit_code(self) -> int:
        if not self.engine.connected or self.problem is not None:
            return EXIT_UNKNOWN
        return (
            EXIT_OK
            if self.services and all(s.is_ready for s in self.services) and self.foreign is None
            else (EXIT_NOT_READY)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "engine": {
                "connected": self.engine.connected,
                "version": self.engine.version,
                **({} if self.engine.choice is None else self.engine.choice.to_json()),
            },
            "services": [_service_json(service) for service in self.services],
        }


_NOT_IN_JSON = ("one_shot", "stop_requested", "must_finish")  # the contract's fields only


def _service_json(service: ServiceStatus) -> dict[str, Any]:
    document = asdict(service)
    for key in _NOT_IN_JSON:
        del document[key]
    return document


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


def container_status(project: ComposeProject, container: Container) -> ServiceStatus:
    """A docker-py container's status (`document_status`), its kill history asked of the
    container's own client."""
    history = container.client.api if container.client is not None else None
    return document_status(project, container.attrs, partial(stop_requested, history))


def document_status(
    project: ComposeProject,
    attrs: Mapping[str, Any],
    was_stopped: Callable[[Mapping[str, Any]], bool],
) -> ServiceStatus:
    """A container's status, from its inspect document, with what the project declares of
    its service and how its last run ended (`was_stopped`: `one_shot.stop_requested` with
    a client): every status that readiness is asked of is made here."""
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    service = labels.get(SERVICE_LABEL, "?")
    status = service_status_from_inspect(service, attrs)
    one_shot = is_one_shot(project, service, attrs)
    # Only an exit can have been asked for; one history lookup per exited container.
    stopped = status.state == "exited" and was_stopped(attrs)
    declared = one_shot and must_finish(project, service)
    return replace(status, one_shot=one_shot, stop_requested=stopped, must_finish=declared)


def build_statuses(
    project: ComposeProject, containers: Sequence[Container]
) -> tuple[ServiceStatus, ...]:
    """One entry per container of a known service, and one `missing` per service with none.

    Containers of services no longer in the files (orphans) are listed too: they are
    still running and still this project's.
    """
    return merge_statuses(project, [container_status(project, c) for c in containers])


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
    """CPU use between two stats samples, as `docker stats` computes it (100% = one core);
    None for anything else than the numbers it needs (a garbled or unexpected answer)."""
    try:
        before, after = first["cpu_stats"], second["cpu_stats"]
        cpu_delta = float(after["cpu_usage"]["total_usage"]) - float(
            before["cpu_usage"]["total_usage"]
        )
        system_delta = float(after["system_cpu_usage"]) - float(before["system_cpu_usage"])
        cpus = float(after.get("online_cpus") or len(after["cpu_usage"].get("percpu_usage") or [1]))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None
    if not all(map(math.isfinite, (cpu_delta, system_delta, cpus))):
        return None
    if system_delta <= 0 or cpu_delta < 0:
        return 0.0
    return round(cpu_delta / system_delta * cpus * 100.0, 2)


def memory_bytes(sample: Mapping[str, Any]) -> int | None:
    """Memory in use without the page cache, as `docker stats` shows it; None for anything
    else than the numbers it needs."""
    try:
        memory = sample.get("memory_stats") or {}
        usage = memory.get("usage")
        if usage is None:
            return None
        stats = memory.get("stats") or {}
        cache = stats.get("inactive_file", stats.get("total_inactive_file", stats.get("cache", 0)))
        return int(usage) - int(cache or 0)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None


def with_resource_usage(
    gateway: DockerGateway, statuses: Sequence[ServiceStatus], interval: float = 0.25
) -> tuple[ServiceStatus, ...]:
    """Statuses with CPU and memory of the running containers, measured now (two samples
    each, `interval` apart): `envdeck status`. The dashboard's rounds and this are the
    same ResourceSampler, so an answer that breaks one cannot break the other."""
    return ResourceSampler(gateway, interval=interval).usage(statuses)


class ResourceSampler:
    """CPU and memory of running containers for a view that asks every few seconds.

    One stats request per container per round, by name (no listing): CPU is averaged
    since the container's sample of the previous round. A container without one (the
    first round, a new container) is sampled twice, `interval` apart. Any failure of
    one container's request or answer leaves that container without figures, nothing
    more.
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
        except (EngineUnavailable, OSError):  # docker-py's request errors are OSErrors
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
