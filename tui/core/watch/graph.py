"""The project's import graph: which file imports which, kept current at the cost of a save.

Files are parsed once and again only when their (mtime, size, inode) changes; `parse_count`
says how many parses were needed. Resolving imports to files is cheap dictionary work, so it
is redone for every file only when files appear or go (a new module can satisfy an import
that failed before), and for the changed files alone otherwise.

Besides its own imports, pytest makes every test file (and conftest) load the `__init__.py`
of its packages and every conftest.py above it: those are edges too.

A file whose imports cannot all be followed carries "doubts": a module name computed at run
time, an import of the project's own package that names no file, a file that never parsed.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tui.core.watch.ignore import IgnoreRules
from tui.core.watch.imports import FileImports, ImportRef, read_imports
from tui.core.watch.layout import (
    INIT,
    ProjectLayout,
    list_python_files,
    module_names,
    pytest_basedir,
    read_layout,
    walk_python_files,
)

CONFTEST = "conftest.py"
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
        self._index: dict[str, Path] = {}  # dotted module name -> file
        self._namespaces: set[str] = set()  # dotted names of folders without __init__.py
        self._top_names: set[str] = set()  # first components the project provides
        self._roots: tuple[Path, ...] = ()
        self._edges: dict[Path, frozenset[Path]] = {}
        self._doubts: dict[Path, tuple[str, ...]] = {}
        self._importers: dict[Path, set[Path]] | None = None  # reverse edges; None: stale
        self._doubts_reaching_tests: list[tuple[Path, str]] | None = None

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
            self._doubts_reaching_tests = [
                (path, why)
                for path, whys in sorted(self._doubts.items())
                if any(self.is_test_file(f) for f in self.importers_of([path]))
                for why in whys
            ]
        return self._doubts_reaching_tests

    # ------------------------------------------------------------------ keeping current

    def ensure_built(self) -> None:
        if not self._built:
            self._built = True
            self.refresh()

    def refresh(self) -> None:
        """Compare with the whole project on disk: add, drop and re-parse what differs."""
        self._built = True
        present = set(list_python_files(self.root, self.rules))
        known = set(self._entries)
        self._apply(added=present - known, removed=known - present, maybe_changed=present & known)

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
            self._rebuild_index()
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
        if imports.syntax_error and old is not None and not old.imports.syntax_error:
            # Mid-edit: keep the imports it had when it last parsed.
            imports = FileImports(old.imports.refs, old.imports.dynamic, imports.syntax_error)
        self._entries[file] = _Entry(stamp, imports)
        return True

    def _absolute(self, path: Path) -> Path:
        return Path(os.path.normpath(path if path.is_absolute() else self.root / path))

    # ------------------------------------------------------------------ module names

    def _rebuild_index(self) -> None:
        tests = [f for f in self._entries if self.is_test_file(f) or f.name == CONFTEST]
        basedirs = dict.fromkeys(pytest_basedir(test) for test in sorted(tests))
        roots = dict.fromkeys([*self.layout.source_roots, self.root, *basedirs])
        self._roots = tuple(roots)
        self._index = {}
        for file in sorted(self._entries):
            for name in module_names(file, self._roots):
                self._index.setdefault(name, file)
        self._namespaces = {
            prefix
            for name in self._index
            for prefix in _prefixes(name)[:-1]
            if prefix not in self._index
        }
        self._top_names = {name.partition(".")[0] for name in self._index}

    def _on_disk(self, module: str) -> Path | None:
        """A module the listing left out (a generated, git-ignored `_version.py`...)."""
        relative = Path(*module.split("."))
        for root in self._roots:
            for candidate in (root / relative.with_suffix(".py"), root / relative / INIT):
                if candidate.is_file():
                    return candidate
        return None

    # ------------------------------------------------------------------ resolving

    def _resolve(self, files: Iterable[Path]) -> None:
        for file in files:
            edges, doubts = self._resolve_file(file)
            self._edges[file] = edges
            self._doubts[file] = doubts

    def _resolve_file(self, file: Path) -> tuple[frozenset[Path], tuple[str, ...]]:
        imports = self._entries[file].imports
        targets: set[Path] = set()
        doubts: list[str] = []
        if imports.syntax_error and not imports.refs:
            doubts.append(f"does not parse ({imports.syntax_error})")
        for ref in imports.refs:
            found, doubt = (
                self._resolve_relative(file, ref) if ref.level else self._resolve_absolute(ref)
            )
            targets |= found
            if doubt:
                doubts.append(doubt)
        for dynamic in imports.dynamic:
            if dynamic.prefix:
                targets |= {f for n, f in self._index.items() if n.startswith(dynamic.prefix)}
            else:
                doubts.append(f"line {dynamic.line}: {dynamic.how}() of a name made at run time")
        if self.is_test_file(file) or file.name == CONFTEST:
            targets |= self._loaded_by_pytest(file)
        targets.discard(file)
        return frozenset(targets), tuple(doubts)

    def _resolve_absolute(self, ref: ImportRef) -> tuple[set[Path], str | None]:
        module = ref.module
        if module.partition(".")[0] not in self._top_names:
            return set(), None  # the standard library or an installed distribution
        found = {self._index[p] for p in _prefixes(module) if p in self._index}
        if module not in self._index and module not in self._namespaces:
            on_disk = self._on_disk(module)
            if on_disk is None:
                return found, f"line {ref.line}: imports {module}, which is not in the project"
            found.add(on_disk)
        found |= {self._index[f"{module}.{n}"] for n in ref.names if f"{module}.{n}" in self._index}
        return found, None

    def _resolve_relative(self, file: Path, ref: ImportRef) -> tuple[set[Path], str | None]:
        base = file.parent
        for _ in range(ref.level - 1):
            base = base.parent
        dots = "." * ref.level + ref.module
        if base != self.root and self.root not in base.parents:
            return set(), f"line {ref.line}: `from {dots} import` climbs above the project"
        folder = base
        found: set[Path] = set()
        for part in ref.module.split(".") if ref.module else ():
            folder = folder / part
            package_init = folder / INIT
            if package_init in self._entries:
                found.add(package_init)
        module_file = self._module_file(folder) if ref.module else None
        if module_file is not None:
            found.add(module_file)
        elif ref.module and not folder.is_dir():
            return found, f"line {ref.line}: imports {dots}, which is not in the project"
        if not ref.module and (base / INIT) in self._entries:
            found.add(base / INIT)
        found |= {sub for n in ref.names if (sub := self._known_module(folder / n)) is not None}
        return found, None

    def _known_module(self, stem: Path) -> Path | None:
        for candidate in (stem.parent / f"{stem.name}.py", stem / INIT):
            if candidate in self._entries:
                return candidate
        return None

    def _module_file(self, stem: Path) -> Path | None:
        known = self._known_module(stem)
        if known is not None:
            return known
        for candidate in (stem.parent / f"{stem.name}.py", stem / INIT):
            if candidate.is_file():
                return candidate
        return None

    def _loaded_by_pytest(self, file: Path) -> set[Path]:
        """The conftest.py files above a test file and the __init__.py of its packages."""
        loaded: set[Path] = set()
        for folder in file.parents:
            for name in (CONFTEST, INIT):
                if folder / name in self._entries:
                    loaded.add(folder / name)
            if folder == self.root or self.root not in folder.parents:
                break
        return loaded

    def _reverse_edges(self) -> dict[Path, set[Path]]:
        self.ensure_built()
        if self._importers is None:
            importers: dict[Path, set[Path]] = {}
            for importer, targets in self._edges.items():
                for target in targets:
                    importers.setdefault(target, set()).add(importer)
            self._importers = importers
        return self._importers


def _prefixes(module: str) -> list[str]:
    """`a.b.c` -> [a, a.b, a.b.c]: importing a.b.c runs the __init__ of a and of a.b."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]
