"""Everything the dashboard's reset dialog asks for, behind one small interface.

Every method blocks (engine, plugins, files): the UI calls them from worker threads.
Snapshot tests give the dialog a fixed implementation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from tui.config.settings import EnvdeckSettings
from tui.reset.state_folder import default_state_dir

if TYPE_CHECKING:
    from tui.core.engine import DockerGateway
    from tui.core.environment import Environment
    from tui.core.plugin_registry import PluginRegistry
    from tui.reset.hard import HardReset, HardResetPlan
    from tui.reset.states import StateManager
    from tui.reset.steps import Outcome, Progress
    from tui.reset.store import LastReset, StateRecord

# The state manager, the hard reset and the plugins (docker-py among them) are imported
# when a reset is first asked for, in a worker: not before the dashboard's first frame.
# ruff: noqa: PLC0415


@dataclass(frozen=True)
class ResetOverview:
    """What the dialog shows before the user chooses."""

    project: str
    baseline: StateRecord | None
    baseline_problem: str | None  # why a fast reset cannot run, or None
    snapshots: tuple[StateRecord, ...]
    last_reset: LastReset | None
    protected: tuple[str, ...] = field(default=())
    now: float = field(default_factory=time.time)  # when it was read: ages are from here


class Resets(Protocol):
    def overview(self) -> ResetOverview: ...

    def last_reset(self) -> LastReset | None: ...

    def plan_hard(self) -> HardResetPlan: ...

    def fast_reset(self, progress: Progress) -> Outcome: ...

    def hard_reset(self, plan: HardResetPlan, progress: Progress) -> Outcome: ...

    def restore(self, name: str, progress: Progress) -> Outcome: ...

    def save(self, name: str, progress: Progress) -> Outcome: ...

    def take_baseline(self, progress: Progress) -> Outcome: ...

    def baseline_notice(self, outcome: Outcome) -> str | None:
        """What to say about a baseline taken by itself: advice when it failed, once per
        reason (tui.reset.baseline_notice); None when it was taken or already said."""
        ...

    def delete(self, name: str, progress: Progress) -> Outcome: ...


class EnvironmentResets:
    """The real thing, for one environment, resolved on first use (from a worker: it
    runs `compose config`), so building the app costs nothing."""

    def __init__(
        self,
        settings: EnvdeckSettings,
        gateway_of: Callable[[], DockerGateway],
        environment_of: Callable[[], Environment],
        registry: PluginRegistry | None = None,
    ) -> None:
        self._settings = settings
        self._gateway_of = gateway_of
        self._environment_of = environment_of
        self._registry = registry
        self._lock = threading.Lock()
        self._parts: tuple[StateManager, HardReset] | None = None

    @property
    def states(self) -> StateManager:
        return self._resolved()[0]

    @property
    def hard(self) -> HardReset:
        return self._resolved()[1]

    def _resolved(self) -> tuple[StateManager, HardReset]:
        with self._lock:
            if self._parts is None:
                from tui.reset.hard import HardReset
                from tui.reset.states import StateManager

                environment = self._environment_of()
                gateway = self._gateway_of()
                states = StateManager(self._settings, environment, gateway, self._registry)
                hard = HardReset(states)
                self._parts = (states, hard)
            return self._parts

    def overview(self) -> ResetOverview:
        from tui.core.guard import is_protected
        from tui.reset.store import StateStoreError

        try:
            baseline = self.states.baseline()
        except StateStoreError:
            baseline = None
        settings = self.states.settings
        return ResetOverview(
            project=self.states.environment.project.name,
            baseline=baseline,
            baseline_problem=self.states.baseline_problem(),
            snapshots=tuple(self.states.snapshots()),
            last_reset=self.states.store.last_reset(),
            protected=tuple(
                name
                for name in self.states.environment.project.services
                if is_protected(settings, name)
            ),
        )

    def last_reset(self) -> LastReset | None:
        if self._parts is not None:
            return self.states.store.last_reset()
        # The header asks at start: one small file, without the reset machinery.
        from tui.reset.store import StateStore

        environment = self._environment_of()
        folder = default_state_dir(self._settings, environment)
        return StateStore(folder, environment.project.name).last_reset()

    def plan_hard(self) -> HardResetPlan:
        return self.hard.plan()

    def fast_reset(self, progress: Progress) -> Outcome:
        return self.states.fast_reset(progress)

    def hard_reset(self, plan: HardResetPlan, progress: Progress) -> Outcome:
        return self.hard.run(plan, progress)

    def restore(self, name: str, progress: Progress) -> Outcome:
        return self.states.restore(name, progress)

    def save(self, name: str, progress: Progress) -> Outcome:
        return self.states.save(name, progress)

    def take_baseline(self, progress: Progress) -> Outcome:
        return self.states.take_baseline(progress)

    def baseline_notice(self, outcome: Outcome) -> str | None:
        from tui.reset.baseline_notice import automatic_baseline_notice

        return automatic_baseline_notice(self.states.store, outcome)

    def delete(self, name: str, progress: Progress) -> Outcome:
        return self.states.delete(name, progress)
