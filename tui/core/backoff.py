"""The wait before each attempt to reach something lost again (the engine, its event or log
stream): short at first, doubling, then the cap for ever."""

from __future__ import annotations

from collections.abc import Iterator


def backoff_delays(first: float = 0.5, cap: float = 10.0) -> Iterator[float]:
    """Seconds to wait before each reconnection attempt: doubling, then `cap` for ever."""
    delay = first
    while True:
        yield min(delay, cap)
        delay *= 2
