"""Connections for saved states: the maintenance database, fixed output, bulk timeouts.

Time. Every statement uses `target.timeout`, except those that move or read data in bulk:
a copy and a table's hash get `target.timeout` plus 1 s for every 10 MiB they touch (a
busy disk: the 100 MB test database took 6 s to hash under a load of 8 on 2 cores), and a
DROP DATABASE, whose checkpoint writes out what is in shared buffers, that for 128 MiB.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import psycopg

from envdeck_postgres.connection import ConnectionSettings
from envdeck_postgres.errors import inspector_error
from envdeck_postgres.session import TEXT_ONLY
from tui.plugins.api import InspectorError, Problem

Connection = psycopg.Connection[tuple[Any, ...]]

MAINTENANCE = "postgres"
FALLBACK_MAINTENANCE = "template1"
MIN_SERVER_VERSION = 130000  # DROP DATABASE … WITH (FORCE)
BYTES_PER_S = 10 * 2**20  # pessimistic throughput (a busy disk) for size-scaled timeouts
# Every output that depends on a setting is fixed, whatever the database sets.
STABLE_OUTPUT = (
    "search_path=pg_catalog",
    "TimeZone=UTC",
    "IntervalStyle=postgres",
    "extra_float_digits=1",
    "lc_monetary=C",
    "row_security=off",  # never a silently filtered read: an error instead
)


@contextlib.contextmanager
def errors(settings: ConnectionSettings) -> Iterator[None]:
    """psycopg failures as the InspectorErrors the rest of the plugin raises."""
    try:
        yield
    except psycopg.Error as error:
        raise inspector_error(error, settings) from None


def connect(settings: ConnectionSettings, dbname: str, *, read_only: bool = False) -> Connection:
    """A connection to `dbname` with the plugin's timeouts and fixed output settings."""
    kwargs = replace(settings, dbname=dbname).connect_kwargs(read_only)
    kwargs["options"] += "".join(f" -c {option}" for option in STABLE_OUTPUT)
    return psycopg.connect(**kwargs, autocommit=True, prepare_threshold=None, context=TEXT_ONLY)


def connect_maintenance(settings: ConnectionSettings) -> Connection:
    """A connection to `postgres`, or template1 when there is no `postgres`."""
    try:
        conn = connect(settings, MAINTENANCE)
    except psycopg.OperationalError as error:
        if f'database "{MAINTENANCE}" does not exist' not in str(error):
            raise
        conn = connect(settings, FALLBACK_MAINTENANCE)
    version = conn.info.server_version
    if version < MIN_SERVER_VERSION:
        conn.close()
        raise InspectorError(
            Problem.ERROR, f"saved states need PostgreSQL 13 or later (this is {version})"
        )
    return conn


def set_timeout(conn: Connection, settings: ConnectionSettings, size_bytes: int) -> None:
    """The call's timeout, plus time for the data a bulk statement moves or reads."""
    ms = settings.timeouts.statement_ms + int(size_bytes * 1000 / BYTES_PER_S)
    conn.execute("SELECT set_config('statement_timeout', %s, false)", (str(ms),))


@contextlib.contextmanager
def bulk_timeout(conn: Connection, settings: ConnectionSettings, size_bytes: int) -> Iterator[None]:
    """Statements inside get time for `size_bytes` more; the call's timeout after."""
    set_timeout(conn, settings, size_bytes)
    try:
        yield
    finally:
        set_timeout(conn, settings, 0)


def database_sizes(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """pg_database_size of those of `names` that exist."""
    rows = conn.execute(
        "SELECT datname, pg_database_size(oid) FROM pg_database WHERE datname = ANY(%s)",
        (list(names),),
    ).fetchall()
    return {row[0]: int(row[1]) for row in rows}
