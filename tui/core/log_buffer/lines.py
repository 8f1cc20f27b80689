"""Log lines and blocks of them: the column model every part of the log machinery shares.

A flood travels as a `LineBlock` (a few lists, one per field) rather than as an object per
line; `LogLine`s are made only for whoever iterates over a block.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from typing import Literal, NamedTuple, cast, overload

StreamName = Literal["stdout", "stderr", "envdeck"]


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


def compact_column(values: Sequence[str]) -> Column:
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
            compact_column([line.service for line in items]),
            compact_column([line.container for line in items]),
            [line.timestamp for line in items],
            [line.text for line in items],
            cast(StreamColumn, compact_column(streams)),
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

    def services(self) -> Iterable[str]:
        return _each(self._services, len(self.texts))

    def containers(self) -> Iterable[str]:
        return _each(self._containers, len(self.texts))

    def streams(self) -> Iterable[StreamName]:
        return cast(Iterable[StreamName], _each(self._streams, len(self.texts)))

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
            return (
                column if isinstance(column, str) else compact_column([column[i] for i in chosen])
            )

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
        compact_column(services),
        compact_column(containers),
        [stamp for stamp, _, _ in order],
        texts,
        cast(StreamColumn, compact_column(streams)),
    )
