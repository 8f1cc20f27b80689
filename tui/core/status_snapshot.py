"""`envdeck status`'s snapshot of the environment, asked of the engine over plain HTTP.

The dashboard's monitor (`tui.core.monitor`) takes the same snapshot through docker-py,
which it needs anyway (logs, events, actions). A command that answers once pays for
docker-py's import more than for its questions, so `status` asks them with
`tui.core.engine_http`: the engine's version, then the project's containers, listed and
inspected. Both build the answer from the same pieces: `resolve_environment`,
`document_status`, `merge_statuses`, `ownership_problem`; only the transport differs.

Nothing here imports docker-py: whether the project's images are here, and the kill
history of an exited container, are asked over the same connection. `--stats` is the one
part that uses the docker-py gateway (the dashboard's sampler), imported when asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeError
from tui.core.engine_choice import EngineChoice, EngineChoiceError, current_engine
from tui.core.engine_facts import EngineInfo, EngineUnavailable
from tui.core.engine_http import EngineHttp, EngineRefused
from tui.core.environment import Environment, resolve_environment
from tui.core.one_shot import stop_requested
from tui.core.ownership import ownership_problem
from tui.core.status import EnvironmentStatus, document_status, merge_statuses

if TYPE_CHECKING:
    from tui.core.engine import DockerGateway


@dataclass(frozen=True)
class ContainerLabels:
    """What ownership reads of a container, from its inspect document."""

    name: str | None
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, attrs: Mapping[str, Any]) -> ContainerLabels:
        name = str(attrs.get("Name") or "").lstrip("/") or None  # as docker-py's Container.name
        return cls(name, (attrs.get("Config") or {}).get("Labels") or {})


class StatusReader:
    """Snapshots of one compose project for `envdeck status` (`--wait` takes several)."""

    def __init__(self, settings: EnvdeckSettings) -> None:
        self.settings = settings
        self._engine: EngineHttp | None = None
        self._environment: Environment | None = None
        self._gateway: DockerGateway | None = None
        # Why each unhealthy service is, from the last snapshot's inspect documents.
        self.unhealthy: dict[str, str] = {}

    def snapshot(self) -> EnvironmentStatus:
        info = self.info()
        try:
            environment = self.environment(engine_connected=info.connected)
        except ComposeError as error:
            return EnvironmentStatus("?", info, (), problem=str(error))
        name = environment.project.name
        if not info.connected or self._engine is None:
            return EnvironmentStatus(name, info, ())
        try:
            documents = self._engine.container_documents(name)
        except (EngineUnavailable, EngineRefused):
            return EnvironmentStatus(name, self.info(), ())
        project = environment.project
        statuses = merge_statuses(
            project, [document_status(project, attrs, self._was_stopped) for attrs in documents]
        )
        containers = [ContainerLabels.of(attrs) for attrs in documents]
        foreign = ownership_problem(containers, self.settings, environment.compose, name)
        self.unhealthy = _unhealthy_reasons(documents)
        return EnvironmentStatus(name, info, statuses, foreign=foreign)

    def info(self) -> EngineInfo:
        """The engine's version, or why it cannot be reached (as `DockerGateway.info`)."""
        try:
            engine = self._engine or EngineHttp(current_engine(), self.settings.engine_timeout)
        except EngineChoiceError as error:
            return EngineInfo(False, None, None, str(error), None)
        self._engine = engine
        choice: EngineChoice = engine.choice
        try:
            version = engine.version()
        except (EngineUnavailable, EngineRefused) as error:
            return EngineInfo(False, None, None, str(error), choice)
        return EngineInfo(True, version.get("Version"), version.get("ApiVersion"), None, choice)

    def environment(self, engine_connected: bool) -> Environment:
        """The project as it runs here, resolved once (ComposeError for broken files)."""
        if self._environment is None:
            engine = self._engine if engine_connected else None
            self._environment = resolve_environment(self.settings, engine)
        return self._environment

    @property
    def resolved(self) -> Environment | None:
        """The environment, if a snapshot has resolved it."""
        return self._environment

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
        if self._gateway is not None:
            self._gateway.reset()

    def gateway(self) -> DockerGateway:
        """A docker-py gateway to the same engine, made once: for `--stats` (the
        dashboard's sampler) and the missing images' reasons."""
        if self._gateway is None:
            from tui.core.engine import DockerGateway  # noqa: PLC0415 - only when asked

            self._gateway = DockerGateway(timeout=self.settings.engine_timeout)
        return self._gateway

    def _was_stopped(self, attrs: Mapping[str, Any]) -> bool:
        return stop_requested(self._engine, attrs)


def _unhealthy_reasons(documents: list[dict[str, Any]]) -> dict[str, str]:
    """By service: why its container is unhealthy (`details.unhealthy_by_service`)."""
    if not any(
        ((attrs.get("State") or {}).get("Health") or {}).get("Status") == "unhealthy"
        for attrs in documents
    ):
        return {}  # the usual case: nothing more imported
    from tui.core.details import unhealthy_by_service  # noqa: PLC0415

    return unhealthy_by_service(documents)
