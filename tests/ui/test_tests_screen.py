"""The tests screen on a real throwaway project: discover, run, open a failure."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static, Tree

from tests.ui.fixed_monitor import FixedMonitor
from tui.config.settings import load_settings
from tui.core.engine import DockerGateway
from tui.core.testrun import Outcome
from tui.ui.app import make_app
from tui.ui.screens.tests import TestsScreen


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\n"
        "def test_ok():\n    assert True\n\n"
        "def test_broken():\n    print('captured hello')\n    assert 1 + 1 == 3\n\n"
        "@pytest.mark.parametrize('n', [1, 2])\ndef test_param(n):\n    assert n\n"
    )
    return tmp_path


async def until(pilot: Pilot[Any], condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


async def test_discover_run_and_open_a_failure_with_service_logs(project: Path) -> None:
    app = make_app(load_settings(project), DockerGateway("unix:///nonexistent"), FixedMonitor())
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TestsScreen))
        screen = app.screen
        assert isinstance(screen, TestsScreen)
        await until(pilot, lambda: screen.tree_data is not None)
        assert screen.tree_data is not None
        assert screen.tree_data.count == 4
        await pilot.press("a")
        await until(pilot, lambda: len(screen.results) == 4 and screen.run is None)
        outcomes = {nodeid.split("::")[1]: r.outcome for nodeid, r in screen.results.items()}
        assert outcomes == {
            "test_ok": Outcome.PASSED,
            "test_broken": Outcome.FAILED,
            "test_param[1]": Outcome.PASSED,
            "test_param[2]": Outcome.PASSED,
        }
        broken = screen.nodes["test_sample.py::test_broken"]
        screen.query_one(Tree).move_cursor(broken)
        await pilot.press("enter")
        detail = screen.query_one("#tests-failure", Static)
        await until(pilot, lambda: "service logs while it ran ──" in str(detail.render()))
        shown = str(detail.render())
        assert "assert (1 + 1) == 3" in shown or "assert 2 == 3" in shown
        assert "captured hello" in shown
        assert "redis line 0" in shown  # every service's log lines from the test's window
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, TestsScreen))
