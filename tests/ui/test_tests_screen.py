"""The tests screen on real throwaway projects: every feature runs real pytest.

Each project pins its tests' durations in its own conftest.py (a hook wrapper sets every
report's duration), so the screen shows the same numbers on every machine; the snapshots
also pin the one number pytest cannot, the run's wall time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.ui.fixed_monitor import ENGINE, SERVICES, FixedMonitor
from tests.ui.test_reset_screen import FixedResets
from tui.config.settings import load_settings
from tui.core.engine import DockerGateway
from tui.core.status import EnvironmentStatus
from tui.core.testrun import Outcome
from tui.core.watch import Affected
from tui.ui.app import EnvdeckApp, make_app
from tui.ui.screens.dashboard import DashboardHeader
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.reset import ResetScreen
from tui.ui.screens.tests import GATE_POLL_SECONDS, TestsScreen, error_line

pytestmark = pytest.mark.usefixtures("no_autoloaded_plugins")

PINNED_DURATIONS = (
    "import pytest\n\n\n"
    "@pytest.hookimpl(wrapper=True)\n"
    "def pytest_runtest_makereport(item, call):\n"
    "    report = yield\n"
    "    report.duration = 0.01  # each phase: the same screen on every machine\n"
    "    return report\n"
)
SAMPLE = (
    "import pytest\n"  # 1
    "\n"
    "def test_ok():\n"  # 3
    "    assert True\n"
    "\n"
    "def test_broken():\n"  # 6
    "    print('captured hello')\n"
    "    assert 1 + 1 == 3\n"
    "\n"
    "@pytest.mark.parametrize('n', [1, 2])\n"  # 10: where pytest says test_param is
    "def test_param(n):\n"
    "    assert n\n"
    "\n"
    "class TestGroup:\n"
    "    def test_inside(self):\n"  # 15
    "        assert True\n"
)
UNIMPORTABLE = '"""Imports a module that does not exist."""\n\nimport module_that_does_not_exist\n'
BROKEN = "test_sample.py::test_broken"
PARAMS = ("test_sample.py::test_param[1]", "test_sample.py::test_param[2]")
ALL_TESTS = {
    "test_sample.py::test_ok",
    BROKEN,
    *PARAMS,
    "test_sample.py::TestGroup::test_inside",
}
LOGS_SHOWN = "── service logs while it ran ──"
READY = EnvironmentStatus("shop", ENGINE, tuple(s for s in SERVICES if s.name == "postgres"))


def write_project(root: Path, files: dict[str, str]) -> Path:
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "conftest.py").write_text(PINNED_DURATIONS)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path, {"test_sample.py": SAMPLE})


async def until(
    pilot: Pilot[Any],
    condition: Callable[[], object],
    timeout: float = 90,
    showing: Callable[[], object] | None = None,
) -> None:
    """Until `condition()`; on timeout, says what `showing()` shows then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out" + (f"; showing {showing()!r}" if showing else ""))


def project_app(root: Path, monitor: FixedMonitor | None = None) -> EnvdeckApp:
    gateway = DockerGateway("unix:///nonexistent")
    return make_app(load_settings(root), gateway, monitor or FixedMonitor())


async def open_tests(pilot: Pilot[Any]) -> TestsScreen:
    """The tests screen, its tests discovered."""
    app = pilot.app
    await until(pilot, lambda: app.screen.query("ServicesTable"))
    await pilot.press("t")
    await until(pilot, lambda: isinstance(app.screen, TestsScreen))
    screen = app.screen
    assert isinstance(screen, TestsScreen)
    await until(pilot, lambda: screen.tree_data is not None)
    return screen


@asynccontextmanager
async def opened_screen(
    root: Path, monitor: FixedMonitor | None = None, size: tuple[int, int] = (140, 40)
) -> AsyncIterator[tuple[Pilot[Any], TestsScreen]]:
    app = project_app(root, monitor)
    async with app.run_test(size=size) as pilot:
        yield pilot, await open_tests(pilot)


