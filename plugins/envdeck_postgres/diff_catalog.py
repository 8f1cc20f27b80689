"""What a data diff reads of one PostgreSQL database's catalogs, before and after a test:
schemas, tables (with the file that holds each), sequences' positions, and each table's
write counters from the statistics collector. All of it is small: no table is read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from envdeck_postgres.state_connection import Connection

SESSIONS_WAIT_S = 5.0  # for the test's sessions to end, and so report their statistics

_SCHEMAS_SQL = """
SELECT nspname FROM pg_namespace
WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
"""
_TABLES_SQL = """
SELECT n.nspname, c.relname, c.oid::bigint, c.relfilenode::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
"""
_SEQUENCES_SQL = """
SELECT schemaname, sequencename, last_value::text FROM pg_sequences
WHERE schemaname NOT LIKE 'pg\\_%'
"""
_WRITES_SQL = "SELECT relid::bigint, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables"
# Rows whose xmin is this or newer were written since: `age` counts modulo wraparound,
# and a frozen row's xmin reads as FrozenTransactionId, whose age is the largest.
_THRESHOLD_SQL = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"
_OTHER_SESSIONS_SQL = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend'
AND pid <> pg_backend_pid() AND NOT pid = ANY(%s)
"""

Name = tuple[str, str]  # (schema, name)


@dataclass(frozen=True)
class TableFile:
    oid: int
    filenode: int  # a new one after TRUNCATE, VACUUM FULL, CLUSTER or a rewriting ALTER


@dataclass(frozen=True)
class Catalog:
    schemas: frozenset[str]
    tables: dict[Name, TableFile]
    sequences: dict[Name, str | None]  # last_value; None before its first nextval
    writes: dict[int, int]  # table oid -> rows inserted + updated + deleted, ever


def read_catalog(conn: Connection) -> Catalog:
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return Catalog(
        schemas=frozenset(row[0] for row in conn.execute(_SCHEMAS_SQL)),
        tables={
            (row[0], row[1]): TableFile(int(row[2]), int(row[3]))
            for row in conn.execute(_TABLES_SQL)
        },
        sequences={(row[0], row[1]): row[2] for row in conn.execute(_SEQUENCES_SQL)},
        writes={int(row[0]): int(row[1]) for row in conn.execute(_WRITES_SQL)},
    )


def write_threshold(conn: Connection) -> str:
    """The oldest transaction id that may write after now, as text (an xid8)."""
    row = conn.execute(_THRESHOLD_SQL).fetchone()
    assert row is not None
    return str(row[0])


def wait_for_other_sessions(
    conn: Connection, ours: list[int], seconds: float = SESSIONS_WAIT_S
) -> int:
    """Sessions still connected to this database once they had `seconds` to end, but
    `conn` and the `ours` backend pids: a session reports its statistics as it ends
    (PostgreSQL 15 flushes them on exit)."""
    deadline = time.monotonic() + seconds
    while True:
        row = conn.execute(_OTHER_SESSIONS_SQL, (ours,)).fetchone()
        open_sessions = int(row[0]) if row is not None else 0
        if open_sessions == 0 or time.monotonic() >= deadline:
            return open_sessions
        time.sleep(0.05)


def changed_tables(before: Catalog, after: Catalog) -> list[Name]:
    """Tables there before and after (by name) that the test wrote to or rewrote."""
    found = []
    for name, now in after.tables.items():
        was = before.tables.get(name)
        if was is None:
            continue
        wrote = after.writes.get(now.oid, 0) != before.writes.get(was.oid, 0)
        if wrote or rewritten(was, now):
            found.append(name)
    return sorted(found)


def rewritten(was: TableFile, now: TableFile) -> bool:
    """Whether the table's rows no longer sit where the saved copy has them."""
    return was.oid != now.oid or was.filenode != now.filenode
