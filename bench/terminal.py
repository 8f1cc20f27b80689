"""The dashboard as users run it: a fresh `python -m tui` process in a pseudo-terminal.

The benchmark plays the terminal: it drains everything the app draws, notes when the
services' names first appear, and reads the log lines off the screen to tell how old
the newest one shown is. CPU and memory are the child's own, from /proc. Below the
`TerminalApp` are the measurements made this way: the first frame of a fresh process, and
one session idle then following the flood.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import os
import pty
import re
import resource
import signal
import struct
import sys
import termios
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bench.probes import (
    MB,
    SETTLE,
    CpuWindow,
    LagSampler,
    Result,
    lag_summary,
    process_cpu_seconds,
    rss_bytes,
    rss_summary,
    summary_ms,
)
from bench.stack import LINE_PATTERN, BenchStack
from tui.core.testrun.processes import descendants, list_processes, read_process

# CSI sequences (colours, cursor moves) and the other escapes Textual writes.
_ESCAPES = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
_CARRY = 512  # characters kept between reads, so nothing is missed across a chunk boundary
_FIRST_FRAME_CHARS = 2_000_000  # the whole output is kept only until the names appeared
SIZE = (160, 45)  # columns, rows: the screen of every run, in-process or in a pty


class TerminalApp:
    """One dashboard process on a pty of `size` (columns, rows)."""

    def __init__(
        self,
        argv: Sequence[str],
        cwd: Path,
        watch_for: Sequence[str],
        size: tuple[int, int] = SIZE,
    ) -> None:
        self.argv = list(argv)
        self.cwd = cwd
        self.watch_for = list(watch_for)
        self.size = size
        self.pid = 0
        self.fd = -1
        self.started = 0.0  # perf_counter just before fork
        self.first_output: float | None = None  # seconds after start
        self.names_shown: float | None = None  # seconds after start: every name on screen
        self.names_cpu: float | None = None  # the child's CPU seconds by then
        self.newest: tuple[int, float] | None = None  # newest flood line on screen
        self.bytes_read = 0
        self._lock = threading.Lock()
        self._names_event = threading.Event()
        self._text = ""
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TEXTUAL", "COLUMNS", "LINES"))
        }
        env.update(TERM="xterm-256color", COLORTERM="truecolor")
        columns, rows = self.size
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: size the terminal, become the app
            try:
                winsize = struct.pack("HHHH", rows, columns, 0, 0)
                fcntl.ioctl(sys.stdout.fileno(), termios.TIOCSWINSZ, winsize)
                os.chdir(self.cwd)
                os.execve(self.argv[0], self.argv, env)  # noqa: S606 (our own argv, no shell)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self._reader = threading.Thread(target=self._read, name="bench-pty", daemon=True)
        self._reader.start()

    def wait_for_names(self, timeout: float) -> float | None:
        """Seconds from start until every watched name was drawn; None on timeout."""
        self._names_event.wait(timeout)
        return self.names_shown

    def _read(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        carry = ""
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            now = time.perf_counter()
            text = decoder.decode(data)
            with self._lock:
                self.bytes_read += len(data)
                if self.first_output is None:
                    self.first_output = now - self.started
            if not self._names_event.is_set():
                self._look_for_names(text, now)
            window = carry + text
            matches = list(LINE_PATTERN.finditer(_ESCAPES.sub("", window)))
            if matches:
                best = max((int(m.group(1)), float(m.group(2))) for m in matches)
                with self._lock:
                    if self.newest is None or best[0] > self.newest[0]:
                        self.newest = best
            carry = window[-_CARRY:]

    def _look_for_names(self, text: str, now: float) -> None:
        self._text = (self._text + text)[-_FIRST_FRAME_CHARS:]
        plain = _ESCAPES.sub("", self._text)
        if all(name in plain for name in self.watch_for):
            self.names_shown = now - self.started
            with contextlib.suppress(OSError):
                self.names_cpu = process_cpu_seconds(self.pid)
            self._text = ""
            self._names_event.set()

    def newest_line(self) -> tuple[int, float] | None:
        with self._lock:
            return self.newest

    def stop(self, timeout: float = 8.0) -> int | None:
        """Quit the app with `q` as a user would; signals only if it does not go.
        Returns its exit status (None if it had to be killed)."""
        if self.pid == 0:
            return None
        with contextlib.suppress(OSError):
            os.write(self.fd, b"q")
        status = self._wait(timeout)
        if status is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, sig)
                if self._wait(3.0) is not None:
                    break
        if self._reader is not None:
            self._reader.join(2.0)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.pid = 0
        return status

    def _wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        return None


# ---------------------------------------------------------------- measurements


def dashboard_argv(stack: BenchStack) -> list[str]:
    return [sys.executable, "-m", "tui", "-f", str(stack.compose_file), "-p", stack.project]


async def first_frame_fresh_process(stack: BenchStack, runs: int) -> Result:
    """`python -m tui -f … -p …` in a pty: from fork to the last service name drawn."""
    first_output, names, cpu, quits = [], [], [], []
    failures, left_behind = 0, []
    for _ in range(runs):
        terminal = TerminalApp(dashboard_argv(stack), stack.root, stack.services, SIZE)
        terminal.start()
        try:
            shown = await asyncio.to_thread(terminal.wait_for_names, 30.0)
        finally:
            # Quit at once, with the first listing's follow-ups (the log follower, the
            # first stats round, Docker's events) under way.
            quit_s, left, _ = await quit_and_check(terminal)
        quits.append(quit_s)
        left_behind += left
        if shown is None:
            failures += 1
        else:
            names.append(shown)
            cpu.append(terminal.names_cpu or 0.0)
        if terminal.first_output is not None:
            first_output.append(terminal.first_output)
        await asyncio.sleep(0.3)
    imports, imports_cpu = await imports_alone(runs)
    return {
        "services_drawn": summary_ms(names),
        "cpu_until_services_drawn": summary_ms(cpu),
        "first_output": summary_ms(first_output),
        "interpreter_and_imports": summary_ms(imports),
        "interpreter_and_imports_cpu": summary_ms(imports_cpu),
        "quit_right_after": summary_ms(quits),
        "processes_left_behind": left_behind,
        "timeouts": failures,
    }


async def quit_and_check(terminal: TerminalApp) -> tuple[float, list[str], int | None]:
    """`q`, timed until the process has exited; its descendants still alive after (none
    expected: compose or docker subprocesses it started); its exit status."""
    descendants = descendants_of(terminal.pid)
    began = time.perf_counter()
    status = await asyncio.to_thread(terminal.stop)
    took = time.perf_counter() - began
    await asyncio.sleep(0.2)
    return took, [command for pid, command in descendants.items() if alive(pid)], status


def descendants_of(pid: int) -> dict[int, str]:
    """Every process below `pid`, by pid, with its command line."""
    below = descendants([pid], list_processes()) - {pid}
    return {child: command_line(child) for child in below}


def command_line(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return "?"


def alive(pid: int) -> bool:
    info = read_process(pid)
    return info is not None and info.state != "Z"


async def imports_alone(runs: int) -> tuple[list[float], list[float]]:
    """A fresh interpreter importing the CLI and the UI, and nothing else: the floor.
    Wall time and the child's CPU time of each run."""
    code = "import tui.cli, tui.cli.commands, tui.ui.app"
    times, cpu = [], []
    for _ in range(runs):
        began = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
        await process.wait()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(time.perf_counter() - began)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return times, cpu


