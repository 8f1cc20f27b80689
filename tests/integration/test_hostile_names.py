"""Hostile column names from a real PostgreSQL, in the real dashboard on a compose project
of the test's own: a column named `x[/]` ended the app (MarkupError) from the Rows and the
Query views, one named `[@click=app.quit]x[/]` became a clickable action, and bidi and
zero-width characters in names reached the terminal raw."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select

from envdeck_postgres import PostgresPlugin
from tests.conftest import REPO
from tests.integration.conftest import POSTGRES_IMAGE
from tests.ui.hostile_plugin import RAW_BIDI_OR_INVISIBLE
from tui.config.settings import EnvdeckSettings, load_settings
from tui.core.engine import DockerGateway
from tui.plugins.api import ServiceTarget, Table, ViewRequest
from tui.ui.app import make_app
from tui.ui.widgets.inspector_pane import InspectorPane
from tui.ui.widgets.sections_view import SectionsView
from tui.ui.widgets.services_table import ServicesTable

pytestmark = pytest.mark.docker

COLUMNS = ("x[/]", "[@click=app.quit]x[/]", "bidi\u202eevil", "zero\u200bwidth")
SHOWN = ("x[/]", "[@click=app.quit]x[/]", "bidi\\u202eevil", "zero\\u200bwidth")
QUERY = 'select 2 as "a[/]b", 3 as "[@click=app.quit]x[/]", 4 as "r\u2067l"'
ENV = {"POSTGRES_USER": "hostile", "POSTGRES_PASSWORD": "hostile-pw", "POSTGRES_DB": "hostile"}
COMPOSE = """\
name: {project}
services:
  db:
    image: {image}
    entrypoint: ["bash", "/envdeck/postgres-entrypoint.sh"]
    environment: {env}
    ports: ["127.0.0.1::5432"]
    volumes:
      - {repo}/compose/postgres:/envdeck:ro
      - ./init.sql:/docker-entrypoint-initdb.d/01-init.sql:ro
    tmpfs: [/var/lib/postgresql/data]  # nothing to sync: initdb takes half the time
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U hostile -d hostile"]
      interval: 200ms
      retries: 300
"""


@dataclass(frozen=True)
class HostileProject:
    settings: EnvdeckSettings
    target: ServiceTarget


def compose(folder: Path, project: str, *args: str) -> None:
    subprocess.run(
        ["docker", "compose", "-p", project, *args],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def hostile_project(
    tmp_path_factory: pytest.TempPathFactory, gateway: DockerGateway
) -> Iterator[HostileProject]:
    """A compose project with one PostgreSQL whose table has hostile column names. The
    module's tests only read it: one project for them all."""
    if not gateway.client.images.list(name=POSTGRES_IMAGE):
        pytest.skip(f"{POSTGRES_IMAGE} is not built (make images)")
    tmp_path = tmp_path_factory.mktemp("hostile")
    project = f"envdeck-hostile-{uuid.uuid4().hex[:8]}"
    columns = ", ".join(f'"{name}" int' for name in COLUMNS)
    (tmp_path / "init.sql").write_text(
        f"CREATE TABLE hostile ({columns});\nINSERT INTO hostile VALUES (1, 2, 3, 4);\n",
        encoding="utf-8",
    )
    env = "{" + ", ".join(f"{key}: {value}" for key, value in ENV.items()) + "}"
    (tmp_path / "compose.yaml").write_text(
        COMPOSE.format(project=project, image=POSTGRES_IMAGE, env=env, repo=REPO)
    )
    try:
        compose(tmp_path, project, "up", "-d", "--wait")
        (container,) = gateway.client.containers.list(
            filters={"label": f"com.docker.compose.project={project}"}
        )
        bindings = container.ports["5432/tcp"]
        assert bindings, "compose published no port"
        port = int(bindings[0]["HostPort"])
        target = ServiceTarget("db", POSTGRES_IMAGE, "127.0.0.1", {5432: port}, ENV)
        settings = load_settings(tmp_path, compose_files=[tmp_path / "compose.yaml"])
        yield HostileProject(settings, target)
    finally:
        # Killed, not stopped: a clean PostgreSQL shutdown costs 2 s, and the data goes.
        compose(tmp_path, project, "down", "-v", "--remove-orphans", "--timeout", "0")


def test_the_plugin_names_columns_by_the_display_rule(hostile_project: HostileProject) -> None:
    plugin = PostgresPlugin()
    rows = plugin.show(hostile_project.target, ViewRequest("rows", "public.hostile"))
    table = rows.sections[0]
    assert isinstance(table, Table)
    assert table.columns == SHOWN
    query = plugin.show(hostile_project.target, ViewRequest("query", QUERY)).sections[0]
    assert isinstance(query, Table)
    assert query.columns == ("a[/]b", "[@click=app.quit]x[/]", "r\\u2067l")


async def until(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pilot.app.return_code is not None:
            raise AssertionError(f"the app ended (exit code {pilot.app.return_code})")
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


def headers(pilot: Pilot[Any]) -> list[str]:
    tables = pilot.app.screen.query_one(SectionsView).query(DataTable)
    return [column.label.plain for column in tables.first().columns.values()] if tables else []


async def show_view(pilot: Pilot[Any], view: str, query: str, first_header: str) -> DataTable[Any]:
    pane = pilot.app.screen.query_one(InspectorPane)
    pane.query_one("#inspector-view", Select).value = view
    box = pane.query_one("#inspector-query", Input)
    await until(pilot, lambda: box.display)
    box.value = query
    box.focus()
    await pilot.press("enter")
    await until(pilot, lambda: headers(pilot)[:1] == [first_header])
    table: DataTable[Any] = pilot.app.screen.query_one(SectionsView).query(DataTable).first()
    return table


async def click_every_header(pilot: Pilot[Any], table: DataTable[Any]) -> None:
    x = 0
    for column in table.columns.values():
        await pilot.click(table, offset=(x + 1, 0))
        x += column.get_render_width(table)
    await pilot.pause(0.2)


async def test_the_dashboard_shows_hostile_column_names_from_rows_and_query_views(
    hostile_project: HostileProject,
) -> None:
    app = make_app(hostile_project.settings, DockerGateway())
    async with app.run_test(size=(160, 40)) as pilot:
        services = app.screen.query_one(ServicesTable)
        await until(pilot, lambda: services.row_count == 1)
        await pilot.press("i")
        await until(pilot, lambda: app.screen.query(InspectorPane))
        await until(pilot, lambda: app.screen.query_one(InspectorPane).views)

        rows = await show_view(pilot, "rows", "public.hostile", "x[/]")
        assert headers(pilot) == list(SHOWN)
        await click_every_header(pilot, rows)

        query = await show_view(pilot, "query", QUERY, "a[/]b")
        assert headers(pilot) == ["a[/]b", "[@click=app.quit]x[/]", "r\\u2067l"]
        await click_every_header(pilot, query)
        assert app.return_code is None, "the app ended"
        # What the user typed is theirs to see as typed; what came back is data.
        app.screen.query_one(InspectorPane).query_one("#inspector-query", Input).value = ""
        await pilot.pause(0.1)
        assert not RAW_BIDI_OR_INVISIBLE.search(app.export_screenshot())
