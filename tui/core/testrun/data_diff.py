"""A data diff of one test: rerun it with every stateful service's data captured before
and after, and say what it changed; then put the data back as it was, unless kept.

For each service whose plugin saves states (`StatefulPlugin`): its state is saved under
a hidden name (a staging folder of the state store that is never committed, so it is in
no `snapshot list`), the plugin's `DiffablePlugin.begin_diff` starts watching, the test
runs alone (`TestRun` with its node id), each watch's `finish` says what changed, and the
saved state is restored and checked against its fingerprint, as a fast reset is (through
the one destructive guard first). The saved parts are deleted at the end whatever
happened, also when the caller is cancelled. A plugin without `begin_diff` says "no
diff for this service"; its data is still saved and put back.

No Textual: the tests screen and `envdeck test --diff NODEID` both call `diff_one_test`
(the CLI prints the result with `tui.presentation.diff_text`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tui.core.guard import GuardRefused, Operation
from tui.core.testrun.events import FinishedEvent, SessionFinishedEvent
from tui.core.testrun.model import Outcome
from tui.core.testrun.place import RunPlace
from tui.core.testrun.runner import TestRun
from tui.plugins.api import DiffablePlugin, DiffWatch, SavedState, ServiceDiff, StateRef
from tui.reset.scope import ServicesWithData, StatefulService
from tui.reset.states import StateManager
from tui.reset.steps import Outcome as Steps
from tui.reset.steps import Progress, StepFailed, StepRunner, no_progress

DIFF_STATE = "diff"  # the hidden saved states' names start so (their folders are staging)
DEFAULT_LIMIT = 20  # changes shown per kind; counts are always whole
NO_DIFF = "no diff for this service"


class DataDiffError(Exception):
    """The diff could not start (not this checkout's containers, a save failed): nothing
    was run and the data was not changed. The message says why."""


@dataclass(frozen=True)
class ServiceDataDiff:
    """One service's answer: its diff, or why there is none."""

    service: str
    plugin: str
    diff: ServiceDiff | None
    problem: str = ""  # NO_DIFF, or the plugin's error


@dataclass(frozen=True)
class DataDiffReport:
    nodeid: str
    outcome: Outcome | None  # the test's; None when it did not run (a collection error)
    finished: FinishedEvent | None  # its report: traceback, output, window
    session: SessionFinishedEvent | None
    services: tuple[ServiceDataDiff, ...]
    skipped: Mapping[str, str]  # services left alone, and why (protected, no plugin)
    kept: bool  # the data was left as the test left it
    restored: bool  # the data was put back and checked (False when kept, or it failed)
    steps: Steps  # save, begin, run, finish, restore: each timed, failures with reasons
    restore_problem: str = ""
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class _HiddenState:
    """The state saved before the test: a staging folder of the store, never committed."""

    name: str
    folder: Path

    def ref(self, item: StatefulService) -> StateRef:
        return StateRef(self.name, self.folder / item.service)


async def diff_one_test(
    states: StateManager,
    project_dir: Path | str,
    nodeid: str,
    *,
    python: str | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    limit: int = DEFAULT_LIMIT,
    keep: bool = False,
    progress: Progress = no_progress,
    place: RunPlace | None = None,
) -> DataDiffReport:
    """Rerun `nodeid` alone and diff every stateful service's data across it. Refused
    (DataDiffError) while a reset, save or restore is under way; one started meanwhile
    waits for the diff."""
    if "::" not in nodeid:
        raise DataDiffError(
            f"a data diff reruns one test: a node id such as tests/test_x.py::test_y, "
            f"not a file or folder ({nodeid})"
        )
    lock = states.operation_lock
    if not lock.acquire(blocking=False):
        raise DataDiffError("a reset or snapshot is under way: try again once it is done")
    try:
        return await _diff_one_test(
            states,
            project_dir,
            nodeid,
            python=python,
            extra_args=extra_args,
            env=env,
            limit=limit,
            keep=keep,
            progress=progress,
            place=place,
        )
    finally:
        lock.release()


async def _diff_one_test(
    states: StateManager,
    project_dir: Path | str,
    nodeid: str,
    *,
    python: str | None,
    extra_args: Sequence[str],
    env: Mapping[str, str] | None,
    limit: int,
    keep: bool,
    progress: Progress,
    place: RunPlace | None,
) -> DataDiffReport:
    steps = StepRunner(f"data diff of {nodeid}", progress)
    scope = await asyncio.to_thread(_checked, states)
    name = f"{DIFF_STATE}-{uuid.uuid4().hex[:12]}"  # two diffs at once never share copies
    staging = _HiddenState(name, states.store.begin(name))
    saved: dict[str, SavedState] = {}
    watches: dict[str, DiffWatch] = {}
    answers: dict[str, ServiceDataDiff] = {}
    restored, problem, test_ran = False, "", False
    try:
        await asyncio.to_thread(_save_all, scope.services, staging, saved, steps)
        failed = [item.service for item in scope.services if item.service not in saved]
        if failed:
            raise DataDiffError(
                f"cannot save {', '.join(failed)} before the test: "
                f"{steps.outcome().failure_summary}; nothing was run"
            )
        await asyncio.to_thread(_begin_all, scope.services, staging, watches, answers, steps)
        test_ran = True
        finished, session = await _run(
            TestRun(
                project_dir,
                python=python,
                nodeids=[nodeid],
                extra_args=extra_args,
                env=env,
                place=place,  # where the project's tests run: here, or in a compose service
            ),
            nodeid,
            steps,
        )
        await asyncio.to_thread(_finish_all, scope.services, watches, answers, limit, steps)
    finally:
        # Watches end first: a restore is no change of the test's to be told about.
        await asyncio.shield(asyncio.to_thread(_close_all, watches))
        # Also when the caller was cancelled mid-test: the data goes back all the same.
        if test_ran and not keep:
            restored, problem = await asyncio.shield(
                asyncio.to_thread(_restore_all, states, scope.services, staging, saved, steps)
            )
        await asyncio.shield(asyncio.to_thread(_clean_up, states, scope.services, staging))
    return DataDiffReport(
        nodeid=nodeid,
        outcome=finished.outcome if finished is not None else None,
        finished=finished,
        session=session,
        services=tuple(answers[item.service] for item in scope.services),
        skipped=dict(scope.skipped),
        kept=keep,
        restored=restored,
        steps=steps.outcome(),
        restore_problem=problem,
        limit=limit,
    )


def _checked(states: StateManager) -> ServicesWithData:
    try:
        return states.checked_services()
    except StepFailed as error:
        raise DataDiffError(str(error)) from None


def _each(items: Sequence[StatefulService], work: Callable[[StatefulService], None]) -> None:
    """`work(item)` for every item, in parallel: the services are independent."""
    if len(items) <= 1:
        for item in items:
            work(item)
        return
    with ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="envdeck-diff") as pool:
        list(pool.map(work, items))


