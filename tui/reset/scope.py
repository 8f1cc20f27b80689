"""What a reset may touch: this checkout's containers, and the services with data.

Two checkouts in folders of the same name get the same compose project name, so the
project label alone does not say the containers are ours: compose also labels each
container with its project's working directory and files, and those must match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.models.containers import Container

from tui.config.settings import EnvdeckSettings
from tui.core.environment import Environment
from tui.core.status import ServiceStatus
from tui.plugins.api import ServiceTarget, StatefulPlugin
from tui.plugins.registry import PluginLoadError, PluginRegistry, build_target
from tui.reset.steps import StepFailed

WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"


def is_protected(settings: EnvdeckSettings, service: str) -> bool:
    """`protected = true` in [tool.envdeck.services.NAME]: never reset, never removed."""
    return bool(settings.services.get(service, {}).get("protected", False))


def project_directory(settings: EnvdeckSettings, environment: Environment) -> Path:
    """The folder compose records as the project's working_dir."""
    if settings.project_dir is not None:
        return settings.project_dir.resolve()
    if environment.compose.files:
        return environment.compose.files[0].resolve().parent
    return (settings.config_dir or Path.cwd()).resolve()


def foreign_containers(
    containers: Sequence[Container], settings: EnvdeckSettings, environment: Environment
) -> list[str]:
    """Containers of the project name that another checkout created: one line each."""
    directory = project_directory(settings, environment)
    main_file = environment.compose.files[0].resolve() if environment.compose.files else None
    problems = []
    for container in containers:
        labels: Mapping[str, str] = container.labels or {}
        working_dir = labels.get(WORKING_DIR_LABEL)
        files = [Path(part) for part in labels.get(CONFIG_FILES_LABEL, "").split(",") if part]
        if working_dir is not None and Path(working_dir) != directory:
            problems.append(f"{container.name} was created from {working_dir}")
        elif main_file is not None and files and main_file not in files:
            listed = ", ".join(str(file) for file in files)
            problems.append(f"{container.name} was created from {listed}")
    return problems


def check_ownership(
    containers: Sequence[Container], settings: EnvdeckSettings, environment: Environment
) -> str:
    """Raise StepFailed unless every container is this checkout's; a summary otherwise."""
    problems = foreign_containers(containers, settings, environment)
    if problems:
        directory = project_directory(settings, environment)
        raise StepFailed(
            f"project {environment.project.name} is not this checkout's ({directory}): "
            + "; ".join(problems[:3])
            + ("; …" if len(problems) > 3 else "")
            + ". Run envdeck from that checkout, or give this one its own name with -p."
        )
    return f"{len(containers)} containers, all from {project_directory(settings, environment)}"


@dataclass(frozen=True)
class StatefulService:
    service: str
    plugin_name: str
    plugin: StatefulPlugin
    target: ServiceTarget


@dataclass(frozen=True)
class ServicesWithData:
    services: tuple[StatefulService, ...]
    skipped: Mapping[str, str]  # service -> why it is left alone


def services_with_data(
    settings: EnvdeckSettings,
    environment: Environment,
    registry: PluginRegistry,
    statuses: Sequence[ServiceStatus],
) -> ServicesWithData:
    """Every service whose plugin saves and restores data; the others with a reason."""
    by_name = {status.name: status for status in statuses}
    found: list[StatefulService] = []
    skipped: dict[str, str] = {}
    for name, spec in environment.project.services.items():
        if is_protected(settings, name):
            skipped[name] = "protected in the config"
            continue
        options: Mapping[str, Any] = settings.services.get(name, {})
        target = build_target(
            spec, by_name.get(name), options, timeout=min(settings.engine_timeout, 5.0)
        )
        try:
            plugin = registry.for_target(target)
        except PluginLoadError as error:
            skipped[name] = str(error)
            continue
        if plugin is None:
            skipped[name] = "no plugin serves it"
        elif not isinstance(plugin, StatefulPlugin):
            skipped[name] = f"the {plugin.name} plugin keeps no data to reset"
        else:
            found.append(StatefulService(name, plugin.name, plugin, target))
    return ServicesWithData(tuple(found), skipped)
