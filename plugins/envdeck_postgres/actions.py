"""The two writes envdeck offers, both confirmed by the user first (destructive).

They use a read-write session, still bounded by statement_timeout and lock_timeout: a
TRUNCATE that would queue behind someone's open transaction fails instead of stalling.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from envdeck_postgres.cells import plain
from envdeck_postgres.errors import inspector_error, server_message
from envdeck_postgres.session import Session
from tui.plugins.api import InspectorError, Problem

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")
SCHEMA_EXISTS_SQL = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
SCHEMA_TABLES_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
ORDER BY c.relname
"""
STATUS_SHOWN = 5


def truncate_schema(session: Session, schema: str) -> str:
    """TRUNCATE every table of `schema` in one statement, identities restarted. CASCADE
    can reach tables of other schemas through foreign keys: the result names them."""
    if schema in SYSTEM_SCHEMAS or schema.startswith(("pg_toast", "pg_temp")):
        raise InspectorError(Problem.ERROR, f"{schema!r} is a system schema: not truncated")
    cascaded: list[str] = []
    session.conn.add_notice_handler(lambda diag: cascaded.append(diag.message_primary or ""))
    with session.read_write():
        if not session.rows(SCHEMA_EXISTS_SQL, (schema,)):
            raise InspectorError(Problem.ERROR, f"no schema named {plain(schema)!r}")
        tables = [row[0] or "" for row in session.rows(SCHEMA_TABLES_SQL, (schema,))]
        if not tables:
            return f"schema {plain(schema)} has no tables: nothing truncated"
        names = sql.SQL(", ").join(sql.Identifier(schema, table) for table in tables)
        session.budget()
        session.conn.execute(sql.SQL("TRUNCATE TABLE {} RESTART IDENTITY CASCADE").format(names))
    summary = (
        f"truncated {len(tables)} table(s) of schema {plain(schema)}, identities restarted: "
        + ", ".join(plain(table) for table in tables)
    )
    notes = [plain(note) for note in cascaded if note.startswith("truncate cascades")]
    return summary + ("; " + "; ".join(notes) if notes else "")


def run_sql_file(session: Session, path: str) -> str:
    """Run a SQL file from the host in one transaction: all of it, or nothing."""
    file = Path(path).expanduser()
    script = _read_script(file)
    try:
        with session.read_write():
            session.budget()
            # No parameters: psycopg sends the simple query protocol, which runs every
            # statement of the script in turn, inside our transaction.
            cursor = session.conn.execute(script)
            statuses = [result.statusmessage or "" for result in cursor.results()]
    except psycopg.Error as error:
        mapped = inspector_error(error, session.settings)
        if mapped.problem is not Problem.ERROR:
            raise mapped from None  # a timeout, a lost server: not the script's fault
        raise InspectorError(Problem.ERROR, _script_failure(file, script, error)) from None
    return f"ran {plain(str(file))} in one transaction, committed: {_statuses(statuses)}"


def _read_script(file: Path) -> str:
    try:
        script = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InspectorError(Problem.ERROR, f"cannot read {file}: {error}") from None
    if not script.strip():
        raise InspectorError(Problem.ERROR, f"{file} is empty: nothing to run")
    return script


def _script_failure(file: Path, script: str, error: psycopg.Error) -> str:
    where = ""
    position = error.diag.statement_position  # 1-based, into the whole script
    if position and position.isdigit():
        line_number = script.count("\n", 0, int(position) - 1) + 1
        line = script.splitlines()[line_number - 1].strip()
        where = f" at line {line_number} ({plain(line, 80)})"
    context = error.diag.context
    if context:
        where += f" [{plain(' '.join(context.split()), 120)}]"
    return (
        f"{plain(str(file))} failed{where}: {plain(server_message(error), 400)}; "
        "rolled back, nothing of it was committed"
    )


def _statuses(statuses: list[str]) -> str:
    shown = ", ".join(plain(status) for status in statuses[:STATUS_SHOWN])
    more = len(statuses) - STATUS_SHOWN
    return f"{len(statuses)} statement(s): {shown}" + (f", … {more} more" if more > 0 else "")