def _save_all(
    items: Sequence[StatefulService],
    staging: _HiddenState,
    saved: dict[str, SavedState],
    steps: StepRunner,
) -> None:
    def save(item: StatefulService) -> None:
        def work() -> str:
            folder = staging.folder / item.service
            folder.mkdir()
            saved[item.service] = item.plugin.save_state(item.target, staging.ref(item))
            return saved[item.service].summary

        steps.run(f"save {item.service}", work)

    _each(items, save)


def _begin_all(
    items: Sequence[StatefulService],
    staging: _HiddenState,
    watches: dict[str, DiffWatch],
    answers: dict[str, ServiceDataDiff],
    steps: StepRunner,
) -> None:
    def begin(item: StatefulService) -> None:
        plugin = item.plugin
        if not isinstance(plugin, DiffablePlugin):
            answers[item.service] = ServiceDataDiff(item.service, item.plugin_name, None, NO_DIFF)
            steps.skip(f"watch {item.service}", f"the {item.plugin_name} plugin has no diff")
            return

        def work() -> str:
            try:
                watches[item.service] = plugin.begin_diff(item.target, staging.ref(item))
            except Exception as error:
                answers[item.service] = ServiceDataDiff(
                    item.service, item.plugin_name, None, str(error) or type(error).__name__
                )
                raise
            return "watching"

        steps.run(f"watch {item.service}", work)

    _each(items, begin)