def text_of(screen: TestsScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def label(screen: TestsScreen, nodeid: str) -> str:
    return str(screen.test_tree.shown[nodeid].label)


async def run_finished(pilot: Pilot[Any], screen: TestsScreen) -> None:
    await until(
        pilot,
        lambda: (
            screen.run_line is not None
            and (screen.run_line.result is not None or bool(screen.run_line.problem))
        ),
    )


def watch_ready(screen: TestsScreen) -> bool:
    watcher = screen.session.watcher
    return watcher is not None and watcher.wait_ready(0)


async def goto(pilot: Pilot[Any], screen: TestsScreen, nodeid: str) -> None:
    screen.test_tree.go_to(nodeid)
    await until(pilot, lambda: screen.detail_nodeid == nodeid)


# ---------------------------------------------------------------- runs, failures


async def test_discover_run_and_open_a_failure_with_service_logs(project: Path) -> None:
    async with opened_screen(project) as (pilot, screen):
        assert screen.tree_data is not None
        assert screen.tree_data.count == 5
        await pilot.press("a")
        await run_finished(pilot, screen)
        outcomes = {nodeid: r.outcome for nodeid, r in screen.results.items()}
        assert outcomes == {n: Outcome.FAILED if n == BROKEN else Outcome.PASSED for n in ALL_TESTS}
        assert "all tests · 1 failed, 4 passed in" in text_of(screen, "#tests-run")
        assert "✘ test_sample.py (5)" in label(screen, "test_sample.py")  # sums up its tests
        assert "✔ test_ok 0.03s" in label(screen, "test_sample.py::test_ok")
        await goto(pilot, screen, BROKEN)
        await pilot.press("enter")
        detail = screen.query_one("#tests-failure", Static)
        await until(pilot, lambda: "service logs while it ran ──" in str(detail.render()))
        shown = str(detail.render())
        assert f"✘ {BROKEN} — failed in 0.03s" in shown
        assert "\nE       assert (1 + 1) == 3\n" in shown  # pytest's lines, kept as lines
        assert "── Captured stdout call ──\ncaptured hello" in shown
        assert "␊" not in shown
        assert "redis line 0" in shown  # every service's log lines from the test's window
        assert "worker␛]0;pwned␇[bold]" in shown  # a hostile name stays inert text
        # Where the test failed, among the service lines by time (issue 13.3).
        assert re.search(r"──── \d\d:\d\d:\d\d\.\d{3} test failed here \(AssertionError\)", shown)
        assert screen.query_one("#tests-detail").has_focus  # enter opened it: it scrolls
        await pilot.press("escape")  # back to the tree
        assert screen.test_tree.has_focus
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(pilot.app.screen, TestsScreen))


async def test_the_cursor_on_a_failure_shows_it_without_enter(project: Path) -> None:
    async with opened_screen(project) as (pilot, screen):
        await pilot.press("a")
        await run_finished(pilot, screen)
        await goto(pilot, screen, "test_sample.py::test_ok")
        await until(pilot, lambda: "✔ passed in 0.03s" in text_of(screen, "#tests-failure"))
        await pilot.press("down")  # test_broken
        await until(
            pilot, lambda: "service logs while it ran ──" in text_of(screen, "#tests-failure")
        )
        await pilot.press("F")  # rerun the failures: only test_broken runs
        await until(pilot, lambda: screen.run_line is not None and "rerun" in screen.run_line.why)
        await run_finished(pilot, screen)
        assert screen.run_line is not None
        assert screen.run_line.text().startswith("rerun of 1 failure · 1 failed in")


# ---------------------------------------------------------------- selection


async def test_space_selects_a_whole_node_and_the_status_counts_the_tests(
    project: Path,
) -> None:
    async with opened_screen(project) as (pilot, screen):

        def status() -> str:
            return text_of(screen, "#tests-status")

        await goto(pilot, screen, "test_sample.py")
        await pilot.press("space")
        assert screen.selected == ALL_TESTS
        assert "5 selected" in status()
        assert label(screen, "test_sample.py").startswith("● ")
        assert label(screen, "test_sample.py::test_ok").startswith("● ")
        await pilot.press("space")  # all of it selected: unselects all of it
        assert screen.selected == set()
        assert "selected" not in status()
        await goto(pilot, screen, "test_sample.py::test_param")
        await pilot.press("space")
        await goto(pilot, screen, "test_sample.py::test_ok")
        await pilot.press("space")
        assert screen.selected == {*PARAMS, "test_sample.py::test_ok"}
        assert "3 selected" in status()
        assert label(screen, "test_sample.py").startswith("◐ ")  # some of it
        assert label(screen, "test_sample.py::test_param").startswith("● ")
        # The shortest arguments for pytest: the function, not each of its parameters.
        assert screen.test_tree.selection_targets() == [
            "test_sample.py::test_ok",
            "test_sample.py::test_param",
        ]
        await pilot.press("enter")  # runs the selection, not the test under the cursor
        await run_finished(pilot, screen)
        assert set(screen.results) == {*PARAMS, "test_sample.py::test_ok"}
        assert "3 selected tests · 3 passed in" in text_of(screen, "#tests-run")


async def test_enter_without_a_selection_runs_the_node_under_the_cursor(project: Path) -> None:
    async with opened_screen(project) as (pilot, screen):
        await goto(pilot, screen, "test_sample.py::TestGroup")
        await pilot.press("enter")
        await run_finished(pilot, screen)
        assert set(screen.results) == {"test_sample.py::TestGroup::test_inside"}
        assert screen.test_tree.shown["test_sample.py::TestGroup"].is_expanded  # not toggled


# ---------------------------------------------------------------- filter


