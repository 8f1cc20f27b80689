"""`envdeck test [--watch] [--wait[=S]] [--json] [--no-service-logs] [PYTEST ARGS...]`.

The headless test runner: the same events the tests screen shows, as plain lines (or
JSON objects with --json: `test_report.py`); each failure with every service's log lines of
its time window, and a failures summary at the end; exits with pytest's exit code.
Health gate: while a service of the environment is not ready (starting, unhealthy, stopped,
exited: `tui.core.watch.gate`) it refuses to run (EXIT_NOT_READY), or with --wait waits
for it, up to a timeout.
The arguments go to pytest as given; what pytest says when it refuses them or cuts a run
short (exit 2-5) is printed as it said it. With --watch it reruns the tests a save affects
(in place of the arguments' selection, as pytest reads them: `tui.core.testrun.arguments`),
falls back to the whole selection when pytest refuses those tests' paths, cancels a run a
newer save overtakes, and waits while a service of the environment is not ready. Unless
`test_warm_start` is false, the next run's Python is started ahead of time, pytest
imported (`tui.core.testrun.warm`).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from tui.cli.test_report import HeadlessOptions, Output, RunReport
from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeError
from tui.core.engine import DockerGateway
from tui.core.monitor import DockerEnvironmentMonitor, EnvironmentMonitor
from tui.core.testrun import SessionFinishedEvent, TestRun, TestRunError
from tui.core.testrun.arguments import (
    PytestArguments,
    describe_run,
    read_arguments,
    whole_selection_instead,
)
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
from tui.core.watch.gate import services_holding_runs, why_not_ready
from tui.reset.service import EnvironmentResets
from tui.reset.steps import Outcome as ResetOutcome
from tui.reset.steps import no_progress

GATE_POLL_SECONDS = 1.0
# Not a pytest exit code (0-5): the health gate refused, or --wait timed out.
EXIT_NOT_READY = 6


def say(message: str) -> None:
    print(f"envdeck: {message}", file=sys.stderr, flush=True)


async def run_tests(
    root: Path,
    python: str,
    args: Sequence[str],
    warm: WarmStarts | None = None,
    *,
    output: Output | None = None,
    monitor: EnvironmentMonitor | None = None,
) -> SessionFinishedEvent | None:
    """One run of pytest with `args`, printed as it happens: each test, each collection
    error and failure with pytest's report (and the service logs of its window, when
    `monitor`), what pytest said when it refused the run or cut it short, and the failures
    summary. None if pytest could not start."""
    report = RunReport(output or Output(HeadlessOptions()), monitor)
    run = TestRun(root, python=python, extra_args=args, warm=warm)
    try:
        async with run:
            async for event in run.events():
                await report.event(event)
            return await run.wait()
    except TestRunError as error:
        say(str(error))
        return None


def exit_code(result: SessionFinishedEvent | None) -> int:
    return 4 if result is None else result.exit_code  # could not start: as a usage error


async def wait_for_environment(
    monitor: EnvironmentMonitor | None, output: Output, timeout: float | None = None
) -> bool:
    """Health gate: no run starts while a service is not ready (`services_holding_runs`);
    says which and why each time that changes. False when `timeout` passed first."""
    if monitor is None:
        return True
    said = ""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        waiting = services_holding_runs(await asyncio.to_thread(monitor.snapshot))
        if not waiting:
            if said:
                say("the environment is ready")
            return True
        if deadline is not None and time.monotonic() >= deadline:
            message = output.not_ready(waiting, waiting=False)
            say(f"not running the tests: still not ready after {timeout:g} s: {message}")
            return False
        message = ", ".join(f"{safe_text(s.name)} {why_not_ready(s)}" for s in waiting)
        if message != said:
            output.not_ready(waiting, waiting=True)
            say(f"waiting for {message}")
            said = message
        await asyncio.sleep(GATE_POLL_SECONDS)


async def gate_once(monitor: EnvironmentMonitor | None, output: Output) -> bool:
    """Without --wait: True when the environment is ready; else say who holds it, and why."""
    if monitor is None:
        return True
    waiting = services_holding_runs(await asyncio.to_thread(monitor.snapshot))
    if not waiting:
        return True
    message = output.not_ready(waiting, waiting=False)
    say(f"not running the tests: {message} (start it, or pass --wait to wait for it)")
    return False


async def run_once(
    root: Path,
    python: str,
    args: Sequence[str],
    monitor: EnvironmentMonitor | None,
    options: HeadlessOptions,
) -> int:
    """`envdeck test` without --watch: the health gate, then one run; pytest's exit code,
    or EXIT_NOT_READY when the gate refused (or --wait timed out)."""
    output = Output(options)
    if options.wait is None:
        ready = await gate_once(monitor, output)
    else:
        ready = await wait_for_environment(monitor, output, options.wait)
    if not ready:
        return EXIT_NOT_READY
    return exit_code(await run_tests(root, python, args, output=output, monitor=monitor))


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
    options: HeadlessOptions | None = None,
) -> int:
    output = Output(options or HeadlessOptions())
    graph = ImportGraph(root)
    current: asyncio.Task[int] | None = None
    # Which arguments are tests, asked of pytest while the first run goes on.
    reading = asyncio.create_task(read_arguments(root, python, args))

    async def gated_run(targets: list[str] | None, arguments: PytestArguments | None) -> int:
        """A run of `targets` in place of the selection (None: the arguments as given)."""
        await wait_for_environment(monitor, output)
        if reset is not None and not await reset_environment(reset):
            return 1
        try:
            if targets is None or arguments is None:
                return exit_code(
                    await run_tests(root, python, args, warm, output=output, monitor=monitor)
                )
            result = await run_tests(
                root, python, arguments.targeting(targets), warm, output=output, monitor=monitor
            )
            instead = (
                None if result is None else whole_selection_instead(targets, arguments, result)
            )
            if instead is None:
                return exit_code(result)
            say(safe_text(f"{instead}: running the whole selection instead ({describe_run(args)})"))
            return exit_code(
                await run_tests(root, python, args, warm, output=output, monitor=monitor)
            )
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


def run_test_command(
    settings: EnvdeckSettings,
    watch: bool,
    pytest_args: Sequence[str],
    options: HeadlessOptions | None = None,
) -> int:
    root = (settings.config_dir or Path.cwd()).resolve()
    python = project_python(root, settings.test_python)
    args = [*settings.pytest_args, *pytest_args]  # pytest's, verbatim: it reads them itself
    options = options or HeadlessOptions()
    try:
        monitor = environment_monitor(settings)
        if not watch:
            return asyncio.run(run_once(root, python, args, monitor, options))
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
                options=options,
            )
        )
    except KeyboardInterrupt:
        return 130
