"""Which compose files are in effect, and bringing the project up or down.

Offline selection: the configured offline override files are layered over the compose
files when ENVDECK_OFFLINE=1, or when an upstream image is missing locally and pulling it
fails. Read-only commands never pull: they pick offline when an upstream image is missing.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeCommand, ComposeError
from tui.core.compose_model import ComposeProject, load_project
from tui.core.engine_facts import EngineUnavailable
from tui.core.one_shot import with_one_shot_settings
from tui.core.ownership import ownership_problem
from tui.core.project_files import compose_command as compose_command  # noqa: PLC0414 - re-exported
from tui.core.project_files import config_ahead, forget_ahead

if TYPE_CHECKING:
    from tui.core.engine import DockerGateway

Report = Callable[[str], None]


class ImageLookup(Protocol):
    """Whether an image is on the engine: `DockerGateway`, or `EngineHttp` for the quick
    commands, which resolve the environment without importing docker-py (issue 17)."""

    def image_exists(self, reference: str) -> bool: ...


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class Environment:
    """The resolved project and the compose command that reaches it."""

    compose: ComposeCommand
    project: ComposeProject
    offline: bool


def missing_images(project: ComposeProject, gateway: ImageLookup) -> list[str]:
    images = sorted({spec.image for spec in project.services.values() if spec.image})
    return [image for image in images if not gateway.image_exists(image)]


def resolve_environment(
    settings: EnvdeckSettings,
    gateway: ImageLookup | None,
    *,
    allow_pull: bool = False,
    report: Report = _quiet,
) -> Environment:
    """The environment as it runs here; ComposeError for broken files."""
    # The offline files' `compose config` runs beside the plain one's: one wait, not two.
    config_ahead(settings)
    try:
        return _resolve(settings, gateway, allow_pull=allow_pull, report=report)
    finally:
        forget_ahead(settings)


def _resolve(
    settings: EnvdeckSettings, gateway: ImageLookup | None, *, allow_pull: bool, report: Report
) -> Environment:
    compose = compose_command(settings)
    try:
        project = with_one_shot_settings(load_project(compose), settings)
    except ComposeError as error:
        files = ", ".join(str(file) for file in compose.files) or "the compose file found here"
        raise ComposeError(f"compose cannot read {files}: {error}") from None
    if not settings.offline_compose_files or settings.offline is False:
        return Environment(compose, project, offline=False)
    if settings.offline is not True:
        if gateway is None:
            return Environment(compose, project, offline=False)
        try:
            missing = missing_images(project, gateway)
        except EngineUnavailable:
            return Environment(compose, project, offline=False)
        if not missing:
            return Environment(compose, project, offline=False)
        if allow_pull and _pull(compose, project, missing, report):
            return Environment(compose, project, offline=False)
    offline = compose.with_files(settings.offline_compose_files)
    project = with_one_shot_settings(load_project(offline), settings)
    return Environment(offline, project, offline=True)


def with_port_conflicts(
    message: str, environment: Environment, gateway: DockerGateway, services: Sequence[str]
) -> str:
    """`compose up`'s failure, with who holds each port it could not publish: the
    engine's "port is already allocated" names neither the holder nor the way out."""
    from tui.core.port_holders import held_ports  # noqa: PLC0415 - only on failure

    for conflict in held_ports(environment.project, gateway, services):
        message += f"\n{conflict}; fix: {conflict.fix}"
    return message


def _pull(
    compose: ComposeCommand, project: ComposeProject, missing: Sequence[str], report: Report
) -> bool:
    services = [name for name, spec in project.services.items() if spec.image in missing]
    report(f"pulling {', '.join(missing)}")
    try:
        compose.run("pull", "--quiet", *services, timeout=600)
    except ComposeError as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "no reason"
        report(f"cannot pull ({reason[:160]}): using the offline images instead")
        return False
    return True


def prepare_offline(settings: EnvdeckSettings, report: Report) -> None:
    """Run the configured offline setup (e.g. build the base image when it is missing)."""
    if not settings.offline_setup:
        return
    result = subprocess.run(settings.offline_setup, cwd=settings.config_dir, check=False)
    if result.returncode != 0:
        raise ComposeError(
            f"offline setup `{' '.join(settings.offline_setup)}` failed (exit {result.returncode})"
        )


def bring_up(
    settings: EnvdeckSettings,
    gateway: DockerGateway,
    services: Sequence[str] = (),
    *,
    report: Report = _quiet,
    attached: bool = True,
) -> Environment:
    """Resolve the environment (pulling, else the offline files) and start it; ComposeError
    when it cannot be started or does not become ready."""
    environment = resolve_environment(settings, gateway, allow_pull=True, report=report)
    start_project(settings, environment, gateway, services, report=report, attached=attached)
    return environment


def start_project(
    settings: EnvdeckSettings,
    environment: Environment,
    gateway: DockerGateway,
    services: Sequence[str] = (),
    *,
    report: Report = _quiet,
    attached: bool = False,
    timeout: float | None = None,
) -> str:
    """The one way envdeck starts a project (`up`, `demo`, the dashboard's u/U): this
    checkout's containers only, offline images prepared, every image proven obtainable,
    `compose up -d`, then a wait by envdeck's rule. The wait's summary; ComposeError."""
    # Only starting needs these (and docker-py, through them): not the quick commands.
    from tui.core.images import ImagesMissing, check_can_create  # noqa: PLC0415
    from tui.core.readiness import NotReady, wait_until_ready  # noqa: PLC0415

    timeout = settings.up_timeout if timeout is None else timeout
    # compose would recreate another checkout's containers from this checkout's file.
    try:
        containers = gateway.project_containers(environment.project.name)
    except EngineUnavailable as error:
        raise ComposeError(str(error)) from None
    problem = ownership_problem(containers, settings, environment.compose, environment.project.name)
    if problem is not None:
        raise ComposeError(f"nothing was started: {problem}")
    if environment.offline:
        prepare_offline(settings, report)
    try:
        # Said plainly before compose starts: compose would print raw pull errors.
        check_can_create(
            settings, environment.project, gateway, services or None, offline=environment.offline
        )
    except (ImagesMissing, EngineUnavailable) as error:
        raise ComposeError(str(error)) from None
    # Not --wait: it calls a one-shot service that exited 0 a failure (docker/compose#10596).
    args = ["up", "-d", *services]
    try:
        if attached:
            code = environment.compose.run_attached(*args)
            if code != 0:
                raise ComposeError(f"`compose up` failed (exit {code})")
        else:
            environment.compose.run(*args, timeout=timeout + 60)
    except ComposeError as error:
        raise ComposeError(
            with_port_conflicts(str(error), environment, gateway, services)
        ) from None
    report("waiting until every service is ready")
    try:
        summary = wait_until_ready(
            environment.project,
            gateway,
            timeout,
            services,
            on_unhealthy=lambda why: report(f"{why}; still waiting (up to {timeout:.0f} s)"),
        )
    except (NotReady, EngineUnavailable) as error:
        raise ComposeError(f"up, but {error}") from None
    report(summary)
    return summary
