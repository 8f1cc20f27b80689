"""The one guard every destructive operation passes through.

Down (with or without volumes), a hard reset, a fast reset, a snapshot restore and every
destructive plugin action ask the guard for a plan, show it, and hand the confirmed plan
back to `DestructiveGuard.run`, which makes the plan again and acts only if nothing new
appeared. A plan is refused, before anything is touched, when:

- any container of the project name is another checkout's (tui.core.ownership);
- it would touch a service marked `protected = true`;
- it removes containers and volumes (hard reset, down -v) that compose could not create
  again: every image must be here, buildable, made by the offline setup, or pullable.

The plan names exactly the containers and volumes that go, and what stays and why.

Carrying out a confirmed removal (`remove_planned`) is `removal.py`, re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import TypeVar

from tui.config.settings import EnvdeckSettings
from tui.core import ownership
from tui.core.engine import (
    ENGINE_GONE,
    PROJECT_LABEL,
    SERVICE_LABEL,
    Container,
    DockerGateway,
    EngineUnavailable,
    describe_engine_error,
)
from tui.core.environment import Environment
from tui.core.images import image_availability, missing
from tui.core.removal import RemovalFailed, bring_back_command, remove_planned

__all__ = [
    "DestructiveGuard",
    "DestructivePlan",
    "GuardRefused",
    "Operation",
    "RemovalFailed",
    "bring_back_command",
    "is_protected",
    "ownership_problem",
    "project_directory",
    "protected_services",
    "remove_planned",
]

_ANONYMOUS_VOLUME = re.compile(r"^[0-9a-f]{64}$")
T = TypeVar("T")


class GuardRefused(Exception):
    """The operation must not run; the message says why and what to do instead. Nothing
    was changed."""


class Operation(Enum):
    DOWN = "down"
    DOWN_VOLUMES = "down -v"
    HARD_RESET = "hard reset"
    FAST_RESET = "fast reset"
    RESTORE = "snapshot restore"
    PLUGIN_ACTION = "plugin action"
    SNAPSHOT_DELETE = "snapshot delete"  # its parts may live in the servers

    @property
    def removes_containers(self) -> bool:
        return self in (Operation.DOWN, Operation.DOWN_VOLUMES, Operation.HARD_RESET)

    @property
    def removes_volumes(self) -> bool:
        return self in (Operation.DOWN_VOLUMES, Operation.HARD_RESET)


def is_protected(settings: EnvdeckSettings, service: str) -> bool:
    """`protected = true` in [tool.envdeck.services.NAME]: never reset, never removed."""
    return bool(settings.service(service).protected)


def protected_services(settings: EnvdeckSettings, environment: Environment) -> tuple[str, ...]:
    return tuple(name for name in environment.project.services if is_protected(settings, name))


def project_directory(settings: EnvdeckSettings, environment: Environment) -> Path:
    """The folder compose records as the project's working_dir."""
    return ownership.project_directory(settings, environment.compose)


def ownership_problem(
    containers: Sequence[Container], settings: EnvdeckSettings, environment: Environment
) -> str | None:
    """Why these containers are not this checkout's to touch, or None."""
    return ownership.ownership_problem(
        containers, settings, environment.compose, environment.project.name
    )


