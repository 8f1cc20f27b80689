"""Databases the server copies for saved states: their names, and how they are made,
sealed and dropped.

A snapshot's copy of database `db` is `envdeck_s_<hash of the snapshot name>_<hash of
snapshot and db>` (31 bytes, far below the 63-byte limit); a save makes it first under a
temporary name, `envdeck_t_<creation time>_<random>`. Only names of these two shapes are
ever dropped as envdeck's own; user databases are dropped only by a restore, and never
template0, template1 or envdeck's.

Copy strategy (PostgreSQL 15+, measured here on Debian's 15.18, medians of 4): WAL_LOG
copies an 8 MB database (the sample's) in 51 ms against FILE_COPY's 99 ms, 49 MB in 188
against 225 ms, but 124 MB in 400-700 against 255 ms. So a restore uses WAL_LOG below 64
MiB, FILE_COPY above. A save always uses FILE_COPY: its checkpoints leave the copy on disk,
where WAL_LOG would leave it in dirty buffers that the next reset's DROP DATABASE (which
takes a checkpoint in PostgreSQL 15) would have to write out first (0.6 s of a 1 s reset,
measured on a busy disk). Restores drop each database before copying its saved one, not
after building a replacement aside: that checkpoint would otherwise write out the fresh
copy too (108 against 220 ms for the sample's database).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterable
from datetime import datetime

import psycopg
from psycopg import sql

from envdeck_postgres.connection import ConnectionSettings
from envdeck_postgres.state_connection import BYTES_PER_S, Connection, bulk_timeout
from tui.plugins.api import InspectorError, Problem

TEMPLATES = frozenset({"template0", "template1"})
COPY_PREFIX = "envdeck_s_"
TEMPORARY_PREFIX = "envdeck_t_"
_COPY_NAME = re.compile(r"envdeck_s_[0-9a-f]{10}_[0-9a-f]{10}")
_TEMPORARY_NAME = re.compile(r"envdeck_t_([0-9a-f]{8})_[0-9a-f]{8}")
STALE_TEMPORARY_S = 600  # a temporary this old was left by a run that died: dropped
WAL_LOG_BELOW = 64 * 2**20
CHECKPOINT_ALLOWANCE = 128 * 2**20  # what a checkpoint may have to write: shared_buffers
COPY_ATTEMPTS = 4  # sessions terminated and the copy tried again, when clients reconnect
TERMINATE_WAIT_MS = 3000

# ---------------------------------------------------------------- names


def copy_name(snapshot: str, database: str) -> str:
    """The copy of `database` in `snapshot`: the same every time, 31 bytes."""
    return _snapshot_prefix(snapshot) + _hash(snapshot + "\0" + database)


def _snapshot_prefix(snapshot: str) -> str:
    return f"{COPY_PREFIX}{_hash(snapshot)}_"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def temporary_name() -> str:
    return f"{TEMPORARY_PREFIX}{int(time.time()):08x}_{secrets.token_hex(4)}"


def is_envdecks(name: str) -> bool:
    """One of envdeck's own databases: a snapshot's copy or a temporary."""
    return bool(_COPY_NAME.fullmatch(name) or _TEMPORARY_NAME.fullmatch(name))


def copies_of(conn: Connection, snapshot: str) -> list[str]:
    """The copies of `snapshot` in the server, whatever a manifest says."""
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1",
        (_snapshot_prefix(snapshot),),
    ).fetchall()
    return [name for (name,) in rows if _COPY_NAME.fullmatch(name)]


# ---------------------------------------------------------------- making


def create_from(
    conn: Connection,
    settings: ConnectionSettings,
    *,
    name: str,
    template: str,
    owner: str,
    size_bytes: int,
    saving: bool,
) -> None:
    """CREATE DATABASE name TEMPLATE template. When `saving`, the template is a user's
    database: its other sessions are ended first, again if a client reconnects before the
    copy starts."""
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}{}").format(
        sql.Identifier(name),
        sql.Identifier(template),
        sql.Identifier(owner),
        _strategy(conn, size_bytes, saving=saving),
    )
    # The server itself waits up to 5 s for the template's sessions to end.
    with bulk_timeout(conn, settings, size_bytes + 5 * BYTES_PER_S):
        for attempt in range(1, COPY_ATTEMPTS + 1):
            if saving:
                _terminate_sessions(conn, template)
            try:
                conn.execute(create)
                return
            except psycopg.errors.ObjectInUse:
                if not saving or attempt == COPY_ATTEMPTS:
                    raise


def _strategy(conn: Connection, size_bytes: int, *, saving: bool) -> sql.Composable:
    """How the server copies (PostgreSQL 15+; see the module's docstring)."""
    if conn.info.server_version < 150000:
        return sql.SQL("")
    if saving or size_bytes >= WAL_LOG_BELOW:
        return sql.SQL(" STRATEGY FILE_COPY")
    return sql.SQL(" STRATEGY WAL_LOG")


def _terminate_sessions(conn: Connection, database: str) -> None:
    wait = f"pid, {TERMINATE_WAIT_MS}" if conn.info.server_version >= 140000 else "pid"
    conn.execute(
        sql.SQL(
            "SELECT count(pg_terminate_backend({})) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()"
        ).format(sql.SQL(wait)),
        (database,),
    )


def seal(conn: Connection, copy: str, snapshot: str, database: str, saved_at: datetime) -> None:
    """Make a fresh copy a template nobody connects to, described for `\\l+` readers."""
    name = sql.Identifier(copy)
    conn.execute(
        sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(name)
    )
    comment = (
        f"envdeck snapshot {json.dumps(snapshot, ensure_ascii=False)} of database "
        f"{json.dumps(database, ensure_ascii=False)}, saved {saved_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(name, sql.Literal(comment)))


def rename(conn: Connection, name: str, new_name: str) -> None:
    conn.execute(
        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(name), sql.Identifier(new_name)
        )
    )


# ---------------------------------------------------------------- dropping


def drop_user_database(conn: Connection, settings: ConnectionSettings, name: str) -> None:
    """A user database, gone with its sessions (WITH FORCE ends them)."""
    if name in TEMPLATES or is_envdecks(name):
        raise InspectorError(Problem.ERROR, f"{name!r} is not a user database: not dropped")
    _drop(conn, settings, name)


def drop_copy(conn: Connection, settings: ConnectionSettings, name: str) -> None:
    """Drop one of envdeck's own databases (a template must stop being one first)."""
    if not is_envdecks(name):  # never a user's database, whatever a manifest says
        raise InspectorError(Problem.ERROR, f"{name!r} is not envdeck's: not dropped")
    exists = conn.execute(
        "SELECT datistemplate FROM pg_database WHERE datname = %s", (name,)
    ).fetchone()
    if exists is None:
        return
    if exists[0] == "t":
        conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(name)))
    _drop(conn, settings, name)


def _drop(conn: Connection, settings: ConnectionSettings, name: str) -> None:
    """DROP DATABASE, its sessions ended. The checkpoint the server takes writes out
    whatever the tests left in shared buffers: time for that."""
    with bulk_timeout(conn, settings, CHECKPOINT_ALLOWANCE):
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def drop_quietly(conn: Connection, settings: ConnectionSettings, names: Iterable[str]) -> None:
    """Clean-up after a failure: whatever can still be dropped is."""
    for name in names:
        with contextlib.suppress(psycopg.Error):
            drop_copy(conn, settings, name)


def drop_stale_temporaries(conn: Connection, settings: ConnectionSettings) -> None:
    """Temporaries left by a save that died (not one running now: those are recent)."""
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (TEMPORARY_PREFIX,)
    ).fetchall()
    now = int(time.time())
    for (name,) in rows:
        match = _TEMPORARY_NAME.fullmatch(name)
        if match and now - int(match.group(1), 16) > STALE_TEMPORARY_S:
            drop_copy(conn, settings, name)
