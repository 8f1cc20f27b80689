"""Log pane defects of issue 11, on fixed data: `G` / `g`, and what `ctrl+s` saves."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from tests.ui.fixed_monitor import FixedMonitor
from tests.ui.test_dashboard_screens import wait_for_rows
from tui.config.settings import load_settings
from tui.core.engine import DockerGateway
from tui.core.log_buffer import LogLine
from tui.ui.app import EnvdeckApp, make_app
from tui.ui.widgets.log_view import LogView

KEPT = 100  # log_lines_per_service for these tests: the smallest the settings allow


def app_keeping(lines_per_service: int) -> EnvdeckApp:
    settings = load_settings(Path(__file__).parent, log_lines_per_service=lines_per_service)
    return make_app(settings, DockerGateway(base_url="unix:///nonexistent"), FixedMonitor())


def numbered(service: str, first: int, count: int) -> list[LogLine]:
    return [
        LogLine(service, "c1", f"2026-11-22T04:00:{n // 1000:02d}.{n:09d}Z", f"line #{n}", "stdout")
        for n in range(first, first + count)
    ]


def status_line(logs: LogView) -> str:
    return str(logs.query_one("#log-status", Static).render())


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working folder, where ctrl+s writes: this test's own."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def save_with_ctrl_s(pilot: Pilot[Any], workdir: Path) -> list[str]:
    """ctrl+s; the lines of the one file it wrote."""
    await pilot.press("ctrl+s")
    await pilot.pause(0.2)
    (saved,) = workdir.glob("envdeck-*.log")
    return saved.read_text(encoding="utf-8").splitlines()


async def until(pilot: Pilot[Any], condition: Any, what: str, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.02)


async def test_G_goes_to_the_newest_line_and_follows_again_and_g_to_the_oldest() -> None:
    app = app_keeping(10_000)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_rows(pilot)
        logs = app.screen.query_one(LogView)
        lines = logs.lines_widget
        logs.add_lines(numbered("migrate", 0, 300))
        await until(pilot, lambda: lines.max_scroll_y > 100, "the lines drawn")
        lines.focus()
        lines.scroll_home(animate=False, immediate=True)  # the user scrolls up
        await pilot.pause()
        logs.add_lines(numbered("migrate", 300, 50))
        await until(pilot, lambda: "new lines below (G)" in status_line(logs), "the offer")
        assert not lines.is_vertical_scroll_end

        await pilot.press("G")
        await pilot.pause()
        assert lines.is_vertical_scroll_end
        assert logs.follow
        assert logs.unseen == 0
        assert "new lines below" not in status_line(logs)
        logs.add_lines(numbered("migrate", 350, 50))  # following again: the view goes along
        await pilot.pause(0.3)
        assert lines.is_vertical_scroll_end
        assert logs.unseen == 0

        await pilot.press("g")
        await pilot.pause()
        assert lines.scroll_y == 0
        assert not logs.follow  # new lines must not pull a reader at the top away
        assert "paused" in status_line(logs)


async def test_ctrl_s_saves_exactly_the_lines_kept_for_the_service(workdir: Path) -> None:
    app = app_keeping(KEPT)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_rows(pilot)
        logs = app.screen.query_one(LogView)
        logs.ring.clear()
        logs.rebuild()
        logs.add_lines(numbered("migrate", 0, 3 * KEPT))
        await pilot.pause(0.3)
        assert logs.lines_widget.line_count == KEPT  # the pane holds what the ring keeps
        logs.lines_widget.focus()
        await pilot.press("slash", *"!#29", "enter")  # a search that hides most lines
        await pilot.pause(0.2)
        written = await save_with_ctrl_s(pilot, workdir)
        assert len(written) == KEPT  # not the 300 received, nor the 10 the search shows
        assert written[0].endswith("line #200")
        assert written[-1].endswith("line #299")
        assert written[-1] == "04:00:00.000 line #299"  # timestamped


async def test_ctrl_s_in_the_merged_view_saves_what_is_kept_of_every_service(
    workdir: Path,
) -> None:
    app = app_keeping(KEPT)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_rows(pilot)
        logs = app.screen.query_one(LogView)
        logs.lines_widget.focus()
        await pilot.press("a")
        await until(pilot, lambda: logs.merged, "the merged view")
        for service in ("postgres", "redis", "mock-api"):
            logs.add_lines(numbered(service, 0, 3 * KEPT))
        await pilot.pause(0.3)
        kept = len(logs.ring)
        assert kept >= 3 * KEPT
        written = await save_with_ctrl_s(pilot, workdir)
        assert len(written) == kept
        for service in ("postgres", "redis", "mock-api"):
            own = [
                line
                for line in written
                if "│" in line and line.split("│")[0].strip().endswith(service)
            ]
            assert len(own) == KEPT, service
