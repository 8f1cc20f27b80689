"""The compose project as compose itself resolved it (`config --format json`).

Interpolation, merging of several -f files, profiles and extends are compose's job; this
module only reads its normalised output into frozen dataclasses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.core.compose_cli import ComposeCommand, ComposeError
from tui.core.project_files import compose_config


@dataclass(frozen=True)
class PortSpec:
    container_port: int
    host_port: int | None
    host_ip: str
    protocol: str


@dataclass(frozen=True)
class HealthcheckSpec:
    test: tuple[str, ...]
    interval_s: float | None
    timeout_s: float | None
    retries: int | None
    start_period_s: float | None
    disabled: bool


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str | None
    ports: tuple[PortSpec, ...]
    healthcheck: HealthcheckSpec | None
    depends_on: tuple[str, ...]
    profiles: tuple[str, ...]
    environment: Mapping[str, str | None]
    restart: str | None
    labels: Mapping[str, str]
    volume_mounts: tuple[str, ...] = ()  # keys of the project's named volumes it mounts
    bind_sources: tuple[str, ...] = ()  # host paths it bind-mounts (on the engine's machine)
    build_context: str | None = None  # `build:` (compose resolves it to a path or URL)
    build_dockerfile: str = "Dockerfile"  # relative to the context, or absolute
    replicas: int | None = None  # `scale:` / `deploy.replicas`; 0: never started
    pull_policy: str | None = None  # always | never | missing | build (compose's names)
    # depends_on with its conditions: service_started (a plain list), service_healthy,
    # service_completed_successfully (the dependency is a job that must finish)
    depends_on_conditions: Mapping[str, str] = field(default_factory=dict)

    def published_port(self, container_port: int) -> int | None:
        """The host port published for `container_port`, if any."""
        for port in self.ports:
            if port.container_port == container_port and port.host_port is not None:
                return port.host_port
        return None


@dataclass(frozen=True)
class VolumeSpec:
    key: str  # the name in the compose file
    name: str  # the engine's name, e.g. envdeck-sample_postgres-data
    external: bool  # made outside compose: never envdeck's to remove


@dataclass(frozen=True)
class ComposeProject:
    name: str
    services: Mapping[str, ServiceSpec]
    volumes: tuple[str, ...]
    volume_specs: Mapping[str, VolumeSpec] = field(default_factory=dict)
    # `one_shot = true|false` from envdeck's settings, by service (tui.core.one_shot)
    one_shot_settings: Mapping[str, bool] = field(default_factory=dict)

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(self.services)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | int | float | None) -> float | None:
    """Compose durations ("1m30s", "500ms") in seconds; None when absent."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value) / 1e9  # compose writes bare numbers as nanoseconds
    parts = _DURATION_PART.findall(value)
    if not parts:
        raise ValueError(f"not a duration: {value!r}")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def _port(raw: Mapping[str, Any]) -> PortSpec:
    published = raw.get("published")
    return PortSpec(
        container_port=int(raw["target"]),
        host_port=int(published) if published not in (None, "") else None,
        host_ip=str(raw.get("host_ip") or "0.0.0.0"),  # noqa: S104 - compose's default, reported as is
        protocol=str(raw.get("protocol") or "tcp"),
    )


def _healthcheck(raw: Mapping[str, Any] | None) -> HealthcheckSpec | None:
    if not raw:
        return None
    test = raw.get("test") or ()
    return HealthcheckSpec(
        test=tuple(str(part) for part in test),
        interval_s=parse_duration(raw.get("interval")),
        timeout_s=parse_duration(raw.get("timeout")),
        retries=raw.get("retries"),
        start_period_s=parse_duration(raw.get("start_period")),
        disabled=bool(raw.get("disable")) or tuple(test[:1]) == ("NONE",),
    )


def _service(name: str, raw: Mapping[str, Any]) -> ServiceSpec:
    depends = raw.get("depends_on") or {}
    environment = raw.get("environment") or {}
    return ServiceSpec(
        name=name,
        image=raw.get("image"),
        ports=tuple(_port(port) for port in raw.get("ports") or ()),
        healthcheck=_healthcheck(raw.get("healthcheck")),
        depends_on=tuple(depends),  # a list, or a mapping of name -> condition
        profiles=tuple(raw.get("profiles") or ()),
        environment={str(key): value for key, value in environment.items()},
        restart=raw.get("restart"),
        labels={str(key): str(value) for key, value in (raw.get("labels") or {}).items()},
        volume_mounts=tuple(
            str(mount["source"])
            for mount in raw.get("volumes") or ()
            if mount.get("type") == "volume" and mount.get("source")
        ),
        bind_sources=tuple(
            str(mount["source"])
            for mount in raw.get("volumes") or ()
            if mount.get("type") == "bind" and mount.get("source")
        ),
        build_context=_build_context(raw.get("build")),
        build_dockerfile=_build_dockerfile(raw.get("build")),
        replicas=_replicas(raw),
        pull_policy=str(raw["pull_policy"]) if raw.get("pull_policy") else None,
        depends_on_conditions=_conditions(depends),
    )


def _conditions(depends: Any) -> dict[str, str]:
    if isinstance(depends, Mapping):
        return {
            str(name): str((spec or {}).get("condition") or "service_started")
            for name, spec in depends.items()
        }
    return {str(name): "service_started" for name in depends}


def _replicas(raw: Mapping[str, Any]) -> int | None:
    deploy = raw.get("deploy") or {}
    for value in (raw.get("scale"), deploy.get("replicas")):
        if value is not None:
            return int(value)
    return None


def _build_dockerfile(raw: object) -> str:
    if isinstance(raw, dict) and raw.get("dockerfile"):
        return str(raw["dockerfile"])
    return "Dockerfile"


def _build_context(raw: object) -> str | None:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, dict) and raw.get("context"):
        return str(raw["context"])
    return None


def _volume(key: str, raw: Mapping[str, Any] | None, project: str) -> VolumeSpec:
    raw = raw or {}
    return VolumeSpec(
        key=key,
        name=str(raw.get("name") or f"{project}_{key}"),
        external=bool(raw.get("external")),
    )


def parse_project(config: Mapping[str, Any]) -> ComposeProject:
    """A ComposeProject from the parsed output of `compose config --format json`."""
    services = config.get("services") or {}
    volumes = config.get("volumes") or {}
    name = str(config["name"])
    return ComposeProject(
        name=name,
        services={key: _service(key, raw) for key, raw in sorted(services.items())},
        volumes=tuple(sorted(volumes)),
        volume_specs={key: _volume(key, raw, name) for key, raw in sorted(volumes.items())},
    )


def load_project(compose: ComposeCommand, timeout: float = 30.0) -> ComposeProject:
    """Ask compose to resolve the project; ComposeError says what is wrong with the files."""
    output = compose_config(compose, timeout)  # started ahead, when it was
    try:
        return parse_project(json.loads(output))
    except (ValueError, KeyError, TypeError) as error:
        raise ComposeError(f"unexpected `compose config` output: {error}") from None
