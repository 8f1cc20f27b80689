"""Saving and restoring the data of every service together: baselines and snapshots.

The services are independent, so their parts are saved and restored in parallel
threads; a restore is then checked against the fingerprint taken when it was saved.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tui.config.settings import EnvdeckSettings
from tui.core.engine import PROJECT_LABEL, Container, DockerGateway, EngineUnavailable
from tui.core.environment import Environment
from tui.core.guard import DestructiveGuard, GuardRefused, Operation
from tui.core.plugin_registry import PluginRegistry
from tui.core.status import build_statuses
from tui.plugins.api import StateRef
from tui.reset.recreation import (
    created_at_is_creation,
    parts_gone,
    recreated_volumes,
    volume_marks,
)
from tui.reset.scope import (
    ServicesWithData,
    StatefulService,
    check_ownership,
    services_with_data,
)
from tui.reset.state_folder import default_state_dir as default_state_dir  # noqa: PLC0414 - its old home
from tui.reset.steps import Outcome, Progress, StepFailed, StepRunner, no_progress
from tui.reset.store import (
    BASELINE,
    LastReset,
    SavedPart,
    StateRecord,
    StateStore,
    StateStoreError,
    VolumeMark,
    check_name,
    now,
)


class StateManager:
    """Baseline, snapshots and fast reset for one environment."""

    def __init__(
        self,
        settings: EnvdeckSettings,
        environment: Environment,
        gateway: DockerGateway,
        registry: PluginRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.environment = environment
        self.gateway = gateway
        self.registry = registry or PluginRegistry()
        self.store = StateStore(default_state_dir(settings, environment), environment.project.name)
        # One operation at a time: a cancelled caller (a watch run a newer save replaced)
        # cannot stop its thread, and two restores of one server must never overlap.
        self._busy = threading.Lock()
        self.guard = DestructiveGuard(settings, environment, gateway)

    @property
    def operation_lock(self) -> threading.Lock:
        """Held by every save, restore and delete, one at a time; the data diff holds it
        across its rerun of a test, so no reset puts data back under it."""
        return self._busy

    # ------------------------------------------------------------ what is there

    def containers(self) -> list[Container]:
        return self.gateway.project_containers(self.environment.project.name)

    def checked_services(self) -> ServicesWithData:
        """The services with data, once the containers are proven this checkout's."""
        containers = self.containers()
        check_ownership(containers, self.settings, self.environment)
        statuses = build_statuses(self.environment.project, containers)
        return services_with_data(self.settings, self.environment, self.registry, statuses)

    def volume_marks(self) -> dict[str, VolumeMark]:
        """What tells each of the project's volumes from one created again under its name
        (tui.reset.recreation); empty when the engine does not answer."""
        seen = self._engine_view()
        return seen[0] if seen is not None else {}

    def _engine_view(self) -> tuple[dict[str, VolumeMark], list[Container]] | None:
        """The volumes' marks and the project's containers, or None: the engine went away."""
        label = {"label": f"{PROJECT_LABEL}={self.environment.project.name}"}
        try:
            volumes = self.gateway.client.volumes.list(filters=label)
            containers = self.containers()
        except Exception:  # the engine went away: staleness is then unknown, not an error
            return None
        marks = volume_marks((v.attrs for v in volumes), (c.attrs for c in containers))
        return marks, containers

    def recorded_volumes(self) -> frozenset[str]:
        """The volumes this checkout's baseline names: with no container of the project
        left, the only proof that volumes are this checkout's (tui.core.guard)."""
        try:
            record = self.baseline()
        except StateStoreError:
            return frozenset()
        return frozenset(record.volumes) if record is not None else frozenset()

    def snapshots(self) -> list[StateRecord]:
        return [record for record in self.store.records() if record.name != BASELINE]

    def baseline(self) -> StateRecord | None:
        return self.store.read(BASELINE)

    def baseline_problem(self) -> str | None:
        """Why there is no usable baseline, or None when there is one."""
        try:
            record = self.baseline()
        except StateStoreError as error:
            return str(error)
        if record is None:
            return "no baseline has been taken"
        seen = self._engine_view()
        if seen is None:
            return "the Docker engine does not answer: whether the baseline still fits is unknown"
        current, containers = seen
        changed = recreated_volumes(
            record.volumes,
            current,
            created_at_is_identity=created_at_is_creation(self.gateway.client.api.api_version),
        )
        if changed:
            return f"volumes were recreated since the baseline: {', '.join(changed)}"
        statuses = build_statuses(self.environment.project, containers)
        scope = services_with_data(self.settings, self.environment, self.registry, statuses)
        gone = parts_gone(record, self.store.path(BASELINE), scope.services)
        if gone:
            return f"the baseline's part of {', '.join(gone)} is gone (a volume created again?)"
        return None

    # ------------------------------------------------------------ save

    def save(self, name: str, progress: Progress = no_progress) -> Outcome:
        return self._save(check_name(name), f"save snapshot {name}", progress)

    def take_baseline(self, progress: Progress = no_progress) -> Outcome:
        return self._save(BASELINE, "take baseline", progress)

    def _save(self, name: str, kind: str, progress: Progress) -> Outcome:
        with self._busy:
            return self._save_now(name, kind, progress)

    def _save_now(self, name: str, kind: str, progress: Progress) -> Outcome:
        steps = StepRunner(kind, progress)
        found: list[ServicesWithData] = []
        if not steps.run("check the containers are this checkout's", lambda: _found(self, found)):
            return steps.outcome()
        scope = found[0]
        for service, reason in scope.skipped.items():
            steps.skip(f"save {service}", reason)
        staging = self.store.begin(name)
        parts: dict[str, SavedPart] = {}

        def save_one(item: StatefulService) -> None:
            def work() -> str:
                folder = staging / item.service
                folder.mkdir()
                saved = item.plugin.save_state(item.target, StateRef(name, folder))
                parts[item.service] = SavedPart(
                    item.plugin_name,
                    saved.location,
                    saved.size_bytes,
                    saved.summary,
                    saved.fingerprint,
                )
                return saved.summary

            steps.run(f"save {item.service}", work)

        _each(save_one, scope.services)
        if not steps.outcome().ok:
            self.store.abandon(staging)
            return steps.outcome()
        record = StateRecord(
            name=name,
            project=self.environment.project.name,
            created_at=now(),
            parts=parts,
            skipped=dict(scope.skipped),
            volumes=self.volume_marks(),
        )
        self.store.commit(staging, record)
        return steps.outcome()

    # ------------------------------------------------------------ restore

    def fast_reset(self, progress: Progress = no_progress) -> Outcome:
        """Every service's data back to the baseline, checked; recorded as the last reset."""
        outcome = self._restore(BASELINE, "fast reset", progress)
        self.record(outcome)
        return outcome

    def restore(self, name: str, progress: Progress = no_progress) -> Outcome:
        return self._restore(check_name(name), f"restore snapshot {name}", progress)

    def _restore(self, name: str, kind: str, progress: Progress) -> Outcome:
        with self._busy:
            return self._restore_now(name, kind, progress)

    def _restore_now(self, name: str, kind: str, progress: Progress) -> Outcome:
        steps = StepRunner(kind, progress)
        records: list[StateRecord] = []

        def read() -> str:
            record = self.store.read(name)
            if record is None:
                if name == BASELINE:
                    raise StepFailed(
                        "no baseline yet: envdeck takes one the first time the environment "
                        "is healthy; take it now with `envdeck snapshot baseline`, or run "
                        "a hard reset"
                    )
                known = ", ".join(record.name for record in self.snapshots()) or "none"
                raise StepFailed(f"no snapshot named {name!r} (saved: {known})")
            records.append(record)
            return "saved " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created_at))

        found: list[ServicesWithData] = []
        if not steps.run("check the containers are this checkout's", lambda: _found(self, found)):
            return steps.outcome()
        if not steps.run(f"read {name}", read):
            return steps.outcome()
        record = records[0]
        scope = found[0]
        for service, reason in scope.skipped.items():
            steps.skip(f"reset {service}", reason)
        to_restore = []
        for item in scope.services:
            if item.service in record.parts:
                to_restore.append(item)
            else:
                steps.skip(f"reset {item.service}", f"not in {name} (added since it was saved)")

        def restore_one(item: StatefulService) -> None:
            part = record.parts[item.service]
            ref = StateRef(name, self.store.path(name) / item.service)

            def work() -> str:
                message = item.plugin.restore_state(item.target, ref)
                if item.plugin.fingerprint(item.target) != part.fingerprint:
                    raise StepFailed(f"{message}, but the data then differs from {name}")
                return f"{message}, checked"

            steps.run(f"reset {item.service}", work)

        # The one guard: ownership and protected services, checked again just before the
        # data is replaced (the first check was before the saved state was read).
        operation = Operation.FAST_RESET if name == BASELINE else Operation.RESTORE
        guarded = tuple(item.service for item in to_restore)
        if not guarded:
            return steps.outcome()
        # Every part must be restorable before any is restored: one that is not (its
        # copies in the server went with a new volume, or another checkout deleted them)
        # would otherwise leave some services restored and others not.
        if not steps.run(
            "check every part can be restored",
            lambda: _all_restorable(to_restore, name, self.store.path(name)),
        ):
            return steps.outcome()
        if not steps.run("check again", lambda: self._recheck(operation, guarded)):
            return steps.outcome()
        _each(restore_one, to_restore)
        return steps.outcome()

    def _recheck(self, operation: Operation, services: tuple[str, ...]) -> str:
        try:
            self.guard.plan(operation, services)
        except GuardRefused as error:
            raise StepFailed(str(error)) from None
        return f"this checkout's containers; replacing the data of {', '.join(services)}"

    def delete(self, name: str, progress: Progress = no_progress) -> Outcome:
        with self._busy:
            return self._delete_now(name, progress)

    def _delete_now(self, name: str, progress: Progress) -> Outcome:
        steps = StepRunner(f"delete snapshot {name}", progress)
        # A snapshot's parts may live in the servers (PostgreSQL's template databases):
        # another checkout's servers are not this checkout's to delete from.
        if not steps.run("check the containers are this checkout's", self._check_owner):
            return steps.outcome()
        record = self.store.read(check_name(name))
        if record is None:
            steps.run(f"find {name}", _fail(f"no snapshot named {name!r}"))
            return steps.outcome()
        scope = services_with_data(self.settings, self.environment, self.registry, ())
        plugins = {item.service: item for item in scope.services}
        for service in record.parts:
            item = plugins.get(service)
            if item is not None:
                ref = StateRef(name, self.store.path(name) / service)
                steps.run(f"delete {service}'s part", _call(item, ref))
        steps.run(f"delete {name}", lambda: _remove(self.store, name))
        return steps.outcome()

    def _check_owner(self) -> str:
        try:
            self.guard.plan(Operation.SNAPSHOT_DELETE)
        except GuardRefused as error:
            raise StepFailed(str(error)) from None
        return "this checkout's"

    def record(self, outcome: Outcome) -> None:
        """Keep `outcome` as the last reset (shown in the dashboard's header)."""
        last = LastReset(outcome.kind, now(), outcome.seconds, outcome.ok, outcome.failure_summary)
        with contextlib.suppress(OSError):  # the reset itself is done; only its record is lost
            self.store.record_reset(last)


