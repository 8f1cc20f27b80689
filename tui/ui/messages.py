"""App-wide facts the workers post; widgets' own messages live on the widgets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from tui.core.status import EnvironmentStatus, ServiceStatus

if TYPE_CHECKING:
    # Types only: importing them would bring docker-py in before the first frame.
    from tui.core.actions import ActionResult
    from tui.core.container_events import ContainerChange, EngineState
    from tui.core.details import ServiceDetails
    from tui.core.log_buffer import LogLine
    from tui.plugins.api import View, ViewResult


@dataclass
class StatusUpdated(Message):
    """A fresh snapshot of every service."""

    status: EnvironmentStatus

    def can_replace(self, message: Message) -> bool:
        # Only the newest snapshot matters: an older one still queued can go.
        return isinstance(message, StatusUpdated)


@dataclass
class ActionFinished(Message):
    """A service action ended: with a result, or with an error to show."""

    service: str | None
    result: ActionResult | None
    error: str | None


@dataclass
class DetailsLoaded(Message):
    service: str
    details: ServiceDetails | None


@dataclass
class InspectorReady(Message):
    """Which plugin serves a service and its views; or why none can."""

    service: str
    plugin_title: str
    views: tuple[View, ...]
    problem: str | None


@dataclass
class InspectionLoaded(Message):
    service: str
    view: str
    result: ViewResult | None
    problem: str | None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, InspectionLoaded) and message.service == self.service


@dataclass
class LogLinesArrived(Message):
    """A batch of log lines (at most ~20 batches a second) for the follower `generation`."""

    generation: int
    lines: Sequence[LogLine]  # a LineBlock from the follower


@dataclass
class ContainerChanged(Message):
    """One container changed (from Docker's events stream)."""

    change: ContainerChange


@dataclass
class ContainersResynced(Message):
    """The watcher (re)connected and re-listed the project: its whole state."""

    status: EnvironmentStatus


@dataclass
class EngineChanged(Message):
    state: EngineState


@dataclass
class ResourcesUpdated(Message):
    statuses: tuple[ServiceStatus, ...]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ResourcesUpdated)
