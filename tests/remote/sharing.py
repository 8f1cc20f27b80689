"""One engine per machine, shared by whoever uses it at the same time (two test sessions,
a developer's shell): starting and stopping are done one at a time, and a session stops
the engine at its end only when no other session still uses it.

Two lock files beside the run folder (never deleted: a lock on a deleted file guards
nothing): `setup` is held while the engine is started, checked or stopped; each session
holds `users` shared for as long as it uses the engine.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from tests.remote import layout
from tests.remote.processes import POLL_SECONDS, HarnessError

SETUP_LOCK = layout.RUN_DIR.with_name(f"{layout.NAME}.setup.lock")
USERS_LOCK = layout.RUN_DIR.with_name(f"{layout.NAME}.users.lock")
SETUP_WAIT_SECONDS = 600.0  # a cold start that builds the sample images first: ~80 s


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


@contextlib.contextmanager
def setup_lock() -> Iterator[None]:
    """Held while starting, checking or stopping the engine."""
    descriptor = _open(SETUP_LOCK)
    try:
        deadline = time.monotonic() + SETUP_WAIT_SECONDS
        while not _try_lock(descriptor, fcntl.LOCK_EX):
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"another process has been starting or stopping the second engine for "
                    f"{SETUP_WAIT_SECONDS:g} s ({SETUP_LOCK})"
                )
            time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(descriptor)


def _try_lock(descriptor: int, kind: int) -> bool:
    try:
        fcntl.flock(descriptor, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def nobody_uses_it() -> bool:
    """No session holds the engine (call with the setup lock held, and holding none)."""
    descriptor = _open(USERS_LOCK)
    try:
        return _try_lock(descriptor, fcntl.LOCK_EX)
    finally:
        os.close(descriptor)


class Use:
    """A session's share of the engine, from `begin` (setup lock held) to `end`."""

    def __init__(self) -> None:
        self._descriptor: int | None = None

    def begin(self) -> None:
        self._descriptor = _open(USERS_LOCK)
        # Nobody holds it exclusively outside the setup lock, which our caller holds.
        if not _try_lock(self._descriptor, fcntl.LOCK_SH):
            raise HarnessError(f"{USERS_LOCK} is held exclusively outside the setup lock")

    def end(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
