"""The hard reset: remove the project's containers and volumes, recreate, seed, baseline.

The user confirms a plan from the one destructive guard (tui.core.guard): exactly which
containers and volumes go, and proof that compose can create them again. Just before
removing, the plan is made again, and anything that appeared since it was shown stops the
reset rather than being destroyed unseen. External volumes are never removed, and
protected services keep their containers and volumes.
"""

from __future__ import annotations

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeError
from tui.core.engine import DockerGateway
from tui.core.environment import Environment, prepare_offline
from tui.core.guard import (
    DestructiveGuard,
    DestructivePlan,
    GuardRefused,
    Operation,
    RemovalFailed,
    bring_back_command,
    remove_planned,
)
from tui.core.readiness import NotReady, wait_until_ready
from tui.reset.seed import run_seeds
from tui.reset.states import StateManager
from tui.reset.steps import Outcome, Progress, StepFailed, StepRunner, no_progress

HardResetPlan = DestructivePlan  # a hard reset's plan is the guard's plan


def plan_hard_reset(
    settings: EnvdeckSettings,
    environment: Environment,
    gateway: DockerGateway,
    recorded_volumes: frozenset[str] = frozenset(),
) -> HardResetPlan:
    """The plan for this moment (StepFailed for another checkout's containers, or for an
    image compose could not get again)."""
    guard = DestructiveGuard(settings, environment, gateway, recorded_volumes)
    seeds = tuple(hook.title for hook in settings.seed)
    try:
        return guard.plan(Operation.HARD_RESET, then=seeds)
    except GuardRefused as error:
        raise StepFailed(str(error)) from None


class HardReset:
    """A hard reset of the environment `states` manages; its baseline is retaken there
    (one StateManager, so its lock also keeps this baseline from overlapping a restore)."""

    def __init__(self, states: StateManager) -> None:
        self.states = states
        self.settings = states.settings
        self.environment = states.environment
        self.gateway = states.gateway
        self.guard = DestructiveGuard(
            self.settings, self.environment, self.gateway, states.recorded_volumes()
        )

    def plan(self) -> HardResetPlan:
        return plan_hard_reset(
            self.settings, self.environment, self.gateway, self.states.recorded_volumes()
        )

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
            steps.run(BASELINE_STEP, self._baseline)
        outcome = steps.outcome()
        self.states.record(outcome)
        return outcome

    def _recheck(self, confirmed: HardResetPlan) -> str:
        try:
            self.guard.run(confirmed, lambda plan: None)
        except GuardRefused as error:
            raise StepFailed(str(error)) from None
        return "the list is unchanged"

    def _remove(self, plan: HardResetPlan) -> str:
        # `_recheck`, the step just before, made the plan again through the guard.
        try:
            return remove_planned(plan, self.environment, self.gateway)
        except RemovalFailed as error:
            raise StepFailed(str(error)) from None

    def _up(self) -> str:
        try:
            if self.environment.offline:  # the plan counted on it for missing images
                prepare_offline(self.settings, lambda _: None)
            # Not --wait: it calls a one-shot service that exited 0 a failure
            # (docker/compose#10596); the next step waits by envdeck's own rule.
            self.environment.compose.run("up", "-d", timeout=self.settings.up_timeout)
        except ComposeError as error:
            raise StepFailed(
                f"{error}. Everything was removed and compose could not create it again: "
                "fix the cause above, then bring it back with "
                + bring_back_command(self.environment)
            ) from None
        return "started"

    def _wait(self) -> str:
        try:
            return wait_until_ready(
                self.environment.project, self.gateway, self.settings.up_timeout
            )
        except NotReady as error:
            raise StepFailed(str(error)) from None

    def _baseline(self) -> str:
        return take_baseline_step(self.states)


BASELINE_STEP = "take the baseline"


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
        steps.run(BASELINE_STEP, lambda: take_baseline_step(states))
    return steps.outcome()
