"""Container log lines: parsed from Docker's log stream, made safe, kept in a bounded ring.

Everything here is pure: it is fed bytes and never talks to Docker, so every edge of the
stream format (split frames, 16 KiB partial messages, TTY output, hostile bytes) is
tested without an engine. `tui.core.logs` connects it to the engine.
"""

from __future__ import annotations

import calendar
import heapq
import logging
import re
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Literal, NamedTuple

from tui.core.text import safe_bytes

StreamName = Literal["stdout", "stderr", "envdeck"]

DEFAULT_RING_LINES = 10_000
DEFAULT_MAX_LINE_BYTES = 1024 * 1024
# The daemon's log copier cuts a line without a newline into messages of this size.
DOCKER_PARTIAL_BYTES = 16 * 1024

# A multiplexed frame's header: stream id, 3 zero bytes, big-endian payload length.
_HEADER = struct.Struct(">II")
_MAX_FRAME_BYTES = DOCKER_PARTIAL_BYTES * 64  # far above any real frame: a bigger one is garbage
_MAX_PREFIX_BYTES = 48  # "2024-01-02T03:04:05.123456789+01:00 " fits with room to spare
_STREAMS: dict[int, StreamName] = {0 << 24: "stdout", 1 << 24: "stdout", 2 << 24: "stderr"}
_DOCKER_PREFIX = len("2024-01-02T03:04:05.000000000Z")
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", re.ASCII
)
_TIMESTAMP_BYTES = re.compile(_TIMESTAMP.pattern.encode())  # bytes patterns are ASCII-only
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_by_timestamp = attrgetter("timestamp")
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a service's output, safe to display as plain text."""

    service: str
    container: str  # short id; empty for engine-level separators
    timestamp: str  # RFC3339Nano in UTC, fixed width, so strings sort in time order
    text: str  # control characters already made visible (tui.core.text)
    stream: StreamName  # "envdeck": a separator line envdeck wrote itself


# ---------------------------------------------------------------- timestamps


def timestamp_to_ns(timestamp: str) -> int:
    """Nanoseconds since the epoch of an RFC3339(Nano) timestamp; ValueError if it is not one."""
    match = _TIMESTAMP.fullmatch(timestamp)
    if match is None:
        raise ValueError(f"not an RFC3339 timestamp: {timestamp!r}")
    *fields, fraction, zone = match.groups()
    seconds = calendar.timegm((*map(int, fields), 0, 0, 0))
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def ns_to_timestamp(ns: int) -> str:
    """The fixed-width UTC form Docker writes: 2024-01-02T03:04:05.000000001Z."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{fraction:09d}Z"
    )


def normalize_timestamp(timestamp: str) -> str:
    """Any RFC3339 timestamp (Docker trims zeros in `StartedAt`) in the fixed-width form."""
    return ns_to_timestamp(timestamp_to_ns(timestamp))


def now_timestamp() -> str:
    return ns_to_timestamp(time.time_ns())


def as_timestamp(moment: str | datetime) -> str:
    """A datetime (naive ones are local time) or RFC3339 string in the fixed-width form."""
    if isinstance(moment, str):
        return normalize_timestamp(moment)
    micros = (moment.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    return ns_to_timestamp(micros * 1000)


def docker_time(timestamp: str) -> str:
    """The API's `since`/`until` form, "seconds.nanoseconds", exact to the nanosecond."""
    seconds, fraction = divmod(timestamp_to_ns(timestamp), 1_000_000_000)
    return f"{seconds}.{fraction:09d}"


# ---------------------------------------------------------------- the ring


class LogRing:
    """The newest lines of each service, bounded, safe to append from several threads."""

    def __init__(self, max_lines_per_service: int = DEFAULT_RING_LINES) -> None:
        if max_lines_per_service < 1:
            raise ValueError("a log ring holds at least one line per service")
        self.max_lines_per_service = max_lines_per_service
        self._services: dict[str, deque[LogLine]] = {}
        self._chars = 0
        self._lock = threading.Lock()

    def append(self, line: LogLine) -> None:
        self.extend((line,))

    def extend(self, lines: Iterable[LogLine]) -> None:
        with self._lock:
            for line in lines:
                ring = self._services.get(line.service)
                if ring is None:
                    ring = self._services[line.service] = deque(maxlen=self.max_lines_per_service)
                if len(ring) == ring.maxlen:
                    self._chars -= len(ring[0].text)  # about to fall off the far end
                ring.append(line)
                self._chars += len(line.text)

    def lines(self, service: str | None = None, since: str | None = None) -> list[LogLine]:
        """One service's lines, or every service's merged in timestamp order."""
        with self._lock:
            if service is not None:
                rings = [list(self._services.get(service, ()))]
            else:
                rings = [list(ring) for ring in self._services.values()]
        merged = rings[0] if len(rings) == 1 else heapq.merge(*rings, key=_by_timestamp)
        if since is None:
            return list(merged)
        return [line for line in merged if line.timestamp >= since]

    def services(self) -> list[str]:
        with self._lock:
            return sorted(self._services)

    def clear(self, service: str | None = None) -> None:
        with self._lock:
            for name in [service] if service is not None else list(self._services):
                dropped = self._services.pop(name, ())
                self._chars -= sum(len(line.text) for line in dropped)

    @property
    def text_size(self) -> int:
        """Characters of text held: what the ring costs, give or take per-line overhead."""
        return self._chars

    def __len__(self) -> int:
        with self._lock:
            return sum(len(ring) for ring in self._services.values())


