"""The in-process measurements: the real app under `run_test`, one coroutine each; every
one returns plain JSON data."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from functools import partial

from bench.probes import (
    SETTLE,
    CpuWindow,
    LagSampler,
    Result,
    lag_summary,
    newest_line_time,
    rss_bytes,
    rss_summary,
    summary_ms,
)
from bench.session import Dashboard, dashboard, rows_listed, settings_for, wait_until
from bench.stack import FLOOD_SERVICE, BenchStack
from bench.terminal import SIZE
from tui.core.engine import DockerGateway
from tui.core.log_buffer import LogLine
from tui.core.logs import FollowOptions
from tui.core.monitor import DockerEnvironmentMonitor
from tui.ui.app import make_app
from tui.ui.widgets.services_table import ServicesTable

# ---------------------------------------------------------------- first frame


async def first_frame_in_process(stack: BenchStack, runs: int) -> Result:
    """From building the app (settings, gateway, make_app) to the table listing every
    service, and to the screen refreshed after that. Textual and envdeck are already
    imported here (an untimed run goes first); the fresh-process figure (bench.terminal)
    includes them."""
    entered, rows, painted, cpu = [], [], [], []
    # One untimed run first: the modules Textual and envdeck import on first use (widget
    # classes, the plugin registry...) are imports, which the fresh-process figure counts.
    for run in range(runs + 1):
        began, cpu_began = time.perf_counter(), time.process_time()
        gateway = DockerGateway()
        app = make_app(settings_for(stack), gateway)
        listed = partial(rows_listed, app, len(stack.services))
        try:
            async with app.run_test(size=SIZE):
                entered.append(time.perf_counter() - began)  # mounted, first screen composed
                if not await wait_until(listed, 30):
                    raise RuntimeError("the services were not listed within 30 s")
                rows.append(time.perf_counter() - began)
                cpu.append(time.process_time() - cpu_began)
                refreshed = asyncio.Event()
                app.screen.query_one(ServicesTable).call_after_refresh(refreshed.set)
                await asyncio.wait_for(refreshed.wait(), 10)
                painted.append(time.perf_counter() - began)
        finally:
            gateway.reset()
        if run == 0:
            entered, rows, painted, cpu = [], [], [], []
        # The previous app's own threads (its streams, a stats round) end first: the
        # next app would share the CPU with them. (The event loop's idle executor
        # threads stay, for the next app's workers.)
        await wait_until(lambda: not envdeck_threads(), 15)
        await asyncio.sleep(0.5)  # and its last workers (the baseline check) wind down
    return {
        "app_running": summary_ms(entered),
        "rows_listed": summary_ms(rows),
        "screen_refreshed": summary_ms(painted),
        "cpu_until_rows_listed": summary_ms(cpu),
    }


def envdeck_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("envdeck")]


# ---------------------------------------------------------------- idle


async def idle(stack: BenchStack, seconds: float) -> Result:
    async with dashboard(stack):
        await asyncio.sleep(SETTLE)
        rss_start = rss_bytes()
        cpu = CpuWindow()
        cpu.start()
        await asyncio.sleep(seconds)
        result: Result = {"cpu": cpu.stop()}
        result["rss_mb"] = rss_summary(rss_start, [], rss_bytes())
        result["running_services"] = len(stack.services)
    return result


# ---------------------------------------------------------------- flooding


async def flood_window(
    stack: BenchStack,
    board: Dashboard,
    rate: int,
    *,
    settle: float,
    seconds: float,
    from_sequence: int,
) -> Result:
    """Set the flooder to `rate`, wait `settle`, then measure for `seconds`."""
    sampler = LagSampler(board.newest_line, from_sequence=from_sequence)
    sampler.start()
    rss_start = rss_bytes()
    stack.set_rate(rate)
    set_at = time.time()
    timeline = asyncio.create_task(per_second(board, settle + seconds))
    await asyncio.sleep(settle)
    if board.keys is None or board.loop_probe is None:
        raise RuntimeError("flood_window needs a dashboard opened with probes=True")
    key_mark, loop_mark = board.keys.mark(), len(board.loop_probe.delays)
    ingestion = board.ingestion
    before, batch_mark = ingestion.copy(), len(ingestion.batch_seconds)
    posted_mark, queued_mark = len(ingestion.to_posted), len(ingestion.queued)
    printed_before = stack.printed()
    cpu = CpuWindow()
    cpu.start()
    window_start = time.time()
    await asyncio.sleep(seconds)
    window_end = time.time()
    cpu_result = cpu.stop()
    rss_end = rss_bytes()
    printed_after = stack.printed()
    sampler.stop()
    in_widget, on_screen = board.newest_line(), board.newest_on_screen()
    after = board.ingestion
    wall = window_end - window_start
    samples = sampler.between(window_start, window_end)
    printed = (printed_after[0] - printed_before[0]) / max(
        printed_after[1] - printed_before[1], 1e-9
    )
    return {
        "requested_lines_per_s": rate,
        "printed_lines_per_s": round(printed),
        "ingested_lines_per_s": round((after.lines - before.lines) / wall),
        "skipped_lines": after.skipped - before.skipped,
        "first_new_line_s": (
            round(sampler.first_line_at - set_at, 3) if sampler.first_line_at else None
        ),
        "cpu": cpu_result,
        "lag": lag_summary(samples),
        "lag_split": {
            "printed_to_batch_posted": summary_ms(after.to_posted[posted_mark:]),
            "batch_posted_to_added": summary_ms(after.queued[queued_mark:]),
        },
        "keys": board.keys.since(key_mark),
        "key_timeouts": board.keys.timeouts,
        "event_loop_delay": board.loop_probe.since(loop_mark),
        "add_lines": {
            "cpu_percent": round((after.busy - before.busy) / wall * 100, 1),
            "batches_per_s": round((after.batches - before.batches) / wall, 1),
            "per_batch": summary_ms(after.batch_seconds[batch_mark:]),
        },
        "rss_mb": rss_summary(rss_start, samples, rss_end),
        "at_the_end": {
            "newest_sequence_in_widget": in_widget[0] if in_widget else None,
            "newest_sequence_on_screen": on_screen[0] if on_screen else None,
            "widget_lines": len(board.log_widget.lines) if board.log_widget else None,
        },
        "per_second": await timeline,
    }


async def per_second(board: Dashboard, seconds: float) -> list[Result]:
    """CPU, lines added and lines held by the Log widget, second by second: shows what
    changes once the widget holds its maximum of lines."""
    timeline: list[Result] = []
    began = time.perf_counter()
    cpu, wall, lines = time.process_time(), began, board.ingestion.lines
    while time.perf_counter() - began < seconds - 0.5:
        await asyncio.sleep(1.0)
        now, cpu_now, lines_now = time.perf_counter(), time.process_time(), board.ingestion.lines
        timeline.append(
            {
                "t": round(now - began, 1),
                "cpu_percent": round((cpu_now - cpu) / (now - wall) * 100, 1),
                "lines_added_per_s": round((lines_now - lines) / (now - wall)),
                "widget_lines": len(board.log_widget.lines) if board.log_widget else None,
            }
        )
        cpu, wall, lines = cpu_now, now, lines_now
    return timeline


async def follow(stack: BenchStack, rate: int, seconds: float, core_seconds: float) -> Result:
    result: Result = {}
    if core_seconds > 0:
        result["core_only"] = await follow_core(stack, rate, core_seconds)
        await asyncio.sleep(1.0)
    async with dashboard(stack, probes=True) as board:
        await asyncio.sleep(1.0)  # a few key probes at rest first
        result["dashboard"] = await flood_window(
            stack, board, rate, settle=1.0, seconds=seconds, from_sequence=stack.printed()[0]
        )
    return result


async def follow_core(stack: BenchStack, rate: int, seconds: float) -> Result:
    """The follower the dashboard starts (`DockerEnvironmentMonitor.follow_logs`, same
    options) with no UI at all: the floor under the dashboard's CPU and lag."""
    gateway = DockerGateway()
    monitor = DockerEnvironmentMonitor(settings_for(stack), gateway)
    lags: list[float] = []
    lines_seen = [0]

    def on_lines(lines: Sequence[LogLine]) -> None:
        newest = newest_line_time([line.text for line in lines[-20:]])
        if newest is not None:
            lags.append(time.time() - newest[1])
        lines_seen[0] += len(lines)

    follower = await asyncio.to_thread(
        monitor.follow_logs, [FLOOD_SERVICE], on_lines, FollowOptions(tail=500)
    )
    follower.start()
    try:
        await asyncio.sleep(1.0)
        stack.set_rate(rate)
        await asyncio.sleep(1.0)
        lag_mark, seen_before = len(lags), lines_seen[0]
        cpu = CpuWindow()
        cpu.start()
        await asyncio.sleep(seconds)
        cpu_result = cpu.stop()
        seen = lines_seen[0] - seen_before
    finally:
        stack.set_rate(0)
        await asyncio.to_thread(follower.stop)
        gateway.reset()
    return {
        "requested_lines_per_s": rate,
        "ingested_lines_per_s": round(seen / cpu_result["seconds"]) if cpu_result["seconds"] else 0,
        "cpu": cpu_result,
        "lag_per_batch": summary_ms(lags[lag_mark:]),
    }


async def ramp(stack: BenchStack, rates: Sequence[int], step_seconds: float) -> Result:
    steps = []
    async with dashboard(stack, probes=True) as board:
        first = stack.printed()[0]
        for rate in rates:
            steps.append(
                await flood_window(
                    stack,
                    board,
                    rate,
                    settle=2.0,
                    seconds=step_seconds - 2.0,
                    from_sequence=first,
                )
            )
    return {"steps": steps}
