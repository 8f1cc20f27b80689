"""The PostgreSQL plugin against the sample environment's real server.

Other tests use this server at the same time: everything here lives in a schema of its
own (dropped at the end, with a lock_timeout), public.documents is only ever read, and
the one server this file stops is a throwaway container of its own.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from docker.models.containers import Container
from psycopg import sql
from psycopg.types.json import Jsonb

from envdeck_postgres import PostgresPlugin
from tests.conftest import SampleEnv
from tests.integration.conftest import eventually
from tui.core.plugin_registry import PluginRegistry, build_target
from tui.plugins.api import (
    InspectorError,
    KeyValues,
    Problem,
    ServiceTarget,
    Table,
    ViewRequest,
    ViewResult,
)

PLUGIN = PostgresPlugin()
T = TypeVar("T")
Connection = psycopg.Connection[tuple[Any, ...]]


# ---------------------------------------------------------------- helpers


def _connect(target: ServiceTarget, *, autocommit: bool = True, **kwargs: Any) -> Connection:
    """A test's own connection (not the plugin's), always with deadlines."""
    return psycopg.connect(
        host=target.host,
        port=target.host_port(5432),
        user=target.environment["POSTGRES_USER"],
        password=target.environment["POSTGRES_PASSWORD"],
        dbname=target.environment["POSTGRES_DB"],
        connect_timeout=5,
        options="-c lock_timeout=5000 -c statement_timeout=20000",
        autocommit=autocommit,
        **kwargs,
    )


def _section(result: ViewResult, title: str) -> Table:
    for section in result.sections:
        if isinstance(section, Table) and section.title == title:
            return section
    raise AssertionError(f"no table {title!r} in {[s.title for s in result.sections]}")


def _column(table: Table, name: str) -> list[str]:
    index = table.columns.index(name)
    return [row[index] for row in table.rows]


def _problem(call: Callable[[], object]) -> InspectorError:
    with pytest.raises(InspectorError) as caught:
        call()
    return caught.value


def _count(conn: Connection, table: sql.Composable) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
    assert row is not None
    return int(row[0])


def _drop_schema(target: ServiceTarget, schema: str) -> None:
    with _connect(target) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def target(sample_env: SampleEnv) -> ServiceTarget:
    return build_target(sample_env.environment.project.services["postgres"], None)


@pytest.fixture(scope="module")
def schema(target: ServiceTarget) -> Iterator[str]:
    """This file's own schema; nothing else on the shared server is written."""
    name = f"envdeck_test_{uuid.uuid4().hex[:8]}"
    with _connect(target) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    yield name
    _drop_schema(target, name)


@pytest.fixture
def admin(target: ServiceTarget) -> Iterator[Connection]:
    with _connect(target) as conn:
        yield conn


# ---------------------------------------------------------------- views


def test_the_registry_picks_this_plugin_for_the_sample_postgres(sample_env: SampleEnv) -> None:
    spec = sample_env.environment.project.services["postgres"]
    plugin = PluginRegistry().for_target(build_target(spec, None))
    assert plugin is not None
    assert plugin.name == "postgres"
    assert isinstance(plugin, PostgresPlugin)


def test_overview_shows_version_databases_and_sessions(
    target: ServiceTarget, admin: Connection
) -> None:
    app = f"envdeck-test-{uuid.uuid4().hex[:8]}"
    with _connect(target, application_name=app) as other:
        result = PLUGIN.show(target, ViewRequest("overview"))
        other_pid = str(other.info.backend_pid)

    server = result.sections[0]
    assert isinstance(server, KeyValues)
    items = dict(server.items)
    assert items["version"] == admin.info.parameter_status("server_version")
    assert re.fullmatch(r"(\d+ days? )?\d\d:\d\d:\d\d", items["uptime"])
    databases = _section(result, "Databases")
    sizes = dict(zip(_column(databases, "name"), _column(databases, "size"), strict=True))
    assert re.fullmatch(r"\d+ (bytes|kB|MB|GB)", sizes["test_crawl4ai"])
    assert "plpgsql" in _column(_section(result, "Extensions"), "name")
    sessions = _section(result, "Sessions")
    mine = [row for row in sessions.rows if row[0] == other_pid]
    assert len(mine) == 1
    assert mine[0][sessions.columns.index("application")] == app
    assert mine[0][sessions.columns.index("user")] == "test_user"


