"""Dashboard layout (SVG snapshots) and behaviour on fixed data."""

from __future__ import annotations

import gc
import html
import time
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static

from tests.ui.fixed_monitor import FixedActions, FixedMonitor
from tui.config.settings import load_settings
from tui.core.engine import DockerGateway, EngineInfo
from tui.core.guard import DestructivePlan
from tui.core.status import EnvironmentStatus, ServiceStatus
from tui.plugins.api import ViewRequest
from tui.ui.app import EnvdeckApp, make_app
from tui.ui.widgets.sections_view import SectionsView
from tui.ui.widgets.service_details import ServiceDetailsPanel
from tui.ui.widgets.services_table import ServicesTable


def fixed_app(monitor: FixedMonitor | None = None) -> EnvdeckApp:
    settings = load_settings(Path(__file__).parent)
    return make_app(
        settings, DockerGateway(base_url="unix:///nonexistent"), monitor or FixedMonitor()
    )


async def wait_for_rows(pilot: Pilot[Any]) -> None:
    """Until the fixed data is on screen: the rows, and the selected service's log lines
    (they arrive from a worker thread, later on a loaded machine)."""
    from tui.ui.widgets.log_view import LogView

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        tables = pilot.app.screen.query(ServicesTable)
        logs = pilot.app.screen.query(LogView)
        # The details panel (and its log view) is mounted after the first rows are drawn.
        if not tables or not logs or not getattr(pilot.app.screen, "details_ready", False):
            continue
        expected = pilot.app.monitor.snapshot().services  # type: ignore[attr-defined]
        if tables.first().row_count == len(expected) and (
            not expected or logs.first().lines_widget.line_count > 0
        ):
            break
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def test_dashboard_snapshot(snap_compare: Any) -> None:
    assert snap_compare(fixed_app(), terminal_size=(120, 16), run_before=wait_for_rows)


def test_dashboard_snapshot_engine_gone(snap_compare: Any) -> None:
    gone = EnvironmentStatus(
        "shop", EngineInfo(False, None, None, "no Docker engine: the connection was refused"), ()
    )
    assert snap_compare(
        fixed_app(FixedMonitor(gone)), terminal_size=(100, 8), run_before=wait_for_rows
    )


async def test_container_text_is_never_markup_or_control_sequences() -> None:
    app = fixed_app()
    async with app.run_test(size=(120, 16)) as pilot:
        await wait_for_rows(pilot)
        table = app.screen.query_one(ServicesTable)
        assert table.row_count == 6
        cell = table.get_cell("shop-worker-1", "service")
        assert str(cell) == "worker␛]0;pwned␇[bold]"


async def test_cursor_keeps_its_row_across_updates() -> None:
    app = fixed_app()
    async with app.run_test(size=(120, 16)) as pilot:
        await wait_for_rows(pilot)
        table = app.screen.query_one(ServicesTable)
        await pilot.press("j", "j")
        selected = table.selected
        assert selected is not None
        assert selected.name == "postgres"
        table.update_services(list(reversed(FixedMonitor().status.services)))
        await pilot.pause()
        assert table.selected is not None
        assert table.selected.name == "postgres"


async def wait_for_screen(pilot: Pilot[Any], kind: type[Any]) -> None:
    """Until the screen on top is a `kind` (a dialog opened from a worker's answer)."""
    deadline = time.monotonic() + 10
    while not isinstance(pilot.app.screen, kind) and time.monotonic() < deadline:
        await pilot.pause(0.02)
    assert isinstance(pilot.app.screen, kind)


async def test_down_asks_first_and_escape_cancels() -> None:
    from tui.ui.screens.confirm import ConfirmScreen

    actions = FixedActions()
    app = fixed_app()
    app.actions = lambda: actions  # type: ignore[assignment]
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_for_rows(pilot)
        await pilot.press("D")
        await wait_for_screen(pilot, ConfirmScreen)
        assert isinstance(app.screen, ConfirmScreen)
        assert "shop-postgres-1" in app.screen.body  # it lists what will be removed
        assert "shop_pg-data" in app.screen.body  # and the volumes -v would remove
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
    assert actions.ran == []


async def test_d_pressed_twice_while_planning_opens_one_dialog() -> None:
    from tui.ui.screens.confirm import ConfirmScreen

    class SlowToPlan(FixedActions):
        """The guard's plan takes a while (a real one lists containers, volumes, images)."""

        planned = 0

        def plan_down(self, *, volumes: bool) -> DestructivePlan:
            time.sleep(0.3)  # in the worker thread: the engine's latency, not a wait
            SlowToPlan.planned += 1
            return super().plan_down(volumes=volumes)

    actions = SlowToPlan()
    app = fixed_app()
    app.actions = lambda: actions  # type: ignore[assignment]
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_for_rows(pilot)
        await pilot.press("D", "D")  # the second before the first plan is back
        deadline = time.monotonic() + 10
        while SlowToPlan.planned < 4 and time.monotonic() < deadline:  # both workers done
            await pilot.pause(0.05)
        await pilot.pause()
        dialogs = [s for s in app.screen_stack if isinstance(s, ConfirmScreen)]
        assert len(dialogs) == 1