@dataclass(frozen=True)
class DestructivePlan:
    """What one destructive operation does, as shown to the user before they confirm."""

    project: str
    containers: tuple[tuple[str, str], ...]  # (id, name), sorted by name
    volumes: tuple[str, ...]
    kept: tuple[str, ...] = ()  # what stays, and why
    then: tuple[str, ...] = ()  # what follows (a hard reset: its seed hooks)
    protected: tuple[str, ...] = ()  # services that are never touched
    operation: Operation = Operation.HARD_RESET
    services: tuple[str, ...] = ()  # services whose data is changed in place
    recreate: tuple[str, ...] = ()  # where each removed service's image comes from
    notes: tuple[str, ...] = field(default=())  # warnings the user should read first

    def lines(self) -> list[str]:
        lines: list[str] = []
        if self.operation.removes_containers:
            lines.append(f"containers removed: {len(self.containers)}")
            lines += [f"  {name}" for _, name in self.containers]
        if self.operation.removes_volumes:
            lines.append(f"volumes removed (their data is lost): {len(self.volumes)}")
            lines += [f"  {name}" for name in self.volumes]
        if self.services:
            lines.append(f"data replaced: {', '.join(self.services)}")
        if self.kept:
            lines.append("kept:")
            lines += [f"  {line}" for line in self.kept]
        if self.recreate:
            lines.append("recreated from:")
            lines += [f"  {line}" for line in self.recreate]
        lines += [f"note: {note}" for note in self.notes]
        if self.operation is Operation.HARD_RESET:
            steps = ", ".join([*self.then, "take the baseline"])
            lines.append(f"then: compose up, wait until healthy, {steps}")
        elif self.then:
            lines.append("then: " + ", ".join(self.then))
        return lines

    def appeared_since(self, later: DestructivePlan) -> list[str]:
        """What `later` would destroy that this plan did not list."""
        known = {container_id for container_id, _ in self.containers}
        new = [f"container {name}" for cid, name in later.containers if cid not in known]
        new += [f"volume {name}" for name in later.volumes if name not in self.volumes]
        new += [f"data of {name}" for name in later.services if name not in self.services]
        return new


