"""envdeck's PostgreSQL inspector: databases, tables, sessions, read-only queries.

Views: "overview" (server, databases, extensions, sessions, waiting locks), "tables"
(estimated rows and sizes, no COUNT(*)), "rows" (a table's first rows) and "query" (one
statement in a READ ONLY transaction). Actions: "truncate_schema" and "run_sql_file".
Connection settings come from [tool.envdeck.services.<name>] (`user`, `password`,
`dbname`, `port`) or the service's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB.
How values are shown (NULL as `∅`, bytea, JSON...) is described in `cells`.

It is also a StatefulPlugin (saved states as template databases in the server itself, for
envdeck's reset and snapshots: see `state`) and a SeedablePlugin (a SQL file in one
transaction: see `seed`), and a DiffablePlugin (what one test changed: see `diff`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from envdeck_postgres import actions, browse, overview, seed, state
from envdeck_postgres.connection import POSTGRES_PORT
from envdeck_postgres.diff import PostgresDiffWatch
from envdeck_postgres.session import open_session
from tui.plugins.api import (
    Action,
    InspectorError,
    Match,
    Problem,
    SavedState,
    ServiceTarget,
    StateRef,
    View,
    ViewRequest,
    ViewResult,
    image_or_port_match,
)

__all__ = ["PostgresPlugin"]

# Images that are PostgreSQL underneath (the part of the name after the last `/`).
POSTGRES_IMAGES = frozenset(
    {
        "postgres",
        "postgresql",
        "postgis",
        "pgvector",
        "timescaledb",
        "timescaledb-ha",
        "timescaledb-postgis",
        "citus",
        "paradedb",
        "postgresql-repmgr",
    }
)
VIEWS = (
    View("overview", "Overview"),
    View("tables", "Tables"),
    View("rows", "Rows", takes_query=True, query_hint="a table, e.g. public.documents"),
    View("query", "Query", takes_query=True, query_hint="one read-only SQL statement"),
)
ACTIONS = (
    Action(
        "truncate_schema",
        "Truncate every table of a schema (RESTART IDENTITY CASCADE)",
        destructive=True,
        params=("schema",),
    ),
    Action(
        "run_sql_file",
        "Run a SQL file from this machine in one transaction",
        destructive=True,
        params=("path",),
    ),
)


class PostgresPlugin:
    name: ClassVar[str] = "postgres"
    title: ClassVar[str] = "PostgreSQL"

    def matches(self, target: ServiceTarget) -> Match:
        return image_or_port_match(target, POSTGRES_IMAGES, POSTGRES_PORT)

    def views(self, target: ServiceTarget) -> Sequence[View]:
        return VIEWS

    def show(self, target: ServiceTarget, request: ViewRequest) -> ViewResult:
        limit = max(1, request.limit)
        offset = _offset(request.cursor)
        with open_session(target) as session:
            if request.view == "overview":
                return overview.overview(session, limit)
            if request.view == "tables":
                return overview.tables(session, limit, offset)
            if request.view == "rows":
                return browse.first_rows(session, request.query, limit, offset)
            if request.view == "query":
                return browse.run_query(session, request.query, limit, offset)
        raise InspectorError(Problem.ERROR, f"unknown view {request.view!r}")

    def actions(self, target: ServiceTarget) -> Sequence[Action]:
        return ACTIONS

    def run_action(self, target: ServiceTarget, action: str, params: Mapping[str, str]) -> str:
        if action == "truncate_schema":
            schema = _param(params, "schema")
            with open_session(target, read_only=False) as session:
                return actions.truncate_schema(session, schema)
        if action == "run_sql_file":
            path = _param(params, "path")
            with open_session(target, read_only=False) as session:
                return actions.run_sql_file(session, path)
        raise InspectorError(Problem.ERROR, f"unknown action {action!r}")

    # ------------------------------------------------------------ StatefulPlugin

    def save_state(self, target: ServiceTarget, ref: StateRef) -> SavedState:
        return state.save_state(target, ref)

    def restore_state(self, target: ServiceTarget, ref: StateRef) -> str:
        return state.restore_state(target, ref)

    def state_exists(self, target: ServiceTarget, ref: StateRef) -> bool:
        return state.state_exists(target, ref)

    def delete_state(self, target: ServiceTarget, ref: StateRef) -> None:
        state.delete_state(target, ref)

    def begin_diff(self, target: ServiceTarget, before: StateRef) -> PostgresDiffWatch:
        return PostgresDiffWatch(target, before)

    def fingerprint(self, target: ServiceTarget) -> str:
        return state.fingerprint(target)

    # ------------------------------------------------------------ SeedablePlugin

    def apply_seed(self, target: ServiceTarget, path: Path) -> str:
        return seed.apply_seed(target, path)


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit():
        raise InspectorError(Problem.ERROR, f"not a page cursor of this plugin: {cursor!r}")
    return int(cursor)


def _param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise InspectorError(Problem.ERROR, f"this action needs a {name}")
    return value