async def test_filter_keeps_matches_and_their_parents_n_moves_esc_clears(
    project: Path,
) -> None:
    async with opened_screen(project) as (pilot, screen):
        tree = screen.test_tree
        await pilot.press("slash")
        box = screen.query_one("#tests-filter", Input)
        assert box.display
        assert box.has_focus
        await pilot.press(*"PARAM")  # case does not matter
        await until(pilot, lambda: tree.filter_text == "PARAM")
        assert set(tree.shown) == {"test_sample.py", "test_sample.py::test_param", *PARAMS}
        assert "(2 of 5)" in label(screen, "test_sample.py")
        assert "filter “PARAM”: 2 matching" in text_of(screen, "#tests-status")
        assert tree.cursor_nodeid == PARAMS[0]  # on the first match
        await pilot.press("enter")  # keeps the filter, back to the tree
        assert not box.display
        assert tree.has_focus
        await pilot.press("n")
        assert tree.cursor_nodeid == PARAMS[1]
        await pilot.press("n")  # round the end
        assert tree.cursor_nodeid == PARAMS[0]
        await pilot.press("N")
        assert tree.cursor_nodeid == PARAMS[1]
        await goto(pilot, screen, "test_sample.py")
        await pilot.press("space")  # selects what the filter shows of the file
        assert screen.selected == set(PARAMS)
        await pilot.press("escape")  # clears the filter, stays on the screen
        await until(pilot, lambda: not tree.filter_text)
        assert set(tree.shown) >= ALL_TESTS
        assert "filter “" not in text_of(screen, "#tests-status")
        assert isinstance(pilot.app.screen, TestsScreen)
        await pilot.press("escape")  # now back to the dashboard
        await until(pilot, lambda: not isinstance(pilot.app.screen, TestsScreen))


MORE_FAILURES = (
    "import pytest\n\n"
    "@pytest.mark.parametrize('n', [1, 2, 3])\n"
    "def test_param_more(n):\n    assert n != 2\n\n"
    "def test_also_broken():\n    assert False\n"
)
# In the tree's order (test_more.py is collected first).
FAILED_IN_ORDER = [
    "test_more.py::test_param_more[2]",
    "test_more.py::test_also_broken",
    BROKEN,
]


@pytest.fixture
def failing(tmp_path: Path) -> Path:
    return write_project(tmp_path, {"test_sample.py": SAMPLE, "test_more.py": MORE_FAILURES})


async def test_brackets_go_from_failure_to_failure_round_the_end(failing: Path) -> None:
    async with opened_screen(failing) as (pilot, screen):
        tree = screen.test_tree
        await pilot.press("a")
        await run_finished(pilot, screen)
        await goto(pilot, screen, "test_more.py")
        seen = []
        for _ in range(4):
            await pilot.press("right_square_bracket")
            seen.append(tree.cursor_nodeid)
        assert seen == [*FAILED_IN_ORDER, FAILED_IN_ORDER[0]]  # round the end
        await pilot.press("left_square_bracket")  # round the start
        assert tree.cursor_nodeid == FAILED_IN_ORDER[-1]
        await pilot.press("left_square_bracket")
        assert tree.cursor_nodeid == FAILED_IN_ORDER[1]


async def test_with_a_filter_brackets_take_failures_and_n_takes_matches(failing: Path) -> None:
    notes: list[str] = []
    async with opened_screen(failing) as (pilot, screen):
        tree = screen.test_tree
        await pilot.press("a")
        await run_finished(pilot, screen)
        await goto(pilot, screen, "test_sample.py::test_ok")
        await pilot.press("n")  # no filter: n has no matches to go to, and says so
        assert tree.cursor_nodeid == "test_sample.py::test_ok"
        pilot.app.notify = lambda message, **_: notes.append(message)  # type: ignore[method-assign]
        await pilot.press("n")
        assert notes == ["No filter: / filters the tests; ] and [ go to the failures"]
        await pilot.press("slash", *"param", "enter")
        await until(pilot, lambda: tree.filter_text == "param")
        assert tree.cursor_nodeid == "test_more.py::test_param_more[1]"  # the first match
        await pilot.press("right_square_bracket")  # the one failure the filter shows
        assert tree.cursor_nodeid == "test_more.py::test_param_more[2]"
        await pilot.press("right_square_bracket")
        assert tree.cursor_nodeid == "test_more.py::test_param_more[2]"  # round to itself
        await pilot.press("n")  # the next match, which passed
        assert tree.cursor_nodeid == "test_more.py::test_param_more[3]"
        await pilot.press("n", "n")
        assert tree.cursor_nodeid == "test_sample.py::test_param[2]"
        await pilot.press("slash", *"inside", "enter")  # a filter that shows no failure
        await until(pilot, lambda: tree.filter_text == "inside")
        await pilot.press("right_square_bracket")
        assert tree.cursor_nodeid == "test_sample.py::TestGroup::test_inside"
        assert notes[-1] == "No failure the filter shows"


