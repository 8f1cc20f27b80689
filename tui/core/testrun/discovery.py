"""Finding a project's tests: `pytest --collect-only` with our plugin, in bounded time."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

from tui.core.testrun.events import CollectedEvent, CollectErrorEvent, CollectionFinishedEvent
from tui.core.testrun.model import CollectedTree, CollectError, TestItem
from tui.core.testrun.place import RunPlace
from tui.core.testrun.pytest_words import headline
from tui.core.testrun.runner import TestRun

DISCOVER_TIMEOUT = 60.0


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
    longer than `timeout` seconds (it is then killed). `place`: where pytest runs
    (`tui.core.testrun.place`); unset: `python` here."""
    items: list[TestItem] = []
    errors: list[CollectError] = []
    finished: CollectionFinishedEvent | None = None
    run = TestRun(
        project_dir, python=python, extra_args=extra_args, env=env, collect_only=True, place=place
    )
    async with run:
        try:
            async with asyncio.timeout(timeout):
                async for event in run.events():
                    if isinstance(event, CollectedEvent):
                        items.extend(event.items)
                    elif isinstance(event, CollectErrorEvent):
                        errors.append(CollectError(event.nodeid, event.longrepr))
                    elif isinstance(event, CollectionFinishedEvent):
                        finished = event
        except TimeoutError:
            await run.cancel("collection timed out")
            message = f"pytest did not finish collecting within {timeout:g} s"
            raise DiscoveryError(message, run.output.text()) from None
    if finished is None:
        code = run.result.exit_code if run.result else None
        said = headline(run.result.message, run.result.exit_code) if run.result else ""
        message = f"pytest collected nothing (exit code {code}){': ' if said else ''}{said}"
        raise DiscoveryError(message, run.output.text())
    return CollectedTree(tuple(items), tuple(errors), finished.deselected)
