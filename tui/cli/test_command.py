"""`envdeck test [--watch] [--wait[=S]] [--json] [--no-service-logs] [PYTEST ARGS...]`.

The headless test runner: the same events the tests screen shows, as plain lines (or
JSON objects with --json: `test_report.py`); each failure with every service's log lines of
its time window, and a failures summary at the end; exits with pytest's exit code.
Health gate: while a service of the environment is not ready (starting, unhealthy, stopped,
exited: `tui.core.watch.gate`) it refuses to run (EXIT_NOT_READY), or with --wait waits
for it, up to a timeout.
The arguments go to pytest as given; what pytest says when it refuses them or cuts a run
short (exit 2-5) is printed as it said it. With --watch it is a face of the test session
(`tui.core.testrun.session`), as the tests screen is: the session reruns the tests a save
affects, folds saves that come during a run (or while the health gate holds one) into the
next run, falls back to the whole selection when pytest refuses those tests' paths, and
waits while a service of the environment is not ready; this module only prints what it
hears. Unless `test_warm_start` is false, the next run's Python is started ahead of time,
pytest imported (`tui.core.testrun.warm`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from tui.cli.stop_signals import until_stopped
from tui.cli.test_report import FAILING, HeadlessOptions, Output, RunReport
from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeError
from tui.core.engine import DockerGateway
from tui.core.monitor import DockerEnvironmentMonitor, EnvironmentMonitor
from tui.core.status import ServiceStatus
from tui.core.testrun import SessionFinishedEvent
from tui.core.testrun.arguments import command_line_first, describe_run, read_arguments
from tui.core.testrun.configured_place import PlaceError, environment_place
from tui.core.testrun.events import FinishedEvent, TestEvent
from tui.core.testrun.place import LocalInterpreter, RunPlace
from tui.core.testrun.printer import format_failure, format_pytest_message
from tui.core.testrun.project import project_python
from tui.core.testrun.run_state import RunState
from tui.core.testrun.session import SessionListener, TestSession
from tui.core.testrun.warm import WarmStarts
from tui.reset.service import EnvironmentResets
from tui.reset.steps import Outcome as ResetOutcome
from tui.reset.steps import no_progress

# Not a pytest exit code (0-5): the health gate refused, or --wait timed out.
EXIT_NOT_READY = 6
EXIT_USAGE = 4  # as pytest's usage error: the configured test service cannot run the tests


def say(message: str) -> None:
    print(f"envdeck: {message}", file=sys.stderr, flush=True)


class HeadlessListener(SessionListener):
    """Prints what the session does: each run's events (`RunReport`: a failure with its
    service logs, the failures summary), what it says, what holds a run."""

    def __init__(
        self,
        output: Output,
        monitor: EnvironmentMonitor | None,
        bundle_monitor: EnvironmentMonitor | None = None,
    ) -> None:
        self.output = output
        self.monitor = monitor
        # --bundle: the environment to describe (even one not ready, or unreachable).
        self.bundle_monitor = bundle_monitor or monitor
        self._reports: dict[int, RunReport] = {}  # id() of a run's state -> its report
        self._held = ""

    async def test_event(self, run: RunState, event: TestEvent) -> None:
        report = self._reports.get(id(run))
        if report is None:
            self._reports = {id(run): RunReport(self.output, self.monitor)}  # one run at a time
            report = self._reports[id(run)]
        await report.event(event)

    def run_ended(self, run: RunState) -> None:
        if run.problem:
            say(f"could not start pytest: {run.problem}")
        report = self._reports.get(id(run))
        folder = self.output.options.bundle
        if folder is not None and report is not None and report.failures:
            self.write_bundles(folder, report.failures)

    def write_bundles(self, folder: Path, failures: list[FinishedEvent]) -> None:
        """--bundle DIR: a failure bundle per failure of the run (`tui.core.bundle`)."""
        from tui.core.bundle import write_bundles

        if self.bundle_monitor is None:
            return
        try:
            written = write_bundles(folder, failures, self.bundle_monitor)
        except OSError as error:
            say(f"could not write the failure bundles under {folder}: {error}")
            return
        say(f"wrote {len(written)} failure bundle{'s' * (len(written) != 1)} under {folder}")

    def notice(self, text: str, *, in_status_line: bool = False) -> None:
        say(text)

    def held(self, services: tuple[ServiceStatus, ...], text: str) -> None:
        if services and text != self._held:
            self.output.not_ready(services, waiting=True)
            say(f"waiting for {text}")
        elif not services and self._held:
            say("the environment is ready")
        self._held = text if services else ""


def exit_code(result: SessionFinishedEvent | None) -> int:
    return 4 if result is None else result.exit_code  # could not start: as a usage error


async def gate(session: TestSession, output: Output, wait: float | None) -> bool:
    """The health gate before a run: without --wait, refuse while a service is not ready
    (saying which and why); with it, wait up to `wait` seconds."""
    if wait is not None and await session.wait_until_ready(wait):
        return True
    waiting = await asyncio.to_thread(session.not_ready)
    if not waiting:
        return True
    message = output.not_ready(waiting, waiting=False)
    if wait is None:
        say(f"not running the tests: {message} (start it, or pass --wait to wait for it)")
    else:
        say(f"not running the tests: still not ready after {wait:g} s: {message}")
    return False


async def run_once(
    root: Path,
    place: RunPlace,
    args: Sequence[str],
    monitor: EnvironmentMonitor | None,
    options: HeadlessOptions,
    *,
    bundle_monitor: EnvironmentMonitor | None = None,
) -> int:
    """`envdeck test` without --watch: the health gate, then one run; pytest's exit code,
    or EXIT_NOT_READY when the gate refused (or --wait timed out)."""
    output = Output(options)
    session = TestSession(root, place_python(place), args, monitor=monitor, place=place)
    session.listen(HeadlessListener(output, monitor, bundle_monitor))
    try:
        if not await gate(session, output, options.wait):
            return EXIT_NOT_READY
        return exit_code(await session.run_now(None, describe_run(args)))
    finally:
        await session.aclose()


async def watch_tests(
    session: TestSession, output: Output, bundle_monitor: EnvironmentMonitor | None = None
) -> int:
    """`envdeck test --watch`: the first run of the arguments as given once the environment
    is ready, then the session's watch mode until interrupted."""
    session.listen(HeadlessListener(output, session.monitor, bundle_monitor))
    session.start_reading_arguments()  # which arguments are tests, while the first run goes
    try:
        session.start_watching()
        say(f"watching {session.root} (ctrl+c to stop)")
        await session.wait_until_ready()
        await session.run_now(None, describe_run(session.args), reset_first=True)
        await asyncio.Event().wait()  # the session works until ctrl+c
        return 0
    finally:
        await session.aclose()


