"""Warm starts: the next test run's Python, started ahead of time with pytest imported.

A cold run costs an interpreter start and pytest's imports before the first test: ~0.4 s
of a ~0.5 s run of one test here. `WarmStarts` keeps one *spare* ready: a process started
exactly as the next `TestRun` would start pytest (same interpreter, folder, environment
with its own run marker and event pipe, a session of its own, stdout and stderr on one
pipe) but running `envdeck_warm_helper` (warm_helper.py), which imports pytest and waits.
`TestRun(..., warm=starts)` takes the spare and sends it the run's pytest arguments; the
helper then runs pytest's `__main__` as `python -m pytest ARGS` would.

Why a spare per run rather than one server that forks per run: a forked run would share
the server's hash seed (set and dict orders) from run to run, carry the server's
environment in /proc (not the run's marker, by which `processes.RunProcesses` finds what a
test left behind), be a child of the server rather than of envdeck, and inherit whatever
the server's imports left behind (threads, descriptors). A spare is a process of its own,
started like a cold run: once it has its arguments, what differs from a cold run is its
`/proc/<pid>/cmdline`, when its imports happened, and that pytest's own plugins are all
imported even if `-p no:NAME` then leaves one unregistered. The price: every run still
costs a whole interpreter start of CPU, spent before the save rather than after it.

A *plain* spare never imports the project's code, conftest.py files, configuration or
third-party pytest plugins, so changes to those never make it stale; pytest reads them
after the arguments arrive, as in a cold run. What it did import is checked then (files,
shadowing, site-packages): if anything changed it execs a cold `python -m pytest ARGS`.

A *prepared* spare goes further for the arguments the next run is expected to have (the
last run's: in watch mode a save of the same file runs the same tests again): it is that
pytest run, paused just before `pytest_configure`, once pytest has parsed its arguments and
ini file and imported every plugin (the costly part where a project has many) and the
initial conftest.py files with what they import (warm_helper.py, `Prepared`). Taken by a
run with exactly those arguments, it checks that nothing it read has changed (or execs a
cold pytest, dropping what the paused one printed: warm_output.py) and goes on. WarmStarts
keeps one spare of each kind: a run takes the prepared one if its arguments match, else
the plain one; the other stays for a later run.

A spare that no longer matches (another interpreter, folder or environment), or has died,
is killed and the run starts cold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tui.core.testrun.command import RUN_ID_ENV, WARM_HELPER_MODULE, pytest_environment
from tui.core.testrun.pipes import READ_BYTES, read_pipe
from tui.core.testrun.processes import RunProcesses

_log = logging.getLogger(__name__)


@dataclass(eq=False)
class Spare:
    """A started helper waiting for its run's arguments; one `TestRun` takes it."""

    process: asyncio.subprocess.Process
    run_id: str  # ENVDECK_TESTRUN_ID in its environment
    events: asyncio.StreamReader  # the read end of its event pipe
    events_pipe: asyncio.BaseTransport
    python: str
    project_dir: Path
    base_env: dict[str, str] = field(repr=False)  # os.environ and the extra env it was given
    prepared_for: tuple[str, ...] | None = None  # a prepared spare: its run's arguments
    marker: bytes = b""  # a prepared spare's: the line that ends its prelude (warm_output.py)

    def fits(self, python: str, project_dir: Path, base_env: Mapping[str, str]) -> bool:
        return (
            self.process.returncode is None
            and self.python == python
            and self.project_dir == project_dir
            and self.base_env == dict(base_env)
        )

    async def go(self, pytest_arguments: Sequence[str]) -> bool:
        """Hand over the run's arguments (after `python -m pytest`); False if it is gone."""
        stdin = self.process.stdin
        if stdin is None or self.process.returncode is not None:
            return False
        message: object = list(pytest_arguments)
        if self.prepared_for is not None:
            message = {"go": message}
        try:
            stdin.write(json.dumps(message).encode() + b"\n")
            await stdin.drain()
            stdin.close()
        except (ConnectionError, OSError):
            return False
        return True

    def kill(self) -> None:
        """Kill it, and anything it started if it had begun a run (see `RunProcesses`)."""
        RunProcesses(self.process.pid, f"{RUN_ID_ENV}={self.run_id}").kill_all()
        self.events_pipe.close()


