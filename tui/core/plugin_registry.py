"""Finding plugins: entry points in the `envdeck.plugins` group, loaded only when needed.

Built-in plugins register through envdeck's own pyproject.toml exactly as a third party
would. Listing reads metadata only; a plugin that fails to import or to construct becomes
a message for the user, never a crash.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tui.core.compose_model import ServiceSpec
from tui.core.engine_choice import EngineChoice, EngineChoiceError, current_engine
from tui.core.service_routes import route_service
from tui.core.status import ServiceStatus
from tui.plugins.api import Match, ServicePlugin, ServiceTarget

ENTRY_POINT_GROUP = "envdeck.plugins"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    target: str  # "module:attribute"
    distribution: str | None


class PluginLoadError(Exception):
    """A plugin could not be loaded; the message names it and says why."""


class PluginRegistry:
    def __init__(self, entry_points: Iterable[importlib.metadata.EntryPoint] | None = None):
        found = (
            entry_points
            if entry_points is not None
            else importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        )
        self._entry_points = {entry.name: entry for entry in found}
        self._loaded: dict[str, ServicePlugin] = {}
        self.errors: dict[str, str] = {}

    def available(self) -> list[PluginInfo]:
        """Every registered plugin, without importing any of them."""
        return [
            PluginInfo(name, entry.value, entry.dist.name if entry.dist else None)
            for name, entry in sorted(self._entry_points.items())
        ]

    def load(self, name: str) -> ServicePlugin:
        if name in self._loaded:
            return self._loaded[name]
        entry = self._entry_points.get(name)
        if entry is None:
            raise PluginLoadError(f"no plugin named {name!r} is installed")
        try:
            factory = entry.load()
            plugin = factory() if isinstance(factory, type) else factory
        except Exception as error:  # any failure of third-party code is reported, not raised
            message = f"plugin {name!r} ({entry.value}) failed to load: {error}"
            self.errors[name] = message
            raise PluginLoadError(message) from None
        if not isinstance(plugin, ServicePlugin):
            message = f"plugin {name!r} ({entry.value}) does not provide the plugin API"
            self.errors[name] = message
            raise PluginLoadError(message)
        self._loaded[name] = plugin
        return plugin

    def loaded(self) -> list[ServicePlugin]:
        """Every plugin that loads; the others are recorded in `errors`."""
        plugins = []
        for info in self.available():
            try:
                plugins.append(self.load(info.name))
            except PluginLoadError:
                continue
        return plugins

    def for_target(self, target: ServiceTarget) -> ServicePlugin | None:
        """The plugin that serves `target` best, or None."""
        configured = target.options.get("plugin")
        if configured:
            return self.load(str(configured))
        best: tuple[Match, ServicePlugin] | None = None
        for plugin in self.loaded():
            try:
                match = plugin.matches(target)
            except Exception:  # noqa: S112 - a broken matcher must not hide the others
                continue
            if match > Match.NO and (best is None or match > best[0]):
                best = (match, plugin)
        return best[1] if best else None


def build_target(
    spec: ServiceSpec,
    status: ServiceStatus | None,
    options: Mapping[str, Any] | None = None,
    timeout: float = 5.0,
    engine: EngineChoice | None = None,
) -> ServiceTarget:
    """A plugin's view of one service: published ports from the live container when it
    runs (ports can be assigned at start), else from the compose file; reached where the
    engine published them (`tui.core.service_routes`: 127.0.0.1 for a local engine).
    `engine`: the chosen engine when not the process's (`current_engine`)."""
    bindings: dict[int, tuple[str, int]] = {
        port.container_port: (port.host_ip, port.host_port) for port in spec.ports if port.host_port
    }
    if status is not None:
        for binding in status.ports:
            if binding.host_port and binding.protocol == "tcp":
                bindings[binding.container_port] = (binding.host_ip, binding.host_port)
    route = route_service(engine or _process_engine(), bindings)
    return ServiceTarget(
        service=spec.name,
        image=spec.image,
        host=route.host,
        ports=route.ports,
        environment={key: value for key, value in spec.environment.items() if value is not None},
        options=dict(options or {}),
        timeout=float((options or {}).get("timeout", timeout)),
        route=route.how,
    )


def _process_engine() -> EngineChoice | None:
    try:
        return current_engine()
    except EngineChoiceError:
        return None  # the engine calls say why; plugins try 127.0.0.1