# ---------------------------------------------------------------- the stream format


class StreamFormatError(ValueError):
    """The bytes are not Docker's multiplexed log format (a garbled or TTY stream)."""


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
    space = message.find(b" ", 0, _MAX_PREFIX_BYTES)
    # Docker's own fixed-width form is taken on sight; anything else must prove it is a time.
    if (space == _DOCKER_PREFIX and message[space - 1] == 0x5A) or (
        space > 0 and _TIMESTAMP_BYTES.fullmatch(message, 0, space)
    ):
        return message[:space].decode("ascii"), message[space + 1 :]
    return "", message


class MultiplexedLogParser:
    """Docker's log stream of a non-TTY container: 8-byte-header frames, fed in any chunks."""

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._rest = b""  # the start of a frame whose end has not arrived yet
        self._assemblers = {
            "stdout": LineAssembler("stdout", max_line_bytes),
            "stderr": LineAssembler("stderr", max_line_bytes),
        }

    def feed(self, data: bytes) -> list[RawLine]:
        buffer = self._rest + data if self._rest else data
        size, start = len(buffer), 0
        lines: list[RawLine] = []
        while size - start >= _HEADER.size:
            kind, length = _HEADER.unpack_from(buffer, start)
            stream = _STREAMS.get(kind)  # also checks the 3 zero bytes
            if stream is None or length > _MAX_FRAME_BYTES:
                header = buffer[start : start + _HEADER.size]
                raise StreamFormatError(f"not a Docker log frame: {header!r}")
            end = start + _HEADER.size + length
            if end > size:
                break  # the rest of this frame is still on its way
            message = buffer[start + _HEADER.size : end]
            line = self._assemblers[stream].message(*split_timestamp(message))
            if line is not None:
                lines.append(line)
            start = end
        self._rest = buffer[start:]
        return lines

    def finish(self) -> list[RawLine]:
        """Lines still open when the stream ended."""
        return [line for a in self._assemblers.values() if (line := a.finish()) is not None]


class TtyLogParser:
    """Docker's log stream of a TTY container: no frames, only "timestamp content\\n" messages.

    Nothing marks where a 16 KiB partial message ends, so it is recognised by its size:
    content that reaches 16 KiB without a newline is followed by a continuation's
    timestamp prefix, which is dropped.
    """

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._buffer = bytearray()
        self._assembler = LineAssembler("stdout", max_line_bytes)
        self._at_prefix = True
        self._message_bytes = 0  # content of the current message so far

    def feed(self, data: bytes) -> list[RawLine]:
        self._buffer += data
        lines: list[RawLine] = []
        start = 0
        while start < len(self._buffer):
            if self._at_prefix:
                start, complete = self._read_prefix(start)
                if not complete:
                    break
            else:
                start, line = self._read_content(start)
                if line is not None:
                    lines.append(line)
        del self._buffer[:start]
        return lines

    def _read_prefix(self, start: int) -> tuple[int, bool]:
        buffer = self._buffer
        space = buffer.find(b" ", start, start + _MAX_PREFIX_BYTES)
        if space < 0 and len(buffer) - start < _MAX_PREFIX_BYTES:
            return start, False  # wait for the rest of the prefix
        self._at_prefix, self._message_bytes = False, 0
        if space > 0 and _TIMESTAMP_BYTES.fullmatch(buffer, start, space):
            self._assembler.begin(buffer[start:space].decode("ascii"))
            return space + 1, True
        self._assembler.begin("")  # not a prefix after all: it is content
        return start, True

    def _read_content(self, start: int) -> tuple[int, RawLine | None]:
        buffer = self._buffer
        room = DOCKER_PARTIAL_BYTES - self._message_bytes
        newline = buffer.find(b"\n", start, start + room)
        if newline >= 0:
            self._assembler.add(buffer[start:newline])
            self._at_prefix = True
            return newline + 1, self._assembler.end_line()
        end = min(len(buffer), start + room)
        self._assembler.add(buffer[start:end])
        self._message_bytes += end - start
        if self._message_bytes == DOCKER_PARTIAL_BYTES:
            self._at_prefix = True  # a full partial message: a continuation follows
        return end, None

    def finish(self) -> list[RawLine]:
        if self._buffer:  # a short last message cut before its prefix was complete
            self._assembler.begin("")
            self._assembler.add(bytes(self._buffer))
            self._buffer.clear()
        line = self._assembler.finish()
        return [line] if line is not None else []


