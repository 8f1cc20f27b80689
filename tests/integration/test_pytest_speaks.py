"""pytest speaks for itself (issue 12.3), on small throwaway projects with real pytest.

pytest reads the arguments (options with values keep them: nothing is taken for a test
that pytest does not take for one); what pytest says when it refuses a run or cuts it
short reaches the user as it said it, headless and in the tests screen; and a watch-mode
run that pytest refuses (a conftest.py that does not import, under the affected tests) is
followed by a run pytest accepts, saying why. No engine and no sample stack: every test
here runs pytest, nothing else.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.integration.conftest import WatchedOutput, run_envdeck
from tests.ui.fixed_monitor import FixedMonitor
from tests.ui.test_tests_screen import READY, SAMPLE, opened_screen, text_of, until, watch_ready
from tui.core.testrun.arguments import read_arguments

pytestmark = pytest.mark.usefixtures("no_autoloaded_plugins")

APP = "def add(a, b):\n    return a + b\n"
USES_APP = "from app import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
BROKEN_CONFTEST = '"""Needs an optional dependency."""\n\nimport optional_dependency\n'
MISSING = "No module named 'optional_dependency'"


def write(root: Path, files: dict[str, str]) -> Path:
    (root / "pytest.ini").write_text("[pytest]\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def two_tests(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        {
            "conftest.py": (
                "def pytest_addoption(parser):\n"
                "    parser.addoption('--db-url', help='an option of the project, with a value')\n"
            ),
            "test_a.py": "def test_one():\n    pass\n\n\ndef test_two():\n    pass\n",
            "slow/test_slow.py": "def test_slow():\n    pass\n",
        },
    )


@pytest.fixture
def broken_below(tmp_path: Path) -> Path:
    """A module two test files import, one of them below a conftest that cannot import."""
    return write(
        tmp_path,
        {
            "app.py": APP,
            "test_app.py": USES_APP,
            "sub/conftest.py": BROKEN_CONFTEST,
            "sub/test_sub.py": USES_APP,
        },
    )


# ---------------------------------------------------------------- pytest reads the arguments


async def test_pytest_tells_which_arguments_are_tests_with_its_plugins_and_conftest(
    two_tests: Path,
) -> None:
    args = [
        "--db-url",  # the root conftest's option: only pytest knows it takes a value
        "sqlite://",
        "--deselect",
        "test_a.py::test_two",
        "--ignore",
        "slow",
        "-o",
        "console_output_style=classic",
        "--durations",
        "3",
        "--import-mode",
        "importlib",
        "-p",
        "no:cacheprovider",
        "test_a.py",
    ]
    arguments = await read_arguments(two_tests, sys.executable, args)
    assert arguments.understood, arguments.why_unknown
    assert arguments.selection == ["test_a.py"]
    assert arguments.targeting(["slow/test_slow.py"]) == [*args[:-1], "slow/test_slow.py"]
    assert arguments.refused == ""


def test_options_that_take_a_value_keep_it(two_tests: Path) -> None:
    done = run_envdeck(
        two_tests,
        "test",
        "--deselect",
        "test_a.py::test_two",
        "--ignore",
        "slow",
        "--durations",
        "3",
        "--import-mode",
        "importlib",
        "-o",
        "console_output_style=classic",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED test_a.py::test_one" in done.stdout
    assert "test_two" not in done.stdout  # deselected, not selected
    assert "test_slow" not in done.stdout  # ignored, not selected
    assert "collected 1 tests (1 deselected)" in done.stdout


# ---------------------------------------------------------------- pytest's own words, headless


def test_usage_errors_are_shown_in_pytests_words(two_tests: Path) -> None:
    missing = run_envdeck(two_tests, "test", "test_nonexistent.py")
    assert missing.returncode == 4
    assert "pytest said (exit code 4, usage error):" in missing.stdout
    assert "ERROR: file or directory not found: test_nonexistent.py" in missing.stdout
    unknown = run_envdeck(two_tests, "test", "--bogus-opt")
    assert unknown.returncode == 4
    assert "error: unrecognized arguments: --bogus-opt" in unknown.stdout
    bad_value = run_envdeck(two_tests, "test", "--durations", "abc")
    assert bad_value.returncode == 4
    assert "argument --durations: invalid int value: 'abc'" in bad_value.stdout


def test_collection_errors_are_shown_in_pytests_words(broken_below: Path) -> None:
    done = run_envdeck(broken_below, "test")
    assert done.returncode == 2  # pytest's exit code: interrupted by a collection error
    assert f"E   ModuleNotFoundError: {MISSING}" in done.stdout  # pytest's report of it
    assert "sub/conftest.py:3: in <module>" in done.stdout
    assert "Interrupted: 1 error during collection" in done.stdout


# ---------------------------------------------------------------- watch mode falls back


def test_watch_falls_back_to_the_whole_selection_when_pytest_refuses_the_paths(
    broken_below: Path,
) -> None:
    watched = WatchedOutput(broken_below)
    wait_for, seen = watched.wait_for, watched.seen
    try:
        first = wait_for("(exit code 2)")  # the whole tree: a collection error, and on
        wait_for("watching", timeout=30)
        (broken_below / "app.py").write_text(APP + "\n# saved\n")
        targeted = wait_for("app.py changed", after=first)
        refused = wait_for("ImportError while loading conftest", after=targeted)
        fallback = wait_for("running the whole selection instead (pytest)", after=refused)
        assert "pytest refused sub/test_sub.py, test_app.py (ImportError" in seen[fallback]
        assert MISSING in seen[fallback]
        # pytest's run of the whole tree: the conftest's error in its words (no test runs:
        # pytest stops a session with collection errors, as it does outside envdeck).
        rerun = wait_for("(exit code 2)", after=fallback)
        assert any(f"E   ModuleNotFoundError: {MISSING}" in line for line in seen[fallback:rerun])
    finally:
        watched.stop()


# ---------------------------------------------------------------- the tests screen


async def test_the_screen_reads_pytest_args_as_pytest_does(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": (
                "[tool.envdeck]\n"
                'pytest_args = ["--deselect", "test_sample.py::test_broken",'
                ' "-p", "no:cacheprovider", "--durations", "2"]\n'
            ),
            "test_sample.py": SAMPLE,
        },
    )
    async with opened_screen(tmp_path) as (pilot, screen):
        assert screen.tree_data is not None
        assert screen.tree_data.count == 4  # test_broken deselected: nothing taken for a test
        assert screen.selection == []
        await pilot.press("a")
        await until(pilot, lambda: screen.run_line is not None and screen.run_line.result)
        assert "all tests · 4 passed in" in text_of(screen, "#tests-run")


async def test_the_screen_shows_pytests_words_and_watch_mode_falls_back(
    broken_below: Path,
) -> None:
    async with opened_screen(broken_below, FixedMonitor(READY)) as (pilot, screen):
        assert "sub" in screen.test_tree.errors  # the whole tree collects, the folder errs
        # A run pytest refuses: its words in the status line and, in full, the detail pane.
        screen.test_tree.go_to("sub")
        await pilot.press("enter")
        await until(pilot, lambda: screen.run_line is not None and screen.run_line.result)
        status = text_of(screen, "#tests-run")
        assert "(exit 4: ImportError while loading conftest" in status
        assert MISSING in status
        detail = text_of(screen, "#tests-failure")
        assert detail.startswith("pytest said (exit 4, usage error) — sub\n")
        assert f"\nE   ModuleNotFoundError: {MISSING}" in detail
        # Watch mode: the save's tests are refused; the whole selection runs instead.
        await pilot.press("w")
        await until(pilot, lambda: watch_ready(screen))
        (broken_below / "app.py").write_text(APP + "\n# saved\n")

        def falling_back() -> bool:
            line = screen.run_line
            return line is not None and line.why.startswith("pytest refused")

        await until(pilot, falling_back)
        assert screen.run_line is not None
        assert screen.run_line.why.startswith(
            "pytest refused sub/test_sub.py, test_app.py (ImportError while loading conftest"
        )
        assert screen.run_line.why.endswith(f"{MISSING}) → all tests instead")
        await until(pilot, lambda: screen.run_line is not None and screen.run_line.result)
        assert "sub" in screen.test_tree.errors
        assert "(exit 2: Interrupted: 1 error during collection)" in text_of(screen, "#tests-run")


async def test_the_tree_holds_what_pytest_args_select_as_all_tests_runs(tmp_path: Path) -> None:
    """pytest_args naming a file: the tree and its counts are that file's tests, the ones
    `a` runs (the tree held the whole project: "all 6171 tests" while 216 ran)."""
    write(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.envdeck]\npytest_args = ["-p", "no:cacheprovider", "test_sample.py"]\n'
            ),
            "test_sample.py": SAMPLE,
            "test_other.py": "def test_elsewhere():\n    assert True\n",
        },
    )
    async with opened_screen(tmp_path) as (pilot, screen):
        assert screen.tree_data is not None
        assert "test_other.py::test_elsewhere" not in {i.nodeid for i in screen.tree_data.items}
        assert screen.tree_data.count == 5
        await pilot.press("a")
        await until(pilot, lambda: screen.run_line is not None and screen.run_line.result)
        assert "all tests · 1 failed, 4 passed in" in text_of(screen, "#tests-run")
