"""`envdeck test [--watch] [PYTEST ARGS...]`: the headless test runner.

The same events the tests screen shows, as plain lines; exits with pytest's exit code.
With --watch it reruns the tests a save affects, cancels a run a newer save overtakes,
and waits while a service of the environment is starting or unhealthy. Unless
`test_warm_start` is false, the next run's Python is started ahead of time, pytest
imported (`tui.core.testrun.warm`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeError
from tui.core.engine import DockerGateway
from tui.core.monitor import DockerEnvironmentMonitor
from tui.core.testrun import (
    FinishedEvent,
    Outcome,
    TestRun,
    TestRunError,
    format_event,
    format_failure,
)
from tui.core.testrun.project import project_python, split_args
from tui.core.testrun.warm import WarmStarts
from tui.core.text import safe_text
from tui.core.watch import IgnoreRules, ImportGraph, SourceWatcher, find_affected, narrow
from tui.reset.service import EnvironmentResets
from tui.reset.steps import Outcome as ResetOutcome
from tui.reset.steps import no_progress

FAILING = (Outcome.FAILED, Outcome.ERROR)
GATE_POLL_SECONDS = 1.0


def say(message: str) -> None:
    print(f"envdeck: {message}", file=sys.stderr, flush=True)


async def run_tests(
    root: Path,
    python: str,
    targets: Sequence[str],
    options: Sequence[str],
    warm: WarmStarts | None = None,
) -> int:
    """One run, printed as it happens; pytest's exit code."""
    run = TestRun(root, python=python, nodeids=targets, extra_args=options, warm=warm)
    try:
        async with run:
            async for event in run.events():
                line = format_event(event)
                if line is not None:
                    print(line, flush=True)
                if isinstance(event, FinishedEvent) and event.outcome in FAILING:
                    print(format_failure(event), flush=True)
            return (await run.wait()).exit_code
    except TestRunError as error:
        say(str(error))
        return 4


async def wait_for_environment(monitor: DockerEnvironmentMonitor | None) -> None:
    """Health gate: no run starts while a service is starting or unhealthy."""
    if monitor is None:
        return
    said = ""
    while True:
        status = await asyncio.to_thread(monitor.snapshot)
        waiting = status.gating_services
        if not waiting:
            return
        message = ", ".join(f"{safe_text(s.name)} ({s.health})" for s in waiting)
        if message != said:
            say(f"waiting for {message}")
            said = message
        await asyncio.sleep(GATE_POLL_SECONDS)


async def reset_environment(reset: Callable[[], ResetOutcome]) -> bool:
    """reset_before_watch_runs: the data back to the baseline first; False if it failed."""
    outcome = await asyncio.to_thread(reset)
    if outcome.ok:
        say(f"reset the environment to its baseline in {outcome.seconds:.2f} s")
    else:
        say(f"not running: the reset before the run failed: {outcome.failure_summary}")
    return outcome.ok


def environment_monitor(settings: EnvdeckSettings) -> DockerEnvironmentMonitor | None:
    """The environment to gate on, if this project has one envdeck can reach."""
    monitor = DockerEnvironmentMonitor(settings, DockerGateway(timeout=settings.engine_timeout))
    try:
        status = monitor.snapshot()
    except ComposeError:
        return None
    return monitor if status.engine.connected and status.problem is None else None


async def watch_tests(
    root: Path,
    python: str,
    selection: list[str],
    options: list[str],
    monitor: DockerEnvironmentMonitor | None,
    *,
    warm: WarmStarts | None = None,
    reset: Callable[[], ResetOutcome] | None = None,
    ignored_dirs: Sequence[Path] = (),
) -> int:
    graph = ImportGraph(root)
    current: asyncio.Task[int] | None = None

    async def gated_run(targets: list[str]) -> int:
        await wait_for_environment(monitor)
        if reset is not None and not await reset_environment(reset):
            return 1
        try:
            return await run_tests(root, python, targets, options, warm)
        finally:
            task = asyncio.current_task()
            if warm is not None and task is not None and not task.cancelling():
                await warm.prepare(root, python)  # the next run's Python, while nobody waits

    try:
        current = asyncio.create_task(gated_run(selection))
        watcher = SourceWatcher(root, rules=IgnoreRules(root, ignored_dirs=ignored_dirs))
        say(f"watching {root} (ctrl+c to stop)")
        async for batch in watcher.abatches():
            affected = await asyncio.to_thread(find_affected, graph, batch.paths)
            if affected.nothing:
                continue
            targets = narrow(selection, affected, root=root)
            if not targets and not affected.run_all:
                say(f"{affected.reason}: none of the selected tests is affected")
                continue
            if current is not None and not current.done():
                say("a newer change: cancelling the running tests")
                current.cancel()  # leaving TestRun's block kills the whole process group
                await asyncio.gather(current, return_exceptions=True)
            say(f"{affected.reason}: running {' '.join(targets) or 'the selection'}")
            current = asyncio.create_task(gated_run(targets))
        return 0
    finally:
        if current is not None and not current.done():
            current.cancel()
            await asyncio.gather(current, return_exceptions=True)
        if warm is not None:
            await warm.aclose()


def run_test_command(settings: EnvdeckSettings, watch: bool, pytest_args: Sequence[str]) -> int:
    root = (settings.config_dir or Path.cwd()).resolve()
    python = project_python(root, settings.test_python)
    selection, options = split_args([*settings.pytest_args, *pytest_args])
    try:
        if not watch:
            return asyncio.run(run_tests(root, python, selection, options))
        monitor = environment_monitor(settings)
        warm = WarmStarts() if settings.test_warm_start else None
        reset = None
        if settings.reset_before_watch_runs and monitor is not None:
            resets = EnvironmentResets(
                settings, monitor.gateway, partial(monitor.environment, engine_connected=True)
            )
            reset = partial(resets.fast_reset, no_progress)
        # A configured state_dir inside the project: a reset before a run writes there.
        state_dirs = [settings.state_dir] if settings.state_dir else []
        return asyncio.run(
            watch_tests(
                root,
                python,
                selection,
                options,
                monitor,
                warm=warm,
                reset=reset,
                ignored_dirs=state_dirs,
            )
        )
    except KeyboardInterrupt:
        return 130
