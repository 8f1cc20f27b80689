"""Finding, and ending, every process of a test run: no orphans, however they got away.

pytest is started in a session of its own, so its pid is also its process group's and its
session's id. A test can leave both: a child that calls setsid() is in neither, and a
process whose parent exits is re-parented away from pytest. So a run's processes are
found four ways, all in /proc (Linux; elsewhere only the process group is signalled):

- the process group and the session of pytest;
- descendants by parent pid: complete while pytest lives, because our plugin makes pytest
  a child subreaper, so orphans are re-parented to it rather than to init;
- processes `track()` saw as the run's earlier, still alive with the same start time;
- processes whose environment carries the run's marker, inherited by anything that does
  not clear its environment.

`kill_all` stops (SIGSTOP) what it finds until a scan finds nothing new, so nothing can
fork its way out between the scan and the kill, then kills it all.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_MAX_STOP_ROUNDS = 20


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    pid: int
    ppid: int
    pgid: int
    sid: int
    starttime: int  # clock ticks after boot: with the pid, identifies the process
    state: str  # "Z" for a zombie


def parse_stat(text: str) -> ProcessInfo:
    """/proc/<pid>/stat; the command name in parentheses may itself hold ")" or spaces."""
    pid, _, rest = text.partition(" (")
    fields = rest.rpartition(") ")[2].split()
    # fields[0] is stat's 3rd field (state): ppid, pgrp, session are 4-6, starttime 22.
    return ProcessInfo(
        pid=int(pid),
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        sid=int(fields[3]),
        starttime=int(fields[19]),
        state=fields[0],
    )


def read_process(pid: int, proc: Path = PROC) -> ProcessInfo | None:
    try:
        return parse_stat((proc / str(pid) / "stat").read_text())
    except (OSError, ValueError, IndexError):
        return None  # gone, or not ours to read


def list_processes(proc: Path = PROC) -> dict[int, ProcessInfo]:
    try:
        pids = [int(entry.name) for entry in proc.iterdir() if entry.name.isdigit()]
    except OSError:
        return {}
    return {info.pid: info for pid in pids if (info := read_process(pid, proc)) is not None}


def environment_has(pid: int, entry: bytes, proc: Path = PROC) -> bool:
    """Whether the process was started with `entry` ("NAME=value") in its environment."""
    try:
        environ = (proc / str(pid) / "environ").read_bytes()
    except OSError:
        return False
    return entry in environ.split(b"\0")


def descendants(roots: Iterable[int], table: dict[int, ProcessInfo]) -> set[int]:
    """The roots and everything below them by parent pid."""
    children: dict[int, list[int]] = {}
    for info in table.values():
        children.setdefault(info.ppid, []).append(info.pid)
    found: set[int] = set()
    stack = [pid for pid in roots if pid in table]
    while stack:
        pid = stack.pop()
        if pid not in found:
            found.add(pid)
            stack.extend(children.get(pid, ()))
    return found


def ancestors(pid: int, table: dict[int, ProcessInfo]) -> set[int]:
    found: set[int] = set()
    while pid in table and pid not in found:
        found.add(pid)
        pid = table[pid].ppid
    return found


def send_signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


class RunProcesses:
    """The processes of one run, rooted at pytest's pid (its group and session leader)."""

    def __init__(self, root_pid: int, marker: str | None = None, proc: Path = PROC) -> None:
        self.root_pid = root_pid
        self._marker = marker.encode() if marker else None  # "NAME=value"
        self._proc = proc
        self._seen: dict[int, int] = {}  # pid -> start time, of processes seen as the run's
        root = read_process(root_pid, proc)
        if root is not None:
            self._seen[root_pid] = root.starttime

    def track(self) -> None:
        """Remember the run's processes now, while parent links still lead to pytest."""
        self._seen.update((pid, info.starttime) for pid, info in self.find(environ=False).items())

    def find(self, *, environ: bool = True) -> dict[int, ProcessInfo]:
        """The run's living processes (and zombies), never envdeck itself or its parents."""
        table = list_processes(self._proc)
        roots = {
            pid
            for pid, info in table.items()
            if self.root_pid in (info.pgid, info.sid) or self._seen.get(pid) == info.starttime
        }
        if environ and self._marker is not None:
            roots.update(pid for pid in table if environment_has(pid, self._marker, self._proc))
        found = descendants(roots, table) - ancestors(os.getpid(), table)
        return {pid: table[pid] for pid in found}

    def signal_group(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.root_pid, signum)

    def kill_all(self) -> int:
        """SIGKILL every process of the run, frozen first; how many were found."""
        stopped: dict[int, int] = {}
        for _ in range(_MAX_STOP_ROUNDS):
            new = [info for pid, info in self.find().items() if stopped.get(pid) != info.starttime]
            if not new:
                break
            for info in new:
                send_signal(info.pid, signal.SIGSTOP)
                stopped[info.pid] = info.starttime
        self.signal_group(signal.SIGKILL)  # also where /proc cannot be read
        for pid in stopped:
            send_signal(pid, signal.SIGKILL)
        return len(stopped)
