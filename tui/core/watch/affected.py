"""Which tests a set of changed files affects, and which of the user's tests to run for them.

A changed test file affects itself; a changed module affects the test files that import it,
directly or through other modules (`ImportGraph.importers_of`). Whenever that could miss a
test, the answer is "run all selected tests", with the reason in words: a conftest.py or
test configuration changed, a non-Python file changed (fixtures, SQL, YAML are read by
tests in ways no import shows), or some file that tests load imports something the graph
cannot follow.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tui.core.watch.graph import ImportGraph
from tui.core.watch.resolve import CONFTEST

# Files that change how pytest collects or runs every test.
CONFIG_FILES: dict[str, str] = {
    "pyproject.toml": "project and pytest configuration",
    "pytest.ini": "pytest configuration",
    "setup.cfg": "project and pytest configuration",
    "tox.ini": "pytest configuration",
    ".env": "environment variables tests may read",
}


@dataclass(frozen=True)
class Affected:
    """What a change means for the tests. `test_files` is empty when `run_all` is set."""

    run_all: bool
    test_files: frozenset[Path]  # absolute
    reason: str  # "src/app/db.py changed → 3 test files import it"

    @property
    def nothing(self) -> bool:
        return not self.run_all and not self.test_files


def find_affected(graph: ImportGraph, changed: Iterable[Path]) -> Affected:
    """Update `graph` with `changed` (files or folders, present or deleted) and answer.
    Blocking: a first call builds the whole graph, unless `graph.build_ahead()` did."""
    with graph.lock:  # build_ahead may be bringing it up to date in another thread
        return _find_affected(graph, changed)


def _find_affected(graph: ImportGraph, changed: Iterable[Path]) -> Affected:
    graph.ensure_built()
    root = graph.root
    paths = sorted({_absolute(root, Path(p)) for p in changed} - {root})
    paths = [path for path in paths if root in path.parents]
    if not paths:
        return Affected(False, frozenset(), "nothing in the project changed")
    # Before the update: a deleted module's importers are affected (their import now fails).
    python_before = {path: graph.python_files_at(path) for path in paths}
    before = graph.importers_of(set().union(*python_before.values()))
    graph.update(paths)
    python_files = {p for path in paths for p in graph.python_files_at(path)}
    python_files |= {path for path in paths if path.suffix == ".py"}  # a deleted one too
    python_files |= set().union(*python_before.values())
    reasons = (_run_all_reason(graph, path, bool(python_before[path])) for path in paths)
    run_all_reason = next(filter(None, reasons), None)
    if run_all_reason is not None:
        return Affected(True, frozenset(), _with_others(run_all_reason, len(paths)))
    sources = [p for p in python_files if not graph.is_test_file(p)]
    doubts = graph.doubts_reaching_tests() if sources else []
    if doubts:
        where, why = doubts[0]
        reason = f"can't follow every import: {_shown(root, where)} {why}"
        return Affected(True, frozenset(), f"{_describe(root, paths)} changed, but {reason}")
    loaders = before | graph.importers_of(python_files)
    tests = frozenset(p for p in loaders if graph.is_test_file(p) and p.is_file())
    return Affected(False, tests, _explain(root, paths, tests, only_tests=not sources))


def _run_all_reason(graph: ImportGraph, path: Path, held_modules: bool) -> str | None:
    shown = _shown(graph.root, path)
    if path.name in CONFIG_FILES:
        return f"{shown} changed ({CONFIG_FILES[path.name]})"
    if path.name == CONFTEST:
        at_root = path.parent == graph.root
        below = "the project" if at_root else _shown(graph.root, path.parent) + "/"
        return f"{shown} changed (its fixtures reach every test below {below})"
    if path.suffix == ".py" or held_modules or graph.python_files_at(path):
        return None  # a module, or a folder of modules (maybe deleted)
    if path.is_dir():
        others = [p for p in graph.rules.keep(_files_below(path)) if p.suffix != ".py"]
        return f"{shown}/ changed (holds non-Python files)" if others else None
    return f"{shown} changed (not Python: no import shows which tests read it)"


def _files_below(folder: Path) -> list[Path]:
    return [Path(current, name) for current, _, names in os.walk(folder) for name in names]


def _explain(root: Path, paths: list[Path], tests: frozenset[Path], *, only_tests: bool) -> str:
    what = f"{_describe(root, paths)} changed"
    if only_tests:
        return f"{what} → rerun {'it' if len(tests) == 1 else 'them'}" if tests else what
    count = "no test file" if not tests else _plural(len(tests), "test file")
    if len(paths) == 1:
        verb = "imports" if len(tests) <= 1 else "import"
        return f"{what} → {count} {verb} it"
    return f"{what} → {count} affected"


def _describe(root: Path, paths: list[Path]) -> str:
    shown = [_shown(root, path) for path in paths[:2]]
    if len(paths) > 2:
        return f"{', '.join(shown)} and {len(paths) - 2} more"
    return " and ".join(shown)


def _with_others(reason: str, count: int) -> str:
    return reason if count == 1 else f"{reason}; {_plural(count - 1, 'other path')} changed too"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _absolute(root: Path, path: Path) -> Path:
    return Path(os.path.normpath(path if path.is_absolute() else root / path))


def narrow(selection: Iterable[str | Path], affected: Affected, *, root: Path) -> list[str]:
    """The pytest arguments to run for `affected`, within the user's `selection`.

    `selection` holds node ids (`tests/test_a.py::test_x[1]`), test files or folders,
    relative to `root` (as pytest's node ids are) or absolute. With `run_all`, the
    selection itself; otherwise the selected tests that live in affected files (a selected
    folder contributes its affected files); with no selection, the affected files.
    An empty list means "run nothing", except with `run_all` and no selection, where it
    means "pytest's own default: everything it collects".
    """
    chosen = sorted({str(item) for item in selection})
    root = root.resolve()
    if affected.run_all:
        return chosen
    files = sorted(affected.test_files)
    if not chosen:
        return [_shown(root, file) for file in files]
    picked: dict[str, None] = {}
    for item in chosen:
        target = _absolute(root, Path(item.split("::", 1)[0]))
        if target in affected.test_files:
            picked[item] = None
        elif "::" not in item:  # a folder: its affected files
            picked.update((_shown(root, f), None) for f in files if target in f.parents)
    return list(picked)
