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

The helper never imports the project's code, conftest.py files, configuration or
third-party pytest plugins, so changes to those never make a spare stale; pytest reads them
after the arguments arrive, as in a cold run. What it did import is checked then (files,
shadowing, site-packages): if anything changed it execs a cold `python -m pytest ARGS`.
A spare that no longer matches (another interpreter, folder or environment), or has died,
is killed and the run starts cold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tui.core.testrun.command import RUN_ID_ENV, WARM_HELPER_MODULE, pytest_environment
from tui.core.testrun.processes import RunProcesses
from tui.core.testrun.runner import READ_BYTES, read_pipe

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
        try:
            stdin.write(json.dumps(list(pytest_arguments)).encode() + b"\n")
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
    """Keeps one spare ready for the next run of one project (watch mode's runs).

    `await prepare(...)` after a run (and once at start); `TestRun(..., warm=starts)`
    takes it; `await aclose()` at the end kills what is left. One event loop.
    """

    def __init__(self) -> None:
        self._spare: Spare | None = None
        self._reaping: set[asyncio.Task[None]] = set()

    async def prepare(
        self, project_dir: Path | str, python: str, env: Mapping[str, str] | None = None
    ) -> None:
        """Start a spare for runs of `python` in `project_dir` with `env` added to ours,
        unless one is already waiting."""
        project = Path(project_dir)
        base_env = {**os.environ, **(env or {})}
        if self._spare is not None and self._spare.fits(python, project, base_env):
            return
        self.discard()
        try:
            self._spare = await _spawn(project, python, base_env)
        except OSError as error:  # no such interpreter: the runs say so, cold
            _log.info("no warm start for %s: %s", python, error)

    @property
    def waiting_pid(self) -> int | None:
        """The spare's process id while one waits for a run."""
        return None if self._spare is None else self._spare.process.pid

    def take(
        self, project_dir: Path | str, python: str, env: Mapping[str, str] | None = None
    ) -> Spare | None:
        """The spare, if it fits this run; it is then the caller's (see `Spare.go`)."""
        spare, self._spare = self._spare, None
        if spare is None:
            return None
        if not spare.fits(python, Path(project_dir), {**os.environ, **(env or {})}):
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
        """Kill the waiting spare, if any (the next run starts cold)."""
        spare, self._spare = self._spare, None
        if spare is not None:
            self.retire(spare)

    def kill_now(self) -> None:
        """For shutdown paths that cannot await: kill the spare."""
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.kill()

    async def aclose(self) -> None:
        self.discard()
        if self._reaping:
            await asyncio.wait(set(self._reaping), timeout=5)


async def _spawn(project_dir: Path, python: str, base_env: dict[str, str]) -> Spare:
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
    return Spare(process, run_id, events, events_pipe, python, project_dir, base_env)


async def _reap(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(process.wait(), 5)
