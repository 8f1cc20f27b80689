"""The project's import graph: which file imports which, kept current at the cost of a save.

Files are parsed once and again only when their (mtime, size, inode) changes; `parse_count`
says how many parses were needed. Resolving imports to files is cheap dictionary work, so it
is redone for every file only when files appear or go (a new module can satisfy an import
that failed before), and for the changed files alone otherwise.

A file whose imports cannot all be followed carries "doubts" (see `resolve.py`).

Building the whole graph parses every file (1.2 s for the 300 files of bench/large_suite.py's
suite): `build_ahead()`, in a thread of its own, does it before the first save needs it, and
a save that comes meanwhile waits for that build rather than starting another. `lock` is
held by each of them (and by `find_affected`) while it reads or changes the graph.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tui.core.watch.ignore import IgnoreRules
from tui.core.watch.imports import FileImports, read_imports
from tui.core.watch.layout import ProjectLayout, list_python_files, read_layout, walk_python_files
from tui.core.watch.resolve import ModuleIndex

Stamp = tuple[int, int, int]  # mtime_ns, size, inode: an atomic-rename save changes the inode


@dataclass(frozen=True)
class _Entry:
    stamp: Stamp
    imports: FileImports


class ImportGraph:
    """Import edges between the project's .py files, built on first use, then incremental."""

    def __init__(
        self,
        root: Path,
        *,
        layout: ProjectLayout | None = None,
        rules: IgnoreRules | None = None,
    ) -> None:
        self.layout = layout or read_layout(root)
        self.root = self.layout.root
        self.rules = rules or IgnoreRules(self.root)
        self.parse_count = 0  # ast parses so far; only new and changed files are parsed again
        self._entries: dict[Path, _Entry] = {}
        self._built = False
        self._modules = ModuleIndex(self.layout, ())
        self._edges: dict[Path, frozenset[Path]] = {}
        self._doubts: dict[Path, tuple[str, ...]] = {}
        self._importers: dict[Path, set[Path]] | None = None  # reverse edges; None: stale
        self._doubts_reaching_tests: list[tuple[Path, str]] | None = None
        # One user at a time: build_ahead's thread and the change batches' (find_affected).
        self.lock = threading.RLock()

    # ------------------------------------------------------------------ queries

    @property
    def files(self) -> frozenset[Path]:
        self.ensure_built()
        return frozenset(self._entries)

    def is_test_file(self, path: Path) -> bool:
        return self.layout.is_test_file(path)

    def imports_of(self, path: Path) -> frozenset[Path]:
        self.ensure_built()
        return self._edges.get(path, frozenset())

    def importers_of(self, paths: Iterable[Path]) -> set[Path]:
        """`paths` and every file that imports one of them, directly or through others."""
        importers = self._reverse_edges()
        seen = set(paths)
        queue = deque(seen)
        while queue:
            for importer in importers.get(queue.popleft(), ()):
                if importer not in seen:
                    seen.add(importer)
                    queue.append(importer)
        return seen

    def python_files_at(self, path: Path) -> set[Path]:
        """The known .py files that are `path` or below it (a folder, maybe gone)."""
        self.ensure_built()
        if path in self._entries:
            return {path}
        prefix = f"{path}{os.sep}"
        return {known for known in self._entries if str(known).startswith(prefix)}

    def doubts_reaching_tests(self) -> list[tuple[Path, str]]:
        """(file, why) for each doubt in a file that some test loads, directly or not."""
        if self._doubts_reaching_tests is None:
            doubtful = sorted((path, whys) for path, whys in self._doubts.items() if whys)
            self._doubts_reaching_tests = [
                (path, why)
                for path, whys in doubtful
                if any(self.is_test_file(f) for f in self.importers_of([path]))
                for why in whys
            ]
        return self._doubts_reaching_tests

    # ------------------------------------------------------------------ keeping current

    def ensure_built(self) -> None:
        """The whole graph, built now if it never was (waiting for a build under way)."""
        if self._built:
            return
        with self.lock:
            if not self._built:
                self.refresh()

    def build_ahead(self) -> None:
        """Blocking, for a thread: build the graph, or, if it was built before, bring it up
        to date with the disk (only files whose stamp changed are parsed again, ~30 ms for
        300 files), so the next `find_affected` parses only what its batch changed."""
        with self.lock:
            self.refresh()

    def refresh(self) -> None:
        """Compare with the whole project on disk: add, drop and re-parse what differs."""
        present = set(list_python_files(self.root, self.rules))
        known = set(self._entries)
        self._apply(added=present - known, removed=known - present, maybe_changed=present & known)
        self._built = True  # last: another thread takes a built graph as complete

    def update(self, paths: Iterable[Path]) -> None:
        """Bring these changed paths (files or folders, present or gone) up to date."""
        self.ensure_built()
        added: set[Path] = set()
        removed: set[Path] = set()
        maybe_changed: set[Path] = set()
        for path in map(self._absolute, paths):
            if path == self.root:
                self.refresh()  # "the project folder changed": look at everything
                continue
            for file in self._python_files_for(path):
                if not file.is_file():
                    removed.add(file)
                elif file in self._entries:
                    maybe_changed.add(file)
                else:
                    added.add(file)
        added = self.rules.keep(added) if added else added
        self._apply(added=added, removed=removed & set(self._entries), maybe_changed=maybe_changed)

    def _python_files_for(self, path: Path) -> Iterator[Path]:
        if path.suffix == ".py":
            yield path
            return
        yield from self.python_files_at(path)
        if path.is_dir():
            yield from walk_python_files(path)

    def _apply(self, *, added: set[Path], removed: set[Path], maybe_changed: set[Path]) -> None:
        for file in removed:
            del self._entries[file]
        changed = {file for file in maybe_changed - removed if self._parse(file)}
        changed |= {file for file in added if self._parse(file)}
        if added or removed:
            self._modules = ModuleIndex(self.layout, self._entries)
            self._resolve(self._entries)
            for file in removed:
                self._edges.pop(file, None)
                self._doubts.pop(file, None)
        elif changed:
            self._resolve(changed)
        if added or removed or changed:
            self._importers = None
            self._doubts_reaching_tests = None

    def _parse(self, file: Path) -> bool:
        """Parse `file` if it is new or changed; False if it was already current."""
        try:
            stat = file.stat()
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            old = self._entries.get(file)
            if old is not None and old.stamp == stamp:
                return False
            source = file.read_bytes()
        except OSError:
            return False  # gone between listing and reading: the next event removes it
        self.parse_count += 1
        imports = read_imports(source, str(file))
        if imports.syntax_error and old is not None:
            # Mid-edit: keep the imports it had when it last parsed (if it ever did).
            imports = FileImports(old.imports.refs, old.imports.dynamic, imports.syntax_error)
        self._entries[file] = _Entry(stamp, imports)
        return True

    def _absolute(self, path: Path) -> Path:
        return Path(os.path.normpath(path if path.is_absolute() else self.root / path))

    def _resolve(self, files: Iterable[Path]) -> None:
        for file in files:
            edges, doubts = self._modules.resolve(file, self._entries[file].imports)
            self._edges[file] = edges
            self._doubts[file] = doubts

    def _reverse_edges(self) -> dict[Path, set[Path]]:
        self.ensure_built()
        if self._importers is None:
            importers: dict[Path, set[Path]] = {}
            for importer, targets in self._edges.items():
                for target in targets:
                    importers.setdefault(target, set()).add(importer)
            self._importers = importers
        return self._importers
