"""Which rows of one table a test inserted, deleted and updated, read without comparing
the whole table with its saved copy.

The saved copy is a block-for-block copy of the database (CREATE DATABASE … TEMPLATE),
so a row the test did not touch sits at the same ctid in the copy and in the live table,
with the same xmin, older than the test. So:

- rows written by the test (inserted, or the new version of an updated row) are the
  live rows with a newer xmin: one server-side scan, only they are sent;
- rows the test removed (deleted, or the old version of an updated row): when the
  copy's row count equals the live table's count of old rows, there are none; else the
  per-page counts of both sides (server-side GROUP BY, one number a page) point to the
  pages that lost rows, and only those pages' rows are read from the copy and matched by
  ctid with the live table's old rows.

A table rewritten since the copy (TRUNCATE, VACUUM FULL, CLUSTER, a rewriting ALTER:
its file changed) has no common ctids: it is compared whole, the one case that reads
every row of both sides (said in a note). Rows are then matched by primary key (an
update is a changed row), or, with none, as whole rows (an update is a deletion plus an
insertion). Values are compared as PostgreSQL's text output of each column.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from psycopg import sql

from envdeck_postgres.state_connection import Connection

Row = tuple[str | None, ...]  # one row's columns as text, in `columns` order
Name = tuple[str, str]


@dataclass(frozen=True)
class TableRows:
    """The candidate rows of one table: removed from the copy, written in the live one."""

    columns: tuple[str, ...]
    key: tuple[str, ...]  # the primary key's columns; () when it has none
    removed: list[Row]
    written: list[Row]
    whole: bool  # compared in full (the table was rewritten)


@dataclass(frozen=True)
class RowChanges:
    inserted: list[Row]
    deleted: list[Row]
    updated: list[tuple[Row, Row]]  # (before, after), same key


def row_changes(removed: Sequence[Row], written: Sequence[Row], key: Sequence[int]) -> RowChanges:
    """Net changes from the rows that left and the rows that came: by the `key` columns'
    positions when there is a key, else as whole rows (equal ones cancel out)."""
    if key:
        was = {tuple(row[i] for i in key): row for row in removed}
        now = {tuple(row[i] for i in key): row for row in written}
        return RowChanges(
            inserted=[row for k, row in now.items() if k not in was],
            deleted=[row for k, row in was.items() if k not in now],
            updated=[(was[k], row) for k, row in now.items() if k in was and was[k] != row],
        )
    left = Counter(removed)
    came = Counter(written)
    common = left & came
    return RowChanges(
        inserted=list((came - common).elements()),
        deleted=list((left - common).elements()),
        updated=[],
    )


def table_columns(conn: Connection, table: Name) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The table's columns in order, and its primary key's columns."""
    columns = tuple(
        row[0]
        for row in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            (_regclass(table),),
        )
    )
    key = tuple(
        row[0]
        for row in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY "
            "AS k(attnum, position) ON true JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = k.attnum WHERE i.indrelid = %s::regclass AND i.indisprimary "
            "ORDER BY k.position",
            (_regclass(table),),
        )
    )
    return columns, key


def candidate_rows(
    live: Connection, copy: Connection, table: Name, threshold: int, *, rewritten: bool
) -> TableRows:
    """The rows of `table` that may differ between the copy (before) and live (after)."""
    columns, key = table_columns(live, table)
    copy_columns, _ = table_columns(copy, table)
    shared = tuple(column for column in columns if column in copy_columns)
    if rewritten or shared != columns or shared != copy_columns:
        return TableRows(
            shared,
            key,
            _rows(copy, table, shared, sql.SQL("true")),
            _rows(live, table, shared, sql.SQL("true")),
            whole=True,
        )
    new = sql.SQL("age(xmin) <= age({}::text::xid)").format(sql.Literal(str(threshold)))
    old = sql.SQL("NOT ({})").format(new)
    written = _rows(live, table, columns, new)
    removed: list[Row] = []
    if _count(copy, table, sql.SQL("true")) != _count(live, table, old):
        pages = _pages_losing_rows(copy, live, table, old)
        in_pages = sql.SQL("(ctid::text::point)[0]::bigint = ANY({})").format(
            sql.Literal(sorted(pages))
        )
        kept = {
            row[0]
            for row in _rows(live, table, (), sql.SQL("{} AND {}").format(old, in_pages), ctid=True)
        }
        removed = [
            row[1:]
            for row in _rows(copy, table, columns, in_pages, ctid=True)
            if row[0] not in kept
        ]
    return TableRows(columns, key, removed, written, whole=False)


def _pages_losing_rows(
    copy: Connection, live: Connection, table: Name, old: sql.Composable
) -> set[int]:
    query = "SELECT (ctid::text::point)[0]::bigint, count(*) FROM {} WHERE {} GROUP BY 1"
    before: dict[object, object] = dict(
        copy.execute(sql.SQL(query).format(_ident(table), sql.SQL("true"))).fetchall()
    )
    after: dict[object, object] = dict(
        live.execute(sql.SQL(query).format(_ident(table), old)).fetchall()
    )
    return {int(str(page)) for page, count in before.items() if after.get(page) != count}


def _count(conn: Connection, table: Name, where: sql.Composable) -> int:
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE {}").format(_ident(table), where)
    ).fetchone()
    return int(row[0]) if row is not None else 0


def _rows(
    conn: Connection,
    table: Name,
    columns: Iterable[str],
    where: sql.Composable,
    *,
    ctid: bool = False,
) -> list[Row]:
    fields: list[sql.Composable] = [
        sql.SQL("{}::text").format(sql.Identifier(column)) for column in columns
    ]
    if ctid:
        fields.insert(0, sql.SQL("ctid::text"))
    query = sql.SQL("SELECT {} FROM {} WHERE {}").format(
        sql.SQL(", ").join(fields) if fields else sql.SQL("ctid::text"), _ident(table), where
    )
    return [tuple(row) for row in conn.execute(query)]


def _ident(table: Name) -> sql.Identifier:
    return sql.Identifier(*table)


def _regclass(table: Name) -> str:
    return sql.Identifier(*table).as_string(None)
