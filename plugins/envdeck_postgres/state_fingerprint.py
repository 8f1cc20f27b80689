"""The fingerprint of a PostgreSQL service's user databases.

A digest over the user databases, each read in one REPEATABLE READ READ ONLY transaction
with fixed output settings (UTC, ISO dates, search_path=pg_catalog so every name is
qualified): the database's properties (`state_databases`), its schemas, relations, columns
and types, constraints, indexes, views, functions, triggers, types, extensions, sequences'
values, and every table's content as the row count and the sum of a 64-bit hash of each
row's text (order-independent, so no sort and no memory per row). A table whose main fork
is above 256 MiB (a few million rows) is counted, not hashed: the fingerprint then ends
with "(rows counted, not compared, in N table(s) over 256 MiB)", and still compares.
Large objects' contents are copied with their database but not fingerprinted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from envdeck_postgres.connection import ConnectionSettings
from envdeck_postgres.state_connection import Connection, connect, set_timeout
from envdeck_postgres.state_databases import Database, catalog

HASHED_UP_TO = 256 * 2**20  # tables with a bigger main fork are counted, not hashed
TABLES_PER_STATEMENT = 50


@dataclass(frozen=True)
class Digest:
    """One database's part of a fingerprint."""

    hex: str
    tables: int
    rows: int
    counted: int  # tables too big to hash: counted only


CATALOG_QUERIES = (
    ("schemas", catalog("""
SELECT n.nspname, pg_get_userbyid(n.nspowner), n.nspacl::text
FROM pg_namespace n WHERE {user_schema} ORDER BY 1""")),
    ("relations", catalog("""
SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relpersistence,
       c.relacl::text, c.relrowsecurity, c.relispartition
FROM pg_class c {user_relation} ORDER BY 1, 2""")),
    ("columns", catalog("""
SELECT n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       co.collname, a.attacl::text
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
{user_relation} AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, 2, 3""")),
    ("constraints", catalog("""
SELECT n.nspname, coalesce(cl.relname, t.typname), c.conname, c.contype,
       pg_get_constraintdef(c.oid)
FROM pg_constraint c
JOIN pg_namespace n ON n.oid = c.connamespace
LEFT JOIN pg_class cl ON cl.oid = c.conrelid
LEFT JOIN pg_type t ON t.oid = c.contypid
WHERE {user_schema} ORDER BY 1, 2, 3""")),
    ("indexes", catalog("""
SELECT n.nspname, c.relname, pg_get_indexdef(c.oid)
FROM pg_class c {user_relation} AND c.relkind IN ('i', 'I') ORDER BY 1, 2""")),
    ("views", catalog("""
SELECT n.nspname, c.relname, pg_get_viewdef(c.oid)
FROM pg_class c {user_relation} AND c.relkind IN ('v', 'm') ORDER BY 1, 2""")),
    ("functions", catalog("""
SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prokind,
       pg_get_function_result(p.oid), l.lanname, md5(coalesce(p.prosrc, '')),
       pg_get_userbyid(p.proowner), p.proacl::text
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE {user_schema} ORDER BY 1, 2, 3""")),
    ("triggers", catalog("""
SELECT n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
{user_relation} AND NOT t.tgisinternal ORDER BY 1, 2, 3""")),
    ("types", catalog("""
SELECT n.nspname, t.typname, t.typtype, pg_get_userbyid(t.typowner),
       (SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder)
        FROM pg_enum e WHERE e.enumtypid = t.oid)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {user_schema} ORDER BY 1, 2""")),
    ("extensions", catalog("""
SELECT e.extname, e.extversion, n.nspname
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1""")),
    ("sequences", catalog("""
SELECT s.schemaname, s.sequencename, s.data_type::text, s.start_value, s.min_value,
       s.max_value, s.increment_by, s.cycle, s.cache_size, s.last_value
FROM pg_sequences s JOIN pg_namespace n ON n.nspname = s.schemaname
WHERE {user_schema} ORDER BY 1, 2""")),
)  # fmt: skip
CONTENT_TABLES_SQL = catalog("""
SELECT n.nspname, c.relname, c.relkind, pg_relation_size(c.oid)
FROM pg_class c {user_relation}
  AND (c.relkind = 'r' OR (c.relkind = 'm' AND c.relispopulated))
ORDER BY 1, 2
""")


def _line(values: Iterable[Any]) -> bytes:
    return (json.dumps(list(values), ensure_ascii=False) + "\n").encode()


def database_digest(settings: ConnectionSettings, read_from: str, database: Database) -> Digest:
    """`database`'s part of a fingerprint; its contents read from `read_from` (itself,
    or its fresh copy while saving)."""
    digest = hashlib.sha256(_line(["database", database.identity()]))
    if not database.allow_connections:  # nobody can read it, envdeck neither
        return Digest(digest.hexdigest(), 0, 0, 0)
    tables = rows = counted = 0
    with connect(settings, read_from, read_only=True) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():  # one snapshot for everything below
            for title, query in CATALOG_QUERIES:
                digest.update(_line([title]))
                for row in conn.execute(query):
                    digest.update(_line(row))
            digest.update(_line(["content"]))
            listed = conn.execute(CONTENT_TABLES_SQL).fetchall()
            for start in range(0, len(listed), TABLES_PER_STATEMENT):
                batch = listed[start : start + TABLES_PER_STATEMENT]
                for (schema, name, kind, _size), (count, total) in zip(
                    batch, _content(conn, settings, batch), strict=True
                ):
                    digest.update(_line([schema, name, count, total or "counted"]))
                    tables += 1 if kind == "r" else 0
                    rows += int(count or 0)
                    counted += 1 if total is None else 0
    return Digest(digest.hexdigest(), tables, rows, counted)


def _content(
    conn: Connection, settings: ConnectionSettings, batch: Sequence[tuple[Any, ...]]
) -> list[tuple[str, str | None]]:
    """Each table's row count and the sum of its rows' 64-bit hashes, in one statement:
    equal multisets of rows give equal sums, whatever their physical order."""
    parts = []
    for index, (schema, name, _kind, size) in enumerate(batch):
        total = (
            sql.SQL("coalesce(sum(hashtextextended(ROW(r.*)::text, 0)), 0)")
            if int(size) <= HASHED_UP_TO
            else sql.SQL("NULL::numeric")
        )
        parts.append(
            sql.SQL("SELECT {} AS i, count(*), {} FROM {} AS r").format(
                sql.Literal(index), total, sql.Identifier(schema, name)
            )
        )
    # Inside the snapshot's transaction: each batch gets time for what it reads.
    set_timeout(conn, settings, sum(int(row[3]) for row in batch))
    results = conn.execute(sql.SQL(" UNION ALL ").join(parts)).fetchall()
    by_index = {int(row[0]): (row[1], row[2]) for row in results}
    return [by_index[index] for index in range(len(batch))]


def combine(digests: Mapping[str, Digest]) -> str:
    """The service's fingerprint from its databases' parts."""
    whole = hashlib.sha256(b"envdeck postgres fingerprint 1\n")
    for name in sorted(digests):
        whole.update(_line([name, digests[name].hex]))
    text = whole.hexdigest()
    counted = sum(digest.counted for digest in digests.values())
    if counted:
        text += f" (rows counted, not compared, in {counted} table(s) over 256 MiB)"
    return text
