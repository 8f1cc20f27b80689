"""The bounded buffers between pytest's pipes and whoever watches a run.

A test may print 50 MB, or the view may fall behind: neither may grow envdeck's memory.
The console keeps only its newest bytes (`OutputRing`), event lines past a size are
dropped whole (`LineSplitter`), and console chunks wait for a slow consumer only up to a
budget (`EventChannel`); the run's own events (started, finished…) always get through.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

from tui.core.testrun.events import OutputEvent, TestEvent

_UTF8_CONTINUATION = range(0x80, 0xC0)


class OutputRing:
    """The newest `max_bytes` of a run's console output."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("an output ring holds at least one byte")
        self.max_bytes = max_bytes
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self.dropped = 0  # bytes that fell off the front

    @property
    def size(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        if len(data) >= self.max_bytes:  # one huge chunk: only its end can stay
            self.dropped += self._size + len(data) - self.max_bytes
            self._chunks.clear()
            self._chunks.append(data[-self.max_bytes :])
            self._size = self.max_bytes
            return
        self._chunks.append(data)
        self._size += len(data)
        while self._size > self.max_bytes:
            first, excess = self._chunks[0], self._size - self.max_bytes
            if len(first) <= excess:
                self._chunks.popleft()
                cut = len(first)
            else:
                self._chunks[0] = first[excess:]
                cut = excess
            self._size -= cut
            self.dropped += cut

    def data(self) -> bytes:
        return b"".join(self._chunks)

    def text(self) -> str:
        """The output as text; a character the cut went through is left out, not garbled."""
        data = self.data()
        if self.dropped:
            start = 0
            while start < min(3, len(data)) and data[start] in _UTF8_CONTINUATION:
                start += 1
            data = data[start:]
        return data.decode("utf-8", errors="replace")


class LineSplitter:
    """Whole lines out of a byte stream fed in any chunks; a line longer than
    `max_line_bytes` is dropped (and counted) instead of being held in memory."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self.dropped_lines = 0
        self._parts: list[bytes] = []
        self._size = 0
        self._discarding = False  # inside a line already known to be too long

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            line = self._complete(data[start:end])
            if line is not None:
                lines.append(line)
            start = end + 1
        self._hold(data[start:])
        return lines

    def _complete(self, piece: bytes) -> bytes | None:
        parts, size, discarding = self._parts, self._size, self._discarding
        self._parts, self._size, self._discarding = [], 0, False
        if discarding:
            return None  # already counted when it outgrew the limit
        if size + len(piece) > self.max_line_bytes:
            self.dropped_lines += 1
            return None
        return b"".join((*parts, piece))

    def _hold(self, rest: bytes) -> None:
        if not rest or self._discarding:
            return
        if self._size + len(rest) > self.max_line_bytes:
            self.dropped_lines += 1
            self._parts, self._size, self._discarding = [], 0, True
            return
        self._parts.append(rest)
        self._size += len(rest)


class EventChannel:
    """A run's events, in order, for one consumer (`async for event in channel`).

    While more than `max_pending_output` characters of console output wait unread, new
    chunks are dropped; the next chunk that gets through says how many characters were
    skipped. The full tail is in the run's `OutputRing` anyway.
    """

    def __init__(self, max_pending_output: int) -> None:
        self.max_pending_output = max_pending_output
        self._events: deque[TestEvent] = deque()
        self._pending_output = 0
        self._skipped = 0
        self._closed = False
        self._ready = asyncio.Event()

    def put(self, event: TestEvent) -> None:
        if self._closed:
            return
        self._events.append(event)
        self._ready.set()

    def put_output(self, text: str) -> None:
        if self._pending_output and self._pending_output + len(text) > self.max_pending_output:
            self._skipped += len(text)
            return
        self._pending_output += len(text)
        self.put(OutputEvent(text, skipped=self._skipped))
        self._skipped = 0

    def close(self) -> None:
        """No more events: the consumer ends after those waiting."""
        if self._skipped:
            self.put(OutputEvent("", skipped=self._skipped))
            self._skipped = 0
        self._closed = True
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[TestEvent]:
        return self

    async def __anext__(self) -> TestEvent:
        while not self._events:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        event = self._events.popleft()
        if isinstance(event, OutputEvent):
            self._pending_output -= len(event.text)
        return event
