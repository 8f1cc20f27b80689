"""The Env and Health tabs show the selected service's details whenever they are shown,
though a hidden tab is drawn only when it is shown (not at every selection)."""

from __future__ import annotations

import asyncio
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, Tab, TabbedContent, TabPane

from tests.ui.fixed_monitor import DETAILS_ATTRS, FixedMonitor
from tests.ui.test_dashboard_screens import wait_for_rows
from tui.config.settings import load_settings
from tui.core.details import ServiceDetails, details_from_inspect
from tui.core.engine import DockerGateway
from tui.core.status import ServiceStatus
from tui.ui.app import EnvdeckApp, make_app
from tui.ui.screens.dashboard import live
from tui.ui.screens.dashboard import screen as dashboard_screen
from tui.ui.widgets.service_details import ENV_TAB, HEALTH_TAB, ServiceDetailsPanel
from tui.ui.widgets.services_table import ServicesTable


class NamedDetailsMonitor(FixedMonitor):
    """Details that say whose they are: its name in the env and in the healthcheck."""

    def details(self, status: ServiceStatus) -> ServiceDetails | None:
        attrs = deepcopy(DETAILS_ATTRS) | {"Name": status.container}
        attrs["Config"]["Env"] = [f"WHOSE={status.name}"]
        attrs["Config"]["Healthcheck"] = {"Test": ["CMD", "check", status.name]}
        return details_from_inspect(status.name, attrs)


def app() -> EnvdeckApp:
    settings = load_settings(Path(__file__).parent)
    return make_app(settings, DockerGateway(base_url="unix:///nonexistent"), NamedDetailsMonitor())


def env_text(panel: ServiceDetailsPanel) -> str:
    table = panel.query_one("#env-table", DataTable)
    return " ".join(str(cell) for row in range(table.row_count) for cell in table.get_row_at(row))


def health_text(panel: ServiceDetailsPanel) -> str:
    return str(panel.query_one("#health-view", Static).render())


async def wait_for_rows_only(pilot: Pilot[Any]) -> None:
    table = pilot.app.screen.query_one(ServicesTable)
    for _ in range(500):
        if table.row_count:
            return
        await pilot.pause(0.01)
    raise AssertionError("no rows within 5 s")


async def select(pilot: Pilot[Any], key: str) -> str:
    """Move the cursor; the selected service once its details are in the panel."""
    table = pilot.app.screen.query_one(ServicesTable)
    panel = pilot.app.screen.query_one(ServiceDetailsPanel)
    await pilot.press(key)
    selected = table.selected
    assert selected is not None
    for _ in range(200):
        if panel.details is not None and panel.details.service == selected.name:
            break
        await pilot.pause(0.01)
    return selected.name


async def test_a_tab_shown_after_selections_shows_the_selected_service() -> None:
    async with app().run_test(size=(110, 24)) as pilot:
        await wait_for_rows(pilot)
        panel = pilot.app.screen.query_one(ServiceDetailsPanel)
        await select(pilot, "j")
        second = await select(pilot, "j")
        await pilot.press("e")  # the Env tab, by its key
        await pilot.pause()
        assert f"WHOSE {second}" in env_text(panel)

        third = await select(pilot, "j")  # selected while the tab is shown: drawn at once
        await pilot.pause()
        assert f"WHOSE {third}" in env_text(panel)
        assert f"WHOSE {second}" not in env_text(panel)

        await pilot.press("l")  # back to the Logs tab
        assert panel.active == "tab-logs"
        fourth = await select(pilot, "j")
        panel.active = "tab-env"
        # Current as it switches, before any message is handled: no frame of the
        # previous service's env.
        assert f"WHOSE {fourth}" in env_text(panel)


async def test_the_health_tab_shown_by_a_click_is_current() -> None:
    async with app().run_test(size=(110, 24)) as pilot:
        await wait_for_rows(pilot)
        panel = pilot.app.screen.query_one(ServiceDetailsPanel)
        await select(pilot, "j")
        chosen = await select(pilot, "j")
        health_tab = next(tab for tab in panel.query(Tab) if tab.id and "tab-health" in tab.id)
        await pilot.click(health_tab)
        await pilot.pause()
        assert panel.active == "tab-health"
        assert f"check {chosen}" in health_text(panel)


@pytest.fixture
def panel_not_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """The panel comes a moment after the first rows; here it does not come by itself."""
    monkeypatch.setattr(live, "AFTER_FIRST_FRAME_SECONDS", 60.0)
    monkeypatch.setattr(dashboard_screen, "WATCHER_LATEST_START_SECONDS", 60.0)


@pytest.mark.usefixtures("panel_not_by_itself")
async def test_a_tab_key_before_the_panel_is_mounted_mounts_it_and_shows_the_tab() -> None:
    async with app().run_test(size=(110, 24)) as pilot:
        screen = pilot.app.screen
        table = screen.query_one(ServicesTable)
        await wait_for_rows_only(pilot)
        assert not screen.query(ServiceDetailsPanel)  # not yet
        await pilot.press("e")  # the Env tab, by its key
        panel = screen.query_one(ServiceDetailsPanel)
        assert panel.active == "tab-env"
        selected = table.selected
        assert selected is not None
        for _ in range(200):  # the selection's details follow, as after the timer
            if f"WHOSE {selected.name}" in env_text(panel):
                break
            await pilot.pause(0.01)
        assert f"WHOSE {selected.name}" in env_text(panel)


@pytest.mark.usefixtures("panel_not_by_itself")
async def test_a_second_call_waits_for_the_panel_the_first_one_mounts() -> None:
    # A tab's key while the timer's call is mounting the panel: the key's action must find
    # the panel ready, not return at once and reach for tabs that are not there yet.
    async with app().run_test(size=(110, 24)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, dashboard_screen.DashboardScreen)
        await wait_for_rows_only(pilot)
        first = asyncio.ensure_future(screen.show_details())
        await asyncio.sleep(0)  # the first call has begun mounting
        assert not screen.details_ready
        await screen.show_details()
        assert screen.details_ready
        await first


class PanelWithLateEnvTable(ServiceDetailsPanel):
    """The order seen in a fresh-clone CI run, made certain: the panel's own mount comes
    before its env table is mounted (the tab panes mount their contents in their own turn)."""

    def compose(self) -> Any:
        with TabbedContent(id="details-tabs"):
            with TabPane("Logs", id="tab-logs"):
                yield self._log_view
            yield TabPane("Env", id=ENV_TAB)  # the table comes later
            with TabPane("Health", id=HEALTH_TAB):
                yield self._health_view


async def test_the_panel_does_not_need_its_tables_mounted_when_it_mounts() -> None:
    """The panel sets its env table up by reference: a query for it found nothing at the
    panel's mount in a CI run, and the crash took the dashboard down."""

    class PanelApp(App[None]):
        def compose(self) -> Any:
            yield PanelWithLateEnvTable(id="details-pane")

    async with PanelApp().run_test(size=(100, 20)) as pilot:
        panel = pilot.app.query_one(PanelWithLateEnvTable)
        await panel.query_one(f"#{ENV_TAB}", TabPane).mount(panel._env_table)
        panel.details = details_from_inspect("api", deepcopy(DETAILS_ATTRS))
        panel.active = ENV_TAB
        await pilot.pause()
        table = panel.query_one("#env-table", DataTable)
        assert [str(column.label) for column in table.columns.values()] == ["NAME", "VALUE"]
        assert "(command)" in env_text(panel)