async def test_enter_on_a_failure_focuses_it_so_it_scrolls(failing: Path) -> None:
    async with opened_screen(failing, size=(100, 16)) as (pilot, screen):
        tree, detail = screen.test_tree, screen.query_one("#tests-detail", VerticalScroll)
        await pilot.press("a")
        await run_finished(pilot, screen)
        await goto(pilot, screen, BROKEN)
        await pilot.press("enter")
        await until(pilot, lambda: LOGS_SHOWN in text_of(screen, "#tests-failure"))
        assert detail.has_focus
        await until(pilot, lambda: detail.max_scroll_y > 0)  # taller than the pane
        await pilot.press("end")  # the pane's keys now scroll the failure
        await until(pilot, lambda: detail.scroll_y == detail.max_scroll_y)
        assert tree.cursor_nodeid == BROKEN  # the tree did not move
        await pilot.press("tab")  # back to the tree
        assert tree.has_focus
        await pilot.press("enter")
        assert detail.has_focus
        await pilot.press("escape")  # back to the tree, not off the screen
        assert tree.has_focus
        assert isinstance(pilot.app.screen, TestsScreen)
        await goto(pilot, screen, "test_sample.py::test_ok")
        await pilot.press("enter")  # a test that passed: enter runs it, focus stays
        assert tree.has_focus
        await run_finished(pilot, screen)


async def test_failure_keys_are_in_the_help_and_the_palette(project: Path) -> None:
    async with opened_screen(project) as (pilot, screen):
        titles = {command.title for command in pilot.app.get_system_commands(screen)}
        assert {
            "Next failure (wraps round)",
            "Previous failure (wraps round)",
            "Next filter match",
            "Previous filter match",
        } <= titles
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        rows = {row[2]: (row[0], row[1]) for row in help_screen.rows}
        assert rows["tests.next_failure"] == ("]", "Next failure (wraps round)")
        assert rows["tests.previous_failure"] == ("[", "Previous failure (wraps round)")
        assert rows["tests.next"] == ("n", "Next filter match")


async def test_filter_esc_while_typing_clears_it(project: Path) -> None:
    async with opened_screen(project) as (pilot, screen):
        await pilot.press("slash", *"inside")
        await until(pilot, lambda: screen.test_tree.filter_text == "inside")
        await pilot.press("escape")
        await until(pilot, lambda: not screen.test_tree.filter_text)
        assert not screen.query_one("#tests-filter", Input).display
        assert isinstance(pilot.app.screen, TestsScreen)


async def test_test_names_are_never_markup(tmp_path: Path) -> None:
    hostile = (
        "import pytest\n\n"
        "@pytest.mark.parametrize('x', [1], ids=['[bold red]loud[/]'])\n"
        "def test_named(x):\n    assert x == 2\n"
    )
    root = write_project(tmp_path, {"test_hostile.py": hostile})
    async with opened_screen(root) as (pilot, screen):
        nodeid = "test_hostile.py::test_named[[bold red]loud[/]]"
        assert "[bold red]loud[/]" in label(screen, nodeid)
        await pilot.press("a")
        await run_finished(pilot, screen)
        await goto(pilot, screen, nodeid)
        assert f"✘ {nodeid} — failed" in text_of(screen, "#tests-failure")


# ---------------------------------------------------------------- collection errors


async def test_collection_errors_are_marked_and_shown_with_pytests_report(
    tmp_path: Path,
) -> None:
    root = write_project(tmp_path, {"test_sample.py": SAMPLE, "test_unimportable.py": UNIMPORTABLE})
    async with opened_screen(root) as (pilot, screen):
        tree = screen.test_tree
        assert set(tree.errors) == {"test_unimportable.py"}
        assert "‼ test_unimportable.py — collection error" in label(screen, "test_unimportable.py")
        assert "1 collection error" in text_of(screen, "#tests-status")
        await goto(pilot, screen, "test_unimportable.py")
        shown = text_of(screen, "#tests-failure")
        assert "test_unimportable.py: collection error" in shown
        assert "\nE   ModuleNotFoundError: No module named 'module_that_does_not_exist'" in shown
        assert screen.location("test_unimportable.py") == ("test_unimportable.py", 3)


