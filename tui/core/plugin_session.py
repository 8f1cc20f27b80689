"""Connecting a service to its plugin, and sections as JSON (for `inspect --json`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from tui.config.settings import EnvdeckSettings
from tui.core.engine import DockerGateway
from tui.core.environment import Environment
from tui.core.guard import DestructiveGuard, GuardRefused
from tui.core.plugin_registry import PluginRegistry, build_target
from tui.core.status import ServiceStatus
from tui.plugins.api import (
    InspectorError,
    KeyValues,
    Problem,
    Section,
    ServicePlugin,
    ServiceTarget,
    Table,
    TextBlock,
    View,
    ViewRequest,
    ViewResult,
)


class NoInspector(Exception):
    """No plugin serves the service; the message says why."""


class ActionGuard(Protocol):
    """What a destructive plugin action must pass: DestructiveGuard in the app."""

    def check_plugin_action(self, service: str) -> None:
        """GuardRefused when the service's data must not be changed."""


@dataclass(frozen=True)
class Inspector:
    plugin: ServicePlugin
    target: ServiceTarget
    guard: ActionGuard | None = None  # every destructive action passes it

    def run_action(self, action_id: str, params: Mapping[str, str]) -> str:
        """The plugin's action; a destructive one only once the guard allows it (this
        checkout's containers, the service not protected). InspectorError otherwise."""
        actions = {action.id: action for action in self.plugin.actions(self.target)}
        action = actions.get(action_id)
        if action is None:
            raise InspectorError(Problem.ERROR, f"{self.plugin.name} has no action {action_id!r}")
        if action.destructive:
            if self.guard is None:
                raise InspectorError(
                    Problem.REFUSED_QUERY, f"{action.title}: no guard to check it against"
                )
            try:
                self.guard.check_plugin_action(self.target.service)
            except GuardRefused as error:
                raise InspectorError(
                    Problem.REFUSED_QUERY, f"{action.title} was not run: {error}"
                ) from None
        return self.plugin.run_action(self.target, action_id, params)

    def views(self) -> tuple[View, ...]:
        return tuple(self.plugin.views(self.target))

    def show(
        self, view: str = "overview", query: str = "", cursor: str | None = None, limit: int = 100
    ) -> ViewResult:
        return self.plugin.show(self.target, ViewRequest(view, query, cursor, limit))


def inspector_for(
    settings: EnvdeckSettings,
    environment: Environment,
    registry: PluginRegistry,
    service: str,
    status: ServiceStatus | None = None,
    *,
    gateway: DockerGateway | None = None,
) -> Inspector:
    spec = environment.project.services.get(service)
    if spec is None:
        known = ", ".join(environment.project.service_names)
        raise NoInspector(f"no service {service!r} in {environment.project.name} ({known})")
    options = settings.service(service).plugin_options()
    target = build_target(spec, status, options, timeout=min(settings.engine_timeout, 5.0))
    plugin = registry.for_target(target)
    if plugin is None:
        raise NoInspector(
            f"no plugin serves {service!r} (image {spec.image or '?'}, no published port "
            'a plugin knows); name one with plugin = "..." in [tool.envdeck.services.'
            f"{service}]" + (f"; {target.route}" if target.route else "")
        )
    guard = None if gateway is None else DestructiveGuard(settings, environment, gateway)
    return Inspector(plugin, target, guard)


def section_kind(section: Section) -> str:
    return {KeyValues: "key_values", Table: "table", TextBlock: "text"}[type(section)]


def result_to_json(result: ViewResult) -> dict[str, Any]:
    return {
        "sections": [{"kind": section_kind(s), **asdict(s)} for s in result.sections],
        "next_cursor": result.next_cursor,
    }
