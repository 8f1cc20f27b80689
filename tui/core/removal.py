"""Carrying out a confirmed destructive plan (`guard.py`): exactly its containers and
volumes removed, and, when the engine fails part way, the command that brings the project
back. Call it through `DestructiveGuard.run`, which makes the plan again first.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from tui.core.compose_cli import ComposeError
from tui.core.engine import ENGINE_GONE, DockerGateway, describe_engine_error, docker
from tui.core.environment import Environment


class RemovalFailed(Exception):
    """A removal that had started did not finish: the message says what failed and the
    command that brings the project back."""


class PlannedRemoval(Protocol):
    """What a removal reads of a plan (`guard.DestructivePlan`)."""

    @property
    def containers(self) -> tuple[tuple[str, str], ...]: ...  # (id, name)

    @property
    def volumes(self) -> tuple[str, ...]: ...

    @property
    def protected(self) -> tuple[str, ...]: ...  # services that are never touched


def remove_planned(
    plan: PlannedRemoval,
    environment: Environment,
    gateway: DockerGateway,
    *,
    attached: bool = False,
    stop_timeout: int = 10,
) -> str:
    """Remove exactly the plan's containers and volumes (call it through `run`);
    RemovalFailed, naming the way back, when the engine fails part way."""
    try:
        return _remove(plan, environment, gateway, attached=attached, stop_timeout=stop_timeout)
    except (docker.errors.APIError, *ENGINE_GONE) as error:
        raise RemovalFailed(
            f"the removal stopped part way ({describe_engine_error(error)}); see what is "
            f"left with `envdeck status`, and bring it back with {bring_back_command(environment)}"
        ) from None


def _remove(
    plan: PlannedRemoval,
    environment: Environment,
    gateway: DockerGateway,
    *,
    attached: bool,
    stop_timeout: int,
) -> str:
    if not plan.protected:
        # compose stops in dependency order and removes the networks too; the plan was
        # made again a moment ago, so every container of the project is in it.
        args = ("down", "--remove-orphans")
        if attached:
            code = environment.compose.run_attached(*args)
            if code != 0:
                raise RemovalFailed(f"`compose down` failed (exit {code})")
        else:
            try:
                environment.compose.run(*args, timeout=180)
            except ComposeError as error:
                raise RemovalFailed(f"`compose down` failed: {error}") from None
    else:
        # compose down would take the protected services too: one container at a time.
        _each_container(gateway, plan.containers, stop_timeout)
    gone = _remove_volumes(gateway, plan.volumes)
    return f"{_count(len(plan.containers), 'container')}, {_count(gone, 'volume')} removed"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _each_container(
    gateway: DockerGateway, containers: Sequence[tuple[str, str]], stop_timeout: int
) -> None:
    def remove(container_id: str) -> None:
        try:
            container = gateway.client.containers.get(container_id)
            if container.status in ("running", "restarting", "paused"):
                container.stop(timeout=stop_timeout)
            container.remove(v=False, force=True)
        except docker.errors.NotFound:
            return

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="envdeck-down") as pool:
        list(pool.map(remove, [container_id for container_id, _ in containers]))


def _remove_volumes(gateway: DockerGateway, volumes: Sequence[str]) -> int:
    failed = []
    gone = 0
    for name in volumes:
        try:
            gateway.client.volumes.get(name).remove(force=True)
            gone += 1
        except docker.errors.NotFound:
            continue
        except docker.errors.APIError as error:
            failed.append(f"{name}: {error.explanation or error}")
    if failed:
        raise RemovalFailed(
            f"the containers are gone, {gone} volumes removed, but not: " + "; ".join(failed)
        )
    return gone


def bring_back_command(environment: Environment) -> str:
    """The command that creates the project again, for a message after a failed recreate."""
    files = " ".join(f"-f {file}" for file in environment.compose.files)
    return f"envdeck up (or: docker compose -p {environment.project.name} {files} up -d)".replace(
        "  ", " "
    )
