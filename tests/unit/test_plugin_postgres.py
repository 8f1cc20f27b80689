"""The PostgreSQL plugin's pure logic: cells, settings, error mapping, matching."""

from __future__ import annotations

import psycopg
import pytest

from envdeck_postgres import PostgresPlugin
from envdeck_postgres.cells import (
    BOOL_OID,
    BYTEA_OID,
    JSONB_OID,
    NULL,
    compact_json,
    render_cell,
    rows_note,
)
from envdeck_postgres.connection import ConnectionSettings, Timeouts
from envdeck_postgres.errors import inspector_error, libpq_reason
from tui.plugins.api import InspectorError, Match, Problem, ServiceTarget

TEXT_OID, TIMESTAMPTZ_OID = 25, 1184
ENV = {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "secret", "POSTGRES_DB": "appdb"}


def _target(
    image: str | None = "postgres:16",
    ports: dict[int, int] | None = None,
    environment: dict[str, str] | None = None,
    options: dict[str, object] | None = None,
) -> ServiceTarget:
    return ServiceTarget(
        service="db",
        image=image,
        host="127.0.0.1",
        ports={5432: 15432} if ports is None else ports,
        environment=ENV if environment is None else environment,
        options=options or {},
        timeout=5.0,
    )


# ---------------------------------------------------------------- cells


@pytest.mark.parametrize(
    ("value", "oid", "shown"),
    [
        (None, TEXT_OID, NULL),
        ("NULL", TEXT_OID, "NULL"),  # the text 'NULL' is not SQL NULL
        ("", TEXT_OID, ""),
        ("t", BOOL_OID, "true"),
        ("\\x0102", BYTEA_OID, "\\x0102"),
        ("\\x" + "ab" * 20, BYTEA_OID, "\\x" + "ab" * 16 + "… (20 bytes)"),
        ('{"a": [1, 2.50], "b": "x y"}', JSONB_OID, '{"a":[1,2.50],"b":"x y"}'),
        ("2024-05-06 07:08:09.5+02", TIMESTAMPTZ_OID, "2024-05-06T07:08:09.5+02"),
        ("infinity", TIMESTAMPTZ_OID, "infinity"),
        ("line\nbreak \x1b]0;title\x07", TEXT_OID, "line␊break ␛]0;title␇"),
        ("[bold]red[/]", TEXT_OID, "[bold]red[/]"),
    ],
)
def test_render_cell(value: str | None, oid: int, shown: str) -> None:
    assert render_cell(value, oid) == shown


def test_long_text_is_cut_and_says_how_long_it_was() -> None:
    assert render_cell("é" * 10_000, TEXT_OID) == "é" * 200 + "… (10,000 chars)"


def test_compact_json_leaves_strings_and_numbers_exactly_as_they_are() -> None:
    text = '{"k": "a \\" b : , ", "n": 12345678901234567890.10, "e": [ ]}'
    assert compact_json(text) == '{"k":"a \\" b : , ","n":12345678901234567890.10,"e":[]}'


def test_rows_note() -> None:
    assert rows_note(0, 0, False) == "no rows"
    assert rows_note(100, 50, False, 150) == "rows 101-150 of about 150"
    assert rows_note(0, 100, True, -1) == "rows 1-100, more on the next page"


# ---------------------------------------------------------------- settings


def test_settings_from_the_compose_environment_and_options() -> None:
    settings = ConnectionSettings.from_target(_target())
    assert (settings.port, settings.user, settings.password, settings.dbname) == (
        15432,
        "app",
        "secret",
        "appdb",
    )
    configured = ConnectionSettings.from_target(
        _target(options={"password": "other", "port": 6543, "dbname": "x"})
    )
    assert (configured.port, configured.password, configured.dbname) == (6543, "other", "x")
    assert configured.password_source == "`password` option"


def test_defaults_follow_the_official_image() -> None:
    settings = ConnectionSettings.from_target(_target(environment={}))
    assert (settings.user, settings.dbname, settings.password) == ("postgres", "postgres", "")
    assert "password" not in settings.connect_kwargs(read_only=True)


