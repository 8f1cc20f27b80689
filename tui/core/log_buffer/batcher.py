"""Delivery in batches: lines handed to a callback from one thread, ~20 times a second, with
what a slow callback could not take dropped and counted."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable

from tui.core.log_buffer.lines import LineBlock, LogLine, merged_by_timestamp
from tui.core.log_buffer.ring import DEFAULT_RING_LINES
from tui.core.log_buffer.timestamps import now_timestamp

_log = logging.getLogger(__name__)


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
