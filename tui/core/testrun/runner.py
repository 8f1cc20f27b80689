"""Running pytest in the project's own interpreter and following it test by test.

pytest runs with our plugin (`pytest_plugin.py`), which writes each event, as it happens,
to a pipe of its own, so events never mix with what the tests print. The console output
(stdout and stderr merged) is read in bounded chunks into a bounded ring. pytest runs in a
new session; `cancel()` interrupts it like Ctrl-C, then kills every process of the run
(`tui.core.testrun.processes`), and a run leaves nothing behind even when it ends by
itself: whatever its tests left running is killed when pytest exits. A run that pytest
refused or cut short (exit 2-5) ends with pytest's own words (`pytest_words.py`). Reading
the pipes is `run_streams.py`'s; the process's life (start, supervise, cancel) stays one
module because each step works on the same process and run state.

With `warm=WarmStarts()` a run takes the spare process prepared for it, when there is one
that fits, instead of starting pytest (`tui.core.testrun.warm`): the same pipes, session
and environment, only started earlier; everything below treats both alike.

With `place=ComposeService(...)` (`tui.core.testrun.place`) pytest runs in a new container
of a compose service instead (`in_service.py`): the process here is `compose run`, the
events come framed on its stdout (`frames.py`) and its stderr is more output, a cancel
goes through the engine to the named container, and the container is removed at the end
whatever happened. Warm starts do not apply there: such a run always starts cold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from tui.core.testrun.buffers import EventChannel, OutputRing
from tui.core.testrun.command import RUN_ID_ENV, pytest_command, pytest_environment
from tui.core.testrun.events import SessionFinishedEvent, TestEvent
from tui.core.testrun.model import Outcome
from tui.core.testrun.pipes import READ_BYTES, read_pipe
from tui.core.testrun.place import ComposeService, LocalInterpreter, RunPlace
from tui.core.testrun.processes import RunProcesses
from tui.core.testrun.progress import RunProgress
from tui.core.testrun.pytest_words import EXIT_MEANINGS, pytest_message
from tui.core.testrun.run_streams import RunStreams
from tui.core.testrun.warm_output import PreludeFilter

if TYPE_CHECKING:
    from tui.core.testrun.in_service import ServiceRun
    from tui.core.testrun.warm import WarmStarts

OUTPUT_RING_BYTES = 2 * 1024 * 1024
PENDING_OUTPUT_CHARS = 1024 * 1024
GRACE_SECONDS = 1.5  # between SIGINT and SIGKILL
TRACK_INTERVAL = 0.5  # how often the run's processes are noted while it runs
DRAIN_SECONDS = 2.0  # for the pipes to end once pytest has exited
EXIT_POLL = 0.05

_log = logging.getLogger(__name__)

# A started pytest: its process, and the read end of its event pipe (none in a service).
_Started = tuple[
    asyncio.subprocess.Process, asyncio.StreamReader | None, asyncio.BaseTransport | None
]


class TestRunError(Exception):
    """pytest could not be started (no such interpreter, not executable…)."""

    __test__ = False


class TestRun:
    """One pytest process and its events.

        async with TestRun(project, nodeids=[...]) as run:
            async for event in run.events():
                ...  # the last event is always a SessionFinishedEvent

    Leaving the `async with` block ends the run if it is still going (cancel()).
    """

    __test__ = False

    def __init__(
        self,
        project_dir: Path | str,
        *,
        python: str | None = None,
        nodeids: Sequence[str] = (),
        last_failed: bool = False,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        collect_only: bool = False,
        grace: float = GRACE_SECONDS,
        output_bytes: int = OUTPUT_RING_BYTES,
        max_pending_output: int = PENDING_OUTPUT_CHARS,
        reap_leftovers: bool = True,
        warm: WarmStarts | None = None,
        place: RunPlace | None = None,
    ) -> None:
        """`place`: where pytest runs; unset: `python` here (envdeck's own without it)."""
        self.project_dir = Path(project_dir)
        self.place = place or LocalInterpreter(python or sys.executable)
        self.command = pytest_command(
            self.place.python,
            nodeids=nodeids,
            last_failed=last_failed,
            extra_args=extra_args,
            collect_only=collect_only,
        )
        self.run_id = uuid.uuid4().hex
        self._in_service: ServiceRun | None = None
        if isinstance(self.place, ComposeService):
            # docker-py's import (0.2 s) only for runs that need the engine
            from tui.core.testrun.in_service import ServiceRun  # noqa: PLC0415

            self._in_service = ServiceRun(self.place, self.run_id)
            self.command = self._in_service.command(self.command[3:], env or {})
        self.output = OutputRing(output_bytes)
        self.result: SessionFinishedEvent | None = None  # set with the last event
        self._extra_env = dict(env or {})
        self._grace = grace
        self._reap_leftovers = reap_leftovers
        self._channel = EventChannel(max_pending_output)
        self._process: asyncio.subprocess.Process | None = None
        self._processes: RunProcesses | None = None
        self._supervisor: asyncio.Task[SessionFinishedEvent] | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._progress = RunProgress()
        self._spawned_at = 0.0
        self._warm = warm
        self.warm_start = False  # set by start(): this run took a spare (warm.py)
        self.prepared_start = False  # ... a prepared one (it may still have gone cold)
        self._prelude: PreludeFilter | None = None  # a prepared spare's output: warm_output.py

    # ---------------------------------------------------------------- what callers see

    @property
    def marker(self) -> str:
        """NAME=value in the environment of every process of this run."""
        return f"{RUN_ID_ENV}={self.run_id}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def container_name(self) -> str | None:
        """The name of the run's container, for a run in a compose service."""
        return None if self._in_service is None else self._in_service.container_name

    @property
    def running_tests(self) -> tuple[str, ...]:
        return tuple(self._progress.running)

    def outcomes(self) -> dict[str, Outcome]:
        """Each test's outcome so far (RUNNING while it runs); a copy."""
        return dict(self._progress.outcomes)

    def events(self) -> AsyncIterator[TestEvent]:
        """The run's events in order, for one consumer; ends after SessionFinishedEvent."""
        return self._channel

    async def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("a TestRun starts once")
        if self._in_service is not None:
            started = await self._start_in_service(self._in_service)
        else:
            started = await self._start_warm() or await self._start_cold()
        self._process, events, events_pipe = started
        self._spawned_at = time.monotonic()
        self._processes = RunProcesses(self._process.pid, self.marker)
        self._supervisor = asyncio.create_task(
            self._supervise(self._process, self._processes, events, events_pipe),
            name="envdeck-testrun",
        )

    async def _start_warm(self) -> _Started | None:
        """The spare prepared for this run, given the run's arguments, if one fits."""
        warm = self._warm
        python, *rest = self.command
        assert rest[:2] == ["-m", "pytest"], self.command
        arguments = rest[2:]
        spare = None
        if warm is not None:
            spare = warm.take(self.project_dir, python, self._extra_env, arguments)
        if spare is None or warm is None:
            return None
        try:
            handed = await spare.go(arguments)
        except BaseException:  # cancelled meanwhile: it may have begun; nobody would follow it
            warm.retire(spare)
            raise
        if not handed:
            warm.retire(spare)  # it died while waiting: start cold
            return None
        self.warm_start = True
        self.prepared_start = spare.prepared_for is not None
        if spare.marker:
            self._prelude = PreludeFilter(spare.marker)
        self.run_id = spare.run_id
        return spare.process, spare.events, spare.events_pipe

    async def _start_cold(self) -> _Started:
        read_fd, write_fd = os.pipe()
        events, events_pipe = await read_pipe(read_fd)
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command,
                cwd=self.project_dir,
                env=pytest_environment({**os.environ, **self._extra_env}, write_fd, self.run_id),
                stdin=asyncio.subprocess.DEVNULL,  # input() and pdb end, never hang
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,
                limit=READ_BYTES,
            )
        except OSError as error:
            events_pipe.close()
            where = f"{self.command[0]} in {self.project_dir}"
            raise TestRunError(f"cannot start pytest with {where}: {error}") from error
        except BaseException:
            events_pipe.close()
            raise
        finally:
            os.close(write_fd)  # pytest holds the only write end: EOF when it is gone
        return process, events, events_pipe

    async def _start_in_service(self, service: ServiceRun) -> _Started:
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command,
                cwd=service.place.compose.cwd or self.project_dir,
                env=service.environment(self._extra_env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,  # apart: a frame comes whole on stdout
                start_new_session=True,
                limit=READ_BYTES,
            )
        except OSError as error:
            where = f"compose ({self.command[0]}) for the `{service.place.service}` service"
            raise TestRunError(f"cannot start {where}: {error}") from error
        return process, None, None

    async def wait(self) -> SessionFinishedEvent:
        """Until pytest has exited and every event is delivered to the channel."""
        if self._supervisor is None:
            raise RuntimeError("the run was not started")
        return await asyncio.shield(self._supervisor)

    async def cancel(self, reason: str = "stopped by the user") -> None:
        """End the run: SIGINT to pytest's process group (pytest ends its session as on
        Ctrl-C), then, after the grace period, SIGKILL to every process of the run. The
        tests still running finish as `error`, `interrupted`, with `reason`. Returns once
        the run is over; at once if it already was."""
        process, processes = self._process, self._processes
        if process is None or processes is None or self._supervisor is None:
            return
        if self._supervisor.done():
            return
        if self._stopping is None:
            self._progress.stop_reason = reason
            # A task of its own: the kill happens even if our caller is cancelled meanwhile.
            self._stopping = asyncio.create_task(self._interrupt_then_kill(process, processes))
        await asyncio.shield(self._stopping)
        await self.wait()

    async def stop_test(self, nodeid: str) -> bool:
        """Stop a hanging test. pytest cannot drop one test and go on, so this ends the
        run, the test finishing as `error` ("stopped"). False if it is not running."""
        if nodeid not in self._progress.running:
            return False
        await self.cancel(reason=f"stopped: {nodeid} was hanging")
        return True

    def kill_now(self) -> None:
        """SIGKILL every process of the run without waiting: for shutdown paths that
        cannot await. The events of the end still follow if the loop runs on."""
        if self._processes is not None and self._process and self._process.returncode is None:
            self._progress.stop_reason = self._progress.stop_reason or "killed"
            self._processes.kill_all()
            if self._in_service is not None:
                self._in_service.remove_soon()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self.cancel()
        except asyncio.CancelledError:
            self.kill_now()
            raise

    # ---------------------------------------------------------------- the process

    async def _supervise(
        self,
        process: asyncio.subprocess.Process,
        processes: RunProcesses,
        events: asyncio.StreamReader | None,
        events_pipe: asyncio.BaseTransport | None,
    ) -> SessionFinishedEvent:
        assert process.stdout is not None  # stdout=PIPE
        progress = self._progress
        streams = RunStreams(self.output, self._channel, progress, self._prelude)
        if events is None:  # in a service: events framed on stdout, stderr is output too
            assert self._in_service is not None
            assert process.stderr is not None  # stderr=PIPE
            prefix = self._in_service.frame_prefix
            pumps = [
                asyncio.create_task(streams.pump_framed(process.stdout, prefix)),
                asyncio.create_task(streams.pump_output(process.stderr)),
            ]
        else:
            pumps = [
                asyncio.create_task(streams.pump_output(process.stdout)),
                asyncio.create_task(streams.pump_events(events)),
            ]
        tracker = asyncio.create_task(self._track(processes))
        try:
            returncode = await _exited(process)
            tracker.cancel()
            if self._reap_leftovers or progress.stop_reason is not None:
                # Leftovers would hold our pipes open, and a port or a file, for the next run.
                await asyncio.to_thread(processes.kill_all)
            await _drain(pumps, DRAIN_SECONDS)
            if self._in_service is not None:
                await self._in_service.remove()
            for ended in progress.finish_open_tests(returncode, time.time(), time.monotonic()):
                self._channel.put(ended)
            cancelled = progress.stop_reason is not None
            said = returncode in EXIT_MEANINGS and not cancelled  # a cancel is ours, not pytest's
            message = pytest_message(self.output.text(), returncode) if said else ""
            if self._in_service is not None and not streams.heard and not cancelled and not said:
                message = self._in_service.failure_words(returncode, self.output.text())
            self.result = SessionFinishedEvent(
                exit_code=returncode,
                counts=progress.counts(),
                duration=time.monotonic() - self._spawned_at,
                cancelled=cancelled,
                message=message,
            )
            self._channel.put(self.result)
            return self.result
        except asyncio.CancelledError:
            processes.kill_all()  # the loop is going away: leave nothing running
            if self._in_service is not None:
                self._in_service.remove_soon()
            raise
        finally:
            tracker.cancel()
            for pump in pumps:
                pump.cancel()
            if events_pipe is not None:
                events_pipe.close()
            self._channel.close()

    async def _interrupt_then_kill(
        self, process: asyncio.subprocess.Process, processes: RunProcesses
    ) -> None:
        if self._in_service is not None:  # pytest is in the container: the engine signals it
            await self._in_service.interrupt()
        else:
            await asyncio.to_thread(processes.track)  # before pytest exits and orphans children
            processes.signal_group(signal.SIGINT)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_exited(process), self._grace)
        if self._in_service is not None:
            await self._in_service.kill()
            with contextlib.suppress(TimeoutError):  # compose's own exit: 137, --rm done
                await asyncio.wait_for(_exited(process), self._grace)
        await asyncio.to_thread(processes.kill_all)

    @staticmethod
    async def _track(processes: RunProcesses) -> None:
        while True:
            await asyncio.to_thread(processes.track)
            await asyncio.sleep(TRACK_INTERVAL)


async def _exited(process: asyncio.subprocess.Process) -> int:
    """pytest's exit code, as soon as it exits. Not `process.wait()`: before Python 3.12 it
    also waits for the pipes to close, and a process a test left running holds them open."""
    while process.returncode is None:
        await asyncio.sleep(EXIT_POLL)
    return process.returncode


async def _drain(pumps: list[asyncio.Task[None]], timeout: float) -> None:
    """Let the pipes be read to their end; a pipe held open by an escaped process is not."""
    done, pending = await asyncio.wait(pumps, timeout=timeout)
    for task in pending:
        task.cancel()
    for task in done:
        if not task.cancelled() and (error := task.exception()) is not None:
            _log.error("reading pytest's output failed", exc_info=error)
