"""Docker's log stream, multiplexed (non-TTY) or TTY, fed in chunks of any size.

Both parsers are pure: they are fed bytes and never talk to Docker, so every edge of the
stream format (split frames, 16 KiB partial messages, TTY output, hostile bytes) is tested
without an engine. A flood is handled a chunk at a time, not a line at a time: runs of
ordinary lines are recognised with one regex per chunk and decoded and made safe in one
pass; anything else goes message by message through `LineAssembler`.
"""

from __future__ import annotations

import operator
import re
import struct
from collections.abc import Sequence
from itertools import repeat
from typing import NamedTuple, cast

from tui.core.log_buffer.assembler import (
    DEFAULT_MAX_LINE_BYTES,
    DOCKER_PARTIAL_BYTES,
    MAX_PREFIX_BYTES,
    LineAssembler,
    RawLine,
    raw_text,
    split_timestamp,
)
from tui.core.log_buffer.lines import StreamColumn, StreamName, compact_column
from tui.core.log_buffer.timestamps import RFC3339_BYTES
from tui.core.text import safe_text_lines

# A multiplexed frame's header: stream id, 3 zero bytes, big-endian payload length.
_HEADER = struct.Struct(">II")
_MAX_FRAME_BYTES = DOCKER_PARTIAL_BYTES * 64  # far above any real frame: a bigger one is garbage
_STREAMS: dict[int, StreamName] = {0 << 24: "stdout", 1 << 24: "stdout", 2 << 24: "stderr"}


class StreamFormatError(ValueError):
    """The bytes are not Docker's multiplexed log format (a garbled or TTY stream)."""


# Whole chunks at once.
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
        return ParsedLines(timestamps, texts, cast(StreamColumn, compact_column(streams)))


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
        space = buffer.find(b" ", start, start + MAX_PREFIX_BYTES)
        if space < 0 and len(buffer) - start < MAX_PREFIX_BYTES:
            return start, False  # wait for the rest of the prefix
        self._at_prefix, self._message_bytes = False, 0
        if space > 0 and RFC3339_BYTES.fullmatch(buffer, start, space):
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
