"""The test runner's core: discover a project's tests, run them, follow every event.

No Textual here: the dashboard's test screen and `envdeck test` are both built on this.
`pytest_plugin` is not imported: it runs inside the project's own pytest, not in envdeck.
"""

from __future__ import annotations

from tui.core.testrun.discovery import DiscoveryError, discover
from tui.core.testrun.events import (
    CapturedSection,
    CollectedEvent,
    CollectErrorEvent,
    CollectionFinishedEvent,
    FinishedEvent,
    OutputEvent,
    SessionFinishedEvent,
    SessionStartedEvent,
    StartedEvent,
    TestEvent,
)
from tui.core.testrun.model import (
    CollectedTree,
    CollectError,
    Outcome,
    OutcomeCounts,
    TestItem,
    TestNode,
)
from tui.core.testrun.printer import format_event, format_failure
from tui.core.testrun.progress import RunProgress
from tui.core.testrun.runner import TestRun, TestRunError

__all__ = [
    "CapturedSection",
    "CollectError",
    "CollectErrorEvent",
    "CollectedEvent",
    "CollectedTree",
    "CollectionFinishedEvent",
    "DiscoveryError",
    "FinishedEvent",
    "Outcome",
    "OutcomeCounts",
    "OutputEvent",
    "RunProgress",
    "SessionFinishedEvent",
    "SessionStartedEvent",
    "StartedEvent",
    "TestEvent",
    "TestItem",
    "TestNode",
    "TestRun",
    "TestRunError",
    "discover",
    "format_event",
    "format_failure",
]