def test_tables_view_shows_estimates_and_sizes_without_waiting_for_locks(
    target: ServiceTarget, schema: str, admin: Connection
) -> None:
    analyzed, fresh = sql.Identifier(schema, "analyzed"), sql.Identifier(schema, "fresh")
    admin.execute(sql.SQL("CREATE TABLE {} (id int)").format(analyzed))
    admin.execute(sql.SQL("INSERT INTO {} SELECT generate_series(1, 1000)").format(analyzed))
    admin.execute(sql.SQL("ANALYZE {}").format(analyzed))
    admin.execute(sql.SQL("CREATE TABLE {} (id int)").format(fresh))

    tables = _section(PLUGIN.show(target, ViewRequest("tables", limit=10_000)), "Tables")
    ours = {row[1]: row for row in tables.rows if row[0] == schema}
    assert ours["analyzed"][2:4] == ("table", "1,000")
    assert ours["fresh"][3] == "?"  # never analyzed: no estimate, and no COUNT(*)
    assert re.fullmatch(r"\d+ (bytes|kB)", ours["analyzed"][4])

    # Someone holds ACCESS EXCLUSIVE: the view answers at once and says so.
    with _connect(target, autocommit=False) as holder:
        holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(fresh))
        started = time.monotonic()
        tables = _section(PLUGIN.show(target, ViewRequest("tables", limit=10_000)), "Tables")
        assert time.monotonic() - started < 2.0
        ours = {row[1]: row for row in tables.rows if row[0] == schema}
        assert ours["fresh"][4] == "locked"
        quick = replace(target, timeout=2.0)
        locked = _problem(lambda: PLUGIN.show(quick, ViewRequest("rows", f"{schema}.fresh")))
        assert locked.problem is Problem.TIMEOUT
        assert "lock" in str(locked)
        holder.rollback()


HOSTILE_VALUES = (
    "[bold]x[/bold]",
    "\x1b]0;x\x07",
)


