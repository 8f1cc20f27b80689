"""Dashboard defects of issue 11, driven with Pilot against the real engine: secrets in a
real container's healthcheck and environment, and the selection across an engine loss."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tests.integration.conftest import POSTGRES_IMAGE, eventually
from tui.config.settings import EnvdeckSettings, load_settings
from tui.core.engine import DockerGateway
from tui.ui.app import make_app
from tui.ui.widgets.service_details import ServiceDetailsPanel
from tui.ui.widgets.services_table import ServicesTable

SECRET = "hunter2"
# A healthcheck as projects write them: the password on the command line, and a failing
# check whose output repeats it. psql finds no server here, so every probe fails.
SECRET_COMPOSE = f"""
services:
  checker:
    image: {POSTGRES_IMAGE}
    init: true
    command: ["sh", "-c", "PGPASSWORD={SECRET} exec sleep infinity"]
    environment:
      DATABASE_URL: "postgres://app:p@ss{SECRET}@db:5432/shop"
      REDIS_URL: "redis://:pa/ss{SECRET}@cache:6379/0"
      HOOK_URL: "https://hooks.invalid/x?token={SECRET}"
    healthcheck:
      test:
        - CMD-SHELL
        - >-
          PGPASSWORD={SECRET} psql -h 127.0.0.1 -U app -c 'select 1' shop
          || {{ echo "psql with PGPASSWORD={SECRET} failed"; exit 1; }}
      interval: 1s
      timeout: 3s
      retries: 1000
"""


@contextmanager
def compose_project(
    request: pytest.FixtureRequest, compose_text: str, folder: Path, *, wait: bool
) -> Iterator[EnvdeckSettings]:
    """A compose project of this test's own (offline image, no port), removed afterwards;
    `wait`: until every service is healthy."""
    gateway: DockerGateway = request.getfixturevalue("gateway")
    if not gateway.client.images.list(name=POSTGRES_IMAGE):
        request.getfixturevalue("sample_env")  # brings the offline image
    compose_file = folder / "compose.yaml"
    compose_file.write_text(compose_text, encoding="utf-8")
    project = f"envdeck-defects-{uuid.uuid4().hex[:8]}"
    compose = ["docker", "compose", "-p", project, "-f", str(compose_file)]
    try:
        up = [*compose, "up", "-d", *(["--wait", "--wait-timeout", "60"] if wait else [])]
        subprocess.run(up, check=True, capture_output=True, timeout=90)
        yield load_settings(
            folder, compose_files=[compose_file], project_name=project, state_dir=folder / "state"
        )
    finally:
        subprocess.run([*compose, "down", "-v", "-t", "0"], check=False, capture_output=True)


@pytest.fixture
def secret_stack(
    request: pytest.FixtureRequest, gateway: DockerGateway, tmp_path: Path
) -> Iterator[EnvdeckSettings]:
    """One service whose healthcheck has already run (and failed)."""
    with compose_project(request, SECRET_COMPOSE, tmp_path, wait=False) as settings:
        (container,) = gateway.project_containers(str(settings.project_name))

        def probed() -> bool | None:
            container.reload()
            return True if container.attrs["State"].get("Health", {}).get("Log") else None

        eventually(probed, "the first healthcheck probe", timeout=30)
        yield settings


# Four long-running services with a healthcheck each: none is a one-shot.
FOUR_SERVICES = "services:\n" + "".join(
    f"""  {name}:
    image: {POSTGRES_IMAGE}
    init: true
    command: ["sleep", "infinity"]
    healthcheck: {{test: ["CMD", "true"], interval: 200ms, retries: 150}}
