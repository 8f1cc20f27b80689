"""Content hashes: a save that writes the same bytes (a bare touch) is not a change.

On real files; the watcher tests use real watchfiles and wait for batches with a deadline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_watch_watcher import DEADLINE, Batches
from tui.core.watch.content import (
    CTIME_MARGIN_NS,
    MAX_HASHED_BYTES,
    ContentHashes,
    watched_files,
)
from tui.core.watch.watcher import SourceWatcher

LATER = 10 * 1_000_000_000  # ns: "watching began 10 s after these files were written"


def bare_touch(path: Path) -> None:
    """A new mtime (surely different, even on a coarse clock), the same bytes."""
    found = path.stat()
    os.utime(path, ns=(found.st_atime_ns, found.st_mtime_ns + 1_000_000_000))


def began_later() -> int:
    return time.time_ns() + LATER


# ---------------------------------------------------------------------- the filter


def test_only_a_content_change_counts_once_a_file_was_seen(tmp_path: Path) -> None:
    hashes = ContentHashes()
    module = tmp_path / "m.py"
    module.write_text("x = 1\n")

    assert hashes.changed([module]) == {module}  # never seen: a change, and now known
    bare_touch(module)
    assert hashes.changed([module]) == set()
    module.write_text("x = 1\n")  # saved again, the same bytes
    assert hashes.changed([module]) == set()
    module.write_text("x = 2\n")
    assert hashes.changed([module]) == {module}
    module.write_text("x = 1\n")  # back to an earlier text: still a change from the last
    assert hashes.changed([module]) == {module}


def test_deleted_files_folders_and_big_files_always_count(tmp_path: Path) -> None:
    hashes = ContentHashes()
    gone, folder, big = tmp_path / "gone.py", tmp_path / "pkg", tmp_path / "data.bin"
    gone.write_text("")
    folder.mkdir()
    big.write_bytes(b"\0" * (MAX_HASHED_BYTES + 1))
    hashes.changed([gone, folder, big])
    gone.unlink()

    assert hashes.changed([gone, folder, big]) == {gone, folder, big}
    assert not hashes.knows(gone)
    gone.write_text("")  # back with the same (empty) content: new since it was deleted
    assert hashes.changed([gone]) == {gone}


def test_the_baseline_makes_a_first_touch_count_as_nothing(tmp_path: Path) -> None:
    module, other = tmp_path / "m.py", tmp_path / "other.py"
    module.write_text("x = 1\n")
    other.write_text("y = 1\n")
    hashes = ContentHashes(clock_ns=began_later)
    hashes.watch_begins()

    assert hashes.baseline([module, other]) == 2
    bare_touch(module)
    other.write_text("y = 2\n")
    assert hashes.changed([module, other]) == {other}


def test_the_baseline_leaves_files_written_after_watching_began_to_their_event(
    tmp_path: Path,
) -> None:
    # Watching began; then a save; then the baseline reads the file: recording the saved
    # text would make the save's own event compare equal, and the save would run nothing.
    hashes = ContentHashes()
    hashes.watch_begins()
    module = tmp_path / "m.py"
    module.write_text("x = 2\n")

    assert hashes.baseline([module]) == 0
    assert hashes.changed([module]) == {module}


def test_the_margin_covers_a_write_just_before_watching_began(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("x = 1\n")
    hashes = ContentHashes(clock_ns=lambda: time.time_ns() + CTIME_MARGIN_NS // 2)
    hashes.watch_begins()

    assert hashes.baseline([module]) == 0  # a coarse clock could have dated it earlier


def test_the_baseline_never_replaces_what_an_event_saw(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("x = 1\n")
    hashes = ContentHashes(clock_ns=began_later)
    hashes.watch_begins()
    hashes.changed([module])  # the event came first and recorded the file
    module.write_text("x = 2\n")  # a later save, not yet delivered

    assert hashes.baseline([module]) == 0
    assert hashes.changed([module]) == {module}


def test_a_baseline_needs_the_moment_watching_began(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="watch_begins"):
        ContentHashes().baseline([tmp_path / "m.py"])


# ---------------------------------------------------------------------- the watched set


def make_tree(root: Path) -> None:
    for name in ("src/app.py", "data/rows.csv", ".venv/lib/site.py", "src/__pycache__/a.pyc"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    (root / ".venv" / "pyvenv.cfg").write_text("")
    (root / "build").mkdir()
    (root / "build" / "out.py").write_text("")
    (root / ".gitignore").write_text("build/\n")


def relative(root: Path, files: Iterator[Path]) -> set[str]:
    return {path.relative_to(root).as_posix() for path in files}


def test_the_watched_set_without_git_skips_the_fixed_ignored_folders(tmp_path: Path) -> None:
    make_tree(tmp_path)

    found = relative(tmp_path, watched_files(tmp_path, use_git=False))
    assert found == {"src/app.py", "data/rows.csv", "build/out.py"}


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_watched_set_with_git_skips_what_git_ignores(tmp_path: Path) -> None:
    make_tree(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)

    found = relative(tmp_path, watched_files(tmp_path, use_git=True))
    assert found == {"src/app.py", "data/rows.csv"}


# ---------------------------------------------------------------------- in the watcher


def start_watching(root: Path, delivered: Batches, hashes: ContentHashes) -> SourceWatcher:
    watching = SourceWatcher(root, delivered.put)
    watching.content = hashes
    watching.start()
    assert watching.wait_ready(DEADLINE)
    return watching


def test_a_bare_touch_makes_no_batch_and_a_content_change_does(tmp_path: Path) -> None:
    module, control = tmp_path / "m.py", tmp_path / "control.py"
    delivered = Batches()
    watching = start_watching(tmp_path, delivered, ContentHashes())
    try:
        module.write_text("x = 1\n")
        assert delivered.next().paths == {module}  # new: a change, and its hash is known
        bare_touch(module)
        module.write_text("x = 1\n")  # and the same bytes saved again
        control.write_text("")  # the positive control, after them
        # Batches come in order: had the touch or the save counted, it would come first.
        assert delivered.next().paths == {control}
        module.write_text("x = 2\n")
        assert delivered.next().paths == {module}
    finally:
        watching.stop()


def test_a_first_touch_of_a_file_that_was_there_before_makes_no_batch(tmp_path: Path) -> None:
    module, control = tmp_path / "m.py", tmp_path / "control.py"
    module.write_text("x = 1\n")
    delivered = Batches()
    hashes = ContentHashes(clock_ns=began_later)  # the file predates watching by 10 s
    watching = start_watching(tmp_path, delivered, hashes)
    try:
        assert hashes.baseline_done.wait(DEADLINE)
        assert hashes.knows(module)
        bare_touch(module)
        control.write_text("")
        assert delivered.next().paths == {control}
    finally:
        watching.stop()


def test_without_content_hashes_a_touch_is_a_batch(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("x = 1\n")
    delivered = Batches()
    watching = SourceWatcher(tmp_path, delivered.put, skip_unchanged=False)
    watching.start()
    try:
        assert watching.wait_ready(DEADLINE)
        bare_touch(module)
        assert delivered.next().paths == {module}
    finally:
        watching.stop()
