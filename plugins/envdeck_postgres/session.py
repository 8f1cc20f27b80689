"""One short-lived, bounded connection per plugin call.

Every call opens its own connection and closes it: no state survives between calls, so a
`SET` typed into the query box cannot leak into the next one. Each statement gets what is
left of the call's `target.timeout` as its statement_timeout; lock_timeout and
idle_in_transaction_session_timeout keep envdeck from queueing behind, or holding up,
anyone else's work.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.abc import Params, QueryNoTemplate
from psycopg.adapt import AdaptersMap
from psycopg.types.string import TextLoader

from envdeck_postgres.connection import ConnectionSettings
from envdeck_postgres.errors import inspector_error
from tui.plugins.api import InspectorError, Problem, ServiceTarget

Row = tuple[str | None, ...]


def _text_only_adapters() -> AdaptersMap:
    """Load every built-in type as PostgreSQL's text output: rendering works on strings
    and nothing fails on values Python cannot hold (`infinity`, year 0, NaN...)."""
    adapters = AdaptersMap(psycopg.adapters)
    for info in psycopg.adapters.types:
        adapters.register_loader(info.oid, TextLoader)
        if info.array_oid:
            adapters.register_loader(info.array_oid, TextLoader)
    return adapters


TEXT_ONLY = _text_only_adapters()


class Session:
    """A connection with a deadline: every statement is bounded by the time left."""

    def __init__(
        self, conn: psycopg.Connection[Any], settings: ConnectionSettings, deadline: float
    ):
        self.conn = conn
        self.settings = settings
        self._deadline = deadline  # time.monotonic() by which the whole call must be done

    @property
    def server_version(self) -> int:
        return self.conn.info.server_version

    def budget(self) -> None:
        """Give the next statement what is left of the call's time, never more. Being a
        SELECT, it also takes the transaction's snapshot: after it, `SET TRANSACTION
        READ WRITE` is refused by the server."""
        left_ms = int((self._deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            raise InspectorError(
                Problem.TIMEOUT,
                f"ran out of time ({self.settings.timeouts.statement_ms} ms for this call)",
            )
        self.conn.execute("SELECT set_config('statement_timeout', %s, false)", (str(left_ms),))

    def rows(self, query: QueryNoTemplate, params: Params | None = None) -> list[Row]:
        self.budget()
        return list(self.conn.execute(query, params).fetchall())

    def one(self, query: QueryNoTemplate, params: Params | None = None) -> Row:
        rows = self.rows(query, params)
        return rows[0] if rows else ()

    @contextmanager
    def read_only(self) -> Iterator[None]:
        """A READ ONLY transaction, said explicitly even though the session default is
        already read-only: the server refuses every write inside it."""
        with self.conn.transaction():
            self.conn.execute("SET TRANSACTION READ ONLY")
            yield

    @contextmanager
    def read_write(self) -> Iterator[None]:
        with self.conn.transaction():
            yield


@contextmanager
def open_session(target: ServiceTarget, *, read_only: bool = True) -> Iterator[Session]:
    """A bounded connection to the target; every psycopg failure becomes an
    InspectorError that says what happened and what to do."""
    settings = ConnectionSettings.from_target(target)
    deadline = time.monotonic() + settings.timeouts.statement_ms / 1000
    try:
        conn = psycopg.connect(
            **settings.connect_kwargs(read_only),
            autocommit=True,  # transactions are opened explicitly, as read-only ones
            prepare_threshold=None,  # nothing prepared: also works behind a pooler
            context=TEXT_ONLY,
        )
    except psycopg.Error as error:
        raise inspector_error(error, settings) from None
    try:
        with conn:
            yield Session(conn, settings, deadline)
    except psycopg.Error as error:
        raise inspector_error(error, settings) from None


def columns_of(cursor: psycopg.Cursor[Any]) -> Sequence[tuple[str, int]]:
    return [(column.name, column.type_code) for column in cursor.description or ()]
