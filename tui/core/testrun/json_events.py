"""`envdeck test --json`: one JSON object per line on stdout, for CI.

Every object has "event": `session_started`, `collect_error`, `test_finished` (outcome,
duration, nodeid, its window; a failure also its report and every service's log lines of
that window), `session_finished` (counts, exit code: pytest's), and `not_ready` when the
health gate refused or held a run. The wire format of our plugin (events.py) stays ours:
these are the stable fields a CI script may read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tui.core.log_buffer import LogLine
from tui.core.status import ServiceStatus
from tui.core.testrun.events import (
    CollectErrorEvent,
    FinishedEvent,
    SessionFinishedEvent,
    SessionStartedEvent,
    TestEvent,
)
from tui.core.testrun.printer import failure_headline
from tui.core.watch.gate import why_not_ready


def event_json(event: TestEvent) -> dict[str, Any] | None:
    """The object for an event worth one (not output, started, collected items)."""
    if isinstance(event, SessionStartedEvent):
        return {
            "event": "session_started",
            "pytest_version": event.pytest_version,
            "rootdir": event.rootdir,
        }
    if isinstance(event, CollectErrorEvent):
        return {"event": "collect_error", "nodeid": event.nodeid, "longrepr": event.longrepr}
    if isinstance(event, FinishedEvent):
        return finished_json(event, None)
    if isinstance(event, SessionFinishedEvent):
        return {
            "event": "session_finished",
            "exit_code": event.exit_code,
            "counts": event.counts.as_dict(),
            "total": event.counts.total,
            "duration": round(event.duration, 3),
            "cancelled": event.cancelled,
            "message": event.message,
        }
    return None


def finished_json(
    event: FinishedEvent, service_logs: Sequence[LogLine] | None, *, logs_omitted: int = 0
) -> dict[str, Any]:
    """A finished test; `service_logs`: its window's lines (a failure's, when asked for),
    after `logs_omitted` earlier ones left out."""
    document: dict[str, Any] = {
        "event": "test_finished",
        "nodeid": event.nodeid,
        "outcome": event.outcome.value,
        "duration": round(event.duration, 6),
        "when": event.when,
        "start": event.start,
        "stop": event.stop,
        "reason": event.reason,
    }
    if event.longrepr:
        document["message"] = failure_headline(event)
        document["longrepr"] = event.longrepr
    if service_logs is not None:
        document["service_logs"] = [
            {"service": line.service, "timestamp": line.timestamp, "text": line.text}
            for line in service_logs
        ]
        document["service_logs_omitted"] = logs_omitted
    return document


def not_ready_json(services: Sequence[ServiceStatus], *, waiting: bool) -> dict[str, Any]:
    """The health gate held (waiting) or refused a run, and which services why."""
    return {
        "event": "not_ready",
        "waiting": waiting,
        "services": [
            {
                "name": s.name,
                "state": s.state,
                "health": s.health,
                "exit_code": s.exit_code,
                "why": why_not_ready(s),
            }
            for s in services
        ],
    }


def json_line(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))