def test_down_dialog_snapshot(snap_compare: Any) -> None:
    from tui.ui.screens.confirm import ConfirmScreen

    async def open_dialog(pilot: Pilot[Any]) -> None:
        await wait_for_rows(pilot)
        await pilot.press("D")
        await wait_for_screen(pilot, ConfirmScreen)
        await pilot.pause()

    app = fixed_app()
    actions = FixedActions()
    app.actions = lambda: actions  # type: ignore[assignment]
    assert snap_compare(app, terminal_size=(100, 30), run_before=open_dialog)


def test_env_tab_snapshot_masks_secrets(snap_compare: Any) -> None:
    async def open_env(pilot: Pilot[Any]) -> None:
        await wait_for_rows(pilot)
        await pilot.press("j", "j", "j", "j")  # redis
        app = pilot.app
        app.screen.query_one("#details-pane", ServiceDetailsPanel).active = "tab-env"
        await pilot.pause(0.2)

    assert snap_compare(fixed_app(), terminal_size=(110, 24), run_before=open_env)


def test_health_tab_snapshot_shows_why_unhealthy(snap_compare: Any) -> None:
    async def open_health(pilot: Pilot[Any]) -> None:
        await wait_for_rows(pilot)
        await pilot.press("j", "j", "j", "j")
        pilot.app.screen.query_one("#details-pane", ServiceDetailsPanel).active = "tab-health"
        await pilot.pause(0.2)

    assert snap_compare(fixed_app(), terminal_size=(110, 24), run_before=open_health)


async def test_secrets_are_revealed_only_on_the_explicit_key() -> None:
    app = fixed_app()
    async with app.run_test(size=(110, 24)) as pilot:
        await wait_for_rows(pilot)
        await pilot.press("j", "j", "j", "j")
        panel = app.screen.query_one("#details-pane", ServiceDetailsPanel)
        panel.active = "tab-env"
        await pilot.pause(0.2)
        env_table = panel.query_one("#env-table", DataTable)

        def shown() -> str:
            return " ".join(str(env_table.get_row_at(row)[1]) for row in range(env_table.row_count))

        assert "hunter2" not in shown()
        env_table.focus()
        await pilot.press("v")
        await pilot.pause()
        assert "hunter2" in shown()