async def test_a_run_that_cannot_collect_a_file_marks_it_until_it_collects(
    project: Path,
) -> None:
    async with opened_screen(project) as (pilot, screen):
        tree = screen.test_tree
        (project / "test_sample.py").write_text(SAMPLE.replace("def test_ok():", "def test_ok(:"))
        await goto(pilot, screen, "test_sample.py")
        await pilot.press("a")
        await run_finished(pilot, screen)
        assert "test_sample.py" in tree.errors
        assert "collection error" in label(screen, "test_sample.py")
        assert "SyntaxError" in text_of(screen, "#tests-failure")  # the cursor is on it
        assert "1 collection error" in text_of(screen, "#tests-status")
        assert screen.location("test_sample.py") == ("test_sample.py", 3)
        (project / "test_sample.py").write_text(SAMPLE)
        await pilot.press("a")
        # It collects again: the run says so, and the tree is discovered again.
        await until(pilot, lambda: not tree.errors and len(screen.results) == 5, timeout=120)
        assert "collection error" not in label(screen, "test_sample.py")


async def test_a_project_pytest_cannot_collect_says_why(tmp_path: Path) -> None:
    root = write_project(
        tmp_path, {"conftest.py": "import module_that_does_not_exist\n", "test_a.py": SAMPLE}
    )
    app = project_app(root)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.screen.query("ServicesTable"))
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TestsScreen))
        screen = app.screen
        assert isinstance(screen, TestsScreen)
        await until(pilot, lambda: "collection failed" in text_of(screen, "#tests-status"))
        assert "pytest collected nothing (exit code 4)" in text_of(screen, "#tests-status")
        shown = text_of(screen, "#tests-failure")
        assert "\nE   ModuleNotFoundError: No module named 'module_that_does_not_exist'" in shown


def test_error_line_reads_pytests_reports() -> None:
    syntax = 'E     File "/tmp/p/tests/test_a.py", line 7\nE       def f(:\n'
    assert error_line(syntax, "tests/test_a.py") == 7
    imported = "a/__init__.py:2: in <module>\ntests/test_a.py:4: in <module>\n    import x\n"
    assert error_line(imported, "tests/test_a.py") == 4
    assert error_line("no location at all", "tests/test_a.py") is None


# ---------------------------------------------------------------- debugger, editor


@pytest.fixture
def fake_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """An $EDITOR (with an option, as `code --wait` has) that writes its argv to a file."""
    record = tmp_path / "editor-argv.txt"
    script = tmp_path / "fake-editor"
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"open({str(record)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("EDITOR", f"{script} --wait")
    return script, record


async def test_o_opens_the_test_in_editor_at_its_line(
    project: Path, fake_editor: tuple[Path, Path]
) -> None:
    root = project
    script, record = fake_editor
    handed: list[tuple[list[str], Path]] = []
    async with opened_screen(root) as (pilot, screen):
        screen.hand_over = lambda argv, cwd: handed.append((argv, cwd))
        file = str(root / "test_sample.py")
        for nodeid, line in [
            (BROKEN, 6),
            (PARAMS[1], 10),  # pytest's line for a decorated test: its first decorator
            ("test_sample.py::test_param", 10),
            ("test_sample.py::TestGroup::test_inside", 15),
        ]:
            await goto(pilot, screen, nodeid)
            await pilot.press("o")
            assert handed[-1] == ([str(script), "--wait", f"+{line}", file], root)
        await goto(pilot, screen, "test_sample.py")
        await pilot.press("o")
        assert handed[-1] == ([str(script), "--wait", file], root)  # a file: its top
    # The command runs as is: the editor gets exactly these arguments.
    argv, cwd = handed[0]
    subprocess.run(argv, cwd=cwd, check=True, timeout=60)
    assert record.read_text().splitlines() == ["--wait", "+6", file]