class DestructiveGuard:
    """Plans and runs destructive operations on one environment (blocking: call it from
    a worker thread in the UI)."""

    def __init__(
        self,
        settings: EnvdeckSettings,
        environment: Environment,
        gateway: DockerGateway,
        recorded_volumes: Collection[str] = (),
    ) -> None:
        self.settings = settings
        self.environment = environment
        self.gateway = gateway
        # Volumes this checkout's own records name (its baseline): with no container of
        # the project left, only these are provably this checkout's.
        self.recorded_volumes = frozenset(recorded_volumes)

    @property
    def project(self) -> str:
        return self.environment.project.name

    def plan(
        self,
        operation: Operation,
        services: Sequence[str] = (),
        then: Sequence[str] = (),
    ) -> DestructivePlan:
        """The plan for this moment; GuardRefused when it must not run."""
        try:
            containers = self.gateway.project_containers(self.project, one_off=True)
        except EngineUnavailable as error:
            raise GuardRefused(f"the Docker engine does not answer: {error}") from None
        problem = ownership_problem(containers, self.settings, self.environment)
        if problem is not None:
            raise GuardRefused(problem)
        protected = protected_services(self.settings, self.environment)
        touched = [name for name in services if name in protected]
        if touched:
            raise GuardRefused(
                f"{', '.join(touched)} is protected (protected = true in "
                f"[tool.envdeck.services.{touched[0]}]): envdeck never changes its data"
            )
        kept = [f"service {name}: protected in the config" for name in protected]
        base = DestructivePlan(
            project=self.project,
            containers=(),
            volumes=(),
            then=tuple(then),
            protected=protected,
            operation=operation,
            services=tuple(services),
        )
        if not operation.removes_containers:
            return replace(base, kept=tuple(kept) if services else ())
        removed = sorted(
            (
                (container.id or "", container.name or "")
                for container in containers
                if container.labels.get(SERVICE_LABEL) not in protected
            ),
            key=lambda pair: pair[1],
        )
        volumes: tuple[str, ...] = ()
        notes: list[str] = []
        if operation.removes_volumes:
            volumes, kept_volumes = self._volumes(containers, removed, protected)
            kept += kept_volumes
            unproven = [name for name in volumes if name not in self.recorded_volumes]
            if not containers and unproven:
                raise GuardRefused(
                    f"no container of {self.project} exists, so Docker's labels cannot tell "
                    f"which checkout {', '.join(unproven)} belong to, and this checkout's "
                    "baseline does not name them: nothing was removed. If they are this "
                    f"checkout's, `docker volume rm {' '.join(unproven)}` removes them"
                )
            self._check_volume_users(volumes, removed)
        recreate, lacking = self._recreate(operation, protected)
        notes += [f"cannot be created again here: {line}" for line in lacking]
        return replace(
            base,
            containers=tuple(removed),
            volumes=volumes,
            kept=tuple(kept),
            recreate=recreate,
            notes=tuple(notes),
        )

    def check_plugin_action(self, service: str) -> None:
        """A destructive plugin action on `service` may run now (GuardRefused if not)."""
        self.plan(Operation.PLUGIN_ACTION, [service])

    def run(self, confirmed: DestructivePlan, act: Callable[[DestructivePlan], T]) -> T:
        """`act(confirmed)` once the plan, made again now, holds nothing new."""
        later = self.plan(confirmed.operation, confirmed.services, confirmed.then)
        appeared = confirmed.appeared_since(later)
        if appeared:
            raise GuardRefused(
                "appeared after the list was shown, so nothing was removed: "
                + ", ".join(appeared)
                + ". Look at the new list and confirm again."
            )
        return act(confirmed)

    # ------------------------------------------------------------ parts of a plan

    def _volumes(
        self,
        containers: Sequence[Container],
        removed: Sequence[tuple[str, str]],
        protected: Sequence[str],
    ) -> tuple[tuple[str, ...], list[str]]:
        """(volumes removed, lines about those kept)."""
        specs = self.environment.project.volume_specs
        project = self.environment.project
        kept_keys = {key for name in protected for key in project.services[name].volume_mounts}
        kept_names = {specs[key].name for key in kept_keys if key in specs}
        # What the protected containers really mount, however it came to be mounted.
        kept_names |= {
            str(mount.get("Name"))
            for container in containers
            if container.labels.get(SERVICE_LABEL) in protected
            for mount in container.attrs.get("Mounts") or ()
            if mount.get("Type") == "volume" and mount.get("Name")
        }
        external = {spec.name for spec in specs.values() if spec.external}
        label = {"label": f"{PROJECT_LABEL}={self.project}"}
        try:
            labelled = {volume.name for volume in self.gateway.client.volumes.list(filters=label)}
        except ENGINE_GONE as error:
            raise GuardRefused(describe_engine_error(error)) from None
        removed_ids = {container_id for container_id, _ in removed}
        anonymous = {
            str(mount.get("Name"))
            for container in containers
            if container.id in removed_ids
            for mount in container.attrs.get("Mounts") or ()
            if mount.get("Type") == "volume"
            and _ANONYMOUS_VOLUME.match(str(mount.get("Name") or ""))
        }
        volumes = tuple(sorted((labelled | anonymous) - kept_names - external))
        kept = [f"volume {name}: used by a protected service" for name in sorted(kept_names)]
        kept += [f"volume {name}: external, never removed" for name in sorted(external)]
        return volumes, kept

    def _check_volume_users(
        self, volumes: Sequence[str], removed: Sequence[tuple[str, str]]
    ) -> None:
        """GuardRefused when a container the plan does not remove uses a planned volume:
        Docker would refuse that volume halfway through the removal."""
        removed_ids = {container_id for container_id, _ in removed}
        busy = []
        for name in volumes:
            try:
                users = self.gateway.client.containers.list(
                    all=True, filters={"volume": name}, ignore_removed=True
                )  # one removed meanwhile uses nothing
            except ENGINE_GONE as error:
                raise GuardRefused(describe_engine_error(error)) from None
            busy += [f"{name} by {user.name}" for user in users if user.id not in removed_ids]
        if busy:
            raise GuardRefused(
                "volumes in use by containers this plan does not remove: "
                + "; ".join(busy)
                + ". Nothing was removed: stop and remove those containers first."
            )

    def _recreate(
        self, operation: Operation, protected: Sequence[str]
    ) -> tuple[tuple[str, ...], list[str]]:
        """(where each removed service comes back from, those that cannot); GuardRefused
        when one cannot and the operation removes volumes (their data would be lost with
        nothing to bring it back)."""
        services = [name for name in self.environment.project.services if name not in protected]
        try:
            found = image_availability(
                self.settings,
                self.environment.project,
                self.gateway,
                services,
                offline=self.environment.offline,
                # A plain down only warns: it needs no answer from a registry.
                ask_registry=operation.removes_volumes,
            )
        except EngineUnavailable as error:
            raise GuardRefused(f"the Docker engine does not answer: {error}") from None
        lacking = missing(found)
        if lacking and operation.removes_volumes:
            raise GuardRefused(
                f"compose could not create {', '.join(item.service for item in lacking)} "
                "again, so nothing was removed: " + "; ".join(item.line() for item in lacking)
            )
        return tuple(item.line() for item in found), [item.line() for item in lacking]
