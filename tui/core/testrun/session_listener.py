"""What a face of the test session hears from it (`session.py`): the listener's methods."""

from __future__ import annotations

from tui.core.status import ServiceStatus
from tui.core.testrun.events import TestEvent
from tui.core.testrun.model import CollectedTree
from tui.core.testrun.run_state import RunState


class SessionListener:
    """What a face hears from the session; every method may be left as it is."""

    def changed(self) -> None:
        """The state changed: the run line, the watch mode, the tree, the results."""

    async def test_event(self, run: RunState, event: TestEvent) -> None:
        """One event of `run`, as it happens (the session has applied it already)."""

    def run_ended(self, run: RunState) -> None:
        """`run` is over: finished, cancelled, refused, or never started."""

    def discovered(self, tree: CollectedTree) -> None:
        """A (new) collected tree: after `discover`, or after a run found new tests."""

    def notice(self, text: str, *, in_status_line: bool = False) -> None:
        """One thing to tell the user, in words (already safe to show); `in_status_line`:
        the run's line says it too (a face with one may keep quiet)."""

    def held(self, services: tuple[ServiceStatus, ...], text: str) -> None:
        """A run waits for these services (`text`: which and why); () when it waits no more."""
