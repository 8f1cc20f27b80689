"""Hostile text in every place a widget shows data, not only in cells: column headers,
section titles and notes, view and action prompts, dialog titles, bodies and buttons, tree
labels, toasts. The app must not crash (MarkupError), nothing may become a clickable action,
the text must be on screen as it is, and no bidi or zero-width character may be drawn."""

from __future__ import annotations

import html
import os
import pty
import re
import select
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Select, Static
from textual.widgets._toast import Toast

from tests.conftest import REPO
from tests.ui.fixed_monitor import ENGINE, SERVICES, FixedMonitor
from tests.ui.hostile_plugin import (
    BIDI,
    CLICK,
    CLOSE_NOTHING,
    HOSTILE,
    INVISIBLE,
    RAW_BIDI_OR_INVISIBLE,
    STYLED,
    HostileInspectorMonitor,
    HostilePlugin,
)
from tests.ui.test_reset_screen import NOW, FixedResets, record
from tests.ui.test_tests_screen import opened_screen, write_project
from tui.config.settings import load_settings
from tui.core.engine import DockerGateway
from tui.core.status import EnvironmentStatus, ServiceStatus
from tui.core.text import safe_text
from tui.reset.service import ResetOverview
from tui.reset.store import LastReset
from tui.ui.app import EnvdeckApp, make_app
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.plugin_action import PluginActionScreen
from tui.ui.screens.reset import ResetScreen
from tui.ui.widgets.inspector_pane import InspectorPane
from tui.ui.widgets.sections_view import SectionsView
from tui.ui.widgets.services_table import ServicesTable


def hostile_app(monitor: FixedMonitor | None = None, **kwargs: Any) -> EnvdeckApp:
    settings = load_settings(Path(__file__).parent)
    gateway = DockerGateway(base_url="unix:///nonexistent")
    return make_app(settings, gateway, monitor or HostileInspectorMonitor(), **kwargs)


def drawn(app: EnvdeckApp) -> str:
    """What the screen shows, as text (every frame's characters, in order)."""
    svg = app.export_screenshot()
    return html.unescape("".join(re.findall(r"<text[^>]*>(.*?)</text>", svg))).replace("\xa0", " ")


def toasts(app: EnvdeckApp) -> list[str]:
    """Each toast's text (a long one wraps on screen)."""
    return [toast.render().plain for toast in app.screen.query(Toast)]


def shown(text: str) -> str:
    """`text` as the one display rule shows it."""
    return safe_text(text)


