"""What never starts a test run: tools' and editors' droppings, and what .gitignore ignores.

A save must rerun tests; the run itself must not. A run writes `.pytest_cache`,
`__pycache__`, `.coverage*`, junit XML and snapshot reports inside the project, and if
those counted, every run would start the next one. Editors write swap, backup and probe
files around every save. Virtualenvs and caches change under `pip install` and linters.

`IgnoreRules` answers for a whole batch of paths at once (one `git check-ignore` for the
paths it has not seen), which is how `SourceWatcher` uses it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from tui.core.watch.gitignore import GitCheckIgnore, GitignoreOracle, gitignore_oracle

IGNORED_DIRS: frozenset[str] = frozenset(
    {
        ".git", ".hg", ".svn",
        ".venv", "venv",
        "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
        "node_modules", ".tox", ".nox",
        "__snapshots__", "htmlcov",
        ".idea", ".vscode",  # editor settings: no test reads them
        ".envdeck",  # envdeck's own baselines and snapshots: a reset writes them
    }
)  # fmt: skip

# Names that runs and editors write, matched against every part of a path (a file or a
# folder on its way). Compiled into one regex below.
IGNORED_NAME_PATTERNS: tuple[str, ...] = (
    r".*\.py[cod]",
    r"pytest-cache-files-.*",  # pytest builds .pytest_cache in here, then renames it
    r".*\.egg-info",
    r"\.coverage.*", r"coverage\.xml",  # coverage data, combined or per process
    r"junit.*\.xml", r"report.*\.xml",  # result files of a run
    r".*\.orig", r".*\.rej",  # merge and patch leftovers
    r".*~",  # backups: vim's `file~`, emacs's `file~`
    r"\..*\.sw[a-p]",  # vim swap files: .file.py.swp, .swo, ...
    r"\.#.*",  # emacs lock files
    r"4913",  # vim's probe: it writes and deletes this to test that the folder is writable
    r".*___jb_(?:tmp|old|bak)___",  # JetBrains "safe write"
    r"\.DS_Store",
)  # fmt: skip
_IGNORED_NAME = re.compile("|".join(f"(?:{pattern})" for pattern in IGNORED_NAME_PATTERNS))

VENV_MARKER = "pyvenv.cfg"  # every virtualenv, whatever its folder is called, has one
GITIGNORE = ".gitignore"
# Inside .git, changes to these change what git ignores (the index: what is tracked).
GIT_RULE_FILES = (".git/info/exclude", ".git/index")


def has_ignored_name(relative: str) -> bool:
    """The fixed rules alone: an ignored folder or name anywhere on the path."""
    parts = relative.split("/")
    if parts[-1] in (GITIGNORE, VENV_MARKER):
        return True
    return any(part in IGNORED_DIRS or _IGNORED_NAME.fullmatch(part) for part in parts)


class IgnoreRules:
    """Which paths under `root` never trigger a run.

    Fixed rules first (no I/O), then virtualenv folders (a `pyvenv.cfg` on the way),
    then .gitignore (git's answer, cached). A changed `.gitignore` never triggers a run
    itself, but it drops the cached answers, as do changes to `.git/info/exclude` and the
    index (a newly tracked file is no longer ignored). Not thread-safe: one per thread.
    """

    def __init__(
        self,
        root: Path,
        *,
        gitignore: GitignoreOracle | Literal["auto", "off"] = "auto",
        ignored_dirs: Iterable[Path] = (),
    ) -> None:
        self.root = root.resolve()
        # Folders of the project that runs write to, named by configuration (a custom
        # state_dir for baselines and snapshots): what is below them never counts.
        self._ignored_dirs = tuple(Path(folder).resolve() for folder in ignored_dirs)
        self._gitignore: GitignoreOracle | None
        if gitignore == "auto":
            self._gitignore = gitignore_oracle(self.root)
        elif gitignore == "off":
            self._gitignore = None
        else:
            self._gitignore = gitignore
        self._venvs: set[Path] = set()  # positive answers only: a venv appears after its folder

    def keep(self, paths: Iterable[Path | str]) -> set[Path]:
        """The paths that may trigger a run (absolute), from absolute or root-relative ones."""
        candidates: dict[str, Path] = {}
        for path in paths:
            absolute = self._absolute(path)
            relative = self._relative(absolute)
            if relative is None:
                continue  # outside the project
            if self._is_rule_file(relative):
                self.forget()
            if any(absolute.is_relative_to(folder) for folder in self._ignored_dirs):
                continue
            if not has_ignored_name(relative) and not self._in_venv(absolute):
                candidates[relative] = absolute
        if self._gitignore is None or not candidates:
            return set(candidates.values())
        ignored = self._gitignore_ignored(candidates)
        return {absolute for relative, absolute in candidates.items() if relative not in ignored}

    @property
    def asks_git(self) -> bool:
        """git answers for .gitignore here (so git can list the project's files too)."""
        return isinstance(self._gitignore, GitCheckIgnore)

    def forget(self) -> None:
        """Drop cached .gitignore answers (after a rule file changed)."""
        if self._gitignore is not None:
            self._gitignore.forget()

    def _gitignore_ignored(self, candidates: dict[str, Path]) -> set[str]:
        assert self._gitignore is not None
        # A path gone from disk may have been a folder: "name/" lets a `build/` rule match it.
        gone = {rel + "/": rel for rel, absolute in candidates.items() if not absolute.exists()}
        answer = self._gitignore.ignored([*candidates, *gone])
        return {gone.get(path, path) for path in answer}

    def _absolute(self, path: Path | str) -> Path:
        path = Path(path)
        # No resolve(): a symlink in the project is where the user edits, keep its name.
        return path if path.is_absolute() else self.root / path

    def _relative(self, absolute: Path) -> str | None:
        relative = os.path.relpath(absolute, self.root)
        if relative in (".", "..") or relative.startswith(f"..{os.sep}"):
            return None
        return Path(relative).as_posix()

    def _is_rule_file(self, relative: str) -> bool:
        return relative.rsplit("/", 1)[-1] == GITIGNORE or relative in GIT_RULE_FILES

    def _in_venv(self, absolute: Path) -> bool:
        for folder in (absolute, *absolute.parents):  # the folder itself may be the venv
            if folder == self.root:
                return False
            if folder in self._venvs:
                return True
            if (folder / VENV_MARKER).is_file():
                self._venvs.add(folder)
                return True
        return False
