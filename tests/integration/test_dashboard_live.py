"""The dashboard, driven with Pilot, against the real engine."""

from __future__ import annotations

import asyncio
import time

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