def test_hostile_names_and_values_come_back_safely_and_once(
    target: ServiceTarget, schema: str, admin: Connection
) -> None:
    canary = sql.Identifier(schema, "x")
    admin.execute(sql.SQL("CREATE TABLE {} (id int)").format(canary))
    injection = f"; DROP TABLE {schema}.x; --"
    name = f't "q" ünï{injection}'
    columns = ["id", f'"{injection}', 'sp ace "q" 名前', "big", "bin", "doc", "at", "[bold]"]
    types = ["int", "text", "text", "text", "bytea", "jsonb", "timestamptz", "text"]
    table = sql.Identifier(schema, name)
    definition = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(kind))
        for column, kind in zip(columns, types, strict=True)
    )
    admin.execute(sql.SQL("CREATE TABLE {} ({})").format(table, definition))
    insert = sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(table)
    stamp = "2024-05-06 07:08:09+00"
    doc = Jsonb({"k": "v [bold]", "n": [1, 2]})
    admin.execute(insert, (1, "NULL", "ünï 名前 🙂", "a" * 5_000_000, bytes(range(100)), doc,
                           stamp, HOSTILE_VALUES[0]))  # fmt: skip
    admin.execute(insert, (2, None, None, None, b"\x01\x02", None, None, HOSTILE_VALUES[1]))

    quoted = table.as_string(admin)
    for query in (quoted, f"{schema}.{name}"):
        result = PLUGIN.show(target, ViewRequest("rows", query))
        shown = result.sections[0]
        assert isinstance(shown, Table)
        assert shown.columns == tuple(columns)
        assert [row[0] for row in shown.rows] == ["1", "2"]  # each row exactly once
        first, second = shown.rows
        assert first[1:3] == ("NULL", "ünï 名前 🙂")  # the text 'NULL' ...
        assert second[1:4] == ("∅", "∅", "∅")  # ... is not SQL NULL
        assert first[3] == "a" * 200 + "… (5,000,000 chars)"
        assert first[4] == "\\x" + bytes(range(16)).hex() + "… (100 bytes)"
        assert second[4] == "\\x0102"
        assert first[5] == '{"k":"v [bold]","n":[1,2]}'
        assert re.fullmatch(r"2024-05-0\dT\d\d:08:09[+-]\d\d(:\d\d)?", first[6])
        assert first[7] == "[bold]x[/bold]"  # plain text: markup is the renderer's business
        assert second[7] == "␛]0;x␇"  # no control character reaches a terminal
        assert all(isinstance(cell, str) for row in shown.rows for cell in row)

    # The query box pages through the same rows, one at a time.
    select = sql.SQL("SELECT * FROM {} ORDER BY 1").format(table).as_string(admin)
    page = PLUGIN.show(target, ViewRequest("query", select, limit=1))
    assert page.next_cursor == "1"
    page = PLUGIN.show(target, ViewRequest("query", select, limit=1, cursor=page.next_cursor))
    assert page.next_cursor is None
    assert isinstance(page.sections[0], Table)
    assert [row[0] for row in page.sections[0].rows] == ["2"]

    for unknown in (f"{schema}.nope", f"x{injection}", f'"{injection}'):
        with pytest.raises(InspectorError) as caught:
            PLUGIN.show(target, ViewRequest("rows", unknown))
        assert caught.value.problem is Problem.ERROR
    assert _count(admin, canary) == 0  # the canary table is still there


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO {schema}.kept VALUES (2)",
        "UPDATE {schema}.kept SET id = 3",
        "DELETE FROM {schema}.kept",
        "CREATE TABLE {schema}.created (id int)",
        "SELECT nextval('{schema}.counter')",
        "SET TRANSACTION READ WRITE",  # too late: the snapshot is already taken
    ],
)
def test_writes_in_the_query_box_are_refused_by_postgres(
    target: ServiceTarget, schema: str, admin: Connection, statement: str
) -> None:
    kept = sql.Identifier(schema, "kept")
    admin.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (id int)").format(kept))
    admin.execute(
        sql.SQL("CREATE SEQUENCE IF NOT EXISTS {}").format(sql.Identifier(schema, "counter"))
    )
    admin.execute(sql.SQL("TRUNCATE {}").format(kept))
    admin.execute(sql.SQL("INSERT INTO {} VALUES (1)").format(kept))

    query = statement.format(schema=schema)
    error = _problem(lambda: PLUGIN.show(target, ViewRequest("query", query)))
    assert error.problem is Problem.REFUSED_QUERY
    assert "read-only" in str(error)
    assert admin.execute(sql.SQL("SELECT id FROM {}").format(kept)).fetchall() == [(1,)]
    created = admin.execute("SELECT to_regclass(%s)", (f"{schema}.created",)).fetchone()
    assert created == (None,)


def test_one_statement_at_a_time(target: ServiceTarget, schema: str, admin: Connection) -> None:
    admin.execute(sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(schema, "two")))
    query = f"SELECT 1; DROP TABLE {schema}.two"
    error = _problem(lambda: PLUGIN.show(target, ViewRequest("query", query)))
    assert error.problem is Problem.ERROR
    assert admin.execute("SELECT to_regclass(%s)", (f"{schema}.two",)).fetchone() != (None,)