async def until(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


def assert_clean_and_running(app: EnvdeckApp) -> str:
    assert app.return_code is None, "the app ended"
    text = drawn(app)
    raw = RAW_BIDI_OR_INVISIBLE.findall(text)
    assert not raw, f"drawn raw: {[hex(ord(char)) for char in raw]}"
    return text


async def open_inspector(pilot: Pilot[Any]) -> SectionsView:
    app = pilot.app
    await until(pilot, lambda: app.screen.query(ServicesTable))
    table = app.screen.query_one(ServicesTable)
    await until(pilot, lambda: table.row_count == len(SERVICES))
    await pilot.press("j", "j", "j", "j", "i")  # redis, then the Inspect tab
    await until(pilot, lambda: app.screen.query(SectionsView))
    sections = app.screen.query_one(SectionsView)
    await until(pilot, lambda: sections.query(DataTable))
    return sections


# ---------------------------------------------------------------- plugin sections


async def test_headers_titles_cells_and_notes_of_a_plugin_table_are_literal() -> None:
    app = hostile_app()
    async with app.run_test(size=(220, 50), tooltips=True, notifications=True) as pilot:
        sections = await open_inspector(pilot)
        table = sections.query(DataTable).first()
        labels = [column.label.plain for column in table.columns.values()]
        assert labels == [shown(name) for name in HOSTILE]
        assert all(not column.label.spans for column in table.columns.values())
        text = assert_clean_and_running(app)
        for expected in (
            f"Table {CLICK}",
            f"Pairs {STYLED}",
            CLOSE_NOTHING,
            CLICK,
            "bidi\\u202eevil\\u2066iso\\u2069",
            "zero\\u200bwidth\\ufeffbom\\u200dzwj",
            "esc␛]0;title␇",
            f"redis · Plugin {CLOSE_NOTHING} bidi\\u202e",
        ):
            assert expected in text, expected
        # A header that was markup would be a link: a click on it would run its action.
        x = 0
        for column in table.columns.values():  # on each header's first characters
            await pilot.click(table, offset=(x + 1, 0))
            await pilot.click(table, offset=(x + 2, 0))
            x += column.get_render_width(table)
        assert app.return_code is None, "a click on a header ended the app"
        # The table's note is its tooltip (the view's reload may hide it before a frame).
        tooltip = app.screen.query_one("#textual-tooltip", Static)
        for x in range(2, 12):
            await pilot.hover(sections.query(DataTable).first(), offset=(x, 2))
            await pilot.pause(app.TOOLTIP_DELAY + 0.1)
            if str(tooltip.render()):
                break
        assert str(tooltip.render()) == f"note {CLICK}"
        assert app.return_code is None


async def test_view_prompts_query_hint_and_text_blocks_are_literal() -> None:
    app = hostile_app()
    async with app.run_test(size=(200, 50), tooltips=True, notifications=True) as pilot:
        await open_inspector(pilot)
        pane = app.screen.query_one(InspectorPane)
        view_select = pane.query_one("#inspector-view", Select)
        view_select.focus()
        await pilot.press("enter")  # the drop-down: every view's title
        await until(pilot, lambda: view_select.expanded)
        text = assert_clean_and_running(app)
        assert f"Rows {CLOSE_NOTHING}" in text
        assert f"Text {CLICK}" in text
        assert "hint [@click=app.quit]x[/] bidi\\u202eevil" in text  # the query box's hint
        await pilot.press("down", "enter")  # the text view
        sections = pane.query_one(SectionsView)
        await until(pilot, lambda: not sections.query(DataTable))
        text = assert_clean_and_running(app)
        assert f"Text {CLOSE_NOTHING}" in text
        for line in HOSTILE:
            assert shown(line) in text, line


async def test_action_prompts_confirmation_and_result_toast_are_literal() -> None:
    HostilePlugin.results.clear()
    app = hostile_app()
    async with app.run_test(size=(200, 50), tooltips=True, notifications=True) as pilot:
        sections = await open_inspector(pilot)
        sections.focus()
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, PluginActionScreen))
        text = assert_clean_and_running(app)
        assert f"Plugin {CLOSE_NOTHING} bidi\\u202eevil" in text
        assert f"Answer {CLOSE_NOTHING}" in text
        assert f"Wipe {CLICK}  (destructive)" in text
        await pilot.press("down")  # Wipe: its parameter's name is the input's placeholder
        await until(pilot, lambda: app.screen.query(Input))
        assert f"name {CLOSE_NOTHING}" in assert_clean_and_running(app)
        await pilot.press("enter", "k", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = assert_clean_and_running(app)
        assert f"Wipe {CLICK} on redis?" in text
        assert f"name {CLOSE_NOTHING} = k" in text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert HostilePlugin.results == []
        app.screen.query_one(SectionsView).focus()
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, PluginActionScreen))
        app.screen.query_one(OptionList).highlighted = 0
        await pilot.press("enter")  # Answer: no parameters, not destructive
        await until(pilot, lambda: HostilePlugin.results == ["answer"])
        await until(pilot, lambda: toasts(app))
        assert toasts(app) == [
            f"Answer {CLOSE_NOTHING}\ndone {CLICK} {CLOSE_NOTHING} bidi\\u202eevil\\u2066iso\\u2069"
        ]
        assert_clean_and_running(app)


async def test_every_toast_is_plain_text_whoever_raises_it() -> None:
    app = hostile_app()
    async with app.run_test(size=(160, 40), tooltips=True, notifications=True) as pilot:
        await until(pilot, lambda: app.screen.query(ServicesTable))
        app.notify(f"app {CLOSE_NOTHING} {CLICK} {BIDI}", title=f"t {CLOSE_NOTHING}")
        app.screen.notify(f"screen {STYLED} {INVISIBLE}", markup=True)  # asked for markup
        await until(pilot, lambda: len(toasts(app)) == 2)
        assert toasts(app) == [
            f"t {CLOSE_NOTHING}\napp {CLOSE_NOTHING} {CLICK} bidi\\u202eevil\\u2066iso\\u2069",
            f"screen {STYLED} zero\\u200bwidth\\ufeffbom\\u200dzwj",
        ]
        assert_clean_and_running(app)


# ---------------------------------------------------------------- names elsewhere


