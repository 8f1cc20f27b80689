"""SIGTERM and SIGHUP stop a headless command as ctrl+c does.

Python's default for both ends the process at once: no `finally` runs, so a test run's
processes and the spares started ahead (`tui.core.testrun.warm`) would outlive envdeck,
and one caught between being frozen and killed stays frozen for good. Here the signal
cancels the command's task instead, and its own clean-up runs.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


async def until_stopped(command: Coroutine[Any, Any, int]) -> int:
    """`command`'s result; 128 + the signal's number when SIGTERM or SIGHUP stopped it."""
    task = asyncio.ensure_future(command)
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        task.cancel()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    try:
        return await task
    except asyncio.CancelledError:
        if not received:
            raise
        return 128 + received[0]
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
