"""Waiting until a project is ready by envdeck's rule, not compose's.

`compose up --wait` calls a one-shot service (a migration, a seeder) that exited 0 a
failure (docker/compose#10596), so `up` and the hard reset start with `up -d` and wait
here: ready is `ServiceStatus.is_ready` (running and healthy, or a one-shot that is done),
and a service that ended with an error, or a server that stopped by itself, ends the
wait at once with its name instead of running out the timeout. An unhealthy one may still
recover, so the wait goes on, but it is said at once with what its check last printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from tui.core.compose_model import ComposeProject
from tui.core.details import unhealthy_by_service
from tui.core.engine import DockerGateway
from tui.core.status import ServiceStatus, build_statuses

POLL_S = 0.25
_RESTARTED_BY_DOCKER = ("always", "unless-stopped")


class NotReady(Exception):
    """The project did not become ready; the message names the services and why."""


def wait_until_ready(
    project: ComposeProject,
    gateway: DockerGateway,
    timeout: float,
    services: Sequence[str] = (),
    on_poll: Callable[[Sequence[ServiceStatus]], None] | None = None,
    *,
    on_unhealthy: Callable[[str], None] | None = None,
) -> str:
    """A summary once every service (or every one of `services`) is ready; NotReady
    when one failed or the timeout ran out. `on_unhealthy` hears once of each service
    that turns unhealthy, with why (the timeout's message says it too)."""
    deadline = time.monotonic() + timeout
    said: set[str] = set()
    while True:
        containers = gateway.project_containers(project.name)
        statuses = [
            status
            for status in build_statuses(project, containers)
            if _waited_for(project, status.name, services)
        ]
        if on_poll is not None:
            on_poll(statuses)
        failed = [why for status in statuses if (why := _failure(project, status)) is not None]
        if failed:
            raise NotReady(", ".join(failed))
        waiting = [status for status in statuses if not status.is_ready]
        if not waiting:
            done = sum(1 for status in statuses if status.is_done)
            return f"{len(statuses)} ready" + (f" ({done} one-shot done)" if done else "")
        waiting_for = {status.name for status in waiting}
        unhealthy = {
            service: why
            for service, why in unhealthy_by_service(c.attrs for c in containers).items()
            if service in waiting_for
        }
        if on_unhealthy is not None:
            for service in sorted(unhealthy.keys() - said):
                said.add(service)
                on_unhealthy(f"{service}: {unhealthy[service]}")
        if time.monotonic() > deadline:
            raise NotReady(
                f"not ready after {timeout:.0f} s: "
                + ", ".join(
                    f"{s.name} {s.state}/{s.health}"
                    + (f" ({unhealthy[s.name]})" if s.name in unhealthy else "")
                    for s in waiting
                )
            )
        time.sleep(POLL_S)


def _waited_for(project: ComposeProject, service: str, services: Sequence[str]) -> bool:
    """Services compose runs: not orphans (a service renamed or removed from the files),
    not one scaled to 0 replicas, and only the ones asked for."""
    spec = project.services.get(service)
    if spec is None or spec.replicas == 0:
        return False
    return not services or service in services


def _failure(project: ComposeProject, status: ServiceStatus) -> str | None:
    """Why `status` will not become ready by waiting longer, or None."""
    if status.state not in ("exited", "dead") or status.is_done:
        return None
    spec = project.services.get(status.name)
    if spec is not None and spec.restart in _RESTARTED_BY_DOCKER and not status.stop_requested:
        return None  # Docker starts it again (not one stopped by hand: that stays down)
    if status.exit_code not in (0, None):
        return f"{status.name} exited {status.exit_code}"
    if status.stop_requested:
        return f"{status.name} was stopped from outside while envdeck waited"
    return (
        f"{status.name} exited 0 by itself (a server that stopped; if it is a one-shot job, "
        f"say so with one_shot = true in [tool.envdeck.services.{status.name}])"
    )
