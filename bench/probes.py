"""What the benchmark measures with: CPU and memory from /proc, percentiles, and the
threads that sample log lag and probe key latency while the dashboard works."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stack import LINE_PATTERN

Result = dict[str, Any]  # what every measurement returns: plain JSON data
SETTLE = 3.0  # seconds after the table is listed before idle figures are taken

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p99/max of durations, in milliseconds, and how many there were."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {
        "count": len(seconds),
        "p50_ms": ms(percentile(seconds, 0.50)),
        "p99_ms": ms(percentile(seconds, 0.99)),
        "max_ms": ms(max(seconds) if seconds else None),
    }


# ---------------------------------------------------------------- /proc


def process_cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU of a process, all its threads; this one when pid is None."""
    if pid is None:
        return time.process_time()
    with open(f"/proc/{pid}/stat") as stat:
        # The command name may hold spaces: fields are counted after its closing ')'.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int | None = None) -> int:
    with open(f"/proc/{pid or 'self'}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def dockerd_pid() -> int | None:
    """The default engine's dockerd (its pid file: `pidof` also finds the tests' second
    engine, tests/remote)."""
    try:
        return int(Path("/var/run/docker.pid").read_text().strip())
    except (OSError, ValueError):
        return None


@dataclass
class CpuWindow:
    """CPU of a process (in % of one core), of dockerd and of the whole machine, between
    start() and stop()."""

    pid: int | None = None
    _wall: float = 0.0
    _cpu: float = 0.0
    _machine: tuple[int, int] = (0, 0)
    _dockerd_pid: int | None = None
    _dockerd: float = 0.0
    _load: float = 0.0

    def start(self) -> None:
        self._dockerd_pid = dockerd_pid()
        self._dockerd = self._dockerd_cpu()
        self._machine = machine_busy_ticks()
        self._load = os.getloadavg()[0]
        self._cpu = process_cpu_seconds(self.pid)
        self._wall = time.perf_counter()

    def _dockerd_cpu(self) -> float:
        if self._dockerd_pid is None:
            return 0.0
        try:
            return process_cpu_seconds(self._dockerd_pid)
        except OSError:
            return 0.0

    def stop(self) -> dict[str, float | None]:
        cpu = process_cpu_seconds(self.pid)
        wall = time.perf_counter() - self._wall
        busy, total = machine_busy_ticks()
        cores = os.cpu_count() or 1
        machine = (busy - self._machine[0]) / max(total - self._machine[1], 1) * cores
        dockerd = self._dockerd_cpu() - self._dockerd
        return {
            "seconds": round(wall, 2),
            "cpu_percent": round((cpu - self._cpu) / wall * 100, 2),
            "dockerd_cpu_percent": round(dockerd / wall * 100, 1) if self._dockerd_pid else None,
            "machine_busy_percent": round(machine * 100, 1),  # of one core; 200 = both busy
            "load_average_1m": round(max(self._load, os.getloadavg()[0]), 2),
        }


# ---------------------------------------------------------------- lag and memory


def newest_line_time(lines: Sequence[str], look_back: int = 20) -> tuple[int, float] | None:
    """(sequence number, print time) of the newest flood line among the last lines."""
    for text in reversed(lines[-look_back:]):
        match = LINE_PATTERN.search(text)
        if match:
            return int(match.group(1)), float(match.group(2))
    return None


@dataclass
class Sample:
    at: float  # wall clock
    lag: float | None  # seconds; None before the first line of this run arrived
    rss: int
    sequence: int | None = None  # of the newest line shown


@dataclass
class LagSampler:
    """A thread that samples, every `interval`, how old the newest shown line is and RSS.

    `newest` returns (sequence, print time) of the newest flood line shown (reading a list
    from this thread is safe under the GIL); lines older than `from_sequence` belong to an
    earlier run and do not count.
    """

    newest: Callable[[], tuple[int, float] | None]
    pid: int | None = None
    interval: float = 0.05
    from_sequence: int = 0
    samples: list[Sample] = field(default_factory=list)
    first_line_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bench-lag", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        rss, count = rss_bytes(self.pid), 0
        while not self._stop.wait(self.interval):
            now = time.time()
            newest = self.newest()
            lag, sequence = None, None
            if newest is not None and newest[0] >= self.from_sequence:
                sequence = newest[0]
                lag = max(0.0, now - newest[1])
                if self.first_line_at is None:
                    self.first_line_at = now
            count += 1
            if count % 5 == 0:  # memory moves slowly; /proc reads are not free
                rss = rss_bytes(self.pid)
            self.samples.append(Sample(now, lag, rss, sequence))

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.at <= end]


