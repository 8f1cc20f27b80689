"""The log ring: each service's newest lines, bounded, kept by column, safe to append from
several threads."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from itertools import islice
from typing import cast

from tui.core.log_buffer.lines import (
    LineBlock,
    LogLine,
    StreamColumn,
    StreamName,
    compact_column,
    merged_by_timestamp,
)

DEFAULT_RING_LINES = 10_000


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
            compact_column(list(self.containers)),
            list(self.timestamps),
            list(self.texts),
            cast(StreamColumn, compact_column(list(self.streams))),
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
