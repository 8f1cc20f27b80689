"""`envdeck bundle open`: bundles written here, shown read-only with no stack at all."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from tests.unit.bundle_samples import (
    HOSTILE_NODEID,
    SECRETS,
    sample_context,
    sample_failure,
    sample_logs,
)
from tui.cli import main
from tui.cli.bundle_command import read_bundles
from tui.core.bundle import write_bundle
from tui.ui.screens.bundle import BundleApp, BundleScreen, open_bundles_app
from tui.ui.widgets.tests_detail import service_logs_text

FAILED_MARK = "──── 10:00:01.500 test failed here (AssertionError) ────"


@pytest.fixture
def bundles(tmp_path: Path) -> Path:
    """A `--bundle DIR` of two failures, as `envdeck test --bundle` leaves it."""
    root = tmp_path / "artifacts"
    write_bundle(root, sample_failure(), sample_context(), sample_logs())
    other = sample_failure("tests/test_shop.py::test_refund")
    write_bundle(root, other, sample_context(), sample_logs(), data_diff="redis: +1 key")
    return root


def app_for(path: Path) -> BundleApp:
    found, problems = read_bundles(path)
    return open_bundles_app(found, problems)


async def until(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("timed out")


def shown(app: BundleApp) -> str:
    return str(app.screen.query_one("#bundle-failure", Static).render())


async def test_a_folder_of_bundles_opens_each_failure_with_its_logs_marked(bundles: Path) -> None:
    app = app_for(bundles)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BundleScreen))
        screen = app.screen
        assert isinstance(screen, BundleScreen)
        text = shown(app)
        assert "✘ tests/test_shop.py::test_checkout — failed in 1.50s" in text
        assert "E       AssertionError: assert 'x' == '••••••'" in text
        assert "── Captured stdout call ──\nconnecting\nPASSWORD=••••••" in text
        lines = text.splitlines()
        at = lines.index(FAILED_MARK)  # the failure, among the service log lines by time
        assert "10:00:01.400 FATAL: password authentication failed: ••••••" in lines[at - 1]
        assert "10:00:01.600 Client closed connection" in lines[at + 1]
        assert not any(secret in text for secret in SECRETS)
        assert screen.query_one("#bundle-failures", OptionList).display
        await pilot.press("right_square_bracket")  # the next failure, as in the tests screen
        await until(pilot, lambda: "test_refund — failed" in shown(app))
        assert "── data diff ──\nredis: +1 key" in shown(app)
        assert screen.query_one("#bundle-failures", OptionList).highlighted == 1
        await pilot.press("right_square_bracket")  # round the end
        await until(pilot, lambda: "test_checkout — failed" in shown(app))
        await pilot.press("q")
    assert app.return_code == 0


async def test_one_bundle_opens_without_the_list_and_a_hostile_name_stays_text(
    tmp_path: Path,
) -> None:
    folder = write_bundle(tmp_path, sample_failure(HOSTILE_NODEID), sample_context(), sample_logs())
    app = app_for(folder)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BundleScreen))
        assert not app.screen.query_one("#bundle-failures", OptionList).display
        assert app.screen.query_one("#bundle-detail", VerticalScroll).has_focus
        text = shown(app)
        assert "evil␛]0;pwn␇/`x|<b>`.py::test_[../etc]\\u202egpj — failed" in text


def test_the_failure_view_marks_the_failure_among_the_logs() -> None:
    """The tests screen's own function, given the marks: the line before it is the last
    one logged before the failure."""
    failure = sample_failure()
    from tui.core.testrun.marks import failure_marks

    lines = str(service_logs_text(sample_logs(), failure_marks(failure))).splitlines()
    at = lines.index(FAILED_MARK)
    assert "FATAL" in lines[at - 1]
    assert "Client closed" in lines[at + 1]
    assert lines.index("──── 10:00:00.200 call began: its output from here ────") == 2
    # With no line logged, the marks come first: "nothing" is not before them.
    quiet = str(service_logs_text([], failure_marks(failure))).splitlines()
    assert quiet[-1] == "(no service logged anything in that window)"
    assert FAILED_MARK in quiet[:-1]


def test_bundle_open_says_when_a_folder_holds_no_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bundle", "open", str(tmp_path)]) == 2
    assert "no failure bundle in" in capsys.readouterr().err


def test_bundle_open_without_a_terminal_refuses_instead_of_waiting_for_keys(
    bundles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CI script's `envdeck bundle open DIR </dev/null` (pytest's stdin is no terminal)."""
    assert main(["bundle", "open", str(bundles)]) == 2
    assert f"without one, read {bundles / 'README.md'}" in capsys.readouterr().err


def test_bundle_open_snapshot(snap_compare: Any, bundles: Path) -> None:
    async def opened(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: FAILED_MARK in shown(pilot.app))  # type: ignore[arg-type]
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(app_for(bundles), terminal_size=(130, 40), run_before=opened)
