"""Running commands and daemons for the harness: bounded, and said plainly when they fail."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tests.remote import layout

POLL_SECONDS = 0.05
STOP_SECONDS = 20.0

# Daemons this process started, so stopping one also reaps it (no zombie, no
# ResourceWarning from a Popen collected while its daemon still runs).
_started: dict[int, subprocess.Popen[bytes]] = {}


class HarnessError(RuntimeError):
    """The second engine could not be started, reached or stopped; the message says why."""


def say(message: str) -> None:
    print(f"envdeck-remote: {message}", file=sys.stderr, flush=True)


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    timeout: float = 30.0,
    check: bool = True,
    input_text: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; a failure or a timeout raises HarnessError with its output."""
    command = [str(arg) for arg in args]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HarnessError(f"`{' '.join(command)}` did not finish within {timeout:g} s") from None
    except FileNotFoundError:
        raise HarnessError(f"`{command[0]}` is not installed") from None
    if check and result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise HarnessError(f"`{' '.join(command)}` failed ({result.returncode}): {output}")
    return result


def in_remote(args: Sequence[str | os.PathLike[str]]) -> list[str]:
    """`args` run in the second engine's namespaces (network, mount, host name): its "machine"."""
    return [
        "nsenter",
        f"--net={layout.NETNS_PATH}",
        f"--mount={layout.MOUNT_NS}",
        f"--uts={layout.UTS_NS}",
        "--",
        *(str(arg) for arg in args),
    ]


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    log: Path | None = None,
    process: int | None = None,
) -> None:
    """Poll `condition` until it holds; past `timeout`, or as soon as `process` (the
    daemon that should make it hold) has exited, fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and not alive(process):
            raise HarnessError(f"{what}: exited{log_tail(log)}")
        if time.monotonic() > deadline:
            raise HarnessError(f"{what}: not within {timeout:g} s{log_tail(log)}")
        time.sleep(POLL_SECONDS)


def log_tail(log: Path | None, lines: int = 15) -> str:
    if log is None or not log.is_file():
        return ""
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return f"; the end of {log}:\n" + "\n".join(tail)


def start_daemon(
    args: Sequence[str | os.PathLike[str]], *, log: Path, cwd: Path | None = None
) -> int:
    """Start a long-running process in its own session (it outlives this one: the CLI's
    `up` returns, a test session may be interrupted); its output goes to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(arg) for arg in args],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=cwd,
        )
    _started[process.pid] = process
    return process.pid


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent."""
    with contextlib.suppress(KeyError):
        if _started[pid].poll() is not None:
            return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def is_ours(pid: int) -> bool:
    """A process whose command line names the harness's run directory: a pid file's pid
    may have been reused by anything since."""
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return str(layout.RUN_DIR).encode() in command_line


def pid_from(pidfile: Path) -> int | None:
    """The pid a pid file names, when that process is still running and is ours."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) and is_ours(pid) else None


def stop(pid: int, what: str, *, timeout: float = STOP_SECONDS) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout`."""
    if not _signal_and_wait(pid, signal.SIGTERM, timeout):
        say(f"{what} (pid {pid}) ignored SIGTERM for {timeout:g} s: killing it")
        kill(pid, what)
    _started.pop(pid, None)


def kill(pid: int, what: str) -> None:
    """SIGKILL, for what has nothing to save (a container left without its engine)."""
    if not _signal_and_wait(pid, signal.SIGKILL, 5.0):
        raise HarnessError(f"{what} (pid {pid}) does not exit, even after SIGKILL")
    _started.pop(pid, None)


def _signal_and_wait(pid: int, sig: signal.Signals, timeout: float) -> bool:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    return not alive(pid)


def stray_pids() -> list[int]:
    """Processes of the second engine's "machine" that a SIGKILLed daemon may leave: any
    process in its network namespace (shims, docker-proxy, ssh sessions) or in its
    containers' cgroups (dockerd runs them under `--cgroup-parent envdeck-remote`)."""
    try:
        namespace = layout.NETNS_PATH.stat().st_ino
    except OSError:
        namespace = None
    cgroup_marker = f":/{layout.CGROUP_PARENT}/"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            in_namespace = (entry / "ns" / "net").stat().st_ino == namespace
            in_containers = cgroup_marker in (entry / "cgroup").read_text()
        except OSError:
            continue
        if (in_namespace or in_containers) and alive(int(entry.name)):
            found.append(int(entry.name))
    return found