def test_a_long_query_is_cancelled_by_statement_timeout(
    target: ServiceTarget, admin: Connection
) -> None:
    quick = replace(target, timeout=2.0)
    sleep = f"SELECT pg_sleep(30) /* {uuid.uuid4().hex} */"  # this test's own, to find it
    started = time.monotonic()
    error = _problem(lambda: PLUGIN.show(quick, ViewRequest("query", sleep)))
    elapsed = time.monotonic() - started
    assert error.problem is Problem.TIMEOUT
    assert elapsed < 4.0, f"took {elapsed:.1f} s for a 2 s budget"

    def gone() -> bool | None:
        rows = admin.execute(
            "SELECT 1 FROM pg_stat_activity WHERE query = %s AND state = 'active'", (sleep,)
        ).fetchall()
        return True if not rows else None

    eventually(gone, "the cancelled query gone from the server", timeout=3.0)


def test_a_session_waiting_on_a_lock_is_listed_with_its_blocker(
    target: ServiceTarget, schema: str, admin: Connection
) -> None:
    table = sql.Identifier(schema, "contended")
    admin.execute(sql.SQL("CREATE TABLE {} (id int)").format(table))
    with _connect(target, autocommit=False) as holder, _connect(target) as waiter:
        # SHARE blocks the INSERT below but not readers: others' reads never queue.
        holder.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(table))
        waiter_pid, holder_pid = str(waiter.info.backend_pid), str(holder.info.backend_pid)
        insert = sql.SQL("INSERT INTO {} VALUES (1)").format(table)
        blocked = threading.Thread(target=waiter.execute, args=(insert,), daemon=True)
        blocked.start()
        try:

            def waiting_row() -> tuple[str, ...] | None:
                waiting = _section(PLUGIN.show(target, ViewRequest("overview")), "Waiting locks")
                return next((row for row in waiting.rows if row[0] == waiter_pid), None)

            row = eventually(waiting_row, "the blocked INSERT among the waiting locks")
        finally:
            holder.rollback()
            blocked.join(timeout=10)
        assert not blocked.is_alive()
    columns = ("pid", "user", "lock", "mode", "on", "blocked by", "waiting", "query")
    shown = dict(zip(columns, row, strict=True))
    assert shown["blocked by"] == holder_pid
    assert shown["mode"] == "RowExclusiveLock"
    assert shown["on"] == f"{schema}.contended"
    assert shown["query"].startswith("INSERT INTO")


def test_wrong_or_missing_credentials_are_auth_errors(target: ServiceTarget) -> None:
    wrong = replace(target, options={"password": "not-the-password"})
    error = _problem(lambda: PLUGIN.show(wrong, ViewRequest("overview")))
    assert error.problem is Problem.AUTH
    assert "test_user" in str(error)
    assert "[tool.envdeck.services.postgres]" in str(error)

    env = {k: v for k, v in target.environment.items() if k != "POSTGRES_PASSWORD"}
    error = _problem(lambda: PLUGIN.show(replace(target, environment=env), ViewRequest("overview")))
    assert error.problem is Problem.AUTH
    assert "no password supplied" in str(error)


# ---------------------------------------------------------------- a server that goes away


def _show_or_problem(target: ServiceTarget, request: ViewRequest) -> ViewResult | Problem:
    try:
        return PLUGIN.show(target, request)
    except InspectorError as error:
        return error.problem


def test_a_server_stopped_mid_inspection_is_down(
    throwaway: tuple[ServiceTarget, Container],
) -> None:
    target, container = throwaway

    def ready() -> bool | None:
        answer = _show_or_problem(target, ViewRequest("overview"))
        return True if isinstance(answer, ViewResult) else None

    eventually(ready, "the throwaway PostgreSQL ready", timeout=60)
    outcome: list[ViewResult | Problem] = []
    slow = replace(target, timeout=30.0)
    sleeping = threading.Thread(
        target=lambda: outcome.append(
            _show_or_problem(slow, ViewRequest("query", "SELECT pg_sleep(20)"))
        ),
        daemon=True,
    )
    sleeping.start()

    def sleep_running() -> bool | None:
        sessions = _section(PLUGIN.show(target, ViewRequest("overview")), "Sessions")
        return True if any("pg_sleep" in row[-1] for row in sessions.rows) else None

    eventually(sleep_running, "the long query running")
    # Killed: PostgreSQL's SIGTERM (smart shutdown) waits for the sleeping session, so a
    # stop always ended in a SIGKILL after its timeout anyway.
    container.kill()
    sleeping.join(timeout=15)
    assert outcome, "the query neither returned nor failed"
    assert outcome[0] in (Problem.DOWN, Problem.REFUSED), outcome
    assert _show_or_problem(target, ViewRequest("overview")) in (Problem.DOWN, Problem.REFUSED)


