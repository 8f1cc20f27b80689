"""Test events sharing a stream with the tests' own output: framing and taking apart.

A run inside a compose service (`tui.core.testrun.place`) has no pipe of its own to hand
our plugin, and no file the host and the container both see on a remote engine. What
reaches envdeck from anywhere the engine is, is the container's stdout. So there the
plugin writes each event on stdout as a *frame*:

    \\x1e envdeck-event: TOKEN SPACE JSON \\n        (without the spaces around the names)

TOKEN is random per run: output that merely holds the frame's fixed words is not a frame,
and the plugin takes TOKEN out of its environment before any test runs, so a test that
prints os.environ cannot print it either. A frame starts with a record separator, which
JSON never holds unescaped, so no event's text (a traceback quoting another frame) can
open a frame. The plugin writes a frame with one write to its own copy of the first
stdout, taken before pytest's capture replaces it: frames arrive whole, but not always at
the start of a line (`pytest -s` and a test's `print("x", end="")`), and a read may end
anywhere inside one. `FrameSplitter` keeps every byte that is not a frame as output, in
order; a frame longer than its limit is dropped and counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

FRAME_START = b"\x1eenvdeck-event:"  # pytest_plugin.py has the same
EVENTS_FRAME_ENV = "ENVDECK_EVENTS_FRAME"  # pytest_plugin.py has the same


def frame_prefix(token: str) -> bytes:
    """What opens each frame of the run with `token` (hex: it goes in an environment)."""
    if not token or not token.isalnum() or not token.isascii():
        raise ValueError("a frame token is a non-empty run of ASCII letters and digits")
    return FRAME_START + token.encode("ascii") + b" "


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes of the stream: console output, or one frame's payload (its JSON, no newline)."""

    data: bytes
    is_event: bool = False


class FrameSplitter:
    """Takes a byte stream fed in any chunks apart into output and frames, in order."""

    def __init__(self, prefix: bytes, max_frame_bytes: int) -> None:
        if not prefix:
            raise ValueError("frames need a prefix")
        self.prefix = prefix
        self.max_frame_bytes = max_frame_bytes
        self.dropped_frames = 0
        self._held = b""  # output that may be the start of a prefix
        self._frame: list[bytes] | None = None  # inside a frame: its payload so far
        self._frame_size = 0
        self._discarding = False  # inside a frame already known to be too long

    def feed(self, data: bytes) -> list[Piece]:
        return list(self._split(self._held + data if self._held else data))

    def end(self) -> list[Piece]:
        """At the end of the stream: held output, and a frame cut off by it as output
        (without its prefix: it was never a whole event)."""
        pieces = []
        if self._frame is not None and not self._discarding:
            pieces.append(Piece(b"".join(self._frame)))
        elif self._held:
            pieces.append(Piece(self._held))
        self._held, self._frame, self._frame_size, self._discarding = b"", None, 0, False
        return [piece for piece in pieces if piece.data]

    def _split(self, data: bytes) -> Iterator[Piece]:
        self._held = b""
        start = 0
        while start < len(data):
            if self._frame is not None:
                end = data.find(b"\n", start)
                if end < 0:
                    self._keep(data[start:])
                    return
                if (frame := self._close(data[start:end])) is not None:
                    yield Piece(frame, is_event=True)
                start = end + 1
                continue
            found = data.find(self.prefix, start)
            if found < 0:
                keep = _partial_prefix(data, start, self.prefix)
                if keep > start:
                    yield Piece(data[start:keep])
                self._held = data[keep:]
                return
            if found > start:
                yield Piece(data[start:found])
            self._frame, self._frame_size, self._discarding = [], 0, False
            start = found + len(self.prefix)

    def _keep(self, part: bytes) -> None:
        assert self._frame is not None
        if self._discarding:
            return
        if self._frame_size + len(part) > self.max_frame_bytes:
            self.dropped_frames += 1
            self._frame, self._frame_size, self._discarding = [], 0, True
            return
        self._frame.append(part)
        self._frame_size += len(part)

    def _close(self, last: bytes) -> bytes | None:
        parts, size, discarding = self._frame or [], self._frame_size, self._discarding
        self._frame, self._frame_size, self._discarding = None, 0, False
        if discarding:
            return None  # counted when it outgrew the limit
        if size + len(last) > self.max_frame_bytes:
            self.dropped_frames += 1
            return None
        return b"".join((*parts, last))


def _partial_prefix(data: bytes, start: int, prefix: bytes) -> int:
    """Where a tail of `data[start:]` that could be the beginning of `prefix` begins
    (len(data) when none): that much waits for the next chunk."""
    at = max(start, len(data) - len(prefix) + 1)
    while (at := data.find(prefix[:1], at)) >= 0:
        if prefix.startswith(data[at:]):
            return at
        at += 1
    return len(data)
