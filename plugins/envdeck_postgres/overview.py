"""The server at a glance, and its tables: catalog and statistics reads only.

Nothing here counts rows (reltuples is the planner's estimate) or takes a lock it could
wait for: sizes are skipped for relations someone holds or awaits ACCESS EXCLUSIVE on.
"""

from __future__ import annotations

from psycopg import sql

from envdeck_postgres.cells import plain, rows_note
from envdeck_postgres.session import Row, Session
from tui.plugins.api import KeyValues, Table, ViewResult

QUERY_PREVIEW_CHARS = 120

SERVER_SQL = """
SELECT current_setting('server_version'),
       date_trunc('second', now() - pg_postmaster_start_time()),
       to_char(pg_postmaster_start_time(), 'YYYY-MM-DD"T"HH24:MI:SSOF'),
       current_database(), current_user,
       current_setting('max_connections'),
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
       CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END
"""
SERVER_LABELS = (
    "version",
    "uptime",
    "started",
    "database",
    "user",
    "max connections",
    "client sessions",
    "role",
)
DATABASES_SQL = """
SELECT d.datname, pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding),
       CASE WHEN has_database_privilege(d.oid, 'CONNECT')
            THEN pg_size_pretty(pg_database_size(d.oid)) ELSE '?' END,
       (SELECT count(*) FROM pg_stat_activity a WHERE a.datid = d.oid)
FROM pg_database d
WHERE NOT d.datistemplate
ORDER BY d.datname
"""
EXTENSIONS_SQL = """
SELECT e.extname, e.extversion, n.nspname
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
ORDER BY e.extname
"""
SESSIONS_SQL = """
SELECT a.pid, a.usename, a.datname, a.application_name, a.state,
       a.wait_event_type || ':' || a.wait_event,
       date_trunc('second', now() - CASE WHEN a.state = 'active' THEN a.query_start
                                         ELSE a.state_change END),
       a.query
FROM pg_stat_activity a
WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
ORDER BY a.state = 'active' DESC, a.query_start NULLS LAST, a.pid
LIMIT %s
"""
# pg_locks.waitstart exists from PostgreSQL 14; before, the query's start is the best guess.
WAITING_LOCKS_SQL = """
SELECT l.pid, a.usename, l.locktype, l.mode,
       coalesce(l.relation::regclass::text, l.transactionid::text, l.virtualxid),
       array_to_string(pg_blocking_pids(l.pid), ', '),
       date_trunc('second', now() - {waiting_since}),
       a.query
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE NOT l.granted
ORDER BY {waiting_since} NULLS LAST, l.pid
"""
SCHEMAS_SQL = """
SELECT n.nspname, pg_get_userbyid(n.nspowner),
       count(c.oid) FILTER (WHERE c.relkind IN ('r', 'p')),
       count(c.oid) FILTER (WHERE c.relkind IN ('v', 'm'))
FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid
WHERE n.nspname !~ '^pg_(toast|temp_)' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
GROUP BY n.oid, n.nspname
ORDER BY n.nspname
"""
# pg_total_relation_size takes ACCESS SHARE on the table, its indexes and TOAST; that
# would queue behind an ACCESS EXCLUSIVE held or awaited (TRUNCATE, DROP, ALTER), so such
# relations show "locked" instead of waiting for lock_timeout.
TABLES_SQL = """
WITH exclusive AS MATERIALIZED (
    SELECT relation FROM pg_locks
    WHERE mode = 'AccessExclusiveLock' AND relation IS NOT NULL
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
)
SELECT n.nspname, c.relname,
       CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign' END,
       CASE WHEN c.relkind = 'v' OR c.reltuples < 0 THEN '?'
            ELSE to_char(c.reltuples::bigint, 'FM999,999,999,999,999') END,
       CASE WHEN c.relkind = 'v' THEN ''
            WHEN c.oid IN (SELECT relation FROM exclusive)
              OR c.reltoastrelid IN (SELECT relation FROM exclusive)
              OR EXISTS (SELECT 1 FROM pg_index i
                         WHERE i.indrelid = c.oid
                           AND i.indexrelid IN (SELECT relation FROM exclusive))
            THEN 'locked'
            ELSE pg_size_pretty(pg_total_relation_size(c.oid)) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname !~ '^pg_(toast|temp_)' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY n.nspname, c.relname
LIMIT %s OFFSET %s
"""


def overview(session: Session, limit: int) -> ViewResult:
    with session.read_only():
        server = session.one(SERVER_SQL)
        databases = session.rows(DATABASES_SQL)
        extensions = session.rows(EXTENSIONS_SQL)
        sessions = session.rows(SESSIONS_SQL, (limit,))
        waiting = session.rows(_waiting_locks_sql(session.server_version))
    settings = session.settings
    return ViewResult(
        (
            KeyValues(
                "Server",
                (
                    ("address", f"{settings.host}:{settings.port}"),
                    *zip(SERVER_LABELS, _cells(server), strict=True),
                ),
            ),
            Table(
                "Databases", ("name", "owner", "encoding", "size", "sessions"), _table(databases)
            ),
            Table("Extensions", ("name", "version", "schema"), _table(extensions)),
            Table(
                "Sessions",
                ("pid", "user", "database", "application", "state", "wait", "duration", "query"),
                _table(sessions),
                note=f"first {limit}" if len(sessions) >= limit else "",
            ),
            Table(
                "Waiting locks",
                ("pid", "user", "lock", "mode", "on", "blocked by", "waiting", "query"),
                _table(waiting),
            ),
        )
    )


def tables(session: Session, limit: int, offset: int) -> ViewResult:
    with session.read_only():
        schemas = session.rows(SCHEMAS_SQL) if offset == 0 else []
        found = session.rows(TABLES_SQL, (limit + 1, offset))
    more = len(found) > limit
    sections: list[Table] = []
    if offset == 0:
        sections.append(Table("Schemas", ("schema", "owner", "tables", "views"), _table(schemas)))
    sections.append(
        Table(
            "Tables",
            ("schema", "name", "kind", "rows (estimate)", "total size"),
            _table(found[:limit]),
            note=rows_note(offset, len(found[:limit]), more),
        )
    )
    return ViewResult(tuple(sections), next_cursor=str(offset + limit) if more else None)


def _waiting_locks_sql(server_version: int) -> sql.Composed:
    since = sql.SQL("l.waitstart" if server_version >= 140000 else "a.query_start")
    return sql.SQL(WAITING_LOCKS_SQL).format(waiting_since=since)


def _cells(row: Row) -> tuple[str, ...]:
    return tuple(plain(value, QUERY_PREVIEW_CHARS) for value in row)


def _table(rows: list[Row]) -> tuple[tuple[str, ...], ...]:
    return tuple(_cells(row) for row in rows)