def lag_summary(samples: Sequence[Sample]) -> dict[str, float | int | None]:
    lags = [s.lag for s in samples if s.lag is not None]
    missing = sum(s.lag is None for s in samples)
    return {
        **summary_ms(lags),
        "samples_without_a_line": missing,
        "newest_line_advance_per_s": newest_line_advance(samples),
    }


def newest_line_advance(samples: Sequence[Sample]) -> int | None:
    """How fast the newest line shown moved on, in lines of the flood per second: the
    rate at which the screen kept up (skipped lines count as shown)."""
    shown = [s for s in samples if s.sequence is not None]
    if len(shown) < 2 or shown[-1].at <= shown[0].at:
        return None
    first, last = shown[0], shown[-1]
    assert first.sequence is not None
    assert last.sequence is not None
    return round((last.sequence - first.sequence) / (last.at - first.at))


def rss_summary(start: int, samples: Sequence[Sample], end: int) -> dict[str, float]:
    """Start/peak/end in MB, and the growth rate over the second half of the window."""
    values = [s.rss for s in samples] or [start]
    half = samples[len(samples) // 2 :]
    slope = 0.0
    if len(half) >= 2 and half[-1].at > half[0].at:
        slope = (half[-1].rss - half[0].rss) / (half[-1].at - half[0].at)
    return {
        "start_mb": round(start / MB, 1),
        "peak_mb": round(max(*values, start, end) / MB, 1),
        "end_mb": round(end / MB, 1),
        "second_half_growth_mb_per_s": round(slope / MB, 2),
    }


# ---------------------------------------------------------------- responsiveness


@dataclass
class KeyProbe:
    """Presses a key from a thread, as the terminal driver's input thread does, and times
    it: to the binding's action running (`handled`), and to the screen refreshed after
    it (`answered`). One press at a time, every `interval`."""

    press: Callable[[], None]
    interval: float = 0.1
    timeout: float = 10.0
    handled: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    timeouts: int = 0
    _sent_at: float = 0.0
    _handled_at: float | None = None
    _done: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bench-keys", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Blocks until the press in flight was answered (the event loop must be free to
        answer it: call this from another thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 1.0)

    def on_action(self) -> None:
        """Called (on the event loop) when the key's action runs."""
        if self._handled_at is None:
            self._handled_at = time.perf_counter()

    def on_refreshed(self) -> None:
        """Called (on the event loop) once the screen refreshed after the action."""
        if self._handled_at is not None and not self._done.is_set():
            self._done.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._handled_at = None
            self._done.clear()
            self._sent_at = time.perf_counter()
            self.press()
            if not self._done.wait(self.timeout):
                self.timeouts += 1
                continue
            if self._stop.is_set():
                return
            answered = time.perf_counter()
            handled = self._handled_at
            if handled is not None:
                self.handled.append(handled - self._sent_at)
                self.answered.append(answered - self._sent_at)

    def mark(self) -> tuple[int, int]:
        return len(self.handled), len(self.answered)

    def since(self, mark: tuple[int, int]) -> dict[str, object]:
        return {
            "handled": summary_ms(self.handled[mark[0] :]),
            "answered": summary_ms(self.answered[mark[1] :]),
        }


@dataclass
class LoopProbe:
    """How long a callback waits for the event loop: a thread schedules one every
    `interval` and the loop notes the delay."""

    loop: asyncio.AbstractEventLoop
    interval: float = 0.02
    delays: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bench-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _ran(self, sent: float) -> None:
        self.delays.append(time.perf_counter() - sent)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.loop.call_soon_threadsafe(self._ran, time.perf_counter())

    def since(self, mark: int) -> dict[str, float | int | None]:
        return summary_ms(self.delays[mark:])
