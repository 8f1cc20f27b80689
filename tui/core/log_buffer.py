"""Container log lines: parsed from Docker's log stream, made safe, kept in a bounded ring.

Everything here is pure: it is fed bytes and never talks to Docker, so every edge of the
stream format (split frames, 16 KiB partial messages, TTY output, hostile bytes) is
tested without an engine. `tui.core.logs` connects it to the engine.

A flood is handled a chunk at a time, not a line at a time: the parsers recognise runs of
ordinary lines with one regex per chunk and decode and sanitise them in one pass, and the
lines travel on as a `LineBlock` (a few lists, one per field) rather than as an object per
line. `LogLine`s are made only for whoever iterates over a block.
"""

from __future__ import annotations

import calendar
import heapq
import logging
import operator
import re
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice, repeat
from operator import attrgetter
from typing import Literal, NamedTuple, cast, overload

from tui.core.text import safe_bytes, safe_text_lines

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


class LogLine(NamedTuple):  # a tuple: made by the thousand when a block is iterated
    """One line of a service's output, safe to display as plain text."""

    service: str
    container: str  # short id; empty for engine-level separators
    timestamp: str  # RFC3339Nano in UTC, fixed width, so strings sort in time order
    text: str  # control characters already made visible (tui.core.text)
    stream: StreamName  # "envdeck": a separator line envdeck wrote itself


# ---------------------------------------------------------------- blocks of lines

# A column of a block: one value for every line, or one value per line.
Column = str | Sequence[str]
StreamColumn = StreamName | Sequence[StreamName]


def _each(column: Column, count: int) -> Iterable[str]:
    return repeat(column, count) if isinstance(column, str) else column


def _compact(values: Sequence[str]) -> Column:
    """A per-line column as one value when every line has the same."""
    if values and values.count(values[0]) == len(values):
        return values[0]
    return values