async def test_help_lists_every_key_with_its_id() -> None:
    from tui.ui.screens.help import HelpScreen

    app = fixed_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_rows(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ids = {binding_id for row in app.screen.rows for binding_id in row[2].split(", ")}
        assert {
            "dashboard.restart",
            "dashboard.stop",
            "dashboard.start",
            "dashboard.down",
            "dashboard.shell",
            "app.quit",
        } <= ids
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_keys_can_be_remapped_by_id() -> None:
    app = fixed_app()
    actions = FixedActions()
    app.actions = lambda: actions  # type: ignore[assignment]
    app.settings = app.settings.replace(**{"keymap": {"dashboard.down": "ctrl+d"}})
    async with app.run_test(size=(120, 24)) as pilot:
        from tui.ui.screens.confirm import ConfirmScreen

        await wait_for_rows(pilot)
        await pilot.press("D")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("ctrl+d")
        await wait_for_screen(pilot, ConfirmScreen)


async def test_actions_are_in_the_command_palette() -> None:
    app = fixed_app()
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_for_rows(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Restart", "Stop", "Start", "Down", "Shell", "Up all"} <= titles


async def open_redis_inspector(pilot: Pilot[Any]) -> None:
    await wait_for_rows(pilot)
    await pilot.press("j", "j", "j", "j", "i")  # redis, then the Inspect tab
    await pilot.pause(0.3)


async def test_inspector_shows_the_plugin_views_and_pages() -> None:
    from tests.ui.fixed_monitor import PagedKeysPlugin
    from tui.ui.widgets.inspector_pane import InspectorPane

    PagedKeysPlugin.requests.clear()
    app = fixed_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await open_redis_inspector(pilot)
        pane = app.screen.query_one(InspectorPane)
        assert pane.service == "redis"
        assert PagedKeysPlugin.requests[-1].view == "overview"
        pane.query_one("#inspector-view", Select).value = "keys"
        await pilot.pause(0.2)
        assert pane.query_one("#inspector-query", Input).display
        pane.query_one("#inspector-query", Input).focus()
        await pilot.press("u", "s", "e", "r", "enter")
        await pilot.pause(0.2)
        assert PagedKeysPlugin.requests[-1] == ViewRequest("keys", "user", None, 100)
        assert pane.next_cursor == "1"
        pane.query_one(SectionsView).query_one(DataTable).focus()
        await pilot.press("right_square_bracket")
        await pilot.pause(0.2)
        assert PagedKeysPlugin.requests[-1].cursor == "1"
        assert pane.page == 2
        assert pane.next_cursor is None


async def test_a_service_without_plugin_says_so() -> None:
    from tui.ui.widgets.inspector_pane import InspectorPane

    app = fixed_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_rows(pilot)
        await pilot.press("j", "j", "i")  # postgres: the fixed monitor has no plugin for it
        await pilot.pause(0.3)
        pane = app.screen.query_one(InspectorPane)
        texts = [str(w.render()) for w in pane.query_one(SectionsView).query(Static)]
        assert any("no plugin serves 'postgres'" in text for text in texts)


def test_inspector_snapshot(snap_compare: Any) -> None:
    async def open_keys(pilot: Pilot[Any]) -> None:
        await open_redis_inspector(pilot)
        from tui.ui.widgets.inspector_pane import InspectorPane

        pilot.app.screen.query_one(InspectorPane).query_one(
            "#inspector-view", Select
        ).value = "keys"
        await pilot.pause(0.3)

    assert snap_compare(fixed_app(), terminal_size=(110, 30), run_before=open_keys)


async def logs_of(pilot: Pilot[Any]) -> list[str]:
    from tui.ui.widgets.log_view import LogView

    await pilot.pause(0.2)
    return list(pilot.app.screen.query_one(LogView).lines_widget.lines)


async def test_logs_follow_the_selected_service_and_merge_on_a() -> None:
    monitor = FixedMonitor()
    app = fixed_app(monitor)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_rows(pilot)
        lines = await logs_of(pilot)
        assert lines[0] == "migrate line 0"
        assert monitor.followed[-1][0] == ["migrate"]
        assert monitor.followed[-1][1].tail == 500
        await pilot.press("j")
        assert (await logs_of(pilot))[0] == "mock-api line 0"
        app.screen.query_one("#log-lines").focus()
        await pilot.press("a")
        merged = await logs_of(pilot)
        assert len(monitor.followed[-1][0]) == 6
        assert merged[0].startswith("migrate")
        assert "│ migrate line 0" in merged[0]
        await pilot.press("2")  # since 5 minutes
        await pilot.pause(0.2)
        assert monitor.followed[-1][1].since is not None
        assert monitor.followed[-1][1].tail is None


async def test_log_search_hides_non_matching_lines_and_control_bytes_never_show() -> None:
    app = fixed_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_rows(pilot)
        app.screen.query_one("#log-lines").focus()
        await pilot.press("slash", *"!error", "enter")
        lines = await logs_of(pilot)
        assert lines == ["migrate line 4 ERROR ␛[31mboom"]
        await pilot.press("t")
        assert (await logs_of(pilot))[0].startswith("03:00:04.000 ")
        await pilot.press("slash", "backspace", "enter")  # empty search: everything back
        assert len(await logs_of(pilot)) == 6


def test_logs_merged_snapshot(snap_compare: Any) -> None:
    async def merged(pilot: Pilot[Any]) -> None:
        await wait_for_rows(pilot)
        pilot.app.screen.query_one("#log-lines").focus()
        await pilot.press("a")
        await pilot.pause(0.3)
        await pilot.press("slash", *"error", "enter")
        await pilot.pause(0.3)

    assert snap_compare(fixed_app(), terminal_size=(110, 34), run_before=merged)


async def test_a_destructive_plugin_action_asks_and_escape_runs_nothing() -> None:
    from tests.ui.fixed_monitor import PagedKeysPlugin
    from tui.ui.screens.confirm import ConfirmScreen
    from tui.ui.screens.plugin_action import PluginActionScreen

    ran: list[str] = []
    original = PagedKeysPlugin.run_action

    def recording(self: PagedKeysPlugin, target: Any, action: str, params: Any) -> str:
        ran.append(action)
        return "flushed"

    PagedKeysPlugin.run_action = recording  # type: ignore[method-assign]
    try:
        app = fixed_app()
        async with app.run_test(size=(120, 30)) as pilot:
            await open_redis_inspector(pilot)
            app.screen.query_one(SectionsView).focus()
            await pilot.press("A")
            await pilot.pause(0.2)
            assert isinstance(app.screen, PluginActionScreen)
            await pilot.press("enter")  # the only action: Flush, no parameters
            await pilot.pause(0.2)
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("escape")
            await pilot.pause(0.2)
            assert ran == []
            app.screen.query_one(SectionsView).focus()
            await pilot.press("A", "enter")
            await pilot.pause(0.2)
            await pilot.press("enter")  # confirm
            await pilot.pause(0.3)
            assert ran == ["flush"]
    finally:
        PagedKeysPlugin.run_action = original  # type: ignore[method-assign]


async def test_a_full_log_keeps_drawing_the_newest_lines() -> None:
    from tui.core.log_buffer import LogLine
    from tui.ui.widgets.log_view import LogView

    app = fixed_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_rows(pilot)
        logs = app.screen.query_one(LogView)
        total = (logs.lines_widget.max_lines or 0) + 7_000  # the pane's bound, passed
        for start in range(0, total, 1_000):  # batches, as the follower delivers them
            logs.add_lines(
                [
                    LogLine(
                        "migrate", "c1", f"2026-11-22T04:00:00.{n:09d}Z", f"flood #{n}", "stdout"
                    )
                    for n in range(start, start + 1_000)
                ]
            )
            await pilot.pause()
        await pilot.pause(0.2)
        drawn = html.unescape(app.export_screenshot()).replace("\xa0", " ")
        assert f"flood #{total - 1}" in drawn  # what is drawn, not only what is held


async def test_rows_are_sorted_whatever_order_they_arrive_in() -> None:
    app = fixed_app()
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_for_rows(pilot)
        table = app.screen.query_one(ServicesTable)
        await pilot.press("j", "j")  # postgres
        from dataclasses import replace

        late = replace(FixedMonitor().status.services[2], name="aaa-first", container="shop-a-1")
        table.apply_status(late)
        await pilot.pause()
        names = [str(table.get_row_at(row)[0]) for row in range(table.row_count)]
        assert names[0] == "aaa-first"
        assert names == sorted(names)
        assert table.selected is not None
        assert table.selected.name == "postgres"  # the cursor followed its row


async def test_the_header_takes_named_items_and_is_written_only_on_change() -> None:
    from tui.ui.screens.dashboard import DashboardHeader

    app = fixed_app()
    async with app.run_test(size=(120, 16)) as pilot:
        await wait_for_rows(pilot)
        header = app.screen.query_one(DashboardHeader)
        assert str(header.render()).endswith("2/6 ready")
        header.set_item("last-reset", "reset 3 min ago")
        await pilot.pause()
        assert str(header.render()).endswith("2/6 ready · reset 3 min ago")
        header.set_item("last-reset", None)
        await pilot.pause()
        assert str(header.render()).endswith("2/6 ready")


def test_stats_rounds_slow_down_only_while_no_figure_moves() -> None:
    from dataclasses import replace

    from tui.ui.screens.dashboard.live import usage_moved

    before = tuple(s for s in FixedMonitor().status.services if s.cpu_percent is not None)
    assert before

    def changed(**by: float) -> tuple[ServiceStatus, ...]:
        return tuple(
            replace(
                s,
                cpu_percent=(s.cpu_percent or 0) + by.get("cpu", 0),
                mem_bytes=int((s.mem_bytes or 0) * by.get("memory", 1)),
            )
            for s in before
        )

    assert not usage_moved(before, changed(cpu=0.5))  # a fraction of a point: idle
    assert usage_moved(before, changed(cpu=5))
    assert usage_moved(before, changed(memory=2))
    first = tuple(replace(s, cpu_percent=None, mem_bytes=None) for s in before)
    assert usage_moved(first, before)  # the first figures


async def test_every_relisting_leaves_one_timer_for_the_next() -> None:
    app = fixed_app()
    async with app.run_test(size=(120, 16)) as pilot:
        await wait_for_rows(pilot)
        screen = app.screen
        for _ in range(3):
            screen.refresh_status()  # type: ignore[attr-defined]
            await pilot.pause(0.1)
        pending = [
            timer
            for timer in screen._timers
            if "refresh_status" in repr(timer._callback)  # set_timer wraps it in a partial
            and timer._task is not None
            and not timer._task.done()
        ]
        assert len(pending) == 1


async def test_collecting_resumes_after_the_first_frame() -> None:
    """`envdeck` starts the dashboard with the collector off (tui.cli.main); the app turns
    it back on once its first frame is drawn, with what start-up made frozen."""
    gc.disable()
    try:
        app = fixed_app()
        async with app.run_test(size=(100, 20)) as pilot:
            await wait_for_rows(pilot)
            await pilot.pause()
            assert gc.isenabled()
            assert gc.get_freeze_count() > 0
    finally:
        gc.enable()
