"""A container dies: from Docker's `die` event to the services table saying so."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from docker.models.containers import Container

from bench.probes import Result, summary_ms
from bench.session import Dashboard, dashboard, wait_until
from bench.stack import BenchStack
from tui.ui.widgets.services_table import ServicesTable


@dataclass
class Shown:
    at: float | None = None  # wall clock: the table's row says it
    painted: float | None = None  # wall clock: the screen refreshed after that


async def deaths(stack: BenchStack, runs: int) -> Result:
    kills: list[Result] = []
    async with dashboard(stack) as board:
        containers = stack.containers()
        for index in range(runs):
            service = stack.idle[index % len(stack.idle)]
            kills.append(await kill_once(stack, board, containers[service], service))
    die_to_painted = [k["die_event_to_painted_s"] for k in kills if k["die_event_to_painted_s"]]
    kill_to_painted = [k["kill_returned_to_painted_s"] for k in kills]
    return {
        "die_event_to_screen": summary_ms(die_to_painted),
        "kill_returned_to_screen": summary_ms(kill_to_painted),
        "die_event_to_row": summary_ms(
            [k["die_event_to_row_s"] for k in kills if k["die_event_to_row_s"]]
        ),
        "kills": kills,
    }


async def kill_once(
    stack: BenchStack, board: Dashboard, container: Container, service: str
) -> Result:
    shown = Shown()
    refreshed = asyncio.Event()

    def painted() -> None:
        shown.painted = time.time()
        refreshed.set()

    def hook(table: ServicesTable) -> None:
        if shown.at is None and board.state_of(service) == "exited":
            shown.at = time.time()
            table.call_after_refresh(painted)

    board.table_hooks.append(hook)
    try:
        called = time.time()
        await asyncio.to_thread(container.kill)
        returned = time.time()
        await asyncio.wait_for(refreshed.wait(), 10)
    finally:
        board.table_hooks.remove(hook)
    if shown.at is None or shown.painted is None:
        raise RuntimeError(f"{service}'s death never reached the table")
    died = await asyncio.to_thread(die_event_time, stack, container.id or "", called)
    await asyncio.to_thread(container.start)
    if not await wait_until(lambda: board.state_of(service) == "running", 20, 0.01):
        raise RuntimeError(f"{service} did not show running again")
    await asyncio.sleep(0.3)
    return {
        "service": service,
        "kill_call_s": round(returned - called, 4),
        "kill_returned_to_painted_s": round(shown.painted - returned, 4),
        "die_event_to_row_s": round(shown.at - died, 4) if died else None,
        "die_event_to_painted_s": round(shown.painted - died, 4) if died else None,
    }


def die_event_time(stack: BenchStack, container_id: str, since: float) -> float | None:
    """The daemon's timestamp of the container's `die` event after `since`."""
    events = stack.client.events(
        since=int(since) - 1,
        until=int(time.time()) + 1,
        filters={"container": container_id, "event": "die"},
        decode=True,
    )
    times = [int(event["timeNano"]) / 1e9 for event in events]
    times = [t for t in times if t >= since - 0.001]
    return min(times) if times else None
