"""Watching the project's files: one batch per burst of saves, holding the final state.

`watchfiles`' Rust watcher (inotify under the `notify` crate) does the watching and the
first grouping: its `step` is the gap that ends a group, its `debounce` the longest a group
may grow. That is not enough on its own: it measures quiet by the number of distinct
(change, path) pairs, so a file saved again and again (a formatter after the editor) ends a
group every two steps, and a `git checkout` longer than `debounce` spans groups. So groups
are merged here until the project has been quiet for `quiet` seconds, and `max_wait`
bounds a storm that never ends.

A save reaches its batch one to two steps plus `quiet` after it is written: 10-20 ms +
40 ms, ~60 ms measured here (bench/README.md, "The watch loop"; it was 130-155 ms with a
25 ms step and 0.1 s of quiet, and 265-295 ms before that). Most editors' saves are one
write or a write and a rename, a few milliseconds apart: well inside one group. The
Rust watcher is driven directly (`RustNotify.watch`, what `watchfiles.watch` calls) so that
its timeout can change: `quiet` while a burst is being settled, and `IDLE_TIMEOUT_MS` while
nothing is, so a short quiet costs nothing when idle. Both ways of iterating run it in a
thread of their own; it wakes every `step` to check the stop event: idle, ~0.4% of a core.

A delivered batch holds only the files whose content changed (content.py): a bare `touch`
or a save of the same bytes is dropped here, so every consumer (the tests screen, `envdeck
test --watch`) runs nothing for it. `skip_unchanged=False` turns that off.

Paths are filtered here, a whole group at once, rather than by a `watch_filter`: a filter
that empties a group would swallow it, and a run that keeps writing ignored files (logs,
caches) would then hold back the save that should cancel it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import watchfiles
from watchfiles._rust_notify import RustNotify  # documented: watchfiles' "Rust backend"

from tui.core.watch.content import ContentHashes
from tui.core.watch.ignore import IgnoreRules

log = logging.getLogger(__name__)

STEP_MS = 10  # a group ends after this long without a new change (watchfiles' default: 50)
DEBOUNCE_MS = 1_600  # watchfiles' default: the longest one group may grow
DEFAULT_QUIET = 0.04  # seconds without a change before a batch is delivered
IDLE_TIMEOUT_MS = 10_000  # nothing to settle: no reason to come back before a change
DEFAULT_MAX_WAIT = 5.0  # seconds: a storm that never calms still delivers

RawChanges = set[tuple[watchfiles.Change, str]]
OnBatch = Callable[["ChangeBatch"], None]
OnError = Callable[[BaseException], None]


@dataclass(frozen=True)
class ChangeBatch:
    """Every path that changed in one burst, as it stands once the burst is over."""

    paths: frozenset[Path]  # absolute: created, modified, deleted (files and folders)
    first_seen: float  # clock time the first change of the burst was reported
    last_seen: float  # ... and the last; watchfiles reports a write within ~2 steps
    removed: frozenset[Path] = frozenset()  # those of `paths` gone from disk at delivery


class _Settler:
    """Merges groups of changes until `quiet` seconds pass without one (pure timing logic)."""

    def __init__(self, quiet: float, max_wait: float) -> None:
        self._quiet = quiet
        self._max_wait = max_wait
        self._paths: set[Path] = set()
        self._first = self._last = 0.0

    @property
    def pending(self) -> bool:
        """Changes are waiting for quiet."""
        return bool(self._paths)

    def add(self, paths: Iterable[Path], now: float) -> None:
        new = set(paths)
        if not new:
            return
        if not self._paths:
            self._first = now
        self._paths |= new
        self._last = now

    def take(self, now: float, *, quiet_seen: bool) -> ChangeBatch | None:
        """The batch, if it is over: watchfiles saw `quiet`, or the clock says so."""
        if not self._paths:
            return None
        over = quiet_seen or now - self._last >= self._quiet
        if not over and now - self._first < self._max_wait:
            return None
        paths = frozenset(self._paths)
        self._paths = set()
        return ChangeBatch(paths, self._first, self._last)


class SourceWatcher:
    """Watches `root` and hands over one `ChangeBatch` per burst of relevant changes.

    Three ways to use it: `start()` a thread that calls `on_batch` (from that thread) until
    `stop()`; iterate `batches()` (blocking; Ctrl-C ends it); or `async for` over
    `abatches()`. One watcher serves one of them, once.
    """

    def __init__(
        self,
        root: Path,
        on_batch: OnBatch | None = None,
        *,
        rules: IgnoreRules | None = None,
        quiet: float = DEFAULT_QUIET,
        max_wait: float = DEFAULT_MAX_WAIT,
        on_error: OnError | None = None,
        clock: Callable[[], float] = time.time,
        skip_unchanged: bool = True,
    ) -> None:
        self.root = root.resolve()
        self.rules = rules or IgnoreRules(self.root)
        self.error: BaseException | None = None
        self._on_batch = on_batch
        self._on_error = on_error
        self._quiet = quiet
        self._max_wait = max_wait
        self._clock = clock
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        # Last seen content of the watched files: batches hold only real changes.
        self.content = ContentHashes() if skip_unchanged else None

    # ------------------------------------------------------------------ thread

    def start(self) -> None:
        if self._on_batch is None:
            raise ValueError("start() needs an on_batch callback; else iterate batches()")
        if self._thread is not None:
            raise RuntimeError("a SourceWatcher starts once")
        self._thread = threading.Thread(
            target=self._run, name="envdeck-source-watcher", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop watching; returns once the thread ended or `timeout` passed."""
        self._stop.set()  # watchfiles checks it every step
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until changes are being seen; False on timeout or if watching failed."""
        return self._ready.wait(timeout) and self.error is None

    def __enter__(self) -> SourceWatcher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        assert self._on_batch is not None
        try:
            for batch in self.batches():
                try:
                    self._on_batch(batch)
                except Exception:  # the consumer's bug must not end watching
                    log.exception("on_batch failed for %d paths", len(batch.paths))
        except Exception as error:  # the folder went away, inotify ran out of watches...
            log.warning("watching %s stopped: %s", self.root, error)
            self.error = error
            self._ready.set()  # wake wait_ready(): it reports the failure
            if self._on_error is not None:
                self._on_error(error)

    # ------------------------------------------------------------------ iterators

    def batches(self) -> Iterator[ChangeBatch]:
        settler = _Settler(self._quiet, self._max_wait)
        if self.content is not None:  # before inotify is set up: see content.py
            self.content.start_baseline(self.root, use_git=self.rules.asks_git, stop=self._stop)
        with RustNotify([str(self.root)], False, False, 300, True, False) as notify:
            self._ready.set()  # inotify is set up: changes from now on are seen
            while True:
                timeout = self._quiet_ms if settler.pending else IDLE_TIMEOUT_MS
                raw = notify.watch(DEBOUNCE_MS, STEP_MS, timeout, self._stop)
                if raw == "stop":
                    return
                if raw == "signal":
                    raise KeyboardInterrupt
                changes = set() if raw == "timeout" else raw
                kept = self.rules.keep(path for _, path in changes) if changes else set()
                batch = self._settle(settler, kept, quiet_seen=not changes)
                if batch is not None:
                    yield batch

    async def abatches(self) -> AsyncIterator[ChangeBatch]:
        """`batches()` run in a thread of its own (`keep` may run git: never on the loop),
        handed over to the running loop. Ends when `stop()` is called; leaving the loop
        early (break, cancellation) stops the thread too."""
        loop = asyncio.get_running_loop()
        handed: asyncio.Queue[ChangeBatch | BaseException | None] = asyncio.Queue()

        def hand_over(item: ChangeBatch | BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
                loop.call_soon_threadsafe(handed.put_nowait, item)

        def watch() -> None:
            try:
                for batch in self.batches():
                    hand_over(batch)
            except Exception as error:  # the folder went away, inotify ran out of watches...
                self.error = error
                self._ready.set()  # wake wait_ready(): it reports the failure
                hand_over(error)
            else:
                hand_over(None)

        thread = threading.Thread(target=watch, name="envdeck-source-watcher", daemon=True)
        thread.start()
        try:
            while (item := await handed.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop.set()  # the thread ends within a step

    @property
    def _quiet_ms(self) -> int:
        return max(STEP_MS, round(self._quiet * 1000))

    def _settle(
        self, settler: _Settler, kept: set[Path], *, quiet_seen: bool
    ) -> ChangeBatch | None:
        now = self._clock()
        settler.add(kept, now)
        batch = settler.take(now, quiet_seen=quiet_seen and not kept)
        if batch is None:
            return None
        gone = frozenset(path for path in batch.paths if not os.path.lexists(path))
        paths = batch.paths
        if self.content is not None:
            paths = frozenset(self.content.changed(paths))  # a deleted path is a change
            if not paths:
                return None  # touched, or saved with the same bytes: nothing to run
        return dataclasses.replace(batch, paths=paths, removed=gone)
