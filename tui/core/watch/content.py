"""Which changed paths changed their content: a save that writes the same bytes runs nothing.

inotify reports a write, not a difference, so a bare `touch`, an editor's `:w` of an
unchanged buffer, or a `git checkout` back to the same text all look like saves. Every
delivered batch is checked here, in the watcher's thread: a regular file whose content hash
equals the hash last seen for it is dropped; anything else (a new file, a deleted one, a
folder, a file too big to hash or one that cannot be read) counts as changed.

What the first event for a file compares against: the hash taken by a baseline pass over
the watched files when watching starts (`start_baseline`, in a thread of its own, so watch
mode is ready at once). A file the baseline has not reached yet, or could not hash, has no
entry, and its first event counts as a change (and records the hash): a real change is
never dropped, an extra run is the worst case.

The baseline runs while saves may already happen, so it must never record content newer
than the last event for that file (that event would then compare equal and be dropped). It
records a file only if its ctime, read after its content, is older than the moment watching
began, minus a margin for coarse file-system clocks: any write after that moment sets a
newer ctime (no program can set ctime back, unlike mtime, which `tar` and `rsync -t` do),
so such a file is left for its event. Reading an older version (an atomic save renamed over
the file while it is read) is harmless: the event then finds a difference.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tui.core.watch.ignore import has_ignored_name
from tui.core.watch.layout import git_listed, walk_files

log = logging.getLogger(__name__)

MAX_HASHED_BYTES = 4 * 1024 * 1024  # a bigger file always counts as changed: never read
MAX_BASELINE_FILES = 20_000  # beyond these, first events count as changes (16 B a digest)
CTIME_MARGIN_NS = 2_000_000_000  # coarse clocks: FAT keeps 2 s, ext3 and HFS+ 1 s

Digest = bytes


def content_digest(path: Path) -> tuple[Digest, int] | None:
    """The file's content hash and its ctime (ns) read after the content; None for a
    folder, a file gone, unreadable or bigger than `MAX_HASHED_BYTES`."""
    try:
        found = os.stat(path)  # before opening: a FIFO would block the open
        if not stat.S_ISREG(found.st_mode) or found.st_size > MAX_HASHED_BYTES:
            return None
        with open(path, "rb") as file:
            digest = hashlib.blake2b(file.read(MAX_HASHED_BYTES + 1), digest_size=16)
            after = os.fstat(file.fileno())
    except OSError:  # gone, a folder (IsADirectoryError), no permission, a FIFO...
        return None
    if after.st_size > MAX_HASHED_BYTES:
        return None
    return digest.digest(), after.st_ctime_ns


class ContentHashes:
    """The content hash of every watched file as last seen; thread-safe.

    `changed(paths)` answers for one batch and remembers what it saw; `start_baseline`
    hashes the project's files in the background so that a first touch is known too.
    """

    def __init__(self, *, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._hashes: dict[Path, Digest] = {}
        self._lock = threading.Lock()
        self._clock_ns = clock_ns
        self._watch_began_ns: int | None = None
        self.baseline_done = threading.Event()

    def changed(self, paths: Iterable[Path]) -> set[Path]:
        """Those of `paths` whose content differs from what was last seen (or is unknown)."""
        changed: set[Path] = set()
        for path in paths:
            found = content_digest(path)
            with self._lock:
                last = self._hashes.pop(path, None)
                if found is not None:
                    self._hashes[path] = found[0]
            if found is None or found[0] != last:
                changed.add(path)
        return changed

    def knows(self, path: Path) -> bool:
        with self._lock:
            return path in self._hashes

    def watch_begins(self) -> None:
        """Call before the watcher is set up: a baseline trusts only files older than this."""
        self._watch_began_ns = self._clock_ns()

    def baseline(self, files: Iterable[Path], stop: threading.Event | None = None) -> int:
        """Hash `files` that no event has recorded yet (until `stop` is set); how many
        were recorded."""
        began = self._watch_began_ns
        if began is None:
            raise RuntimeError("watch_begins() first: the baseline needs its moment")
        recorded = 0
        for path in files:
            if recorded >= MAX_BASELINE_FILES or (stop is not None and stop.is_set()):
                break
            found = content_digest(path)
            if found is None or found[1] >= began - CTIME_MARGIN_NS:
                continue  # unknown, or written around or after the start: left to its event
            with self._lock:
                if path not in self._hashes:  # an event's hash is newer: keep it
                    self._hashes[path] = found[0]
                    recorded += 1
        return recorded

    def start_baseline(
        self, root: Path, *, use_git: bool, stop: threading.Event | None = None
    ) -> threading.Thread:
        """`baseline` of the project's watched files, in a daemon thread."""
        self.watch_begins()

        def run() -> None:
            try:
                count = self.baseline(watched_files(root, use_git=use_git), stop)
                log.debug("content baseline: %d files of %s", count, root)
            except Exception:  # a baseline is an optimisation: never end watching for it
                log.exception("content baseline of %s failed", root)
            finally:
                self.baseline_done.set()

        thread = threading.Thread(target=run, name="envdeck-content-baseline", daemon=True)
        thread.start()
        return thread


def watched_files(root: Path, *, use_git: bool) -> Iterator[Path]:
    """The files a save in the project may concern: git's tracked and untracked but not
    ignored files, or a walk that skips the fixed ignored folders and virtualenvs. Extra
    files only cost a hash; a missing one only means its first event counts as a change."""
    listed = git_listed(root) if use_git else None
    candidates = listed if listed is not None else walk_files(root)
    for path in candidates:
        if not has_ignored_name(path.relative_to(root).as_posix()):
            yield path