def to_log_line(raw: RawLine, service: str, container: str) -> LogLine:
    """The line made safe: invalid UTF-8 replaced, control characters shown, cut marked."""
    text = safe_bytes(raw.data)
    if raw.dropped:
        text += f" … [truncated {raw.dropped} bytes]"
    return LogLine(service, container, raw.timestamp, text, raw.stream)


# ---------------------------------------------------------------- delivery in batches


class LineBatcher:
    """Hands lines to `on_lines` from its own thread, at most once per `interval`.

    A flood of 100k lines a second then costs the UI ~20 calls a second. If the callback
    falls behind, the oldest waiting lines beyond `max_pending` are dropped and a
    separator says how many: the view could not have kept them anyway.
    """

    def __init__(
        self,
        on_lines: Callable[[list[LogLine]], None],
        interval: float = 0.05,
        max_pending: int = 10 * DEFAULT_RING_LINES,
    ) -> None:
        self._on_lines = on_lines
        self._interval = interval
        self._max_pending = max_pending
        self._pending: deque[LogLine] = deque()
        self._skipped: dict[str, int] = {}
        self._busy = False  # a batch is being delivered
        self._stopped = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="envdeck-logs-batches", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, lines: Iterable[LogLine]) -> None:
        with self._changed:
            if self._stopped:
                return
            self._pending.extend(lines)
            for _ in range(len(self._pending) - self._max_pending):
                service = self._pending.popleft().service
                self._skipped[service] = self._skipped.get(service, 0) + 1
            self._changed.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until every line put so far was delivered."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._stopped or not (self._pending or self._busy), timeout
            )

    def stop(self, timeout: float = 2.0) -> bool:
        """No more deliveries (lines still waiting are dropped); True if the thread ended."""
        with self._changed:
            self._stopped = True
            self._pending.clear()
            self._changed.notify_all()
        if self._thread.ident is None or self._thread is threading.current_thread():
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        delivered_at = time.monotonic() - self._interval
        while (batch := self._next_batch(delivered_at)) is not None:
            delivered_at = time.monotonic()
            try:
                self._on_lines(batch)
            except Exception:
                _log.exception("a log callback failed; following goes on")
            with self._changed:
                self._busy = False
                self._changed.notify_all()

    def _next_batch(self, delivered_at: float) -> list[LogLine] | None:
        with self._changed:
            self._changed.wait_for(lambda: self._stopped or bool(self._pending))
            # Let a burst gather until the interval since the last delivery is over.
            while (
                not self._stopped and (left := delivered_at + self._interval - time.monotonic()) > 0
            ):
                self._changed.wait(left)
            if self._stopped:
                return None
            batch = list(self._pending)
            self._pending.clear()
            skipped, self._skipped = self._skipped, {}
            self._busy = True
        # Each "skipped" note goes just before the first line that survived.
        batch = [_skipped_line(service, count, batch) for service, count in skipped.items()] + batch
        return _merged_by_service(batch)


def _merged_by_service(batch: list[LogLine]) -> list[LogLine]:
    """Services interleaved by timestamp, each keeping its own order (a separator stamped
    "now" stays where it was written)."""
    by_service: dict[str, list[LogLine]] = {}
    for line in batch:
        by_service.setdefault(line.service, []).append(line)
    if len(by_service) == 1:
        return batch
    return list(heapq.merge(*by_service.values(), key=_by_timestamp))


def _skipped_line(service: str, count: int, batch: list[LogLine]) -> LogLine:
    first = next((line.timestamp for line in batch if line.service == service), None)
    return LogLine(
        service,
        "",
        first or now_timestamp(),
        f"── {count} lines skipped: more output than the view takes ──",
        "envdeck",
    )