def environment_monitor(settings: EnvdeckSettings) -> DockerEnvironmentMonitor | None:
    """The environment to gate on, if this project has one envdeck can reach."""
    monitor = docker_monitor(settings)
    try:
        status = monitor.snapshot()
    except ComposeError:
        return None
    return monitor if status.engine.connected and status.problem is None else None


def place_python(place: RunPlace) -> str:
    return place.python if isinstance(place, LocalInterpreter) else sys.executable


async def data_diff(
    settings: EnvdeckSettings,
    monitor: DockerEnvironmentMonitor | None,
    place: RunPlace,
    args: Sequence[str],
    options: HeadlessOptions,
) -> int:
    """`envdeck test --diff NODEID [--keep]`: the test rerun alone, what it changed in each
    stateful service printed; the data put back unless --keep. pytest's exit code for the
    test; 1 when the data could not be put back; EXIT_NOT_READY without an environment."""
    from tui.core.testrun.data_diff import DataDiffError, diff_one_test
    from tui.presentation.diff_text import format_diff_report  # only with --diff
    from tui.reset.states import StateManager

    assert options.diff is not None
    if monitor is None:
        say("no data diff: no environment envdeck can reach (envdeck status says why)")
        return EXIT_NOT_READY
    root = (settings.config_dir or Path.cwd()).resolve()
    python = place_python(place)
    arguments = await read_arguments(root, python, args, place=place)
    try:
        environment = await asyncio.to_thread(monitor.environment, engine_connected=True)
        states = StateManager(settings, environment, monitor.gateway)
        report = await diff_one_test(
            states,
            root,
            options.diff,
            python=python,
            extra_args=arguments.options,  # the selection gives way to the one test
            keep=options.keep,
            place=place,
        )
    except DataDiffError as error:
        say(f"no data diff: {error}")
        return 1
    said = None if report.session is None else format_pytest_message(report.session)
    if said is not None:
        print(said)  # pytest refused the run or found no such test: in its own words
    if report.finished is not None and report.finished.outcome in FAILING:
        print(format_failure(report.finished))  # why it failed, before what it changed
    diff_text = format_diff_report(report)
    sys.stdout.write(diff_text)
    if options.bundle is not None and report.finished is not None:
        if report.finished.outcome in FAILING:
            write_diff_bundle(options.bundle, report.finished, monitor, diff_text)
        else:
            say("no failure bundle: the test did not fail")
    if report.restore_problem:
        say(f"the data could not be put back: {report.restore_problem}")
        return 1
    return exit_code(report.session)


