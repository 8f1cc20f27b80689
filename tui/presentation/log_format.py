"""LogLine → the text of one line in the log pane (pure: no Textual)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from tui.core.log_buffer import LineBlock, LogLine, now_timestamp
from tui.core.text import safe_text

SEPARATOR_STREAM = "envdeck"
PREFIX_END = " │ "


def format_line(line: LogLine, *, timestamps: bool, prefix_width: int | None) -> str:
    """`service │ text` when several services share the pane (prefix_width set)."""
    parts = []
    if prefix_width is not None:
        parts.append(_prefix(line.service, prefix_width))
    if timestamps and line.timestamp:
        # Docker's RFC3339Nano, shortened to milliseconds: enough to line up services.
        parts.append(line.timestamp[11:23] + " ")
    parts.append(line.text)
    return "".join(parts)


def format_lines(block: LineBlock, *, timestamps: bool, prefix_width: int | None) -> list[str]:
    """`format_line` of every line of the block, a column at a time (may be `block.texts`
    itself: never change the list)."""
    texts = block.texts
    if timestamps:
        texts = [
            f"{stamp[11:23]} {text}" if stamp else text
            for stamp, text in zip(block.timestamps, texts, strict=True)
        ]
    if prefix_width is not None:
        service = block.service
        if service is not None:
            prefix = _prefix(service, prefix_width)
            texts = [prefix + text for text in texts]
        else:
            prefixes = {name: _prefix(name, prefix_width) for name in set(block.services())}
            texts = [
                prefixes[name] + text for name, text in zip(block.services(), texts, strict=True)
            ]
    return texts


def _prefix(service: str, width: int) -> str:
    return safe_text(service).ljust(width)[:width] + PREFIX_END


def wrap(text: str, width: int) -> Iterator[str]:
    """Hard-wrap at `width` characters (logs have no words worth keeping whole)."""
    if width <= 0 or len(text) <= width:
        yield text
        return
    for start in range(0, len(text), width):
        yield text[start : start + width]


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since_timestamp(window: str, now: datetime | None = None) -> str:
    """ "5m" → the RFC3339 time five minutes ago."""
    seconds = int(window[:-1]) * _UNITS[window[-1]]
    start = (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    return start.strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def engine_line(message: str) -> LogLine:
    """A separator line that envdeck itself writes into the pane."""
    return LogLine("envdeck", "", now_timestamp(), f"── {message} ──", "envdeck")


def window_or_time(value: str, now: datetime | None = None) -> str:
    """`5m` → five minutes ago; anything else must be an RFC3339 time, returned as is."""
    if value[:-1].isdigit() and value[-1:] in _UNITS:
        return since_timestamp(value, now)
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is neither a window (30s, 5m, 1h, 2d) nor a time") from None
    return value
