"""What an import statement loads: the project's module names, and resolving imports to files.

A file's module name depends on which folders are on `sys.path` (see `layout.py`). Besides
its own imports, pytest makes every test file (and conftest) load the `__init__.py` of its
packages and every conftest.py above it: those are edges too.

An import that cannot be followed is a "doubt": a module name computed at run time, an
import of the project's own package that names no file, a file that never parsed. Imports
of names the project does not provide (the standard library, installed distributions) are
simply not edges.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from tui.core.watch.imports import FileImports, ImportRef
from tui.core.watch.layout import INIT, ProjectLayout, module_names, pytest_basedir

CONFTEST = "conftest.py"
Resolved = tuple[set[Path], str | None]  # the files loaded, and a doubt if any


class ModuleIndex:
    """The project's modules by dotted name, for one set of files (rebuilt when it changes)."""

    def __init__(self, layout: ProjectLayout, files: Collection[Path]) -> None:
        self.layout = layout
        self.root = layout.root
        self._files = frozenset(files)
        tests = [f for f in self._files if layout.is_test_file(f) or f.name == CONFTEST]
        basedirs = dict.fromkeys(pytest_basedir(test) for test in sorted(tests))
        self._roots = tuple(dict.fromkeys([*layout.source_roots, self.root, *basedirs]))
        self._index: dict[str, Path] = {}  # dotted module name -> file
        for file in sorted(self._files):
            for name in module_names(file, self._roots):
                self._index.setdefault(name, file)
        # Folders without __init__.py on the way to a module: importable, but no file.
        self._namespaces = {
            prefix
            for name in self._index
            for prefix in _prefixes(name)[:-1]
            if prefix not in self._index
        }
        self._top_names = {name.partition(".")[0] for name in self._index}

    def resolve(self, file: Path, imports: FileImports) -> tuple[frozenset[Path], tuple[str, ...]]:
        """The files `file` loads, and its doubts."""
        targets: set[Path] = set()
        doubts: list[str] = []
        if imports.syntax_error and not imports.refs:
            doubts.append(f"does not parse ({imports.syntax_error})")
        for ref in imports.refs:
            found, doubt = self._relative(file, ref) if ref.level else self._absolute(ref)
            targets |= found
            if doubt:
                doubts.append(doubt)
        for dynamic in imports.dynamic:
            if dynamic.prefix:
                targets |= {f for n, f in self._index.items() if n.startswith(dynamic.prefix)}
            else:
                doubts.append(f"line {dynamic.line}: {dynamic.how}() of a name made at run time")
        if self.layout.is_test_file(file) or file.name == CONFTEST:
            targets |= self._loaded_by_pytest(file)
        targets.discard(file)
        return frozenset(targets), tuple(doubts)

    def _absolute(self, ref: ImportRef) -> Resolved:
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

    def _relative(self, file: Path, ref: ImportRef) -> Resolved:
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
            if folder / INIT in self._files:  # `from .a.b import x` runs a's __init__ too
                found.add(folder / INIT)
        module_file = self._module_file(folder) if ref.module else None
        if module_file is not None:
            found.add(module_file)
        elif ref.module and not folder.is_dir():
            return found, f"line {ref.line}: imports {dots}, which is not in the project"
        if not ref.module and base / INIT in self._files:
            found.add(base / INIT)
        found |= {sub for n in ref.names if (sub := self._known_module(folder / n)) is not None}
        return found, None

    def _known_module(self, stem: Path) -> Path | None:
        for candidate in (stem.parent / f"{stem.name}.py", stem / INIT):
            if candidate in self._files:
                return candidate
        return None

    def _module_file(self, stem: Path) -> Path | None:
        known = self._known_module(stem)
        if known is not None:
            return known
        for candidate in (stem.parent / f"{stem.name}.py", stem / INIT):
            if candidate.is_file():  # not listed: generated and git-ignored, say
                return candidate
        return None

    def _on_disk(self, module: str) -> Path | None:
        """A module the listing left out (a generated, git-ignored `_version.py`...)."""
        relative = Path(*module.split("."))
        for root in self._roots:
            for candidate in (root / relative.with_suffix(".py"), root / relative / INIT):
                if candidate.is_file():
                    return candidate
        return None

    def _loaded_by_pytest(self, file: Path) -> set[Path]:
        """The conftest.py files above a test file and the __init__.py of its packages."""
        loaded: set[Path] = set()
        for folder in file.parents:
            loaded |= {folder / name for name in (CONFTEST, INIT) if folder / name in self._files}
            if folder == self.root or self.root not in folder.parents:
                break
        return loaded


def _prefixes(module: str) -> list[str]:
    """`a.b.c` -> [a, a.b, a.b.c]: importing a.b.c runs the __init__ of a and of a.b."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]
