"""Actions on the selected project's services: restart, stop, start, up, down.

Containers are looked up by the project's labels every time, so an action can only ever
reach this project's containers, even if the UI's picture is stale. Down goes through
the one destructive guard (tui.core.guard), like every operation that removes anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeError
from tui.core.engine import ENGINE_GONE, SERVICE_LABEL, Container, DockerGateway
from tui.core.environment import Environment, start_project
from tui.core.guard import (
    DestructiveGuard,
    DestructivePlan,
    GuardRefused,
    Operation,
    RemovalFailed,
    remove_planned,
)


class ActionFailed(Exception):
    """An action could not be done; the message says what and why."""


@dataclass(frozen=True)
class ActionResult:
    service: str
    action: str
    containers: tuple[str, ...]


class ServiceActions:
    def __init__(
        self,
        gateway: DockerGateway,
        environment: Environment,
        settings: EnvdeckSettings,
        stop_timeout: int = 10,
    ) -> None:
        self.gateway = gateway
        self.environment = environment
        self.stop_timeout = stop_timeout
        self.settings = settings

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
        """Start some services (all when empty) the one way envdeck starts a project."""
        try:
            start_project(self.settings, self.environment, self.gateway, services, timeout=timeout)
        except ComposeError as error:
            raise ActionFailed(f"up {' '.join(services) or self.project}: {error}") from None
        return ActionResult(" ".join(services) or self.project, "up", ())

    def plan_down(self, *, volumes: bool) -> DestructivePlan:
        """What down (-v) would remove, from the one destructive guard."""
        operation = Operation.DOWN_VOLUMES if volumes else Operation.DOWN
        try:
            return self._guard().plan(operation)
        except GuardRefused as error:
            raise ActionFailed(f"{operation.value} {self.project}: {error}") from None

    def down(self, confirmed: DestructivePlan) -> ActionResult:
        """Down exactly as confirmed (refused when anything appeared since)."""
        guard = self._guard()
        try:
            guard.run(
                confirmed,
                lambda plan: remove_planned(plan, self.environment, self.gateway),
            )
        except (GuardRefused, RemovalFailed) as error:
            raise ActionFailed(f"{confirmed.operation.value} {self.project}: {error}") from None
        names = tuple(name for _, name in confirmed.containers)
        return ActionResult(self.project, confirmed.operation.value, names)

    def _guard(self) -> DestructiveGuard:
        return DestructiveGuard(self.settings, self.environment, self.gateway)
