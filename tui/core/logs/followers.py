"""The public followers: one service's logs, or several services' merged into one callback,
across restarts, recreations and engine outages."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Self

from tui.core.log_buffer import LineBatcher, LogRing
from tui.core.log_options import FollowOptions, OnLines
from tui.core.logs.reader import ServiceReader
from tui.core.logs.source import LogSource


class MergedLogFollower:
    """Follows several services of a compose project into one callback ("all services").

    `on_lines` is called from a background thread, at most ~20 times a second, with a
    batch in which services are interleaved by timestamp and each keeps its own order;
    post it to the UI from there without blocking (stop() waits for a running callback).
    Lines also go to `ring` when given. Use as a context manager, or start() and stop().
    """

    def __init__(
        self,
        source: LogSource,
        project: str,
        services: Iterable[str],
        on_lines: OnLines,
        *,
        options: FollowOptions | None = None,
        ring: LogRing | None = None,
        batch_interval: float = 0.05,
    ) -> None:
        self._stop = threading.Event()
        self._batcher = LineBatcher(on_lines, interval=batch_interval)
        self._readers = [
            ServiceReader(
                source,
                project,
                service,
                self._batcher.put,
                options=options or FollowOptions(),
                ring=ring,
                stop=self._stop,
            )
            for service in dict.fromkeys(services)
        ]

    def start(self) -> None:
        self._batcher.start()
        for reader in self._readers:
            reader.thread.start()

    def stop(self, timeout: float = 3.0) -> bool:
        """End following promptly; True if every thread ended within `timeout`."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        for reader in self._readers:
            reader.interrupt()
        ended = self._batcher.stop(timeout)
        for reader in self._readers:
            if reader.thread.ident is not None:
                reader.thread.join(max(0.0, deadline - time.monotonic()))
                ended = ended and not reader.thread.is_alive()
        return ended

    def wait(self, timeout: float) -> bool:
        """Wait until the readers ended (follow=False, or `until` passed) and all lines
        were delivered; False on timeout."""
        deadline = time.monotonic() + timeout
        for reader in self._readers:
            reader.thread.join(max(0.0, deadline - time.monotonic()))
            if reader.thread.is_alive():
                return False
        return self._batcher.drain(max(0.0, deadline - time.monotonic()))

    @property
    def running(self) -> bool:
        return any(reader.thread.is_alive() for reader in self._readers)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class ServiceLogFollower(MergedLogFollower):
    """Follows one compose service's logs across restarts, recreations and engine outages:
    the merged follower of a single service."""

    def __init__(
        self,
        source: LogSource,
        project: str,
        service: str,
        on_lines: OnLines,
        *,
        options: FollowOptions | None = None,
        ring: LogRing | None = None,
        batch_interval: float = 0.05,
    ) -> None:
        super().__init__(
            source,
            project,
            [service],
            on_lines,
            options=options,
            ring=ring,
            batch_interval=batch_interval,
        )
        self.service = service
