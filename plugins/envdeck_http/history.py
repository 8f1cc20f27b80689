"""The last requests envdeck itself made to each service, kept in memory and bounded."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

HISTORY_SIZE = 20


@dataclass(frozen=True)
class HistoryEntry:
    at: float  # time.time() when the request started
    method: str
    path: str
    status: str  # "200", or the problem ("down", "timeout") when no answer came
    latency_ms: float | None


class History:
    """Per service, the newest `size` entries. Plugins run in worker threads: locked."""

    def __init__(self, size: int = HISTORY_SIZE) -> None:
        self.size = size
        self._entries: dict[str, deque[HistoryEntry]] = {}
        self._lock = threading.Lock()

    def record(self, service: str, entry: HistoryEntry) -> None:
        with self._lock:
            self._entries.setdefault(service, deque(maxlen=self.size)).append(entry)

    def newest_first(self, service: str) -> list[HistoryEntry]:
        with self._lock:
            return list(reversed(self._entries.get(service, ())))
