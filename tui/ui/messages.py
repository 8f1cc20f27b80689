"""App-wide facts the workers post; widgets' own messages live on the widgets.

Plain classes, not dataclasses: a dataclass's methods are compiled when its module is
imported, ~1 ms each here, and these ten are imported before the first frame (issue 17).
A message is never compared or hashed."""

from __future__ import annotations

from collections.abc import Sequence
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


class StatusUpdated(Message):
    """A fresh snapshot of every service."""

    def __init__(self, status: EnvironmentStatus) -> None:
        super().__init__()
        self.status = status

    def can_replace(self, message: Message) -> bool:
        # Only the newest snapshot matters: an older one still queued can go.
        return isinstance(message, StatusUpdated)


class ActionFinished(Message):
    """A service action ended: with a result, or with an error to show."""

    def __init__(self, service: str | None, result: ActionResult | None, error: str | None) -> None:
        super().__init__()
        self.service = service
        self.result = result
        self.error = error


class DetailsLoaded(Message):
    def __init__(self, service: str, details: ServiceDetails | None) -> None:
        super().__init__()
        self.service = service
        self.details = details


class InspectorReady(Message):
    """Which plugin serves a service and its views; or why none can."""

    def __init__(
        self, service: str, plugin_title: str, views: tuple[View, ...], problem: str | None
    ) -> None:
        super().__init__()
        self.service = service
        self.plugin_title = plugin_title
        self.views = views
        self.problem = problem


class InspectionLoaded(Message):
    def __init__(
        self, service: str, view: str, result: ViewResult | None, problem: str | None
    ) -> None:
        super().__init__()
        self.service = service
        self.view = view
        self.result = result
        self.problem = problem

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, InspectionLoaded) and message.service == self.service


class LogLinesArrived(Message):
    """A batch of log lines (at most ~20 batches a second) for the follower `generation`."""

    def __init__(self, generation: int, lines: Sequence[LogLine]) -> None:
        super().__init__()
        self.generation = generation
        self.lines = lines  # a LineBlock from the follower


class ContainerChanged(Message):
    """One container changed (from Docker's events stream)."""

    def __init__(self, change: ContainerChange) -> None:
        super().__init__()
        self.change = change


class ContainersResynced(Message):
    """The watcher (re)connected and re-listed the project: its whole state."""

    def __init__(self, status: EnvironmentStatus) -> None:
        super().__init__()
        self.status = status


class EngineChanged(Message):
    def __init__(self, state: EngineState) -> None:
        super().__init__()
        self.state = state


class ResourcesUpdated(Message):
    def __init__(self, statuses: tuple[ServiceStatus, ...]) -> None:
        super().__init__()
        self.statuses = statuses

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ResourcesUpdated)