async def test_o_says_so_when_the_editor_is_missing(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", "/nonexistent/editor")
    handed: list[list[str]] = []
    notes: list[str] = []
    async with opened_screen(project) as (pilot, screen):
        screen.hand_over = lambda argv, cwd: handed.append(argv)
        monkeypatch.setattr(screen, "notify", lambda message, **_: notes.append(message))
        await goto(pilot, screen, BROKEN)
        await pilot.press("o")
        assert handed == []
        assert notes == ["$EDITOR (/nonexistent/editor) is not installed"]


async def test_P_reruns_the_test_under_the_debugger(project: Path) -> None:
    handed: list[tuple[list[str], Path]] = []
    async with opened_screen(project) as (pilot, screen):
        screen.hand_over = lambda argv, cwd: handed.append((argv, cwd))
        await goto(pilot, screen, BROKEN)
        await pilot.press("P")
        python = screen.python
    assert handed == [
        ([python, "-m", "pytest", "--pdb", "-p", "no:cacheprovider", BROKEN], project)
    ]
    # Run for real, with no terminal: pdb opens at the failure and ends at end of input.
    argv, cwd = handed[0]
    done = await asyncio.to_thread(
        subprocess.run,
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert "entering PDB" in done.stdout
    assert "test_sample.py(8)test_broken()" in done.stdout
    assert "1 failed" in done.stdout


async def test_every_key_of_the_screen_is_in_the_help_with_its_id(project: Path) -> None:
    async with opened_screen(project) as (pilot, _screen):
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        ids = {i for row in help_screen.rows for i in row[2].split(", ")}
        assert {
            "tests.back",
            "tests.select",
            "tests.run",
            "tests.run_all",
            "tests.rerun_failed",
            "tests.watch",
            "tests.filter",
            "tests.next",
            "tests.previous",
            "tests.next_failure",
            "tests.previous_failure",
            "tests.cancel",
            "tests.debug",
            "tests.edit",
            "tests.rediscover",
            "tests.down",
            "tests.up",
            "tests.top",
            "tests.bottom",
        } <= ids


async def test_keys_stay_remappable_by_id(project: Path) -> None:
    app = project_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        app.set_keymap({"tests.select": "x", "tests.filter": "f"})
        screen = await open_tests(pilot)
        await goto(pilot, screen, "test_sample.py::test_ok")
        await pilot.press("x")
        assert screen.selected == {"test_sample.py::test_ok"}
        await pilot.press("f")
        assert screen.query_one("#tests-filter", Input).has_focus


# ---------------------------------------------------------------- watch mode


@pytest.fixture
def watched(tmp_path: Path) -> Path:
    return write_project(
        tmp_path,
        {
            "helper.py": "def double(x):\n    return 2 * x\n",
            "test_uses_helper.py": (
                "from helper import double\n\n\n"
                "def test_double():\n    assert double(2) == 4\n\n\n"
                "def test_zero():\n    assert double(0) == 0\n"
            ),
            "test_other.py": "def test_alone():\n    assert True\n",
        },
    )


async def test_watch_says_what_triggered_the_run_and_what_holds_it(watched: Path) -> None:
    monitor = FixedMonitor(READY)
    async with opened_screen(watched, monitor) as (pilot, screen):
        await pilot.press("w")
        await until(pilot, lambda: watch_ready(screen))

        def run_text() -> str:
            return text_of(screen, "#tests-run")

        assert "watch · waiting for a change" in run_text()
        assert "watch on" in text_of(screen, "#tests-status")
        helper = watched / "helper.py"
        helper.write_text("def double(x):\n    return x + x\n")
        await run_finished(pilot, screen)
        trigger = "helper.py changed → 2 affected tests"
        assert screen.run_line is not None
        assert screen.run_line.why == trigger
        assert f"watch · {trigger} · 2 passed in" in run_text()
        assert set(screen.results) == {
            "test_uses_helper.py::test_double",
            "test_uses_helper.py::test_zero",
        }

        # A service turns unhealthy: the next run waits, and says for what and why.
        monitor.status = EnvironmentStatus("shop", ENGINE, SERVICES)
        helper.write_text("def double(x):\n    return 2 * x\n")
        await until(pilot, lambda: "until ready:" in run_text())
        held = run_text()
        assert held.startswith("watch · held ")
        assert "redis unhealthy (Could not connect to Redis at 127.0.0.1:6379" in held
        assert "mock-api starting" in held
        assert held.endswith(f"— then {trigger}")
        monitor.status = READY
        await run_finished(pilot, screen)
        assert screen.run_line.held_by == ""
        assert f"watch · {trigger} · 2 passed in" in run_text()

        # c drops a run the gate holds.
        monitor.status = EnvironmentStatus("shop", ENGINE, SERVICES)
        helper.write_text("def double(x):\n    return x * 2\n")
        await until(pilot, lambda: "until ready:" in run_text())
        await pilot.press("c")
        await until(pilot, lambda: "not run: cancelled while it waited" in run_text())
        monitor.status = READY
        await pilot.pause(2 * GATE_POLL_SECONDS)  # the gate would have opened by now
        assert "not run: cancelled" in run_text()
        await pilot.press("w")
        assert not screen.watching
        # What a change to a conftest.py or a non-Python file says: every test runs.
        everything = Affected(True, frozenset(), "conftest.py changed (its fixtures reach …)")
        assert (
            screen.session.trigger_text([watched / "conftest.py"], everything, [])
            == "conftest.py changed (its fixtures reach …) → all 3 tests"
        )
        some = Affected(False, frozenset({watched / "test_other.py"}), "")
        changed = [watched / "a.py", watched / "b.py", watched / "test_other.py"]
        assert (
            screen.session.trigger_text(changed, some, ["test_other.py"])
            == "a.py, b.py and 1 more changed → 1 affected test"
        )


async def test_watch_runs_nothing_for_a_bare_touch(watched: Path) -> None:
    async with opened_screen(watched, FixedMonitor(READY)) as (pilot, screen):
        started: list[str] = []
        launch = screen.session._launch

        def recording(run_id: int, targets: Any, state: Any, cancel_id: int | None) -> Any:
            started.append(state.why)
            return launch(run_id, targets, state, cancel_id)

        screen.session._launch = recording  # type: ignore[method-assign]
        await pilot.press("w")
        await until(pilot, lambda: watch_ready(screen))
        helper = watched / "helper.py"
        helper.write_text("def double(x):\n    return x + x\n")
        await until(pilot, lambda: len(started) == 1)
        await run_finished(pilot, screen)
        found = helper.stat()
        os.utime(helper, ns=(found.st_atime_ns, found.st_mtime_ns + 1_000_000_000))
        helper.write_text("def double(x):\n    return x + x\n")  # saved, the same bytes
        # The control, saved after them: batches come in order, so had the touch or the
        # save counted, its run would have been asked for first.
        (watched / "test_other.py").write_text("def test_alone():\n    assert 1\n")
        await until(pilot, lambda: len(started) == 2)
        assert started == [
            "helper.py changed → 2 affected tests",
            "test_other.py changed → 1 affected test",
        ]
        await run_finished(pilot, screen)


async def test_with_reset_before_watch_runs_each_run_follows_a_fast_reset(watched: Path) -> None:
    (watched / "envdeck.toml").write_text("reset_before_watch_runs = true\n")
    resets = FixedResets()
    app = make_app(
        load_settings(watched), DockerGateway("unix:///nonexistent"), FixedMonitor(READY), resets
    )
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_tests(pilot)
        await pilot.press("w")
        await until(pilot, lambda: watch_ready(screen))
        (watched / "helper.py").write_text("def double(x):\n    return x + x\n")
        await run_finished(pilot, screen)
        assert resets.calls == [("fast reset", None)]
        assert screen.run_line is not None
        assert screen.run_line.result is not None  # the run went on after the reset

        resets.fail = "reset redis: redis is down"
        (watched / "helper.py").write_text("def double(x):\n    return 2 * x\n")
        failed = "not run: the reset before it failed: reset redis: redis is down"
        await until(pilot, lambda: failed in text_of(screen, "#tests-run"))
        assert len(resets.calls) == 2


# ---------------------------------------------------------------- snapshots


def pin_run_time(screen: TestsScreen) -> None:
    """The run's wall time is the one number pytest cannot pin: pinned here."""
    line = screen.run_line
    assert line is not None
    assert line.result is not None
    line.result = dataclasses.replace(line.result, duration=0.42)
    screen.refresh_status()


def test_failure_open_snapshot(snap_compare: Any, project: Path) -> None:
    async def open_failure(pilot: Pilot[Any]) -> None:
        screen = await open_tests(pilot)
        await pilot.press("a")
        await run_finished(pilot, screen)
        pin_run_time(screen)
        await goto(pilot, screen, BROKEN)
        await pilot.press("enter")
        await until(
            pilot, lambda: "service logs while it ran ──" in text_of(screen, "#tests-failure")
        )
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(project_app(project), terminal_size=(130, 34), run_before=open_failure)


def test_filter_snapshot(snap_compare: Any, project: Path) -> None:
    async def filtered(pilot: Pilot[Any]) -> None:
        screen = await open_tests(pilot)
        await pilot.press("a")
        await run_finished(pilot, screen)
        pin_run_time(screen)
        await pilot.press("slash", *"param", "enter")
        await until(pilot, lambda: screen.test_tree.filter_text == "param")
        await pilot.press("space", "n")
        await until(pilot, lambda: screen.test_tree.cursor_nodeid == PARAMS[1])
        await until(pilot, lambda: PARAMS[1] in text_of(screen, "#tests-failure"))
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(project_app(project), terminal_size=(110, 20), run_before=filtered)


# ---------------------------------------------------------------- warm starts


def process_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def spare_waiting(screen: TestsScreen) -> bool:
    warm = screen.session.warm
    return warm is not None and warm.waiting_pid is not None


async def test_runs_take_a_python_started_ahead_and_none_is_left_behind(project: Path) -> None:
    spares: list[int] = []
    async with opened_screen(project) as (pilot, screen):
        assert screen.session.warm is not None
        await until(
            pilot, lambda: screen.session.warm is not None and screen.session.warm.waiting_pid
        )
        spares.append(screen.session.warm.waiting_pid or 0)  # ready once discovery is done
        await pilot.press("a")
        await run_finished(pilot, screen)
        assert screen.run_line is not None
        assert screen.run_line.warm_start  # the first run took it
        assert screen.run_line.text().startswith("all tests · 1 failed, 4 passed in")
        # The next run's Python is started as soon as this one has ended.
        await until(
            pilot, lambda: screen.session.warm is not None and screen.session.warm.waiting_pid
        )
        spares.append(screen.session.warm.waiting_pid or 0)
        assert spares[1] != spares[0]
        await pilot.press("F")
        await until(pilot, lambda: screen.run_line is not None and "rerun" in screen.run_line.why)
        await run_finished(pilot, screen)
        assert screen.run_line is not None
        assert screen.run_line.warm_start
        assert screen.run_line.text().startswith("rerun of 1 failure · 1 failed in")
        await until(
            pilot, lambda: screen.session.warm is not None and screen.session.warm.waiting_pid
        )
        spares.append(screen.session.warm.waiting_pid or 0)
    # The app has gone: so has the spare that waited for a third run.
    deadline = time.monotonic() + 10
    while not process_gone(spares[-1]):
        assert time.monotonic() < deadline, "the waiting spare outlived the app"
        await asyncio.sleep(0.05)


async def test_no_python_is_started_ahead_when_warm_starts_are_off(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"test_sample.py": SAMPLE})
    (root / "pyproject.toml").write_text("[tool.envdeck]\ntest_warm_start = false\n")
    async with opened_screen(root) as (pilot, screen):
        assert screen.session.warm is None
        await pilot.press("a")
        await run_finished(pilot, screen)
        assert screen.run_line is not None
        assert not screen.run_line.warm_start
        assert screen.run_line.text().startswith("all tests · 1 failed, 4 passed in")


# ---------------------------------------------------------------- the session outlives the screen


async def test_leaving_and_coming_back_keeps_the_tree_results_and_watch_mode(
    watched: Path,
) -> None:
    app = make_app(
        load_settings(watched), DockerGateway("unix:///nonexistent"), FixedMonitor(READY)
    )
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_tests(pilot)
        session = screen.session
        tree = screen.tree_data
        await pilot.press("a")
        await run_finished(pilot, screen)
        assert len(screen.results) == 3
        await pilot.press("w")
        await until(pilot, lambda: watch_ready(screen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(pilot.app.screen, TestsScreen))
        header = pilot.app.screen.query_one(DashboardHeader)
        assert "tests: 3 passed · watch on" in str(header.render())

        # A save while the dashboard is shown runs its tests; the header says how it went.
        (watched / "helper.py").write_text("def double(x):\n    return 3 * x\n")
        await until(pilot, lambda: "tests: 1 failed, 1 passed · watch on" in str(header.render()))

        await pilot.press("t")
        await until(pilot, lambda: isinstance(pilot.app.screen, TestsScreen))
        assert pilot.app.screen is screen  # the same screen, as it was left
        assert screen.session is session
        assert screen.tree_data is tree  # not collected again
        assert screen.watching
        assert "watch on" in text_of(screen, "#tests-status")
        assert "helper.py changed → 2 affected tests · 1 failed, 1 passed" in text_of(
            screen, "#tests-run"
        )
        assert screen.results["test_uses_helper.py::test_double"].outcome is Outcome.FAILED
        assert screen.results["test_other.py::test_alone"].outcome is Outcome.PASSED


async def test_X_resets_from_the_tests_screen_and_is_in_its_palette(watched: Path) -> None:
    resets = FixedResets()
    app = make_app(
        load_settings(watched), DockerGateway("unix:///nonexistent"), FixedMonitor(READY), resets
    )
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_tests(pilot)
        titles = {command.title for command in pilot.app.get_system_commands(screen)}
        assert "Reset environment" in titles
        await pilot.press("X")
        await until(pilot, lambda: isinstance(pilot.app.screen, ResetScreen))
        await pilot.press("escape")
        await until(pilot, lambda: pilot.app.screen is screen)


async def test_B_writes_the_bundle_of_the_failure_under_the_cursor(project: Path) -> None:
    async with opened_screen(project) as (pilot, screen):
        await pilot.press("a")
        await run_finished(pilot, screen)
        await goto(pilot, screen, "test_sample.py::test_ok")
        await pilot.press("B")  # not a failure: nothing written
        await goto(pilot, screen, BROKEN)
        await pilot.press("B")
        bundles = project / ".envdeck" / "bundles"
        await until(pilot, lambda: bundles.is_dir() and any(bundles.glob("*/README.md")))
        (folder,) = [path for path in bundles.iterdir() if path.is_dir()]
        assert "test_broken" in (folder / "README.md").read_text()
        assert "captured hello" in (folder / "report.txt").read_text()
        assert (project / ".envdeck" / ".gitignore").is_file()  # never in git status


async def test_clearing_the_filter_leaves_no_filter_run_pending(project: Path) -> None:
    """esc clears the box, and the box's change that follows must not arm another filter
    run: armed, it fired while a closing app's widgets went (CI: NoMatches '#tests-failure')."""
    async with opened_screen(project) as (pilot, screen):
        await pilot.press("slash", *"PARAM")
        await until(pilot, lambda: screen.test_tree.filter_text == "PARAM")
        await pilot.press("escape")
        await until(pilot, lambda: not screen.test_tree.filter_text)
        await pilot.pause()  # the box's Changed("") is handled
        assert screen._filter_timer is None
        assert screen.usable