async def terminal_session(
    stack: BenchStack, idle_seconds: float, rate: int, follow_seconds: float
) -> Result:
    """One fresh dashboard process drawing into a pty: idle, then following the flood.
    Here the output really is encoded and written; the lag is read off the screen."""
    terminal = TerminalApp(dashboard_argv(stack), stack.root, stack.services, SIZE)
    terminal.start()
    try:
        if await asyncio.to_thread(terminal.wait_for_names, 30.0) is None:
            raise RuntimeError("the dashboard process did not draw the services in 30 s")
        await asyncio.sleep(SETTLE)
        cpu = CpuWindow(pid=terminal.pid)
        cpu.start()
        await asyncio.sleep(idle_seconds)
        idle_cpu = cpu.stop()
        idle_rss = rss_bytes(terminal.pid)
        follow = await terminal_follow(stack, terminal, rate, follow_seconds)
        # Quit while the flood goes on: the follower, its batcher, the events stream and
        # the stats rounds are all busy.
        quit_s, left_behind, exit_status = await quit_and_check(terminal)
    finally:
        stack.set_rate(0)
        await asyncio.to_thread(terminal.stop)  # a no-op after a quit
    return {
        "idle": {"cpu": idle_cpu, "rss_mb": round(idle_rss / MB, 1)},
        "follow": follow,
        "quit_while_following_ms": round(quit_s * 1000, 1),
        "processes_left_behind": left_behind,
        "exit_status": exit_status,
    }


async def terminal_follow(
    stack: BenchStack, terminal: TerminalApp, rate: int, seconds: float
) -> Result:
    sampler = LagSampler(terminal.newest_line, pid=terminal.pid)
    sampler.from_sequence = stack.printed()[0]
    sampler.start()
    rss_start = rss_bytes(terminal.pid)
    stack.set_rate(rate)
    await asyncio.sleep(1.0)
    cpu = CpuWindow(pid=terminal.pid)
    cpu.start()
    bytes_before, window_start = terminal.bytes_read, time.time()
    await asyncio.sleep(seconds)
    window_end = time.time()
    flood_cpu, rss_end = cpu.stop(), rss_bytes(terminal.pid)
    sampler.stop()
    samples = sampler.between(window_start, window_end)
    return {
        "requested_lines_per_s": rate,
        "cpu": flood_cpu,
        "screen_lag": lag_summary(samples),
        "rss_mb": rss_summary(rss_start, samples, rss_end),
        "terminal_output_kb_per_s": round(
            (terminal.bytes_read - bytes_before) / (window_end - window_start) / 1024, 1
        ),
    }
