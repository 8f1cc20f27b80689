"""The dashboard, driven with Pilot, against the real engine."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.conftest import SampleEnv
from tui.ui.app import make_app
from tui.ui.widgets.services_table import ServicesTable


async def test_dashboard_lists_the_sample_services_healthy(sample_env: SampleEnv) -> None:
    app = make_app(sample_env.settings, sample_env.gateway)
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.screen.query_one(ServicesTable)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and table.row_count < 4:
            await pilot.pause(0.05)
        assert sorted(s.name for s in table.statuses.values()) == [
            "mock-api",
            "postgres",
            "qdrant",
            "redis",
        ]
        assert all(s.health == "healthy" for s in table.statuses.values())
        summary = str(app.screen.query_one("#summary").render())
        assert "envdeck-sample" in summary
        assert "4/4 ready" in summary
        await pilot.press("j")
        assert table.cursor_row == 1
        await pilot.press("q")
        await asyncio.wait_for(pilot.pause(), 5)
    assert app.return_code in (0, None)


async def test_restart_key_restarts_the_selected_service(sample_env: SampleEnv) -> None:
    app = make_app(sample_env.settings, sample_env.gateway)
    (redis_before,) = [
        c
        for c in sample_env.gateway.project_containers(sample_env.project)
        if c.labels["com.docker.compose.service"] == "redis"
    ]
    started_before = redis_before.attrs["State"]["StartedAt"]
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.screen.query_one(ServicesTable)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and table.row_count < 4:
            await pilot.pause(0.05)
        while table.selected is not None and table.selected.name != "redis":
            await pilot.press("j")
        await pilot.press("r")
        assert table.pending == {"redis": "restarting…"}  # progress shows at once
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and table.pending:
            await pilot.pause(0.1)
        assert not table.pending, "the restart did not finish"
    redis_before.reload()
    assert redis_before.attrs["State"]["StartedAt"] != started_before
    assert redis_before.status == "running"


async def test_the_table_follows_docker_events_and_toasts(sample_env: SampleEnv) -> None:
    """Stopped behind the dashboard's back: the row changes long before the 15 s re-list."""
    app = make_app(sample_env.settings, sample_env.gateway)
    (redis,) = [
        c
        for c in sample_env.gateway.project_containers(sample_env.project)
        if c.labels["com.docker.compose.service"] == "redis"
    ]
    try:
        async with app.run_test(size=(140, 30)) as pilot:
            table = app.screen.query_one(ServicesTable)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and (
                table.row_count < 4 or app.screen.watcher is None  # type: ignore[attr-defined]
            ):
                await pilot.pause(0.05)

            def redis_state() -> str:
                return next(s.state for s in table.statuses.values() if s.name == "redis")

            def toasted() -> bool:
                # A server stopped from outside is "stopped", never "finished" (issue 11.2).
                return any("redis was stopped" in str(n.message) for n in app._notifications)

            await asyncio.to_thread(redis.stop, timeout=2)
            stopped_at = time.monotonic()
            while time.monotonic() - stopped_at < 5 and redis_state() != "exited":
                await pilot.pause(0.02)
            seen_after = time.monotonic() - stopped_at
            assert redis_state() == "exited"
            assert seen_after < 2.0, f"the stop showed after {seen_after:.2f} s"
            # The row can say "exited" first from the `kill` event (the container is
            # inspected after it, and redis is gone by then); the toast comes with `die`.
            while time.monotonic() - stopped_at < 5 and not toasted():
                await pilot.pause(0.02)
            assert toasted()
            assert not any("redis finished" in str(n.message) for n in app._notifications)
            await asyncio.to_thread(redis.start)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and redis_state() != "running":
                await pilot.pause(0.05)
            assert redis_state() == "running"
    finally:
        redis.reload()
        if redis.status != "running":
            redis.start()
        wait_healthy(redis)


def wait_healthy(container: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.attrs["State"].get("Health", {}).get("Status") == "healthy":
            return
        time.sleep(0.2)
    raise AssertionError(f"{container.name} did not turn healthy again")


async def test_the_engine_going_away_and_coming_back_under_a_running_dashboard(
    sample_env: SampleEnv,
) -> None:
    """Through a unix-socket proxy we cut and restore, so the shared engine keeps running."""
    from tests.integration.socket_proxy import SocketProxy
    from tui.core.engine import DockerGateway

    with SocketProxy() as proxy:
        gateway = DockerGateway(base_url=proxy.base_url, timeout=5)
        app = make_app(sample_env.settings, gateway)
        async with app.run_test(size=(140, 30)) as pilot:
            table = app.screen.query_one(ServicesTable)
            summary = app.screen.query_one("#summary")

            async def wait_for(condition: Any, timeout: float, what: str) -> float:
                started = time.monotonic()
                while time.monotonic() - started < timeout:
                    if condition():
                        return time.monotonic() - started
                    await pilot.pause(0.02)
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")

            await wait_for(
                lambda: table.row_count == 4 and app.screen.watcher is not None,  # type: ignore[attr-defined]
                15,
                "the services",
            )
            proxy.cut()
            await wait_for(
                lambda: summary.has_class("-disconnected"),
                2.0,
                "the header to say the engine is unreachable",
            )
            # From the events watcher or the status re-list, whichever says it first.
            assert "engine" in str(summary.render())
            proxy.restore()
            await wait_for(
                lambda: (
                    not summary.has_class("-disconnected") and "4/4 ready" in str(summary.render())
                ),
                15,
                "the dashboard to reconnect by itself",
            )
            assert table.row_count == 4


async def test_logs_of_a_real_service_can_be_filtered(sample_env: SampleEnv) -> None:
    import uuid

    import httpx

    from tui.ui.widgets.log_view import LogView

    marker = f"filter-{uuid.uuid4().hex[:8]}"
    url = f"http://127.0.0.1:{sample_env.port('mock-api', 8080)}/search?q="
    app = make_app(sample_env.settings, sample_env.gateway)
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one(ServicesTable)
        deadline = time.monotonic() + 15
        # The log pane is mounted once the first rows are drawn.
        while time.monotonic() < deadline and not (
            table.row_count == 4 and app.screen.query(LogView)
        ):
            await pilot.pause(0.05)
        logs = app.screen.query_one(LogView)
        assert table.selected is not None
        assert table.selected.name == "mock-api"  # the first row: its logs are followed
        for query in (marker, "other-1", marker, "other-2"):
            await asyncio.to_thread(httpx.get, url + query, timeout=5)
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and sum(marker in line for line in logs.lines_widget.lines) < 2
        ):
            await pilot.pause(0.05)
        logs.lines_widget.focus()
        await pilot.press("slash", *f"!{marker}", "enter")
        await pilot.pause(0.2)
        shown = list(logs.lines_widget.lines)
        assert len(shown) == 2
        assert all(marker in line for line in shown)
