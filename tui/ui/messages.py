"""App-wide facts the workers post; widgets' own messages live on the widgets."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tui.core.status import EnvironmentStatus


@dataclass
class StatusUpdated(Message):
    """A fresh snapshot of every service."""

    status: EnvironmentStatus

    def can_replace(self, message: Message) -> bool:
        # Only the newest snapshot matters: an older one still queued can go.
        return isinstance(message, StatusUpdated)
