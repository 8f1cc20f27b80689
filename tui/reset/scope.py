"""What a reset may touch: this checkout's containers, and the services with data.

Ownership and `protected` are decided once, in tui.core.guard, for every destructive
operation; this module adds what only resets need: which services keep data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tui.config.settings import EnvdeckSettings
from tui.core.engine import Container
from tui.core.environment import Environment
from tui.core.guard import is_protected, ownership_problem, project_directory
from tui.core.plugin_registry import PluginLoadError, PluginRegistry, build_target
from tui.core.status import ServiceStatus
from tui.plugins.api import ServiceTarget, StatefulPlugin
from tui.reset.steps import StepFailed


def check_ownership(
    containers: Sequence[Container], settings: EnvdeckSettings, environment: Environment
) -> str:
    """Raise StepFailed unless every container is this checkout's; a summary otherwise."""
    problem = ownership_problem(containers, settings, environment)
    if problem is not None:
        raise StepFailed(problem)
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
        options = settings.service(name).plugin_options()
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
