"""What `.gitignore` ignores, asked of git itself, with a small fallback where git cannot answer.

git knows the whole truth - nested `.gitignore` files, negation, `.git/info/exclude`,
the user's global excludes, tracked files that a pattern would match - so in a git work
tree every new path is put to `git check-ignore --stdin -z`, one process per batch of
paths, and the answer is cached per path until a rule file changes.

Without git (a tarball, no `git` binary) `PatternIgnore` reads the project's `.gitignore`
files itself, each parsed by `pathspec`'s `GitIgnoreSpec` (git's own pattern rules,
escapes and trailing spaces included); what it puts together here is only what git does
across files: a deeper `.gitignore` overrides its parents', and nothing below an ignored
folder is included again. It does not read `.git/info/exclude` or global excludes.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from pathspec import GitIgnoreSpec

log = logging.getLogger(__name__)

GIT_TIMEOUT = 10.0  # seconds; check-ignore answers in milliseconds, this only bounds a hang
MAX_CACHED_PATHS = 50_000  # editors' random temp names must not grow the cache for ever


class GitignoreOracle(Protocol):
    def ignored(self, relative_paths: Iterable[str]) -> set[str]:
        """Which of these root-relative POSIX paths .gitignore rules ignore."""
        ...

    def forget(self) -> None:
        """A rule file changed: drop every cached answer."""
        ...


def gitignore_oracle(root: Path) -> GitignoreOracle:
    """git's own answers when `root` is inside a git work tree, else the pattern subset.

    Also the subset when git ignores the project folder itself (a home folder kept in git
    with `*` in its .gitignore): git would then call every file ignored.
    """
    git = shutil.which("git")
    if git is None or _git_says(git, root, "rev-parse", "--is-inside-work-tree") != "true":
        return PatternIgnore(root)
    if _git_says(git, root, "check-ignore", ".") is not None:  # success: "." is ignored
        return PatternIgnore(root)
    return GitCheckIgnore(git, root)


def _git_says(git: str, root: Path, *args: str) -> str | None:
    """git's output when it answers with success, else None."""
    try:
        done = subprocess.run(
            [git, "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


class _AnswerCache:
    """Answers per path; with `inherit`, an ignored folder answers for all below it."""

    def __init__(self, *, inherit: bool) -> None:
        self._answers: dict[str, bool] = {}
        self._inherit = inherit

    def lookup(self, path: str) -> bool | None:
        known = self._answers.get(path)
        if known is not None or not self._inherit:
            return known
        parts = path.split("/")
        for end in range(1, len(parts)):
            if self._answers.get("/".join(parts[:end])):
                return True
        return None

    def store(self, path: str, ignored: bool) -> None:
        if len(self._answers) >= MAX_CACHED_PATHS:
            self._answers.clear()
        self._answers[path] = ignored

    def clear(self) -> None:
        self._answers.clear()


class GitCheckIgnore:
    """`git check-ignore`, once per batch of paths not asked about before."""

    def __init__(self, git: str, root: Path) -> None:
        self._git = git
        self._root = root
        # No inheriting: a tracked file inside an ignored folder is not ignored, says git.
        self._cache = _AnswerCache(inherit=False)
        self.queries = 0  # git processes run so far; tests read it to see the cache work

    def ignored(self, relative_paths: Iterable[str]) -> set[str]:
        result: set[str] = set()
        unknown: list[str] = []
        for path in relative_paths:
            known = self._cache.lookup(path)
            if known is None:
                unknown.append(path)
            elif known:
                result.add(path)
        if unknown:
            ignored_now = self._ask_git(unknown)
            for path in unknown:
                self._cache.store(path, path in ignored_now)
            result |= ignored_now
        return result

    def forget(self) -> None:
        self._cache.clear()

    def _ask_git(self, paths: list[str]) -> set[str]:
        self.queries += 1
        try:
            done = subprocess.run(
                [self._git, "-C", str(self._root), "check-ignore", "--stdin", "-z"],
                input="\0".join(paths) + "\0",
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            log.warning("git check-ignore failed (%s); treating paths as not ignored", error)
            return set()
        # 0: some paths are ignored, 1: none are. Anything else: git refused (a path in a
        # submodule...); not ignoring means a needless run at worst, never a missed one.
        if done.returncode not in (0, 1):
            log.warning("git check-ignore: %s", done.stderr.strip())
            return set()
        return {path for path in done.stdout.split("\0") if path}


def parse_gitignore(text: str) -> GitIgnoreSpec:
    """One .gitignore file's rules, matched against paths below its folder."""
    return GitIgnoreSpec.from_lines(text.splitlines())


class PatternIgnore:
    """.gitignore files read without git, each by pathspec (see the module doc)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._rules: dict[str, GitIgnoreSpec] = {}  # folder ("" = root) -> its .gitignore's
        self._cache = _AnswerCache(inherit=True)

    def ignored(self, relative_paths: Iterable[str]) -> set[str]:
        return {path for path in relative_paths if self._is_ignored(path)}

    def forget(self) -> None:
        self._rules.clear()
        self._cache.clear()

    def _is_ignored(self, path: str, *, is_dir: bool | None = None) -> bool:
        if path.endswith("/"):  # as git takes it: "this is a folder" (one gone from disk...)
            path, is_dir = path.rstrip("/"), True
        known = self._cache.lookup(path)
        if known is None:
            known = self._decide(path, is_dir)
            self._cache.store(path, known)
        return known

    def _decide(self, path: str, is_dir: bool | None) -> bool:
        parts = path.split("/")
        # git never looks inside an ignored folder, so no rule can re-include what is below it.
        for end in range(1, len(parts)):
            if self._is_ignored("/".join(parts[:end]), is_dir=True):
                return True
        if is_dir is None:
            is_dir = (self._root / path).is_dir()
        return self._matches(parts, is_dir=is_dir)

    def _matches(self, parts: list[str], *, is_dir: bool) -> bool:
        ignored = False
        suffix = "/" if is_dir else ""  # how a pattern ending in "/" knows a folder
        for depth in range(len(parts)):  # root's .gitignore first: deeper files override it
            below = "/".join(parts[depth:]) + suffix
            decided = self._rules_in("/".join(parts[:depth])).check_file(below).include
            if decided is not None:  # None: no pattern of this file speaks of the path
                ignored = decided
        return ignored

    def _rules_in(self, folder: str) -> GitIgnoreSpec:
        if folder not in self._rules:
            try:
                text = (self._root / folder / ".gitignore").read_text(errors="replace")
            except OSError:
                text = ""
            self._rules[folder] = parse_gitignore(text)
        return self._rules[folder]
