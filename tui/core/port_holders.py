"""Who holds a port a service publishes: said when `compose up` could not bind it, and by
`envdeck doctor`. Two projects that both publish 5432 or 6379 are the everyday case; the
engine's own message ("port is already allocated") names neither the port's holder nor
the way out."""

from __future__ import annotations

import shlex
import socket
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.core.compose_model import ComposeProject, PortSpec
from tui.core.engine_facts import PROJECT_LABEL, SERVICE_LABEL, EngineUnavailable
from tui.core.text import safe_text

if TYPE_CHECKING:
    from tui.core.engine import DockerGateway


@dataclass(frozen=True)
class PortConflict:
    """`service` publishes `port`, which something else holds: `holder` when that is a
    container (with its compose project and service, when it has them). The holder's
    labels are anyone's text: made safe for a terminal, quoted for a shell."""

    service: str
    port: PortSpec
    holder: str | None = None
    holder_project: str | None = None
    holder_service: str | None = None

    def __str__(self) -> str:
        return f"{self.service}: {self.what}"

    @property
    def what(self) -> str:
        """What holds the port, without the service's name."""
        where = f"{self.port.host_ip or '0.0.0.0'}:{self.port.host_port}"  # noqa: S104
        if self.holder is None:
            return f"port {where} is taken by another process on this machine"
        owner = ""
        if self.holder_project:
            owner = f" (compose project {_shown(self.holder_project)}"
            owner += f", service {_shown(self.holder_service)})" if self.holder_service else ")"
        return f"port {where} is taken by container {_shown(self.holder)}{owner}"

    @property
    def fix(self) -> str:
        elsewhere = f'publish {self.service} on another port ("127.0.0.1:OTHER:' + (
            f'{self.port.container_port}")'
        )
        if self.holder_project:
            return (
                "stop the other project "
                f"(`docker compose -p {_shown(shlex.quote(self.holder_project))} stop`), "
                f"or {elsewhere}"
            )
        if self.holder is not None:
            return f"stop it (`docker stop {_shown(shlex.quote(self.holder))}`), or {elsewhere}"
        return f"stop that process, or {elsewhere}"


def _shown(text: str | None) -> str:
    return safe_text(text or "", keep="")


def held_ports(
    project: ComposeProject, gateway: DockerGateway, services: Collection[str] = ()
) -> list[PortConflict]:
    """The published TCP ports of `services` (default: all) that are not running, held by
    a container of another project or, when the engine is on this machine, by a process
    here. [] when the engine cannot be asked: this only ever explains."""
    try:
        running = {
            container.labels.get(SERVICE_LABEL, "")
            for container in gateway.project_containers(project.name)
            if container.status == "running"
        }
        # A remote engine's ports are on its machine: only its containers are asked about.
        probe_here = not (gateway.choice is not None and gateway.choice.remote)
        return [
            conflict
            for service, port in _published(project, services, running)
            if (conflict := _conflict(project.name, service, port, gateway, probe_here)) is not None
        ]
    except EngineUnavailable:
        return []


def _published(
    project: ComposeProject, services: Collection[str], running: Collection[str]
) -> Iterator[tuple[str, PortSpec]]:
    for name, spec in project.services.items():
        if (services and name not in services) or name in running:
            continue
        for port in spec.ports:
            if port.host_port is not None and port.protocol == "tcp":
                yield name, port


def _conflict(
    project: str, service: str, port: PortSpec, lookup: DockerGateway, probe_here: bool
) -> PortConflict | None:
    assert port.host_port is not None
    for container in lookup.containers_publishing(port.host_port):
        labels = container.labels
        if labels.get(PROJECT_LABEL) == project and labels.get(SERVICE_LABEL) == service:
            continue  # the service's own container: it holds its own port
        return PortConflict(
            service, port, container.name, labels.get(PROJECT_LABEL), labels.get(SERVICE_LABEL)
        )
    if probe_here and listening_here(probe_address(port.host_ip), port.host_port):
        return PortConflict(service, port)
    return None


def probe_address(host_ip: str) -> str:
    """Where to look for a listener that would stop the engine publishing on `host_ip`:
    that address, or loopback for every interface (any listener there collides)."""
    if host_ip in ("", "0.0.0.0", "::"):  # noqa: S104 - every interface
        return "127.0.0.1"
    return host_ip


def listening_here(address: str, port: int) -> bool:
    """Whether something on this machine accepts connections on `address`:`port`."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        try:
            return probe.connect_ex((address, port)) == 0
        except OSError:  # an address this machine cannot reach: nothing of it listens
            return False
