"""What `envdeck test` prints of one run: each event as a line (or, with --json, as a JSON
object on stdout and the lines on stderr), each failure with every service's log lines
of its time window, and a failures summary at the very end."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tui.core.log_buffer import LogLine
from tui.core.monitor import EnvironmentMonitor
from tui.core.status import ServiceStatus
from tui.core.testrun import (
    CollectErrorEvent,
    FinishedEvent,
    Outcome,
    SessionFinishedEvent,
    format_event,
    format_failure,
)
from tui.core.testrun.events import TestEvent
from tui.core.testrun.json_events import (
    event_json,
    finished_json,
    json_line,
    not_ready_json,
)
from tui.core.testrun.printer import (
    format_collect_error,
    format_failures_summary,
    format_pytest_message,
    format_window_logs,
)
from tui.core.testrun.window_logs import window_logs
from tui.core.text import safe_text
from tui.core.watch.gate import why_not_ready

FAILING = (Outcome.FAILED, Outcome.ERROR)
LOG_LINES_PER_FAILURE = 40  # the last lines of a failure's window, all services merged
FAILURES_WITH_LOGS = 20  # past this many failures in a run, no more log look-ups


@dataclass(frozen=True)
class HeadlessOptions:
    """`envdeck test`'s own flags (the rest go to pytest)."""

    json: bool = False  # JSON objects on stdout, the lines on stderr
    service_logs: bool = True  # each failure with its window's service logs
    wait: float | None = None  # seconds to wait for a not-ready environment; None: refuse
    bundle: Path | None = None  # a failure bundle per failure of each run, under this folder
    diff: str | None = None  # --diff NODEID: rerun it alone, show what it changed in the data
    keep: bool = False  # --diff: leave the data as the test left it


class Output:
    """Where lines and JSON objects go: with --json stdout carries only JSON."""

    def __init__(self, options: HeadlessOptions) -> None:
        self.options = options
        self.lines: TextIO = sys.stderr if options.json else sys.stdout

    def line(self, text: str) -> None:
        print(text, file=self.lines, flush=True)

    def json(self, document: dict[str, object]) -> None:
        if self.options.json:
            print(json_line(document), flush=True)

    def say(self, message: str) -> None:
        print(f"envdeck: {message}", file=sys.stderr, flush=True)

    def not_ready(self, services: tuple[ServiceStatus, ...], *, waiting: bool) -> str:
        """Tell which services hold the run, and why; returns the text said."""
        text = ", ".join(f"{safe_text(s.name)} {why_not_ready(s)}" for s in services)
        self.json(not_ready_json(services, waiting=waiting))
        return text


class RunReport:
    """One run's output, event by event; `finish` prints the failures summary."""

    def __init__(self, output: Output, monitor: EnvironmentMonitor | None) -> None:
        self.output = output
        self.monitor = monitor if output.options.service_logs else None
        self.failures: list[FinishedEvent] = []

    async def event(self, event: TestEvent) -> None:
        out = self.output
        if isinstance(event, SessionFinishedEvent):
            said = format_pytest_message(event)
            if said is not None:
                out.line(said)
        line = format_event(event)
        if line is not None:
            out.line(line)
        if isinstance(event, CollectErrorEvent):
            out.line(format_collect_error(event))
        if isinstance(event, FinishedEvent) and event.outcome in FAILING:
            self.failures.append(event)
            out.line(format_failure(event))
            logs = await self.service_logs(event)
            shown = None if logs is None else logs[-LOG_LINES_PER_FAILURE:]
            omitted = 0 if logs is None else len(logs) - len(shown or ())
            out.json(finished_json(event, shown, logs_omitted=omitted))
            return
        if isinstance(event, SessionFinishedEvent):
            summary = format_failures_summary(self.failures)
            if summary is not None:
                out.line(summary)
        document = event_json(event)
        if document is not None:
            out.json(document)

    async def service_logs(self, event: FinishedEvent) -> list[LogLine] | None:
        """Print (and return) every service's lines of the failure's window; None when
        not asked, past FAILURES_WITH_LOGS, or the engine could not say."""
        if self.monitor is None:
            return None
        if len(self.failures) > FAILURES_WITH_LOGS:
            if len(self.failures) == FAILURES_WITH_LOGS + 1:
                self.output.line(f"(service logs only for the first {FAILURES_WITH_LOGS} failures)")
            return None
        try:
            lines = await asyncio.to_thread(window_logs, self.monitor, event.start, event.stop)
        except Exception as error:  # the engine went away: the run goes on without logs
            self.output.line(f"(service logs unavailable: {safe_text(str(error))})")
            return None
        self.output.line(
            format_window_logs(lines, event.start, event.stop, limit=LOG_LINES_PER_FAILURE)
        )
        return lines