def _found(manager: StateManager, into: list[ServicesWithData]) -> str:
    try:
        scope = manager.checked_services()
    except EngineUnavailable as error:
        raise StepFailed(f"the Docker engine does not answer: {error}") from None
    into.append(scope)
    names = ", ".join(item.service for item in scope.services) or "none"
    return f"services with data: {names}"


def _each(work: Callable[[StatefulService], None], items: Sequence[StatefulService]) -> None:
    if len(items) <= 1:
        for item in items:
            work(item)
        return
    with ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="envdeck-state") as pool:
        list(pool.map(work, items))


def _all_restorable(items: Sequence[StatefulService], name: str, folder: Path) -> str:
    lost = []
    for item in items:
        try:
            if not item.plugin.state_exists(item.target, StateRef(name, folder / item.service)):
                lost.append(item.service)
        except Exception:  # noqa: S112 - cannot tell (the service is down): its reset says so
            continue
    if lost:
        raise StepFailed(
            f"{name} cannot be restored: {', '.join(lost)} no longer "
            f"{'has' if len(lost) == 1 else 'have'} its saved data (a new volume, or deleted "
            "from another checkout); nothing was changed. Save or take it again."
        )
    return f"{len(items)} parts"


def _fail(message: str) -> Callable[[], str]:
    def work() -> str:
        raise StepFailed(message)

    return work


def _call(item: StatefulService, ref: StateRef) -> Callable[[], str]:
    def work() -> str:
        item.plugin.delete_state(item.target, ref)
        return "deleted"

    return work


def _remove(store: StateStore, name: str) -> str:
    store.remove(name)
    return "deleted"
