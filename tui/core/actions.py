"""Actions on the selected project's services: restart, stop, start, up, down.

Containers are looked up by the project's labels every time, so an action can only ever
reach this project's containers, even if the UI's picture is stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from docker.models.containers import Container

from tui.core.compose_cli import ComposeError
from tui.core.engine import ENGINE_GONE, SERVICE_LABEL, DockerGateway, EngineUnavailable
from tui.core.environment import Environment


class ActionFailed(Exception):
    """An action could not be done; the message says what and why."""


@dataclass(frozen=True)
class ActionResult:
    service: str
    action: str
    containers: tuple[str, ...]


class ServiceActions:
    def __init__(
        self, gateway: DockerGateway, environment: Environment, stop_timeout: int = 10
    ) -> None:
        self.gateway = gateway
        self.environment = environment
        self.stop_timeout = stop_timeout

    @property
    def project(self) -> str:
        return self.environment.project.name

    def containers_of(self, service: str) -> list[Container]:
        return [
            container
            for container in self.gateway.project_containers(self.project)
            if container.labels.get(SERVICE_LABEL) == service
        ]

    def _each(self, service: str, action: str) -> ActionResult:
        containers = self.containers_of(service)
        if not containers:
            raise ActionFailed(f"{service} has no container: bring it up first (u)")
        try:
            for container in containers:
                if action == "restart":
                    container.restart(timeout=self.stop_timeout)
                elif action == "stop":
                    container.stop(timeout=self.stop_timeout)
                elif action == "start":
                    container.start()
        except ENGINE_GONE as error:
            raise ActionFailed(f"{action} {service}: {error}") from None
        return ActionResult(service, action, tuple(c.name or "" for c in containers))

    def restart(self, service: str) -> ActionResult:
        return self._each(service, "restart")

    def stop(self, service: str) -> ActionResult:
        return self._each(service, "stop")

    def start(self, service: str) -> ActionResult:
        return self._each(service, "start")

    def up(self, services: Sequence[str] = (), timeout: float = 180.0) -> ActionResult:
        """`compose up -d --wait` for some services (all when empty)."""
        try:
            self.environment.compose.run(
                "up",
                "-d",
                "--wait",
                "--wait-timeout",
                str(int(timeout)),
                *services,
                timeout=timeout + 60,
            )
        except (ComposeError, EngineUnavailable) as error:
            raise ActionFailed(f"up {' '.join(services) or self.project}: {error}") from None
        return ActionResult(" ".join(services) or self.project, "up", ())

    def down(self, *, volumes: bool) -> ActionResult:
        args = ["down", "--remove-orphans", *(["--volumes"] if volumes else [])]
        try:
            self.environment.compose.run(*args, timeout=180)
        except ComposeError as error:
            raise ActionFailed(f"down {self.project}: {error}") from None
        return ActionResult(self.project, "down -v" if volumes else "down", ())