class WarmStarts:
    """Keeps spares ready for the next run of one project (watch mode's runs): a plain one,
    and one prepared for the last run's arguments once there was a run.

    `await prepare(...)` after a run (and once at start); `TestRun(..., warm=starts)`
    takes one; `await aclose()` at the end kills what is left. One event loop.
    `prepared=False`: plain spares only.
    """

    def __init__(self, *, prepared: bool = True) -> None:
        self._spare: Spare | None = None  # the plain one
        self._prepared: Spare | None = None
        self._expected: tuple[str, ...] | None = None  # the last run's pytest arguments
        self._prepare_runs = prepared
        self._reaping: set[asyncio.Task[None]] = set()

    async def prepare(
        self, project_dir: Path | str, python: str, env: Mapping[str, str] | None = None
    ) -> None:
        """Start the spares for runs of `python` in `project_dir` with `env` added to ours,
        unless they are already waiting."""
        project = Path(project_dir)
        base_env = {**os.environ, **(env or {})}
        try:
            if self._spare is None or not self._spare.fits(python, project, base_env):
                self.discard()
                self._spare = await _spawn(project, python, base_env)
            expected = self._expected if self._prepare_runs else None
            prepared = self._prepared
            if expected is not None and (
                prepared is None
                or prepared.prepared_for != expected
                or not prepared.fits(python, project, base_env)
            ):
                self._discard_prepared()
                self._prepared = await _spawn(project, python, base_env, expected)
        except OSError as error:  # no such interpreter: the runs say so, cold
            _log.info("no warm start for %s: %s", python, error)

    def expect(self, pytest_arguments: Sequence[str]) -> None:
        """The next run's arguments (after `python -m pytest`), for the prepared spare; a
        run taking a spare tells it its own."""
        self._expected = tuple(pytest_arguments)

    @property
    def waiting_pid(self) -> int | None:
        """The plain spare's process id while one waits for a run."""
        return None if self._spare is None else self._spare.process.pid

    @property
    def prepared_pid(self) -> int | None:
        """The prepared spare's process id while one waits for a run."""
        return None if self._prepared is None else self._prepared.process.pid

    def take(
        self,
        project_dir: Path | str,
        python: str,
        env: Mapping[str, str] | None = None,
        pytest_arguments: Sequence[str] | None = None,
    ) -> Spare | None:
        """A spare for this run (`pytest_arguments`: after `python -m pytest`), if one
        fits; it is then the caller's (see `Spare.go`). The arguments are remembered: the
        next prepared spare expects them."""
        project, base_env = Path(project_dir), {**os.environ, **(env or {})}
        arguments = None if pytest_arguments is None else tuple(pytest_arguments)
        if arguments is not None:
            self.expect(arguments)
        prepared = self._prepared
        if prepared is not None and prepared.prepared_for == arguments:
            self._prepared = None
            if prepared.fits(python, project, base_env):
                return prepared
            self.retire(prepared)
        spare, self._spare = self._spare, None
        if spare is None:
            return None
        if not spare.fits(python, project, base_env):
            self.retire(spare)
            return None
        return spare

    def retire(self, spare: Spare) -> None:
        """Kill a spare that will not run, and reap it in the background."""
        spare.kill()
        task = asyncio.create_task(_reap(spare.process), name="envdeck-warm-reap")
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    def discard(self) -> None:
        """Kill the waiting spares, if any (the next run starts cold)."""
        spare, self._spare = self._spare, None
        if spare is not None:
            self.retire(spare)
        self._discard_prepared()

    def _discard_prepared(self) -> None:
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            self.retire(prepared)

    def kill_now(self) -> None:
        """For shutdown paths that cannot await: kill the spares."""
        for spare in (self._spare, self._prepared):
            if spare is not None:
                spare.kill()
        self._spare = self._prepared = None

    async def aclose(self) -> None:
        self.discard()
        if self._reaping:
            await asyncio.wait(set(self._reaping), timeout=5)


async def _spawn(
    project_dir: Path,
    python: str,
    base_env: dict[str, str],
    prepared_for: tuple[str, ...] | None = None,
) -> Spare:
    run_id = uuid.uuid4().hex
    read_fd, write_fd = os.pipe()
    events, events_pipe = await read_pipe(read_fd)
    try:
        process = await asyncio.create_subprocess_exec(
            python,
            "-m",
            WARM_HELPER_MODULE,
            cwd=project_dir,
            env=pytest_environment(base_env, write_fd, run_id),
            stdin=asyncio.subprocess.PIPE,  # the arguments; then /dev/null, as a cold run's
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            pass_fds=(write_fd,),
            start_new_session=True,
            limit=READ_BYTES,
        )
    except BaseException:
        events_pipe.close()
        raise
    finally:
        os.close(write_fd)
    spare = Spare(process, run_id, events, events_pipe, python, project_dir, base_env)
    if prepared_for is not None:
        spare.prepared_for = prepared_for
        spare.marker = b"\x1eenvdeck-warm:" + secrets.token_hex(8).encode()
        assert process.stdin is not None  # stdin=PIPE
        message = {"prepare": list(prepared_for), "marker": spare.marker.decode()}
        process.stdin.write(json.dumps(message).encode() + b"\n")  # drained with the go
    return spare


async def _reap(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(process.wait(), 5)
