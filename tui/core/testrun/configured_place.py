"""The place the settings say a project's tests run in (`place.py`), built once."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeCommand, ComposeError
from tui.core.engine import DockerGateway
from tui.core.environment import compose_command
from tui.core.monitor import DockerEnvironmentMonitor, EnvironmentMonitor
from tui.core.testrun.place import ComposeService, LocalInterpreter, RunPlace
from tui.core.testrun.project import project_python


class PlaceError(Exception):
    """The configured test service cannot run the tests; the message says why."""


def run_place(
    settings: EnvdeckSettings,
    *,
    compose: ComposeCommand | None = None,
    gateway: DockerGateway | None = None,
) -> RunPlace:
    """Where the settings say the tests run. `compose` is the environment's compose command
    (with its offline overrides; `tui.core.environment`), `gateway` the engine to stop a
    cancelled run's container with. Blocking (`compose config`) when a service is set;
    PlaceError when that service cannot run them."""
    root = (settings.config_dir or Path.cwd()).resolve()
    if not settings.test_service:
        return LocalInterpreter(project_python(root, settings.test_python))
    compose = compose or compose_command(settings)
    service = settings.test_service
    where = settings.test_service_dir
    if where is None:
        where = project_dir_in_container(service_config(compose, service), root)
        if where is None:
            raise PlaceError(
                f"cannot tell where the project ({root}) is inside the `{service}` service: "
                "none of its bind mounts holds it; set test_service_dir to its path there"
            )
    engine = gateway or DockerGateway(timeout=settings.engine_timeout)
    return ComposeService(compose, service, where, engine, settings.test_service_python)


def environment_place(settings: EnvdeckSettings, monitor: EnvironmentMonitor | None) -> RunPlace:
    """`run_place` with the environment's own compose command and engine when the monitor
    is the Docker one (blocking: `compose config`)."""
    if not settings.test_service or not isinstance(monitor, DockerEnvironmentMonitor):
        return run_place(settings)
    environment = monitor.environment(engine_connected=True)
    return run_place(settings, compose=environment.compose, gateway=monitor.gateway)


def service_config(compose: ComposeCommand, service: str) -> Mapping[str, Any]:
    """The service as compose resolves it (naming it includes it whatever its profiles)."""
    try:
        output = compose.run("config", "--format", "json", service, quick=True)
    except ComposeError as error:
        raise PlaceError(f"test_service `{service}`: {error}") from None
    try:
        config: Any = json.loads(output)["services"][service]
    except (ValueError, KeyError, TypeError):
        raise PlaceError(f"test_service `{service}` is not in `compose config`") from None
    if not isinstance(config, dict):
        raise PlaceError(f"test_service `{service}`: unexpected `compose config` output")
    return config


def project_dir_in_container(config: Mapping[str, Any], root: Path) -> str | None:
    """Where `root` is inside the service's containers: under the bind mount of `root` or
    of its nearest parent (`./:/app` with root `./` gives /app; `..:/src` gives
    /src/<root's name>); None when no bind mount holds it."""
    best: tuple[int, str] | None = None
    for mount in config.get("volumes") or ():
        if not isinstance(mount, dict) or mount.get("type") != "bind":
            continue
        source, target = mount.get("source"), mount.get("target")
        if not isinstance(source, str) or not isinstance(target, str):
            continue
        try:
            inside = root.relative_to(Path(source).resolve())
        except ValueError:
            continue
        depth = len(Path(source).resolve().parts)
        if best is None or depth > best[0]:
            best = (depth, posixpath.join(target, *inside.parts) if inside.parts else target)
    return best[1] if best is not None else None