class LineBlock(Sequence[LogLine]):
    """Lines stored by column: `timestamps` and `texts` one per line, service, container
    and stream either one for the whole block (the usual case) or one per line.

    What a reader hands on per chunk of a flood: building it costs a few list operations,
    not an object per line. It is a `Sequence[LogLine]` for whoever wants lines one by one.
    Never changed once made: the same block goes to the ring, the batcher and the view.
    """

    __slots__ = ("_containers", "_services", "_streams", "texts", "timestamps")

    def __init__(
        self,
        service: Column,
        container: Column,
        timestamps: list[str],
        texts: list[str],
        stream: StreamColumn = "stdout",
    ) -> None:
        self._services = service
        self._containers = container
        self.timestamps = timestamps
        self.texts = texts
        self._streams: Column = stream

    @classmethod
    def of(cls, lines: Iterable[LogLine]) -> LineBlock:
        """`lines` as a block: itself when it is one already."""
        if isinstance(lines, LineBlock):
            return lines
        items = lines if isinstance(lines, list | tuple) else list(lines)
        streams: list[StreamName] = [line.stream for line in items]
        return cls(
            _compact([line.service for line in items]),
            _compact([line.container for line in items]),
            [line.timestamp for line in items],
            [line.text for line in items],
            cast(StreamColumn, _compact(streams)),
        )

    @classmethod
    def join(cls, blocks: Sequence[LineBlock]) -> LineBlock:
        """One block of several, in order."""
        if len(blocks) == 1:
            return blocks[0]
        if not blocks:
            return EMPTY_BLOCK
        timestamps: list[str] = []
        texts: list[str] = []
        for block in blocks:
            timestamps += block.timestamps
            texts += block.texts
        return cls(
            cls._joined([b._services for b in blocks], blocks),
            cls._joined([b._containers for b in blocks], blocks),
            timestamps,
            texts,
            cast(StreamColumn, cls._joined([b._streams for b in blocks], blocks)),
        )

    @staticmethod
    def _joined(columns: Sequence[Column], blocks: Sequence[LineBlock]) -> Column:
        first = columns[0]
        if isinstance(first, str) and all(column == first for column in columns):
            return first
        values: list[str] = []
        for column, block in zip(columns, blocks, strict=True):
            values.extend(_each(column, len(block)))
        return values

    # ---------------------------------------------------------------- columns

    @property
    def service(self) -> str | None:
        """The service of every line, or None when the block mixes services."""
        return self._services if isinstance(self._services, str) else None

    @property
    def service_column(self) -> Column:
        return self._services

    @property
    def container_column(self) -> Column:
        return self._containers

    @property
    def stream_column(self) -> StreamColumn:
        return cast(StreamColumn, self._streams)

    def services(self) -> Iterable[str]:
        return _each(self._services, len(self.texts))

    def containers(self) -> Iterable[str]:
        return _each(self._containers, len(self.texts))

    def streams(self) -> Iterable[StreamName]:
        return cast(Iterable[StreamName], _each(self._streams, len(self.texts)))

    def newest_timestamp(self) -> str:
        return max(self.timestamps, default="")

    # ---------------------------------------------------------------- Sequence

    def __len__(self) -> int:
        return len(self.texts)

    def __bool__(self) -> bool:
        return bool(self.texts)

    def __iter__(self) -> Iterator[LogLine]:
        return map(
            LogLine._make,
            zip(
                self.services(),
                self.containers(),
                self.timestamps,
                self.texts,
                self.streams(),
                strict=True,
            ),
        )

    @overload
    def __getitem__(self, index: int) -> LogLine: ...

    @overload
    def __getitem__(self, index: slice) -> LineBlock: ...

    def __getitem__(self, index: int | slice) -> LogLine | LineBlock:
        if isinstance(index, slice):
            return LineBlock(
                self._sliced(self._services, index),
                self._sliced(self._containers, index),
                self.timestamps[index],
                self.texts[index],
                cast(StreamColumn, self._sliced(self._streams, index)),
            )
        text = self.texts[index]  # IndexError as a list would raise it

        def at(column: Column) -> str:
            return column if isinstance(column, str) else column[index]

        stream = cast(StreamName, at(self._streams))
        return LogLine(
            at(self._services), at(self._containers), self.timestamps[index], text, stream
        )

    @staticmethod
    def _sliced(column: Column, index: slice) -> Column:
        return column if isinstance(column, str) else column[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LineBlock | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LineBlock({list(self)!r})"

    def by_service(self) -> dict[str, LineBlock]:
        """The block's lines of each service, each keeping its order."""
        if isinstance(self._services, str):
            return {self._services: self} if self.texts else {}
        indexes: dict[str, list[int]] = {}
        for index, service in enumerate(self._services):
            indexes.setdefault(service, []).append(index)
        return {service: self.take(chosen) for service, chosen in indexes.items()}

    def take(self, chosen: list[int]) -> LineBlock:
        """The lines at these indexes, in this order."""

        def take(column: Column) -> Column:
            return column if isinstance(column, str) else _compact([column[i] for i in chosen])

        return LineBlock(
            take(self._services),
            take(self._containers),
            [self.timestamps[i] for i in chosen],
            [self.texts[i] for i in chosen],
            cast(StreamColumn, take(self._streams)),
        )


EMPTY_BLOCK = LineBlock("", "", [], [])


def merged_by_timestamp(blocks: Sequence[LineBlock]) -> LineBlock:
    """Single-service blocks interleaved by timestamp, each keeping its own order (as
    heapq.merge does: a separator stamped "now" stays where it was written)."""
    blocks = [block for block in blocks if block]
    if len(blocks) <= 1:
        return blocks[0] if blocks else EMPTY_BLOCK
    order = list(
        heapq.merge(
            *(
                zip(block.timestamps, repeat(number), range(len(block)))
                for number, block in enumerate(blocks)
            )
        )
    )
    services: list[str] = []
    containers: list[str] = []
    streams: list[str] = []
    texts: list[str] = []
    columns = [
        (list(b.services()), list(b.containers()), list(b.streams()), b.texts) for b in blocks
    ]
    for _, number, index in order:
        service, container, stream, text = columns[number]
        services.append(service[index])
        containers.append(container[index])
        streams.append(stream[index])
        texts.append(text[index])
    return LineBlock(
        _compact(services),
        _compact(containers),
        [stamp for stamp, _, _ in order],
        texts,
        cast(StreamColumn, _compact(streams)),
    )


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


class _ServiceLines:
    """One service's newest lines, by column; deques drop the oldest by themselves."""

    __slots__ = ("containers", "streams", "texts", "timestamps")

    def __init__(self, size: int) -> None:
        self.containers: deque[str] = deque(maxlen=size)
        self.streams: deque[StreamName] = deque(maxlen=size)
        self.texts: deque[str] = deque(maxlen=size)
        self.timestamps: deque[str] = deque(maxlen=size)

    def extend(self, block: LineBlock) -> int:
        """Add a single-service block; the change in characters held."""
        size = self.texts.maxlen or 0
        if len(block) > size:
            block = block[len(block) - size :]
        count = len(block)
        overflow = len(self.texts) + count - size
        dropped = sum(map(len, islice(self.texts, overflow))) if overflow > 0 else 0
        self.texts.extend(block.texts)
        self.timestamps.extend(block.timestamps)
        self.containers.extend(block.containers())
        self.streams.extend(block.streams())
        return sum(map(len, block.texts)) - dropped

    def block(self, service: str) -> LineBlock:
        return LineBlock(
            service,
            _compact(list(self.containers)),
            list(self.timestamps),
            list(self.texts),
            cast(StreamColumn, _compact(list(self.streams))),
        )


class LogRing:
    """The newest lines of each service, bounded, safe to append from several threads.

    Kept by column: adding a block of a thousand lines is a few deque extends."""

    def __init__(self, max_lines_per_service: int = DEFAULT_RING_LINES) -> None:
        if max_lines_per_service < 1:
            raise ValueError("a log ring holds at least one line per service")
        self.max_lines_per_service = max_lines_per_service
        self._services: dict[str, _ServiceLines] = {}
        self._chars = 0
        self._lock = threading.Lock()

    def append(self, line: LogLine) -> None:
        self.extend((line,))

    def extend(self, lines: Iterable[LogLine]) -> None:
        block = LineBlock.of(lines)
        if not block:
            return
        with self._lock:
            for service, part in block.by_service().items():
                kept = self._services.get(service)
                if kept is None:
                    kept = self._services[service] = _ServiceLines(self.max_lines_per_service)
                self._chars += kept.extend(part)

    def block(self, service: str | None = None, since: str | None = None) -> LineBlock:
        """One service's lines, or every service's merged in timestamp order, as a block."""
        with self._lock:
            names = [service] if service is not None else list(self._services)
            blocks = [self._services[name].block(name) for name in names if name in self._services]
        merged = merged_by_timestamp(blocks) if len(blocks) != 1 else blocks[0]
        if since is None or not merged:
            return merged
        return merged.take([i for i, stamp in enumerate(merged.timestamps) if stamp >= since])

    def lines(self, service: str | None = None, since: str | None = None) -> list[LogLine]:
        """One service's lines, or every service's merged in timestamp order."""
        return list(self.block(service, since))

    def services(self) -> list[str]:
        with self._lock:
            return sorted(self._services)

    def clear(self, service: str | None = None) -> None:
        with self._lock:
            for name in [service] if service is not None else list(self._services):
                dropped = self._services.pop(name, None)
                if dropped is not None:
                    self._chars -= sum(map(len, dropped.texts))

    @property
    def text_size(self) -> int:
        """Characters of text held: what the ring costs, give or take per-line overhead."""
        return self._chars

    def __len__(self) -> int:
        with self._lock:
            return sum(len(kept.texts) for kept in self._services.values())


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
    space = message.find(b" ", 0, _MAX_PREFIX_BYTES)
    # Docker's own fixed-width form is taken on sight; anything else must prove it is a time.
    if (space == _DOCKER_PREFIX and message[space - 1] == 0x5A) or (
        space > 0 and _TIMESTAMP_BYTES.fullmatch(message, 0, space)
    ):
        return message[:space].decode("ascii"), message[space + 1 :]
    return "", message


# ---------------------------------------------------------------- whole chunks at once
#
# Almost every message of a busy container is one short line: Docker's fixed-width
# timestamp, a space, the line, a newline. A run of such messages is recognised with one
# regex per chunk and decoded in one go; anything else (a 16 KiB partial, a line over the
# cap, a message without a timestamp, a garbled frame) takes the message-by-message path,
# which the fast one hands over to and takes over from only between whole lines.

_FIXED_TIMESTAMP = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"
_STREAM_NAMES: dict[int, StreamName] = {0: "stdout", 1: "stdout", 2: "stderr"}


class ParsedLines(NamedTuple):
    """What a parser made of some bytes: whole lines, safe to display, by column."""

    timestamps: list[str]
    texts: list[str]
    streams: StreamColumn


class _Run(NamedTuple):
    """Consecutive whole one-message lines, as the fast path found them."""

    kinds: bytes  # one byte per line: the frame's stream id (a TTY stream: all 1)
    stamps: Sequence[bytes]
    contents: Sequence[bytes]  # without the newline; a CR before it still there

    def raw_lines(self) -> list[RawLine]:
        return [
            RawLine(
                _STREAM_NAMES[kind],
                stamp.decode("ascii"),
                content[:-1] if content.endswith(b"\r") else content,
            )
            for kind, stamp, content in zip(self.kinds, self.stamps, self.contents, strict=True)
        ]

    def last_stamp(self, kinds: bytes) -> str | None:
        """The timestamp of the last line from one of these stream ids."""
        last = max(self.kinds.rfind(bytes([kind])) for kind in kinds)
        return self.stamps[last].decode("ascii") if last >= 0 else None


def _run_texts(run: _Run) -> list[str]:
    joined = b"\n".join(run.contents)
    if b"\r" in joined:  # a CR before the newline is part of the line ending: only that one
        joined = (joined + b"\n").replace(b"\r\n", b"\n")[:-1]
    return safe_text_lines(joined)


class _Collector:
    """Gathers runs and single lines in order, into RawLines or into ParsedLines."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[_Run | RawLine] = []

    def raw_lines(self) -> list[RawLine]:
        lines: list[RawLine] = []
        for part in self.parts:
            if isinstance(part, RawLine):
                lines.append(part)
            else:
                lines += part.raw_lines()
        return lines

    def parsed(self) -> ParsedLines:
        timestamps: list[str] = []
        texts: list[str] = []
        streams: list[StreamName] = []
        for part in self.parts:
            if isinstance(part, RawLine):
                timestamps.append(part.timestamp)
                texts.append(raw_text(part))
                streams.append(part.stream)
            else:
                timestamps += b"\n".join(part.stamps).decode("ascii").split("\n")
                texts += _run_texts(part)
                if part.kinds.strip(b"\x00\x01"):
                    streams += [_STREAM_NAMES[kind] for kind in part.kinds]
                else:
                    streams += repeat("stdout", len(part.kinds))
        return ParsedLines(timestamps, texts, cast(StreamColumn, _compact(streams)))


class _FrameRuns:
    """Finds runs of whole one-message lines in Docker's multiplexed frames."""

    def __init__(self, max_line_bytes: int) -> None:
        # Stream id, 3 zero bytes, a length under 64 KiB (checked below), the timestamp.
        unit = (
            rb"[\x00-\x02]\x00\x00\x00\x00\x00.."
            + _FIXED_TIMESTAMP
            + rb" [^\n]{0,%d}\n" % (max_line_bytes)
        )
        self._run = re.compile(rb"(?:" + unit + rb")*", re.DOTALL)
        self._unit = re.compile(
            rb"([\x00-\x02])\x00\x00\x00\x00\x00(..)("
            + _FIXED_TIMESTAMP
            + rb") ([^\n]{0,%d})\n" % max_line_bytes,
            re.DOTALL,
        )

    def find(self, buffer: bytes, start: int) -> tuple[_Run, int] | None:
        end = self._run.match(buffer, start).end()  # type: ignore[union-attr]
        if end == start:
            return None
        kinds, lengths, stamps, contents = zip(*self._unit.findall(buffer, start, end), strict=True)
        # Each frame's own length must be what the regex took: the timestamp, a space, the
        # content, the newline. Otherwise the bytes are not what they look like: go slowly.
        declared = struct.unpack(f">{len(lengths)}H", b"".join(lengths))
        if list(map(operator.sub, declared, map(len, contents))).count(32) != len(contents):
            return None
        return _Run(b"".join(kinds), stamps, contents), end


class MultiplexedLogParser:
    """Docker's log stream of a non-TTY container: 8-byte-header frames, fed in any chunks."""

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._rest = b""  # the start of a frame whose end has not arrived yet
        self._assemblers = {
            "stdout": LineAssembler("stdout", max_line_bytes),
            "stderr": LineAssembler("stderr", max_line_bytes),
        }
        self._runs = _FrameRuns(max_line_bytes)

    def feed(self, data: bytes) -> list[RawLine]:
        return self._collect(data).raw_lines()

    def feed_parsed(self, data: bytes) -> ParsedLines:
        """Like feed, with the lines decoded and made safe, by column (the fast way)."""
        return self._collect(data).parsed()

    def _collect(self, data: bytes) -> _Collector:
        buffer = self._rest + data if self._rest else data
        size, start = len(buffer), 0
        collector = _Collector()
        parts = collector.parts
        stdout, stderr = self._assemblers["stdout"], self._assemblers["stderr"]
        while size - start >= _HEADER.size:
            if not (stdout.line_open or stderr.line_open):
                found = self._runs.find(buffer, start)
                if found is not None:
                    run, start = found
                    parts.append(run)
                    self._remember(run)
                    continue
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
                parts.append(line)
            start = end
        self._rest = buffer[start:]
        return collector

    def _remember(self, run: _Run) -> None:
        for stream, kinds in (("stdout", b"\x00\x01"), ("stderr", b"\x02")):
            stamp = run.last_stamp(kinds)
            if stamp is not None:
                self._assemblers[stream].remember(stamp)

    def finish(self) -> list[RawLine]:
        """Lines still open when the stream ended."""
        return [line for a in self._assemblers.values() if (line := a.finish()) is not None]

    def finish_parsed(self) -> ParsedLines:
        return _parsed(self.finish())


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
        # A whole message: content (CR included) within the cap and shorter than a partial.
        longest = min(max_line_bytes, DOCKER_PARTIAL_BYTES - 1)
        unit = rb"(" + _FIXED_TIMESTAMP + rb") ([^\n]{0,%d})\n" % longest
        self._run = re.compile(rb"(?:" + unit + rb")*")
        self._unit = re.compile(unit)

    def feed(self, data: bytes) -> list[RawLine]:
        return self._collect(data).raw_lines()

    def feed_parsed(self, data: bytes) -> ParsedLines:
        """Like feed, with the lines decoded and made safe, by column (the fast way)."""
        return self._collect(data).parsed()

    def _collect(self, data: bytes) -> _Collector:
        self._buffer += data
        collector = _Collector()
        parts = collector.parts
        start = 0
        while start < len(self._buffer):
            if self._at_prefix and not self._assembler.line_open:
                end = self._run.match(self._buffer, start).end()  # type: ignore[union-attr]
                if end > start:
                    found = self._unit.findall(self._buffer, start, end)
                    stamps, contents = zip(*found, strict=True)
                    run = _Run(b"\x01" * len(stamps), stamps, contents)
                    parts.append(run)
                    self._assembler.remember(stamps[-1].decode("ascii"))
                    start = end
                    continue
            if self._at_prefix:
                start, complete = self._read_prefix(start)
                if not complete:
                    break
            else:
                start, line = self._read_content(start)
                if line is not None:
                    parts.append(line)
        del self._buffer[:start]
        return collector

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

    def finish_parsed(self) -> ParsedLines:
        return _parsed(self.finish())


def _parsed(lines: list[RawLine]) -> ParsedLines:
    collector = _Collector()
    collector.parts.extend(lines)
    return collector.parsed()


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


# ---------------------------------------------------------------- delivery in batches


class LineBatcher:
    """Hands lines to `on_lines` from its own thread, at most once per `interval`.

    A flood of 100k lines a second then costs the UI ~20 calls a second, each with one
    `LineBlock`. If the callback falls behind, the oldest waiting lines beyond
    `max_pending` are dropped and a separator says how many: the view could not have kept
    them anyway.
    """

    def __init__(
        self,
        on_lines: Callable[[LineBlock], None],
        interval: float = 0.05,
        max_pending: int = 10 * DEFAULT_RING_LINES,
    ) -> None:
        self._on_lines = on_lines
        self._interval = interval
        self._max_pending = max_pending
        self._pending: deque[LineBlock] = deque()
        self._pending_lines = 0
        self._skipped: Counter[str] = Counter()
        self._busy = False  # a batch is being delivered
        self._stopped = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="envdeck-logs-batches", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, lines: Iterable[LogLine]) -> None:
        block = LineBlock.of(lines)
        with self._changed:
            if self._stopped:
                return
            if block:
                self._pending.append(block)
                self._pending_lines += len(block)
                self._drop_oldest(self._pending_lines - self._max_pending)
            self._changed.notify_all()

    def _drop_oldest(self, excess: int) -> None:
        while excess > 0:
            first = self._pending[0]
            if len(first) <= excess:
                self._pending.popleft()
                dropped = first
            else:
                self._pending[0], dropped = first[excess:], first[:excess]
            service = dropped.service
            if service is not None:
                self._skipped[service] += len(dropped)
            else:
                self._skipped.update(dropped.services())
            self._pending_lines -= len(dropped)
            excess -= len(dropped)

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
            self._pending_lines = 0
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

    def _next_batch(self, delivered_at: float) -> LineBlock | None:
        with self._changed:
            self._changed.wait_for(lambda: self._stopped or bool(self._pending))
            # Let a burst gather until the interval since the last delivery is over.
            while (
                not self._stopped and (left := delivered_at + self._interval - time.monotonic()) > 0
            ):
                self._changed.wait(left)
            if self._stopped:
                return None
            blocks = list(self._pending)
            self._pending.clear()
            self._pending_lines = 0
            skipped, self._skipped = self._skipped, Counter()
            self._busy = True
        # Each "skipped" note goes just before the first line that survived.
        notes = [_skipped_line(service, count, blocks) for service, count in skipped.items()]
        return _merged_by_service([*notes, *blocks])


def _merged_by_service(blocks: list[LineBlock]) -> LineBlock:
    """Services interleaved by timestamp, each keeping its own order (a separator stamped
    "now" stays where it was written)."""
    by_service: dict[str, list[LineBlock]] = {}
    for block in blocks:
        for service, part in block.by_service().items():
            by_service.setdefault(service, []).append(part)
    if len(by_service) <= 1:
        return LineBlock.join(blocks)
    return merged_by_timestamp([LineBlock.join(parts) for parts in by_service.values()])


def _skipped_line(service: str, count: int, blocks: list[LineBlock]) -> LineBlock:
    text = f"── {count} lines skipped: more output than the view takes ──"
    first = _first_timestamp(service, blocks) or now_timestamp()
    return LineBlock(service, "", [first], [text], "envdeck")


def _first_timestamp(service: str, blocks: list[LineBlock]) -> str | None:
    for block in blocks:
        if block.service == service:
            return block.timestamps[0]
        if block.service is None:
            for name, stamp in zip(block.services(), block.timestamps, strict=True):
                if name == service:
                    return stamp
    return None
