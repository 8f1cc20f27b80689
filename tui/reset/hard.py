"""The hard reset: remove the project's containers and volumes, recreate, seed, baseline.

The user confirms a plan: exactly which containers and volumes go. Just before removing,
the plan is made again, and anything that appeared since it was shown stops the reset
rather than being destroyed unseen. External volumes are never the project's to remove
(compose does not label them), and protected services keep their containers and volumes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from docker.errors import NotFound

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeError
from tui.core.engine import PROJECT_LABEL, SERVICE_LABEL, DockerGateway
from tui.core.environment import Environment
from tui.core.status import ServiceStatus, build_statuses
from tui.reset.scope import check_ownership, is_protected
from tui.reset.seed import run_seeds
from tui.reset.states import StateManager
from tui.reset.steps import Outcome, Progress, StepFailed, StepRunner, no_progress

WAIT_POLL_S = 0.25


@dataclass(frozen=True)
class HardResetPlan:
    """What a hard reset destroys, as shown to the user before they confirm."""

    project: str
    containers: tuple[tuple[str, str], ...]  # (id, name), sorted by name
    volumes: tuple[str, ...]
    kept: tuple[str, ...]  # what stays, and why
    seeds: tuple[str, ...]
    protected: tuple[str, ...]  # services that are never reset

    def lines(self) -> list[str]:
        lines = [f"containers removed: {len(self.containers)}"]
        lines += [f"  {name}" for _, name in self.containers]
        lines.append(f"volumes removed (their data is lost): {len(self.volumes)}")
        lines += [f"  {name}" for name in self.volumes]
        if self.kept:
            lines.append("kept:")
            lines += [f"  {line}" for line in self.kept]
        lines.append("then: compose up, wait until healthy, " + _then(self.seeds))
        return lines

    def appeared_since(self, later: HardResetPlan) -> list[str]:
        """What `later` would destroy that this plan did not list."""
        known = {container_id for container_id, _ in self.containers}
        new = [f"container {name}" for cid, name in later.containers if cid not in known]
        new += [f"volume {name}" for name in later.volumes if name not in self.volumes]
        return new


def _then(seeds: tuple[str, ...]) -> str:
    steps = [*seeds, "take the baseline"]
    return ", ".join(steps)


def plan_hard_reset(
    settings: EnvdeckSettings, environment: Environment, gateway: DockerGateway
) -> HardResetPlan:
    """The plan for this moment (raises StepFailed for another checkout's containers)."""
    project = environment.project.name
    containers = gateway.project_containers(project)
    check_ownership(containers, settings, environment)
    protected = tuple(name for name in environment.project.services if is_protected(settings, name))
    kept_volumes = {
        spec_volume
        for name in protected
        for spec_volume in environment.project.services[name].volume_mounts
    }
    removed_containers = sorted(
        (
            (container.id or "", container.name or "")
            for container in containers
            if container.labels.get(SERVICE_LABEL) not in protected
        ),
        key=lambda pair: pair[1],
    )
    specs = environment.project.volume_specs
    protected_names = {specs[key].name for key in kept_volumes if key in specs}
    label = {"label": f"{PROJECT_LABEL}={project}"}
    labelled = sorted(volume.name for volume in gateway.client.volumes.list(filters=label))
    volumes = tuple(name for name in labelled if name not in protected_names)
    kept = [f"service {name}: protected in the config" for name in protected]
    kept += [f"volume {name}: used by a protected service" for name in sorted(protected_names)]
    kept += [
        f"volume {spec.name}: external, never removed" for spec in specs.values() if spec.external
    ]
    return HardResetPlan(
        project=project,
        containers=tuple(removed_containers),
        volumes=volumes,
        kept=tuple(kept),
        seeds=tuple(hook.title for hook in settings.seed),
        protected=protected,
    )


class HardReset:
    """A hard reset of the environment `states` manages; its baseline is retaken there
    (one StateManager, so its lock also keeps this baseline from overlapping a restore)."""

    def __init__(self, states: StateManager) -> None:
        self.states = states
        self.settings = states.settings
        self.environment = states.environment
        self.gateway = states.gateway

    def plan(self) -> HardResetPlan:
        return plan_hard_reset(self.settings, self.environment, self.gateway)

    def run(self, confirmed: HardResetPlan, progress: Progress = no_progress) -> Outcome:
        steps = StepRunner("hard reset", progress)
        ok = (
            steps.run("check nothing new appeared", lambda: self._recheck(confirmed))
            and steps.run("remove containers and volumes", lambda: self._remove(confirmed))
            and steps.run("create and start (compose up)", self._up)
            and steps.run("wait until every service is ready", self._wait)
        )
        ok = ok and run_seeds(steps, self.settings, self.environment, self.states.registry)
        if ok:
            steps.run("take the baseline", self._baseline)
        outcome = steps.outcome()
        self.states.record(outcome)
        return outcome

    def _recheck(self, confirmed: HardResetPlan) -> str:
        appeared = confirmed.appeared_since(self.plan())
        if appeared:
            raise StepFailed(
                "appeared after the list was shown, so nothing was removed: "
                + ", ".join(appeared)
                + ". Look at the new list and confirm again."
            )
        return "the list is unchanged"

    def _remove(self, plan: HardResetPlan) -> str:
        if not plan.protected:
            self.environment.compose.run("down", "--volumes", "--remove-orphans", timeout=180)
        else:
            # compose down -v would take the protected services' volumes too.
            client = self.gateway.client
            for container_id, _ in plan.containers:
                try:
                    client.containers.get(container_id).remove(force=True, v=True)
                except NotFound:
                    continue
            for name in plan.volumes:
                try:
                    client.volumes.get(name).remove(force=True)
                except NotFound:
                    continue
        return f"{len(plan.containers)} containers, {len(plan.volumes)} volumes"

    def _up(self) -> str:
        try:
            # Not --wait: it calls a one-shot service that exited 0 a failure
            # (docker/compose#10596); the next step waits by envdeck's own rule.
            self.environment.compose.run("up", "-d", timeout=self.settings.up_timeout)
        except ComposeError as error:
            raise StepFailed(str(error)) from None
        return "started"

    def _wait(self) -> str:
        deadline = time.monotonic() + self.settings.up_timeout
        project = self.environment.project
        while True:
            statuses = build_statuses(project, self.gateway.project_containers(project.name))
            failed = [s for s in statuses if _failed(s)]
            if failed:
                raise StepFailed(", ".join(f"{s.name} exited {s.exit_code}" for s in failed))
            waiting = [s for s in statuses if not s.is_ready]
            if not waiting:
                done = sum(1 for s in statuses if s.state == "exited")
                return f"{len(statuses)} ready" + (f" ({done} one-shot done)" if done else "")
            if time.monotonic() > deadline:
                raise StepFailed(
                    f"not ready after {self.settings.up_timeout:.0f} s: "
                    + ", ".join(f"{s.name} {s.state}/{s.health}" for s in waiting)
                )
            time.sleep(WAIT_POLL_S)

    def _baseline(self) -> str:
        return take_baseline_step(self.states)


def take_baseline_step(states: StateManager) -> str:
    """The baseline taken as one step of a larger operation."""
    outcome = states.take_baseline()
    if not outcome.ok:
        raise StepFailed(outcome.failure_summary)
    record = states.baseline()
    return f"{len(record.parts) if record else 0} services saved"


def prepare_new_environment(
    settings: EnvdeckSettings,
    environment: Environment,
    gateway: DockerGateway,
    *,
    fresh: bool,
    progress: Progress = no_progress,
) -> Outcome:
    """After `up`: seed an environment created from nothing, then take the baseline if
    there is no usable one (the first time the environment is healthy)."""
    steps = StepRunner("prepare the environment", progress)
    states = StateManager(settings, environment, gateway)
    if fresh and not run_seeds(steps, settings, environment, states.registry):
        return steps.outcome()
    if states.baseline_problem() is not None:
        steps.run("take the baseline", lambda: take_baseline_step(states))
    return steps.outcome()


def _failed(status: ServiceStatus) -> bool:
    """Exited with an error and not about to be restarted by its policy."""
    return status.state in ("exited", "dead") and status.exit_code not in (0, None)
