"""What the ssh bridge and the ssh tunnels share: ending an ssh process, and one object
per engine URL for the whole process, closed when it exits."""

from __future__ import annotations

import atexit
import contextlib
import subprocess
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    def close(self) -> None: ...


T = TypeVar("T", bound=Closable)


def end_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 2 s; reaped either way."""
    if process.poll() is None:
        with contextlib.suppress(OSError):
            process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=2)


class PerUrl(Generic[T]):
    """One `make(url)` per URL, made on first use; all closed at exit (or `close_all`)."""

    def __init__(self, make: Callable[[str], T]) -> None:
        self._make = make
        self._made: dict[str, T] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> T:
        with self._lock:
            made = self._made.get(url)
            if made is None:
                made = self._made[url] = self._make(url)
                if len(self._made) == 1:
                    atexit.register(self.close_all)
            return made

    def close_all(self) -> None:
        with self._lock:
            made = list(self._made.values())
            self._made.clear()
        for item in made:
            item.close()
