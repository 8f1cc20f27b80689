"""Connecting a service to its plugin, and sections as JSON (for `inspect --json`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tui.config.settings import EnvdeckSettings
from tui.core.environment import Environment
from tui.core.status import ServiceStatus
from tui.plugins.api import (
    KeyValues,
    Section,
    ServicePlugin,
    ServiceTarget,
    Table,
    TextBlock,
    View,
    ViewRequest,
    ViewResult,
)
from tui.plugins.registry import PluginRegistry, build_target


class NoInspector(Exception):
    """No plugin serves the service; the message says why."""


@dataclass(frozen=True)
class Inspector:
    plugin: ServicePlugin
    target: ServiceTarget

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
) -> Inspector:
    spec = environment.project.services.get(service)
    if spec is None:
        known = ", ".join(environment.project.service_names)
        raise NoInspector(f"no service {service!r} in {environment.project.name} ({known})")
    options: Mapping[str, Any] = settings.services.get(service, {})
    target = build_target(spec, status, options, timeout=min(settings.engine_timeout, 5.0))
    plugin = registry.for_target(target)
    if plugin is None:
        raise NoInspector(
            f"no plugin serves {service!r} (image {spec.image or '?'}, no published port "
            'a plugin knows); name one with plugin = "..." in [tool.envdeck.services.'
            f"{service}]"
        )
    return Inspector(plugin, target)


def section_kind(section: Section) -> str:
    return {KeyValues: "key_values", Table: "table", TextBlock: "text"}[type(section)]


def result_to_json(result: ViewResult) -> dict[str, Any]:
    return {
        "sections": [{"kind": section_kind(s), **asdict(s)} for s in result.sections],
        "next_cursor": result.next_cursor,
    }
