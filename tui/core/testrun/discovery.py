"""Finding a project's tests: `pytest --collect-only` with our plugin, in bounded time.

The tree is known once our plugin has reported the end of collection; pytest then still
prints the collected tests, unconfigures (a garbage collection) and tears its interpreter
down: 0.5 s of a 10,000-test collection (bench/large_suite.py). `discover` answers at the
end of collection and lets the run end in the background (`_finishing`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from tui.core.testrun.events import CollectedEvent, CollectErrorEvent, CollectionFinishedEvent
from tui.core.testrun.model import CollectedTree, CollectError, TestItem
from tui.core.testrun.place import RunPlace
from tui.core.testrun.pytest_words import headline
from tui.core.testrun.runner import TestRun

DISCOVER_TIMEOUT = 60.0
EXIT_TIMEOUT = 30.0  # for pytest to exit once it has collected, before it is stopped

_log = logging.getLogger(__name__)
_finishing: set[asyncio.Task[None]] = set()  # runs that collected and are ending


class DiscoveryError(Exception):
    """Collection did not finish: a usage error, a crash, a timeout. `output` says why."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


async def discover(
    project_dir: Path | str,
    python: str | None = None,
    extra_args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = DISCOVER_TIMEOUT,
    place: RunPlace | None = None,
) -> CollectedTree:
    """The project's tests, as `pytest --collect-only` finds them with `extra_args`.

    A file that fails to import is in the tree's `errors`, the others are collected.
    DiscoveryError if pytest collected nothing at all (a usage error, a crash) or took
    longer than `timeout` seconds (it is then killed). Returns when pytest has reported
    the end of collection; its process ends in the background (stopped if it has not
    within EXIT_TIMEOUT). `place`: where pytest runs (`tui.core.testrun.place`); unset:
    `python` here."""
    items: list[TestItem] = []
    errors: list[CollectError] = []
    finished: CollectionFinishedEvent | None = None
    run = TestRun(
        project_dir, python=python, extra_args=extra_args, env=env, collect_only=True, place=place
    )
    await run.start()
    try:
        async with asyncio.timeout(timeout):
            async for event in run.events():
                if isinstance(event, CollectedEvent):
                    items.extend(event.items)
                elif isinstance(event, CollectErrorEvent):
                    errors.append(CollectError(event.nodeid, event.longrepr))
                elif isinstance(event, CollectionFinishedEvent):
                    finished = event
                    break  # everything the tree needs is in
    except TimeoutError:
        await run.cancel("collection timed out")
        message = f"pytest did not finish collecting within {timeout:g} s"
        raise DiscoveryError(message, run.output.text()) from None
    except BaseException:
        await _stop(run)
        raise
    if finished is None:  # the events ended: pytest is gone without finishing collection
        await run.wait()
        code = run.result.exit_code if run.result else None
        said = headline(run.result.message, run.result.exit_code) if run.result else ""
        message = f"pytest collected nothing (exit code {code}){': ' if said else ''}{said}"
        raise DiscoveryError(message, run.output.text())
    task = asyncio.create_task(_end(run), name="envdeck-discovery-end")
    _finishing.add(task)
    task.add_done_callback(_finishing.discard)
    return CollectedTree(tuple(items), tuple(errors), finished.deselected)


async def _end(run: TestRun) -> None:
    """Until the run that collected is over; stopped if pytest does not exit in time."""
    try:
        async with asyncio.timeout(EXIT_TIMEOUT):
            await run.wait()
    except TimeoutError:
        _log.warning("pytest did not exit %g s after collecting: stopping it", EXIT_TIMEOUT)
        await _stop(run)
    except asyncio.CancelledError:  # the loop is closing: leave nothing running
        run.kill_now()
        raise


async def _stop(run: TestRun) -> None:
    try:
        await run.cancel()
    except asyncio.CancelledError:
        run.kill_now()
        raise
