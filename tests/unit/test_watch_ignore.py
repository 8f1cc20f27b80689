"""What never triggers a watch-mode run: fixed rules, virtualenvs, .gitignore (git's and ours)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.core.watch.gitignore import GitCheckIgnore, PatternIgnore, parse_gitignore
from tui.core.watch.ignore import IgnoreRules, has_ignored_name


@pytest.mark.parametrize(
    "path",
    [
        ".git/objects/ab/cdef",
        "src/pkg/__pycache__/a.cpython-311.pyc",
        "a.pyc",
        ".venv/lib/python3.11/site-packages/x.py",
        "venv/bin/activate",
        ".pytest_cache/v/cache/lastfailed",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/0.8/abc",
        "web/node_modules/left-pad/index.js",
        ".tox/py311/log",
        ".nox/tests/x",
        ".coverage",
        ".coverage.host.1234.567",
        "junit.xml",
        "reports/junit-unit.xml",
        "report.xml",
        "tests/__snapshots__/test_app/snap.svg",
        "src/a.py.orig",
        "src/a.py~",
        "src/.a.py.swp",
        "src/.a.py.swo",
        "src/.#a.py",
        "src/4913",  # vim's probe file
        "src/a.py___jb_tmp___",
        "pytest-cache-files-bwz4ob4l/README.md",  # pytest's .pytest_cache before its rename
        "src/demo.egg-info/PKG-INFO",
        "sub/.gitignore",  # drops cached answers, never runs tests itself
    ],
)
def test_fixed_rules_ignore_tool_and_editor_files(path: str) -> None:
    assert has_ignored_name(path)


@pytest.mark.parametrize(
    "path",
    ["src/a.py", "tests/data/rows.sql", "compose.yaml", "src/4913.py", "swap.py", "report.json"],
)
def test_fixed_rules_keep_sources_and_fixtures(path: str) -> None:
    assert not has_ignored_name(path)


def test_a_folder_with_pyvenv_cfg_is_a_virtualenv_whatever_its_name(tmp_path: Path) -> None:
    env = tmp_path / "py311env"
    (env / "lib").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    rules = IgnoreRules(tmp_path, gitignore="off")

    kept = rules.keep([env / "lib" / "site.py", env, tmp_path / "src" / "a.py"])

    assert kept == {tmp_path / "src" / "a.py"}


def test_paths_are_taken_relative_to_the_root_and_outside_paths_dropped(tmp_path: Path) -> None:
    rules = IgnoreRules(tmp_path / "project", gitignore="off")

    kept = rules.keep(["src/a.py", tmp_path / "elsewhere.py", tmp_path / "project"])

    assert kept == {tmp_path / "project" / "src" / "a.py"}


def test_a_configured_state_folder_inside_the_project_never_counts(tmp_path: Path) -> None:
    # state_dir = "snapshots/envdeck": a reset before a watch run writes there.
    state = tmp_path / "snapshots" / "envdeck"
    rules = IgnoreRules(tmp_path, gitignore="off", ignored_dirs=[state])

    kept = rules.keep(
        [
            state / "states" / "shop" / "baseline" / "manifest.json",
            state,
            tmp_path / "snapshots" / "test_snap.py",  # beside it: still a source
            tmp_path / "snapshots-envdeck.py",
        ]
    )

    assert kept == {tmp_path / "snapshots" / "test_snap.py", tmp_path / "snapshots-envdeck.py"}


# ---------------------------------------------------------------------- .gitignore via git


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("*.log\n!keep.log\nbuild/\n/data\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("*.tmp\n")
    (tmp_path / "build").mkdir()
    return tmp_path


def test_git_answers_with_negation_nested_files_and_anchors(repo: Path) -> None:
    rules = IgnoreRules(repo)
    paths = [
        "app.log",  # *.log
        "keep.log",  # !keep.log re-includes it
        "build/lib/pkg/a.py",  # build/
        "sub/scratch.tmp",  # sub/.gitignore
        "scratch.tmp",  # sub's rule does not reach the root
        "data/x.py",  # /data: anchored at the root...
        "sub/data/x.py",  # ... so not here
        "src/a.py",
    ]

    kept = {path.relative_to(repo).as_posix() for path in rules.keep(paths)}

    assert kept == {"keep.log", "scratch.tmp", "sub/data/x.py", "src/a.py"}
    assert isinstance(rules._gitignore, GitCheckIgnore)


def test_answers_are_cached_per_path(repo: Path) -> None:
    oracle = GitCheckIgnore("git", repo)
    rules = IgnoreRules(repo, gitignore=oracle)

    first = rules.keep(["a.log", "src/a.py", "build/x.py"])
    again = rules.keep(["a.log", "src/a.py", "build/x.py"])

    assert first == again == {repo / "src" / "a.py"}
    assert oracle.queries == 1


def test_a_changed_gitignore_refreshes_the_answers(repo: Path) -> None:
    rules = IgnoreRules(repo)
    assert rules.keep(["notes.txt"]) == {repo / "notes.txt"}

    with (repo / ".gitignore").open("a") as file:
        file.write("notes.txt\n")
    # As the watcher reports it: the .gitignore itself is not kept, and answers are dropped.
    assert rules.keep([repo / ".gitignore"]) == set()

    assert rules.keep(["notes.txt"]) == set()


def test_a_folder_gone_from_disk_still_matches_a_folder_rule(repo: Path) -> None:
    rules = IgnoreRules(repo)
    (repo / "build").rmdir()  # `rm -rf build`: the event names a path that no longer exists

    assert rules.keep(["build"]) == set()


def test_a_tracked_file_is_kept_even_if_a_pattern_matches_it(repo: Path) -> None:
    (repo / "forced.log").write_text("tracked on purpose\n")
    _git(repo, "add", "-f", "forced.log")

    assert IgnoreRules(repo).keep(["forced.log", "other.log"]) == {repo / "forced.log"}


def test_a_project_inside_a_repo_that_ignores_it_reads_its_own_gitignore(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("*\n")  # a home folder kept in git, say
    project = tmp_path / "project"
    project.mkdir()
    (project / ".gitignore").write_text("*.log\n")
    rules = IgnoreRules(project)

    kept = rules.keep(["src/a.py", "app.log"])

    assert kept == {project / "src/a.py"}
    assert isinstance(rules._gitignore, PatternIgnore)


# ---------------------------------------------------------------------- without git


def test_without_git_the_common_subset_is_read_from_the_files(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text(
        "# logs\n*.log\n!keep.log\nbuild/\n/data\ndocs/**/*.html\n"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("*.tmp\n!important.log\n")
    (tmp_path / "build").mkdir()
    rules = IgnoreRules(tmp_path)  # not a git work tree: the fallback
    paths = [
        "app.log",
        "keep.log",
        "sub/important.log",  # a deeper file overrides the root's rule
        "build/lib/a.py",
        "sub/x.tmp",
        "x.tmp",
        "data/x.py",
        "sub/data/x.py",
        "docs/a/b/page.html",
        "docs/page.html",  # **/ matches no folder too
        "src/a.py",
    ]

    kept = {path.relative_to(tmp_path).as_posix() for path in rules.keep(paths)}

    assert kept == {"keep.log", "sub/important.log", "x.tmp", "sub/data/x.py", "src/a.py"}
    assert isinstance(rules._gitignore, PatternIgnore)


def test_the_fallback_cannot_re_include_below_an_ignored_folder(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("build/\n!build/keep.py\n")
    (tmp_path / "build").mkdir()

    assert IgnoreRules(tmp_path).keep(["build/keep.py"]) == set()  # as git itself says


def test_pattern_parsing_skips_comments_and_blank_lines() -> None:
    rules = parse_gitignore("# comment\n\n   \n*.py[cod]\n/anchored/\n")

    assert [p.include for p in rules.patterns if p.include is not None] == [True, True]
    assert rules.match_file("x.pyc")
    assert not rules.match_file("x.py")
    assert not rules.match_file("# comment")
    assert rules.match_file("anchored/")  # a folder at the file's own level ...
    assert not rules.match_file("anchored")  # ... not a file of that name ...
    assert not rules.match_file("sub/anchored/")  # ... nor a deeper folder


def test_the_watch_core_imports_no_textual_or_rich() -> None:
    code = (
        "import sys, tui.core.watch\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
