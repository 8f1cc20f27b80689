"""Whole lines out of Docker's log messages, one message at a time: the slow path that
handles every edge of the stream format (16 KiB partial messages, lines over the cap, CRLF,
messages without a timestamp); `tui.core.log_buffer.frames` hands over to it."""

from __future__ import annotations

from typing import NamedTuple

from tui.core.log_buffer.lines import LogLine, StreamName
from tui.core.log_buffer.timestamps import RFC3339_BYTES
from tui.core.text import safe_bytes

DEFAULT_MAX_LINE_BYTES = 1024 * 1024
# The daemon's log copier cuts a line without a newline into messages of this size.
DOCKER_PARTIAL_BYTES = 16 * 1024
MAX_PREFIX_BYTES = 48  # "2024-01-02T03:04:05.123456789+01:00 " fits with room to spare
_DOCKER_PREFIX = len("2024-01-02T03:04:05.000000000Z")


class RawLine(NamedTuple):  # a tuple: made for every line, it must be cheap
    """A whole line as the container wrote it, before it is made safe."""

    stream: StreamName
    timestamp: str
    data: bytes  # without the line ending
    dropped: int = 0  # bytes cut off beyond the line cap


class LineAssembler:
    """Joins the messages of one stream (stdout or stderr) into whole lines.

    The daemon splits a line longer than 16 KiB into several messages, each with its own
    timestamp prefix; only the last ends in a newline. A line is kept up to
    `max_line_bytes`; the rest is only counted, so a 10 MB line costs 1 MiB at most.
    """

    def __init__(self, stream: StreamName, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.stream: StreamName = stream
        self.max_line_bytes = max_line_bytes
        self._parts = bytearray()
        self._timestamp: str | None = None  # set while a line is open
        self._last_timestamp = ""
        self._dropped = 0
        self._cr_dropped = False

    @property
    def line_open(self) -> bool:
        return self._timestamp is not None

    def remember(self, timestamp: str) -> None:
        """A whole line went by the fast path: its timestamp is the one to sort by next."""
        self._last_timestamp = timestamp

    def begin(self, timestamp: str) -> None:
        """A message starts; a continuation keeps the timestamp of the line's first part."""
        if self._timestamp is None:
            # A message without a prefix (never from the daemon) sorts with the one before.
            self._timestamp = timestamp or self._last_timestamp
            self._last_timestamp = self._timestamp

    def add(self, content: bytes | bytearray) -> None:
        room = max(self.max_line_bytes - len(self._parts), 0)
        self._parts += content[:room]
        self._dropped += max(len(content) - room, 0)
        if content:
            self._cr_dropped = len(content) > room and content.endswith(b"\r")

    def end_line(self) -> RawLine:
        # A CR before the newline is part of the line ending (every TTY writes CRLF).
        if self._cr_dropped:
            self._dropped -= 1
        elif self._parts.endswith(b"\r"):
            del self._parts[-1]
        line = RawLine(self.stream, self._timestamp or "", bytes(self._parts), self._dropped)
        self._parts.clear()
        self._timestamp, self._dropped, self._cr_dropped = None, 0, False
        return line

    def message(self, timestamp: str, content: bytes) -> RawLine | None:
        """One whole message; the line it completes, if it ends in a newline."""
        if (
            self._timestamp is None
            and content.endswith(b"\n")
            and len(content) <= self.max_line_bytes + 1
        ):
            # The common case, a short line in one message, without copying twice.
            self._last_timestamp = timestamp or self._last_timestamp
            end = -2 if content.endswith(b"\r\n") else -1
            return RawLine(self.stream, self._last_timestamp, content[:end])
        self.begin(timestamp)
        if not content.endswith(b"\n"):
            self.add(content)
            return None
        self.add(content[:-1])
        return self.end_line()

    def finish(self) -> RawLine | None:
        """The line left open when the stream ended (a last line without a newline)."""
        return self.end_line() if self.line_open else None


def split_timestamp(message: bytes) -> tuple[str, bytes]:
    """("2024-…Z", content) of a message the daemon prefixed with its timestamp and a space."""
    space = message.find(b" ", 0, MAX_PREFIX_BYTES)
    # Docker's own fixed-width form is taken on sight; anything else must prove it is a time.
    if (space == _DOCKER_PREFIX and message[space - 1] == 0x5A) or (
        space > 0 and RFC3339_BYTES.fullmatch(message, 0, space)
    ):
        return message[:space].decode("ascii"), message[space + 1 :]
    return "", message


def raw_text(raw: RawLine) -> str:
    """The line's text made safe: invalid UTF-8 replaced, control characters shown, cut
    marked."""
    text = safe_bytes(raw.data)
    if raw.dropped:
        text += f" … [truncated {raw.dropped} bytes]"
    return text


def to_log_line(raw: RawLine, service: str, container: str) -> LogLine:
    """The line made safe: invalid UTF-8 replaced, control characters shown, cut marked."""
    return LogLine(service, container, raw.timestamp, raw_text(raw), raw.stream)
