"""Where a project's Python files are and which module names they import as.

A file's module name depends on which folder is on `sys.path`: the project root, `src/`
(the src layout), folders the project declares (pytest's `pythonpath`, mypy's
`mypy_path`), and the "basedir" pytest puts first on `sys.path` for every test file in its
default `prepend` import mode: the first folder above it without an `__init__.py`.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import subprocess
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.core.watch.ignore import IGNORED_DIRS, VENV_MARKER, IgnoreRules

DEFAULT_TEST_FILES = ("test_*.py", "*_test.py")  # pytest's default `python_files`
INIT = "__init__.py"

GIT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ProjectLayout:
    root: Path
    source_roots: tuple[Path, ...]  # searched before the root itself, in this order
    test_file_patterns: tuple[str, ...] = DEFAULT_TEST_FILES

    def is_test_file(self, path: Path) -> bool:
        return _matches_any(path.name, self.test_file_patterns)


@functools.lru_cache(maxsize=4096)
def _matches_any(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def read_layout(root: Path, extra_roots: Iterable[Path] = ()) -> ProjectLayout:
    """The layout from the folders present and the project's pyproject.toml."""
    root = root.resolve()
    tool = _read_pyproject(root).get("tool", {})
    pytest_config = tool.get("pytest", {}).get("ini_options", {})
    declared = [
        *_as_list(pytest_config.get("pythonpath")),
        *_as_list(tool.get("mypy", {}).get("mypy_path")),
    ]
    candidates = [root / "src", *(root / entry for entry in declared), *extra_roots]
    roots: list[Path] = []
    for candidate in candidates:
        folder = candidate.resolve()
        if folder.is_dir() and folder != root and folder not in roots:
            roots.append(folder)
    patterns = tuple(_as_list(pytest_config.get("python_files"))) or DEFAULT_TEST_FILES
    return ProjectLayout(root, tuple(roots), patterns)


def _read_pyproject(root: Path) -> dict[str, Any]:
    try:
        with (root / "pyproject.toml").open("rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):  # mypy_path "a:b", python_files "test_*.py check_*.py"
        return [part for part in value.replace(":", " ").replace(",", " ").split() if part]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def list_python_files(root: Path, rules: IgnoreRules) -> list[Path]:
    """Every .py file of the project that .gitignore and the fixed rules do not ignore."""
    listed = git_listed(root, "*.py") if rules.asks_git else None
    candidates = listed if listed is not None else walk_python_files(root)
    existing = [path for path in candidates if path.is_file()]  # ls-files lists deletions too
    return sorted(rules.keep(existing))


def git_listed(root: Path, *patterns: str) -> list[Path] | None:
    """Files below `root` git tracks or would (untracked, not ignored), matching
    `patterns`; None where git cannot say (no git, not a repository)."""
    # One git call for tracked and untracked-but-not-ignored files: exact and quick, and it
    # skips ignored trees (.venv, build/) without walking them.
    try:
        done = subprocess.run(
            [
                *("git", "-C", str(root), "ls-files", "-z", "--cached", "--others"),
                *("--exclude-standard", *(("--", *patterns) if patterns else ())),
            ],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return [root / name for name in dict.fromkeys(done.stdout.split("\0")) if name]


def walk_files(folder: Path, suffix: str = "") -> Iterator[Path]:
    """Files below `folder` (ending in `suffix`), not descending into ignored folders
    or virtualenvs."""
    for current, dirs, files in os.walk(folder):
        dirs[:] = [
            name
            for name in dirs
            if name not in IGNORED_DIRS and not Path(current, name, VENV_MARKER).is_file()
        ]
        yield from (Path(current, name) for name in files if name.endswith(suffix))


def walk_python_files(folder: Path) -> Iterator[Path]:
    """.py files below `folder`, not descending into ignored folders or virtualenvs."""
    return walk_files(folder, ".py")


def pytest_basedir(test_file: Path) -> Path:
    """The folder pytest's prepend import mode puts on sys.path for this test file."""
    folder = test_file.parent
    while (folder / INIT).is_file() and folder.parent != folder:
        folder = folder.parent
    return folder


def module_names(path: Path, roots: Iterable[Path]) -> Iterator[str]:
    """The dotted names `path` imports as, one per root it is importable from.

    Below a root, the first folder must be a regular package (with `__init__.py`):
    otherwise every top-level folder (`scripts/`, `compose/`) would claim a name that may
    be an installed distribution's. Deeper folders may be namespace packages.
    """
    for root in roots:
        try:
            parts = list(path.relative_to(root).parts)
        except ValueError:
            continue
        if len(parts) > 1 and not (root / parts[0] / INIT).is_file():
            continue
        parts[-1] = parts[-1].removesuffix(".py")
        if parts[-1] == "__init__":
            parts.pop()
        if parts and all(part.isidentifier() for part in parts):
            yield ".".join(parts)