async def test_names_in_the_header_and_services_table_are_literal() -> None:
    hostile_name = f"api {CLOSE_NOTHING} {BIDI}"
    services = (ServiceStatus(hostile_name, "c-api", "running", "healthy", None, 0, None, "x", ()),)
    monitor = FixedMonitor(EnvironmentStatus(f"shop {BIDI} {INVISIBLE}", ENGINE, services))
    app = hostile_app(monitor)
    async with app.run_test(size=(160, 30), tooltips=True, notifications=True) as pilot:
        table = app.screen.query_one(ServicesTable)
        await until(pilot, lambda: table.row_count == 1)
        await pilot.pause(0.2)
        text = assert_clean_and_running(app)
        assert shown(hostile_name) in text
        assert "shop bidi\\u202eevil\\u2066iso\\u2069 zero\\u200bwidth" in text


class HostileResets(FixedResets):
    def overview(self) -> ResetOverview:
        return ResetOverview(
            project=f"shop {BIDI}",
            baseline=self.baseline,
            baseline_problem=None,
            snapshots=(record(CLOSE_NOTHING, 60), record(f"s{INVISIBLE}", 90)),
            last_reset=LastReset("fast reset", NOW - 300, 0.38, True),
            now=NOW,
        )


async def test_snapshot_names_in_the_reset_dialog_and_its_confirmation_are_literal() -> None:
    app = hostile_app(resets=HostileResets())
    async with app.run_test(size=(160, 40), tooltips=True, notifications=True) as pilot:
        await until(pilot, lambda: app.screen.query(ServicesTable))
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ResetScreen))
        choices = app.screen.query_one(OptionList)
        await until(pilot, lambda: choices.option_count > 2)
        text = assert_clean_and_running(app)
        assert "Reset shop bidi\\u202eevil" in text
        assert f"Restore snapshot {CLOSE_NOTHING}" in text
        assert "Restore snapshot szero\\u200bwidth" in text
        choices.highlighted = 2  # the first snapshot
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert f"Delete snapshot {CLOSE_NOTHING}?" in assert_clean_and_running(app)


HOSTILE_IDS = (
    "import pytest\n\n"
    f"@pytest.mark.parametrize('v', [1, 2, 3], ids={[CLOSE_NOTHING, CLICK, BIDI]!r})\n"
    "def test_named(v):\n"
    "    assert v != 3\n"
)


@pytest.mark.usefixtures("no_autoloaded_plugins")
async def test_test_ids_in_the_tree_are_literal(tmp_path: Path) -> None:
    # pytest escapes non-ASCII ids unless told not to; a project may tell it not to.
    root = write_project(tmp_path, {"test_hostile.py": HOSTILE_IDS})
    (root / "pytest.ini").write_text(
        "[pytest]\ndisable_test_id_escaping_and_forfeit_all_rights_to_community_support = true\n"
    )
    async with opened_screen(root) as (pilot, screen):
        await pilot.press("a")  # run them: the failing one's label and detail too
        await until(pilot, lambda: len(screen.results) == 3, timeout=90)
        await pilot.pause(0.3)
        for name in (CLOSE_NOTHING, CLICK, BIDI):
            label = screen.test_tree.shown[f"test_hostile.py::test_named[{name}]"].label
            assert shown(name) in str(label), name
        text = assert_clean_and_running(pilot.app)  # type: ignore[arg-type]
        assert CLICK in text
        assert "bidi\\u202eevil" in text


# ---------------------------------------------------------------- a crash is not a success

CRASHING = """
import sys
from pathlib import Path

import tui.ui.app
from tests.ui.fixed_monitor import FixedMonitor
from tui.cli.commands import run_dashboard
from tui.config.settings import load_settings
from tui.core.engine import DockerGateway


class CrashingApp(tui.ui.app.EnvdeckApp):
    def on_ready(self) -> None:
        self.set_timer(0.3, self.defect)

    def defect(self) -> None:
        raise RuntimeError("a defect inside the app")


def make_crashing_app(settings, gateway=None, monitor=None, resets=None):
    return CrashingApp(settings, FixedMonitor())


tui.ui.app.make_app = make_crashing_app  # what the command line builds and runs
sys.exit(run_dashboard(load_settings(Path("tests/ui")), None))
"""


def exit_status_in_pty(code: str, seconds: float = 60) -> tuple[int, bytes]:
    """Runs `code` in a pseudo-terminal to its end: its exit code and its output."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(REPO)
        os.environ.update({"TERM": "xterm-256color", "DOCKER_HOST": "unix:///nonexistent"})
        os.execv(sys.executable, [sys.executable, "-c", code])  # noqa: S606
    output = bytearray()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            readable, _, _ = select.select([fd], [], [], 0.1)
            if not readable:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), bytes(output)


def test_the_dashboard_command_exits_non_zero_when_the_app_crashed() -> None:
    code, output = exit_status_in_pty(CRASHING)
    assert b"a defect inside the app" in output, output[-2000:]
    assert code == 1
