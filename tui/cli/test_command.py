"""`envdeck test [--watch] [PYTEST ARGS...]`: the headless test runner.

The same events the tests screen shows, as plain lines; exits with pytest's exit code.
The arguments go to pytest as given; what pytest says when it refuses them or cuts a run
short (exit 2-5) is printed as it said it. With --watch it reruns the tests a save affects
(in place of the arguments' selection, as pytest reads them: `tui.core.testrun.arguments`),
falls back to the whole selection when pytest refuses those tests' paths, cancels a run a
newer save overtakes, and waits while a service of the environment is starting or unhealthy. Unless
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
    CollectErrorEvent,
    FinishedEvent,
    Outcome,
    SessionFinishedEvent,
    TestRun,
    TestRunError,
    format_event,
    format_failure,
)
from tui.core.testrun.arguments import (
    PytestArguments,
    describe_run,
    read_arguments,
    whole_selection_instead,
)
from tui.core.testrun.printer import format_collect_error, format_pytest_message
from tui.core.testrun.project import project_python
from tui.core.testrun.warm import WarmStarts
from tui.core.text import safe_text
from tui.core.watch import (
    Affected,
    IgnoreRules,
    ImportGraph,
    SourceWatcher,
    find_affected,
    narrow,
)
from tui.reset.service import EnvironmentResets
from tui.reset.steps import Outcome as ResetOutcome
from tui.reset.steps import no_progress

FAILING = (Outcome.FAILED, Outcome.ERROR)
GATE_POLL_SECONDS = 1.0


def say(message: str) -> None:
    print(f"envdeck: {message}", file=sys.stderr, flush=True)


async def run_tests(
    root: Path, python: str, args: Sequence[str], warm: WarmStarts | None = None
) -> SessionFinishedEvent | None:
    """One run of pytest with `args`, printed as it happens: each test, each collection
    error and failure with pytest's report, and what pytest said when it refused the run
    or cut it short. None if pytest could not start."""
    run = TestRun(root, python=python, extra_args=args, warm=warm)
    try:
        async with run:
            async for event in run.events():
                if isinstance(event, SessionFinishedEvent):
                    said = format_pytest_message(event)
                    if said is not None:
                        print(said, flush=True)
                line = format_event(event)
                if line is not None:
                    print(line, flush=True)
                if isinstance(event, CollectErrorEvent):
                    print(format_collect_error(event), flush=True)
                if isinstance(event, FinishedEvent) and event.outcome in FAILING:
                    print(format_failure(event), flush=True)
            return await run.wait()
    except TestRunError as error:
        say(str(error))
        return None


def exit_code(result: SessionFinishedEvent | None) -> int:
    return 4 if result is None else result.exit_code  # could not start: as a usage error


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
    args: list[str],
    monitor: DockerEnvironmentMonitor | None,
    *,
    warm: WarmStarts | None = None,
    reset: Callable[[], ResetOutcome] | None = None,
    ignored_dirs: Sequence[Path] = (),
) -> int:
    graph = ImportGraph(root)
    current: asyncio.Task[int] | None = None
    # Which arguments are tests, asked of pytest while the first run goes on.
    reading = asyncio.create_task(read_arguments(root, python, args))

    async def gated_run(targets: list[str] | None, arguments: PytestArguments | None) -> int:
        """A run of `targets` in place of the selection (None: the arguments as given)."""
        await wait_for_environment(monitor)
        if reset is not None and not await reset_environment(reset):
            return 1
        try:
            if targets is None or arguments is None:
                return exit_code(await run_tests(root, python, args, warm))
            result = await run_tests(root, python, arguments.targeting(targets), warm)
            instead = (
                None if result is None else whole_selection_instead(targets, arguments, result)
            )
            if instead is None:
                return exit_code(result)
            say(safe_text(f"{instead}: running the whole selection instead ({describe_run(args)})"))
            return exit_code(await run_tests(root, python, args, warm))
        finally:
            task = asyncio.current_task()
            if warm is not None and task is not None and not task.cancelling():
                await warm.prepare(root, python)  # the next run's Python, while nobody waits

    try:
        current = asyncio.create_task(gated_run(None, None))
        watcher = SourceWatcher(root, rules=IgnoreRules(root, ignored_dirs=ignored_dirs))
        say(f"watching {root} (ctrl+c to stop)")
        arguments: PytestArguments | None = None
        async for batch in watcher.abatches():
            affected = await asyncio.to_thread(find_affected, graph, batch.paths)
            if affected.nothing:
                continue
            if arguments is None:
                arguments = await reading
                if not arguments.understood:
                    why = safe_text(arguments.why_unknown)
                    say(f"cannot tell which pytest arguments are tests ({why}): all run each time")
            targets = targets_for(arguments, affected, root)
            if targets == []:
                say(f"{affected.reason}: none of the selected tests is affected")
                continue
            if current is not None and not current.done():
                say("a newer change: cancelling the running tests")
                current.cancel()  # leaving TestRun's block kills the whole process group
                await asyncio.gather(current, return_exceptions=True)
            what = " ".join(targets) if targets is not None else "the selection"
            say(f"{affected.reason}: running {what}")
            current = asyncio.create_task(gated_run(targets, arguments))
        return 0
    finally:
        for task in (current, reading):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if warm is not None:
            await warm.aclose()


def targets_for(arguments: PytestArguments, affected: Affected, root: Path) -> list[str] | None:
    """The affected tests, to run in place of the arguments' selection; [] when none is
    affected; None for a run of the arguments as given (everything is affected, or pytest
    did not say which arguments are tests)."""
    if affected.run_all or not arguments.understood:
        return None
    return narrow(arguments.selection, affected, root=root)


def run_test_command(settings: EnvdeckSettings, watch: bool, pytest_args: Sequence[str]) -> int:
    root = (settings.config_dir or Path.cwd()).resolve()
    python = project_python(root, settings.test_python)
    args = [*settings.pytest_args, *pytest_args]  # pytest's, verbatim: it reads them itself
    try:
        if not watch:
            return exit_code(asyncio.run(run_tests(root, python, args)))
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
                args,
                monitor,
                warm=warm,
                reset=reset,
                ignored_dirs=state_dirs,
            )
        )
    except KeyboardInterrupt:
        return 130