def write_diff_bundle(
    folder: Path, failure: FinishedEvent, monitor: EnvironmentMonitor, diff_text: str
) -> None:
    """--diff with --bundle: the failure's bundle, holding the data diff."""
    from tui.core.bundle import write_failure_bundle

    try:
        path = write_failure_bundle(folder, failure, monitor, data_diff=diff_text)
    except OSError as error:
        say(f"could not write the failure bundle under {folder}: {error}")
        return
    say(f"wrote the failure bundle {path}")


def docker_monitor(settings: EnvdeckSettings) -> DockerEnvironmentMonitor:
    return DockerEnvironmentMonitor(settings, DockerGateway(timeout=settings.engine_timeout))


def fast_reset(
    settings: EnvdeckSettings, monitor: DockerEnvironmentMonitor | None
) -> Callable[[], ResetOutcome] | None:
    """reset_before_watch_runs: the fast reset each watch run starts with, when configured."""
    if not settings.reset_before_watch_runs or monitor is None:
        return None
    resets = EnvironmentResets(
        settings, lambda: monitor.gateway, partial(monitor.environment, engine_connected=True)
    )
    return partial(resets.fast_reset, no_progress)


def run_test_command(
    settings: EnvdeckSettings,
    watch: bool,
    pytest_args: Sequence[str],
    options: HeadlessOptions | None = None,
) -> int:
    root = (settings.config_dir or Path.cwd()).resolve()
    python = project_python(root, settings.test_python)
    options = options or HeadlessOptions()
    try:
        monitor = environment_monitor(settings)
        try:
            place = environment_place(settings, monitor)
        except PlaceError as error:
            say(f"cannot run the tests: {error}")
            return EXIT_USAGE
        # pytest's, verbatim (it reads them itself); tests named here replace pytest_args'.
        args = asyncio.run(
            command_line_first(root, python, settings.pytest_args, pytest_args, place=place)
        )
        if options.diff is not None:
            return asyncio.run(until_stopped(data_diff(settings, monitor, place, args, options)))
        # --bundle describes the environment even when it is not ready or reachable: the
        # bundle says what could not be had.
        bundle_monitor = monitor or docker_monitor(settings) if options.bundle else None
        if not watch:
            return asyncio.run(
                until_stopped(
                    run_once(root, place, args, monitor, options, bundle_monitor=bundle_monitor)
                )
            )
        session = TestSession(
            root,
            python,
            args,
            monitor=monitor,
            place=place,
            warm=WarmStarts() if settings.test_warm_start and place.warm_starts else None,
            reset=fast_reset(settings, monitor),
            # A configured state_dir inside the project: a reset before a run writes there.
            ignored_dirs=[settings.state_dir] if settings.state_dir else [],
        )
        return asyncio.run(until_stopped(watch_tests(session, Output(options), bundle_monitor)))
    except KeyboardInterrupt:
        return 130
