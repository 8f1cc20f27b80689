"""A table's first rows, and the read-only query box.

Both run inside a READ ONLY transaction. Table names are looked up in the catalog and
composed with `sql.Identifier`, never formatted into SQL text. Paging is by OFFSET: the
page cursor is the number of rows already shown.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
from itertools import islice
from typing import cast

import psycopg
from psycopg import sql

from envdeck_postgres.cells import plain, render_cell, rows_note
from envdeck_postgres.session import Row, Session, columns_of
from tui.plugins.api import InspectorError, Problem, Table, TextBlock, ViewResult

COLUMN_NAME_CHARS = 60
# Relations one can SELECT from: tables, partitioned tables, views, matviews, foreign.
FIND_BY_NAME_SQL = """
SELECT n.nspname, c.relname, c.reltuples::bigint,
       n.nspname || '.' || c.relname = %(name)s AS qualified,
       pg_table_is_visible(c.oid) AS visible
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND (c.relname = %(name)s OR n.nspname || '.' || c.relname = %(name)s)
ORDER BY qualified DESC, visible DESC, n.nspname
"""
# PostgreSQL's own parsing of a name: quotes, case folding, the search_path.
FIND_BY_REGCLASS_SQL = """
SELECT n.nspname, c.relname, c.reltuples::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
"""
# to_regclass raises on malformed names (bad quoting, too many dots, another database).
NOT_A_NAME_STATES = {"42601", "42602", "0A000"}


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    estimate: int  # the planner's reltuples; negative: never analyzed

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"


def first_rows(session: Session, name: str, limit: int, offset: int) -> ViewResult:
    if not name.strip():
        raise InspectorError(Problem.ERROR, "type a table name, e.g. public.documents")
    with session.read_only():
        relation = find_relation(session, name)
        select = sql.SQL("SELECT * FROM {} LIMIT %s OFFSET %s").format(
            sql.Identifier(relation.schema, relation.name)
        )
        session.budget()
        cursor = session.conn.execute(select, (limit + 1, offset))
        columns = columns_of(cursor)
        rows: list[Row] = cursor.fetchall()
    shown = rows[:limit]
    table = Table(
        plain(relation.label),
        _column_names(columns),
        _render(shown, columns),
        note=rows_note(offset, len(shown), len(rows) > limit, relation.estimate),
    )
    return ViewResult((table,), next_cursor=_next(offset, limit, rows))


def find_relation(session: Session, name: str) -> Relation:
    """The relation `name` means: an exact name or `schema.name` first (as the tables
    view shows them), then PostgreSQL's parsing (`"Quoted"."Name"`, search_path)."""
    exact = _pick(session.rows(FIND_BY_NAME_SQL, {"name": name}), name)
    if exact is not None:
        return exact
    try:
        parsed = session.rows(FIND_BY_REGCLASS_SQL, (name.strip(),))
    except psycopg.Error as error:
        if error.sqlstate not in NOT_A_NAME_STATES:
            raise
        parsed = []
    if not parsed:
        raise InspectorError(Problem.ERROR, f"no table or view named {plain(name)!r}")
    return _relation(parsed[0])


def _pick(candidates: list[Row], name: str) -> Relation | None:
    if not candidates:
        return None
    qualified = [row for row in candidates if row[3] == "t"]
    visible = [row for row in candidates if row[4] == "t"]
    if qualified or visible or len(candidates) == 1:
        return _relation((qualified or visible or candidates)[0])
    schemas = ", ".join(plain(row[0]) for row in candidates)
    raise InspectorError(
        Problem.ERROR, f"{plain(name)!r} is in several schemas ({schemas}): write schema.name"
    )


def _relation(row: Row) -> Relation:
    return Relation(schema=row[0] or "", name=row[1] or "", estimate=int(row[2] or -1))


def run_query(session: Session, statement: str, limit: int, offset: int) -> ViewResult:
    """One statement, streamed so that only the rows shown cross the wire; a write is
    refused by PostgreSQL itself, since the transaction is READ ONLY."""
    if not statement.strip():
        raise InspectorError(Problem.ERROR, "type one SQL statement, e.g. SELECT 1")
    with session.read_only():
        session.budget()
        cursor = session.conn.cursor()
        # Closing the stream early cancels the rest of the query on the server.
        stream = cast("Generator[Row, None, None]", cursor.stream(statement))
        try:
            with closing(stream):
                rows = list(islice(stream, offset, offset + limit + 1))
                columns = columns_of(cursor)
        except psycopg.ProgrammingError as error:
            if error.sqlstate == "42601" and "multiple commands" in str(error):
                raise InspectorError(
                    Problem.ERROR, "the query box runs one statement at a time"
                ) from None
            if error.sqlstate is not None:
                raise
            rows, columns = [], []  # psycopg's word for a statement without a result set
    if not columns:
        return ViewResult((TextBlock("Result", "done: no rows returned"),))
    shown = rows[:limit]
    table = Table(
        "Result",
        _column_names(columns),
        _render(shown, columns),
        note=rows_note(offset, len(shown), len(rows) > limit, None),
    )
    return ViewResult((table,), next_cursor=_next(offset, limit, rows))


def _column_names(columns: Sequence[tuple[str, int]]) -> tuple[str, ...]:
    return tuple(plain(name, COLUMN_NAME_CHARS) for name, _ in columns)


def _render(rows: list[Row], columns: Sequence[tuple[str, int]]) -> tuple[tuple[str, ...], ...]:
    oids = [oid for _, oid in columns]
    return tuple(
        tuple(render_cell(value, oid) for value, oid in zip(row, oids, strict=True)) for row in rows
    )


def _next(offset: int, limit: int, rows: list[Row]) -> str | None:
    return str(offset + limit) if len(rows) > limit else None
