"""What a log follower shows, and whom it hands lines to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tui.core.log_buffer import DEFAULT_MAX_LINE_BYTES, LogLine, as_timestamp

# Called with a LineBlock: a Sequence[LogLine] whose columns the dashboard reads directly.
OnLines = Callable[[Sequence[LogLine]], None]


@dataclass(frozen=True)
class FollowOptions:
    """What to show: `since`/`until` bound every container run, `tail` only the first."""

    tail: int | None = None  # only the last N lines of the first container run
    since: str | datetime | None = None  # RFC3339 or datetime (naive = local time)
    until: str | datetime | None = None
    follow: bool = True  # False: what is there now, then the follower ends
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES

    def since_timestamp(self) -> str | None:
        return as_timestamp(self.since) if self.since is not None else None

    def until_timestamp(self) -> str | None:
        return as_timestamp(self.until) if self.until is not None else None