"""
    for name in ("alpha", "bravo", "charlie", "delta")
)


@pytest.fixture
def four_services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EnvdeckSettings]:
    with compose_project(request, FOUR_SERVICES, tmp_path, wait=True) as settings:
        yield settings


async def until(
    pilot: Pilot[Any], condition: Callable[[], bool], what: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        await pilot.pause(0.05)


async def test_env_and_health_tabs_mask_a_real_containers_secrets(
    secret_stack: EnvdeckSettings, gateway: DockerGateway
) -> None:
    app = make_app(secret_stack, gateway)
    async with app.run_test(size=(160, 40)) as pilot:
        table = app.screen.query_one(ServicesTable)
        # The details panel is mounted once the first rows are drawn.
        await until(
            pilot,
            lambda: table.row_count == 1 and getattr(app.screen, "details_ready", False),
            "the service",
            15,
        )
        panel = app.screen.query_one("#details-pane", ServiceDetailsPanel)
        await until(
            pilot,
            lambda: panel.details is not None and bool(panel.details.health_log),
            "the details with the health history",
            15,
        )
        env_table = panel.query_one("#env-table", DataTable)
        health = panel.query_one("#health-view", Static)

        def env_shown() -> str:
            return "\n".join(
                f"{env_table.get_row_at(row)[0]}={env_table.get_row_at(row)[1]}"
                for row in range(env_table.row_count)
            )

        def health_shown() -> str:
            return str(health.render())

        panel.active = "tab-env"
        await pilot.pause(0.2)
        env = env_shown()
        assert "DATABASE_URL=postgres://app:••••••@db:5432/shop" in env
        assert "REDIS_URL=redis://:••••••@cache:6379/0" in env
        assert "HOOK_URL=https://hooks.invalid/x?token=••••••" in env
        assert "PGPASSWORD=•••••• exec sleep infinity" in env  # the command row
        assert SECRET not in env

        panel.active = "tab-health"
        await pilot.pause(0.2)
        shown = health_shown()
        assert "check: PGPASSWORD=•••••• psql -h 127.0.0.1 -U app" in shown
        assert "psql with PGPASSWORD=•••••• failed" in shown  # the probe's own output
        assert SECRET not in shown
        drawn = app.export_screenshot()
        assert SECRET not in drawn
        assert "PGPASSWORD=••••••" in drawn.replace("\xa0", " ")

        await pilot.press("v")  # revealed on the explicit key only, in both tabs
        await pilot.pause(0.2)
        assert f"check: PGPASSWORD={SECRET} psql" in health_shown()
        # A hidden tab is drawn when it is shown (issue 17): the Env tab, shown, is revealed.
        panel.active = "tab-env"
        await pilot.pause(0.2)
        assert f"DATABASE_URL=postgres://app:p@ss{SECRET}@db:5432/shop" in env_shown()
        await asyncio.wait_for(pilot.press("q"), 5)


async def test_the_selection_stays_on_its_service_across_an_engine_loss(
    four_services: EnvdeckSettings,
) -> None:
    """Cut through a socket proxy (the shared engine keeps running) long enough for the
    re-list to find no engine and empty the table, then restored."""
    from tests.integration.socket_proxy import SocketProxy

    with SocketProxy() as proxy:
        gateway = DockerGateway(base_url=proxy.base_url, timeout=5)
        app = make_app(four_services, gateway)
        async with app.run_test(size=(140, 30)) as pilot:
            table = app.screen.query_one(ServicesTable)
            summary = app.screen.query_one("#summary")
            await until(
                pilot,
                lambda: table.row_count == 4 and app.screen.watcher is not None,  # type: ignore[attr-defined]
                "the services",
                15,
            )
            await pilot.press("j", "j")
            assert table.selected is not None
            assert table.selected.name == "charlie"  # the third of four

            proxy.cut()
            await until(pilot, lambda: summary.has_class("-disconnected"), "the loss", 5)
            app.screen.refresh_status()  # type: ignore[attr-defined]  # the 15 s re-list, now
            await until(pilot, lambda: table.row_count == 0, "the re-list without engine", 10)
            proxy.restore()
            await until(
                pilot,
                lambda: table.row_count == 4 and "4/4 ready" in str(summary.render()),
                "the dashboard to reconnect by itself",
                15,
            )
            await pilot.pause(0.2)  # the highlight messages of the new rows, handled
            assert table.selected is not None
            assert table.selected.name == "charlie"