def test_no_published_port_is_down_and_says_where_to_set_one() -> None:
    with pytest.raises(InspectorError) as caught:
        ConnectionSettings.from_target(_target(ports={}))
    assert caught.value.problem is Problem.DOWN
    assert "[tool.envdeck.services.db]" in str(caught.value)


def test_every_connection_is_bounded_and_inspection_is_read_only() -> None:
    settings = ConnectionSettings.from_target(_target())
    read_only = settings.connect_kwargs(read_only=True)
    assert read_only["connect_timeout"] == 5
    assert read_only["application_name"] == "envdeck"
    for option in ("statement_timeout=5000", "lock_timeout=2500"):
        assert f"-c {option}" in read_only["options"]
    assert "idle_in_transaction_session_timeout=10000" in read_only["options"]
    assert "default_transaction_read_only=on" in read_only["options"]
    assert "read_only" not in settings.connect_kwargs(read_only=False)["options"]


def test_libpq_connect_timeout_is_whole_seconds_and_at_least_two() -> None:
    assert Timeouts.for_budget(0.5).connect_s == 2
    assert Timeouts.for_budget(2.5).connect_s == 3


# ---------------------------------------------------------------- errors

SETTINGS = ConnectionSettings.from_target(_target())
FAILED = 'connection failed: connection to server at "127.0.0.1", port 15432 failed: '


@pytest.mark.parametrize(
    ("error", "problem", "says"),
    [
        (
            psycopg.OperationalError(FAILED + "Connection refused\n\tIs the server running?"),
            Problem.DOWN,
            "connection refused",
        ),
        (
            psycopg.OperationalError(FAILED + 'FATAL:  password authentication failed for "app"'),
            Problem.AUTH,
            "[tool.envdeck.services.db]",
        ),
        (
            psycopg.OperationalError(FAILED + "fe_sendauth: no password supplied"),
            Problem.AUTH,
            "'app'",
        ),
        (
            psycopg.OperationalError(FAILED + "FATAL:  the database system is starting up"),
            Problem.REFUSED,
            "starting up",
        ),
        (psycopg.errors.ConnectionTimeout("connection timeout expired"), Problem.TIMEOUT, "5 s"),
        (
            psycopg.OperationalError("server closed the connection unexpectedly"),
            Problem.DOWN,
            "closed",
        ),
        (psycopg.errors.QueryCanceled("canceling statement"), Problem.TIMEOUT, "statement_timeout"),
        (psycopg.errors.LockNotAvailable("could not obtain lock"), Problem.TIMEOUT, "lock_timeout"),
        (
            psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT"),
            Problem.REFUSED_QUERY,
            "read-only",
        ),
        (psycopg.errors.AdminShutdown("terminating connection"), Problem.DOWN, "went away"),
        (psycopg.errors.UndefinedTable('relation "x" does not exist'), Problem.ERROR, '"x"'),
    ],
)
def test_failures_map_to_problems(error: psycopg.Error, problem: Problem, says: str) -> None:
    mapped = inspector_error(error, SETTINGS)
    assert mapped.problem is problem
    assert says in str(mapped)
    assert "secret" not in str(mapped)


def test_libpq_reason_drops_the_preamble() -> None:
    assert libpq_reason(FAILED + 'FATAL:  role "x" does not exist') == 'role "x" does not exist'


# ---------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("image", "ports", "match"),
    [
        ("postgres:15-alpine", {}, Match.IMAGE),
        ("docker.io/postgis/postgis:16-3.4", {}, Match.IMAGE),
        ("pgvector/pgvector:pg16", {}, Match.IMAGE),
        ("timescale/timescaledb:latest-pg16", {}, Match.IMAGE),
        ("envdeck-base:bookworm", {5432: 5432}, Match.PORT),
        ("redis:7", {6379: 6379}, Match.NO),
        (None, {}, Match.NO),
    ],
)
def test_matches(image: str | None, ports: dict[int, int], match: Match) -> None:
    assert PostgresPlugin().matches(_target(image=image, ports=ports)) is match
