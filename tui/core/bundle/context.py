"""What the environment was like when a test failed: status, compose config, versions.

Taken once per run (`envdeck test --bundle DIR` shares it among every failure) or once per
key press, already masked (`scrub.py`). Blocking: the engine and `compose config`. What
cannot be told (no engine, compose refuses the files) is kept as a problem and said in
the bundle's README, never raised: a bundle of a failure is most useful when things broke.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tui import __version__
from tui.core.bundle.scrub import Scrubber, mask_config
from tui.core.compose_cli import ComposeError
from tui.core.engine import ENGINE_GONE, SERVICE_LABEL, DockerGateway, EngineUnavailable, docker
from tui.core.environment import Environment
from tui.core.monitor import DockerEnvironmentMonitor, EnvironmentMonitor

VERSION_TIMEOUT = 20.0  # seconds for `compose version` and `compose config`


@dataclass(frozen=True)
class BundleContext:
    """The environment at the time, masked; `scrubber` masks the texts written with it."""

    taken_at: str  # UTC ISO
    status: Mapping[str, Any] | None  # `envdeck status --json`'s document
    compose_config: Mapping[str, Any] | None  # `docker compose config --format json`, masked
    versions: Mapping[str, Any]
    scrubber: Scrubber = field(default_factory=Scrubber)
    problems: tuple[str, ...] = ()  # what could not be told, and why


def context_from(
    status: Mapping[str, Any] | None,
    compose_config: Mapping[str, Any] | None,
    versions: Mapping[str, Any],
    problems: tuple[str, ...] = (),
    *,
    taken_at: str | None = None,
) -> BundleContext:
    """A context from raw parts: the config masked, its secret values known to the
    scrubber, every other string of the parts masked by it."""
    masked, secrets = mask_config(compose_config) if compose_config is not None else (None, set())
    scrubber = Scrubber(secrets)
    return BundleContext(
        taken_at=taken_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        status=None if status is None else scrubber.data(status),
        compose_config=masked,
        versions=scrubber.data(versions),
        scrubber=scrubber,
        problems=tuple(scrubber.text(problem) for problem in problems),
    )


def collect_context(monitor: EnvironmentMonitor) -> BundleContext:
    """The environment as `monitor` sees it now (blocking). A monitor that is not the
    real one (a test's) gives its status only."""
    problems: list[str] = []
    snapshot = monitor.snapshot()
    status = snapshot.to_json()
    if snapshot.problem:
        problems.append(f"status: {snapshot.problem}")
    versions: dict[str, Any] = {"envdeck": __version__, "python": platform.python_version()}
    if not isinstance(monitor, DockerEnvironmentMonitor):
        problems.append("compose config and versions: not a Docker environment")
        return context_from(status, None, versions, tuple(problems))
    config: Mapping[str, Any] | None = None
    try:
        environment = monitor.environment(engine_connected=snapshot.engine.connected)
    except ComposeError as error:
        problems.append(f"compose config: {error}")
        return context_from(status, None, versions, tuple(problems))
    try:
        config = json.loads(
            environment.compose.run(
                "config", "--format", "json", timeout=VERSION_TIMEOUT, quick=True
            )
        )
    except (ComposeError, ValueError) as error:
        problems.append(f"compose config: {error}")
    versions.update(_tool_versions(monitor.gateway, environment, problems))
    return context_from(status, config, versions, tuple(problems))


def _tool_versions(
    gateway: DockerGateway, environment: Environment, problems: list[str]
) -> dict[str, Any]:
    versions: dict[str, Any] = {}
    try:
        versions["compose"] = environment.compose.run(
            "version", "--short", timeout=VERSION_TIMEOUT, quick=True
        ).strip()
    except ComposeError as error:
        problems.append(f"compose version: {error}")
    try:
        engine = gateway.client.version()
        versions["docker"] = {
            key: engine.get(key) for key in ("Version", "ApiVersion", "Os", "Arch", "KernelVersion")
        }
        versions["images"] = _images(gateway, environment.project.name)
    except (EngineUnavailable, *ENGINE_GONE) as error:
        problems.append(f"docker: {error}")
    return versions


def _images(gateway: DockerGateway, project: str) -> dict[str, dict[str, Any]]:
    """Each service's image as its container runs it: the tag asked for, the image id
    and the registry digests (what to pull to get exactly it)."""
    images: dict[str, dict[str, Any]] = {}
    for container in gateway.project_containers(project):
        service = container.labels.get(SERVICE_LABEL, "?")
        image_id = str(container.attrs.get("Image") or "")
        entry: dict[str, Any] = {
            "tag": (container.attrs.get("Config") or {}).get("Image"),
            "id": image_id,
            "digests": [],
        }
        try:
            image = gateway.client.images.get(image_id)
        except (docker.errors.ImageNotFound, docker.errors.APIError):
            image = None  # removed since: its id and tag still say which it was
        if image is not None:
            entry["digests"] = list(image.attrs.get("RepoDigests") or [])
        images[service] = entry
    return dict(sorted(images.items()))