async def _run(
    run: TestRun, nodeid: str, steps: StepRunner
) -> tuple[FinishedEvent | None, SessionFinishedEvent | None]:
    finished: FinishedEvent | None = None
    async with run:
        async for event in run.events():
            # The test itself; of a parametrized function's cases, the first that failed.
            if isinstance(event, FinishedEvent) and (
                finished is None
                or event.nodeid == nodeid
                or (finished.nodeid != nodeid and _worse(event, finished))
            ):
                finished = event
    session = run.result
    detail = finished.outcome.value if finished is not None else "did not run"
    steps.run(f"run {nodeid}", lambda: detail)
    return finished, session


def _worse(event: FinishedEvent, than: FinishedEvent) -> bool:
    failing = (Outcome.FAILED, Outcome.ERROR)
    return event.outcome in failing and than.outcome not in failing


def _finish_all(
    items: Sequence[StatefulService],
    watches: dict[str, DiffWatch],
    answers: dict[str, ServiceDataDiff],
    limit: int,
    steps: StepRunner,
) -> None:
    def finish(item: StatefulService) -> None:
        watch = watches.get(item.service)
        if watch is None:
            return

        def work() -> str:
            try:
                diff = watch.finish(limit)
            except Exception as error:
                answers[item.service] = ServiceDataDiff(
                    item.service, item.plugin_name, None, str(error) or type(error).__name__
                )
                raise
            answers[item.service] = ServiceDataDiff(item.service, item.plugin_name, diff)
            return f"{sum(group.count for group in diff.groups):,} changes"

        steps.run(f"diff {item.service}", work)

    _each(items, finish)


def _restore_all(
    states: StateManager,
    items: Sequence[StatefulService],
    staging: _HiddenState,
    saved: Mapping[str, SavedState],
    steps: StepRunner,
) -> tuple[bool, str]:
    """The data back as it was before the test, each part checked; (done, why not)."""
    services = tuple(item.service for item in items)
    if not services:
        return True, ""

    def recheck() -> str:
        try:
            states.guard.plan(Operation.RESTORE, services)
        except GuardRefused as error:
            raise StepFailed(str(error)) from None
        return "this checkout's containers"

    if not steps.run("check again", recheck):
        return False, steps.outcome().failure_summary
    failures: list[str] = []

    def restore(item: StatefulService) -> None:
        def work() -> str:
            message = item.plugin.restore_state(item.target, staging.ref(item))
            if item.plugin.fingerprint(item.target) != saved[item.service].fingerprint:
                raise StepFailed(f"{message}, but the data then differs from before the test")
            return f"{message}, checked"

        if not steps.run(f"put back {item.service}", work):
            failures.append(item.service)

    _each(items, restore)
    if failures:
        return False, steps.outcome().failure_summary
    return True, ""


def _close_all(watches: dict[str, DiffWatch]) -> None:
    """Every watch closed, once."""
    while watches:
        _, watch = watches.popitem()
        try:
            watch.close()
        except Exception:  # noqa: S112 - close must not keep the others from closing
            continue


def _clean_up(
    states: StateManager, items: Sequence[StatefulService], staging: _HiddenState
) -> None:
    """Every saved part deleted, whatever happened before."""
    for item in items:
        if (staging.folder / item.service).is_dir():
            try:
                item.plugin.delete_state(item.target, staging.ref(item))
            except Exception:  # noqa: S112 - a copy left in the server is dropped by the next save's sweep
                continue
    states.store.abandon(staging.folder)