# ---------------------------------------------------------------- actions


def test_truncate_schema_empties_that_schema_only(
    target: ServiceTarget, schema: str, admin: Connection
) -> None:
    emptied = f"{schema}_trunc"
    try:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(emptied)))
        parent, child = sql.Identifier(emptied, "parent"), sql.Identifier(emptied, "child")
        kept = sql.Identifier(schema, "untouched")
        admin.execute(sql.SQL("CREATE TABLE {} (id serial PRIMARY KEY)").format(parent))
        admin.execute(
            sql.SQL("CREATE TABLE {} (id serial, parent int REFERENCES {})").format(child, parent)
        )
        admin.execute(sql.SQL("INSERT INTO {} SELECT FROM generate_series(1, 3)").format(parent))
        admin.execute(sql.SQL("INSERT INTO {} (parent) VALUES (1), (2)").format(child))
        admin.execute(sql.SQL("CREATE TABLE {} AS SELECT 1 AS id").format(kept))
        documents = _count(admin, sql.Identifier("public", "documents"))

        message = PLUGIN.run_action(target, "truncate_schema", {"schema": emptied})

        assert "child" in message
        assert "parent" in message
        assert _count(admin, parent) == 0
        assert _count(admin, child) == 0
        restarted = admin.execute(
            sql.SQL("INSERT INTO {} DEFAULT VALUES RETURNING id").format(parent)
        )
        assert restarted.fetchone() == (1,)
        assert _count(admin, kept) == 1
        assert _count(admin, sql.Identifier("public", "documents")) == documents
    finally:
        _drop_schema(target, emptied)

    refused = _problem(
        lambda: PLUGIN.run_action(target, "truncate_schema", {"schema": "pg_catalog"})
    )
    assert refused.problem is Problem.ERROR


def test_run_sql_file_runs_in_one_transaction(
    target: ServiceTarget, schema: str, admin: Connection, tmp_path: Path
) -> None:
    seed = tmp_path / "seed.sql"
    seed.write_text(
        f"CREATE TABLE {schema}.seeded (note text);\n"
        f"INSERT INTO {schema}.seeded VALUES ('50% off; really'), ($$it's$$);\n"
        "DO $$ BEGIN PERFORM 1; END $$;\n",
        encoding="utf-8",
    )
    message = PLUGIN.run_action(target, "run_sql_file", {"path": str(seed)})
    assert "committed" in message
    assert "INSERT 0 2" in message
    notes = admin.execute(
        sql.SQL("SELECT note FROM {} ORDER BY 1").format(sql.Identifier(schema, "seeded"))
    )
    assert notes.fetchall() == [("50% off; really",), ("it's",)]

    broken = tmp_path / "broken.sql"
    broken.write_text(
        f"CREATE TABLE {schema}.vanishes (id int);\n\n"
        f"INSERT INTO {schema}.vanishes (nope) VALUES (1);\n",
        encoding="utf-8",
    )
    error = _problem(lambda: PLUGIN.run_action(target, "run_sql_file", {"path": str(broken)}))
    assert error.problem is Problem.ERROR
    assert 'column "nope"' in str(error)
    assert "line 3" in str(error)
    assert admin.execute("SELECT to_regclass(%s)", (f"{schema}.vanishes",)).fetchone() == (None,)
