"""Saved states of a PostgreSQL service, kept in the server itself as template databases.

What a state is. For every user database `db`, a copy made by the server with
`CREATE DATABASE <copy> TEMPLATE db`, named `envdeck_s_<hash of the snapshot name>_<hash
of snapshot and db>` (31 bytes, far below the 63-byte limit), owned by `db`'s owner, marked
`IS_TEMPLATE true, ALLOW_CONNECTIONS false` and described by `COMMENT ON DATABASE`
(snapshot, source database, time). A small manifest in `ref.folder` (postgres-state.json)
says which databases the state holds, under which copy names, and the per-database
properties PostgreSQL keeps outside the database (below). The data never leaves the
server: `SavedState.location` names the copies, `size_bytes` is their pg_database_size.

Which databases are user databases. Every database but template0 and template1, envdeck's
own (`envdeck_s_…` copies, `envdeck_t_…` temporaries) and `postgres` while it holds no
user objects (no schema but public, nothing in public, no extension but plpgsql): then it
is the maintenance database envdeck connects to, and is neither saved, fingerprinted nor
touched. Once it holds something (the official image keeps everything there when
POSTGRES_DB is unset) it is a user database like any other; a restore then works from a
template1 connection, and a restore of a state saved while `postgres` was empty recreates
it empty (from template0). template1's own contents are never saved nor restored.

Saving. Each source database's other sessions are terminated first (pg_terminate_backend:
the server refuses to copy a database someone is connected to); a client that reconnects
at once is terminated again, a few times. The copies are made under temporary names, their
fingerprint is read from them, and only then do they replace the snapshot's older copies:
saving a name that exists replaces it, and a save that fails while copying leaves the
older copies alone.

Restoring. Every copy and owner is checked first: if one is missing, nothing is changed.
Then, from a maintenance connection, user databases the state does not hold are dropped (a
restore replaces the data as a whole) and each saved one is replaced: `DROP DATABASE db
WITH (FORCE)` (which ends its sessions), `CREATE DATABASE db TEMPLATE <copy>`, and the
properties below put back. Should a step fail half-way (a full disk), the error says
which databases were done; the copies are untouched and the restore can simply be rerun.

Copy strategy (PostgreSQL 15+, measured here on Debian's 15.18, medians of 4): WAL_LOG
copies an 8 MB database (the sample's) in 51 ms against FILE_COPY's 99 ms, 49 MB in 188
against 225 ms, but 124 MB in 400-700 against 255 ms. So a restore uses WAL_LOG below 64
MiB, FILE_COPY above. A save always uses FILE_COPY: its checkpoints leave the copy on disk,
where WAL_LOG would leave it in dirty buffers that the next reset's DROP DATABASE (which
takes a checkpoint in PostgreSQL 15) would have to write out first (0.6 s of a 1 s reset,
measured on a busy disk). Restores drop each database before copying its saved one, not
after building a replacement aside: that checkpoint would otherwise write out the fresh
copy too (108 against 220 ms for the sample's database).

Not part of a state: what PostgreSQL keeps for the whole cluster. Roles (their passwords,
attributes and memberships), tablespaces, server settings (postgresql.conf, ALTER SYSTEM),
replication slots and prepared transactions are left as they are. A restore needs the
saved databases' owners to exist still (else it refuses, changing nothing); GRANTs and
settings for roles that are gone are skipped, and said so. Per-database things kept in
shared catalogs are saved in the manifest and put back on the restored database: its
owner, `ALTER DATABASE … SET` and `ALTER ROLE … IN DATABASE … SET` settings, database
GRANTs, connection limit, comment, IS_TEMPLATE and ALLOW_CONNECTIONS. The role used needs
to create and drop these databases and end their sessions: a superuser, as the official
image's POSTGRES_USER is.

Fingerprint. A digest over the user databases, each read in one REPEATABLE READ READ ONLY
transaction with fixed output settings (UTC, ISO dates, search_path=pg_catalog so every
name is qualified): the database's properties above, its schemas, relations, columns and
types, constraints, indexes, views, functions, triggers, types, extensions, sequences'
values, and every table's content as the row count and the sum of a 64-bit hash of each
row's text (order-independent, so no sort and no memory per row). A table whose main fork
is above 256 MiB (a few million rows) is counted, not hashed: the fingerprint then ends
with "(rows counted, not compared, in N table(s) over 256 MiB)", and still compares.
Large objects' contents are copied with their database but not fingerprinted.

Time. Every statement uses `target.timeout`, except those that move or read data in bulk:
a copy and a table's hash get `target.timeout` plus 1 s for every 10 MiB they touch (a
busy disk: the 100 MB test database took 6 s to hash under a load of 8 on 2 cores), and a
DROP DATABASE, whose checkpoint writes out what is in shared buffers, that for 128 MiB.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from envdeck_postgres.cells import plain
from envdeck_postgres.errors import inspector_error, server_message
from envdeck_postgres.session import TEXT_ONLY, ConnectionSettings
from tui.plugins.api import InspectorError, Problem, SavedState, ServiceTarget, StateRef

Connection = psycopg.Connection[tuple[Any, ...]]

MANIFEST = "postgres-state.json"
MANIFEST_FORMAT = 1
MAINTENANCE = "postgres"
FALLBACK_MAINTENANCE = "template1"
TEMPLATES = frozenset({"template0", "template1"})
COPY_PREFIX = "envdeck_s_"
TEMPORARY_PREFIX = "envdeck_t_"
_COPY_NAME = re.compile(r"envdeck_s_[0-9a-f]{10}_[0-9a-f]{10}")
_TEMPORARY_NAME = re.compile(r"envdeck_t_([0-9a-f]{8})_[0-9a-f]{8}")
STALE_TEMPORARY_S = 600  # a temporary this old was left by a run that died: dropped
MIN_SERVER_VERSION = 130000  # DROP DATABASE … WITH (FORCE)

WAL_LOG_BELOW = 64 * 2**20
BYTES_PER_S = 10 * 2**20  # pessimistic throughput (a busy disk) for size-scaled timeouts
CHECKPOINT_ALLOWANCE = 128 * 2**20  # what a checkpoint may have to write: shared_buffers
COPY_ATTEMPTS = 4  # sessions terminated and the copy tried again, when clients reconnect
TERMINATE_WAIT_MS = 3000
HASHED_UP_TO = 256 * 2**20  # tables with a bigger main fork are counted, not hashed
TABLES_PER_STATEMENT = 50
# GUCs whose stored value is a list of quoted identifiers (GUC_LIST_QUOTE).
LIST_QUOTED_SETTINGS = frozenset(
    {"search_path", "temp_tablespaces", "session_preload_libraries", "local_preload_libraries"}
)
DATABASE_PRIVILEGES = frozenset({"CREATE", "CONNECT", "TEMPORARY"})
# Every output that depends on a setting is fixed, whatever the database sets.
STABLE_OUTPUT = (
    "search_path=pg_catalog",
    "TimeZone=UTC",
    "IntervalStyle=postgres",
    "extra_float_digits=1",
    "lc_monetary=C",
    "row_security=off",  # never a silently filtered read: an error instead
)

# ---------------------------------------------------------------- databases


@dataclass(frozen=True)
class Database:
    """One database as pg_database and the shared catalogs describe it: what a copy does
    not carry, and what a restore puts back."""

    name: str
    owner: str
    encoding: str
    collate: str
    ctype: str
    locale_provider: str | None
    icu_locale: str | None
    connection_limit: int
    is_template: bool
    allow_connections: bool
    acl: tuple[tuple[str | None, str, bool], ...] | None  # None: the default privileges
    settings: tuple[tuple[str | None, tuple[str, ...]], ...]  # (role or all, name=value)
    comment: str | None

    def identity(self) -> str:
        """Its properties as one canonical line, for fingerprints."""
        acl = None if self.acl is None else sorted(self.acl, key=_acl_key)
        settings = sorted((role or "", sorted(config)) for role, config in self.settings)
        values = [
            self.name,
            self.owner,
            self.encoding,
            self.collate,
            self.ctype,
            self.locale_provider,
            self.icu_locale,
            self.connection_limit,
            self.is_template,
            self.allow_connections,
            acl,
            settings,
            self.comment,
        ]
        return json.dumps(values, ensure_ascii=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "encoding": self.encoding,
            "collate": self.collate,
            "ctype": self.ctype,
            "locale_provider": self.locale_provider,
            "icu_locale": self.icu_locale,
            "connection_limit": self.connection_limit,
            "is_template": self.is_template,
            "allow_connections": self.allow_connections,
            "acl": None if self.acl is None else [list(entry) for entry in self.acl],
            "settings": [[role, list(config)] for role, config in self.settings],
            "comment": self.comment,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Database:
        acl = raw["acl"]
        return cls(
            name=str(raw["name"]),
            owner=str(raw["owner"]),
            encoding=str(raw["encoding"]),
            collate=str(raw["collate"]),
            ctype=str(raw["ctype"]),
            locale_provider=_optional(raw["locale_provider"]),
            icu_locale=_optional(raw["icu_locale"]),
            connection_limit=int(raw["connection_limit"]),
            is_template=bool(raw["is_template"]),
            allow_connections=bool(raw["allow_connections"]),
            acl=None if acl is None else tuple(_acl_entry(entry) for entry in acl),
            settings=tuple(
                (_optional(role), tuple(str(item) for item in config))
                for role, config in raw["settings"]
            ),
            comment=_optional(raw["comment"]),
        )


def _acl_key(entry: tuple[str | None, str, bool]) -> tuple[str, str, bool]:
    return (entry[0] or "", entry[1], entry[2])


def _acl_entry(raw: Sequence[Any]) -> tuple[str | None, str, bool]:
    grantee, privilege, grantable = raw
    return (_optional(grantee), str(privilege), bool(grantable))


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def _databases_sql(server_version: int) -> sql.Composed:
    if server_version >= 170000:
        locale = "d.datlocprovider::text, d.datlocale"
    elif server_version >= 150000:
        locale = "d.datlocprovider::text, d.daticulocale"
    else:
        locale = "NULL, NULL"
    return sql.SQL("""
SELECT d.datname, pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding),
       d.datcollate, d.datctype, {locale}, d.datconnlimit, d.datistemplate, d.datallowconn,
       CASE WHEN d.datacl IS NULL THEN NULL ELSE (
           SELECT coalesce(json_agg(json_build_array(
                      CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END,
                      a.privilege_type, a.is_grantable)), '[]')
           FROM aclexplode(d.datacl) a) END,
       (SELECT coalesce(json_agg(json_build_array(
                   CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END,
                   s.setconfig)), '[]')
        FROM pg_db_role_setting s WHERE s.setdatabase = d.oid),
       shobj_description(d.oid, 'pg_database')
FROM pg_database d
WHERE d.datname NOT IN ('template0', 'template1')
ORDER BY d.datname
""").format(locale=sql.SQL(locale))


def _database(row: Sequence[str | None]) -> Database:
    (name, owner, encoding, collate, ctype, provider, icu, limit, template, allow,
     acl, settings, comment) = row  # fmt: skip
    return Database(
        name=name or "",
        owner=owner or "",
        encoding=encoding or "",
        collate=collate or "",
        ctype=ctype or "",
        locale_provider=provider,
        icu_locale=icu,
        connection_limit=int(limit or -1),
        is_template=template == "t",
        allow_connections=allow == "t",
        acl=None if acl is None else tuple(_acl_entry(entry) for entry in json.loads(acl)),
        settings=tuple(
            (role, tuple(config or ())) for role, config in json.loads(settings or "[]")
        ),
        comment=comment,
    )


def is_envdecks(name: str) -> bool:
    """One of envdeck's own databases: a snapshot's copy or a temporary."""
    return bool(_COPY_NAME.fullmatch(name) or _TEMPORARY_NAME.fullmatch(name))


USER_SCHEMA = sql.SQL(
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname !~ '^pg_(toast$|temp_|toast_temp_)'"
)
USER_RELATION = sql.SQL("JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {}").format(
    USER_SCHEMA
)


def _catalog(text: str) -> sql.Composed:
    """A catalog query; {user_schema} and {user_relation} filter out the system's."""
    return sql.SQL(text).format(user_schema=USER_SCHEMA, user_relation=USER_RELATION)


HOLDS_USER_OBJECTS_SQL = _catalog("""
SELECT EXISTS (SELECT FROM pg_namespace n WHERE {user_schema} AND n.nspname <> 'public')
    OR EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public')
    OR EXISTS (SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'public')
    OR EXISTS (SELECT FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
               WHERE n.nspname = 'public')
    OR EXISTS (SELECT FROM pg_extension e WHERE e.extname <> 'plpgsql')
""")


def user_databases(conn: Connection, settings: ConnectionSettings) -> list[Database]:
    """The databases a state holds, as they are now (see the module's docstring)."""
    rows = conn.execute(_databases_sql(conn.info.server_version)).fetchall()
    found = [_database(row) for row in rows]
    databases = []
    for database in found:
        if is_envdecks(database.name):
            continue
        if database.name == MAINTENANCE and not _holds_user_objects(conn, settings):
            continue
        databases.append(database)
    return databases


def _holds_user_objects(conn: Connection, settings: ConnectionSettings) -> bool:
    if conn.info.dbname == MAINTENANCE:
        return _fetch_one(conn, HOLDS_USER_OBJECTS_SQL) == "t"
    with _open(settings, MAINTENANCE, read_only=True) as other:
        return _fetch_one(other, HOLDS_USER_OBJECTS_SQL) == "t"


# ---------------------------------------------------------------- names


def copy_name(snapshot: str, database: str) -> str:
    """The copy of `database` in `snapshot`: the same every time, 31 bytes."""
    return _snapshot_prefix(snapshot) + _hash(snapshot + "\0" + database)


def _snapshot_prefix(snapshot: str) -> str:
    return f"{COPY_PREFIX}{_hash(snapshot)}_"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _temporary_name() -> str:
    return f"{TEMPORARY_PREFIX}{int(time.time()):08x}_{secrets.token_hex(4)}"


# ---------------------------------------------------------------- connections


@contextlib.contextmanager
def _errors(settings: ConnectionSettings) -> Iterator[None]:
    """psycopg failures as the InspectorErrors the rest of the plugin raises."""
    try:
        yield
    except psycopg.Error as error:
        raise inspector_error(error, settings) from None


def _open(settings: ConnectionSettings, dbname: str, *, read_only: bool = False) -> Connection:
    """A connection to `dbname` with the plugin's timeouts and fixed output settings."""
    kwargs = replace(settings, dbname=dbname).connect_kwargs(read_only)
    kwargs["options"] += "".join(f" -c {option}" for option in STABLE_OUTPUT)
    return psycopg.connect(**kwargs, autocommit=True, prepare_threshold=None, context=TEXT_ONLY)


def _open_maintenance(settings: ConnectionSettings) -> Connection:
    try:
        conn = _open(settings, MAINTENANCE)
    except psycopg.OperationalError as error:
        if f'database "{MAINTENANCE}" does not exist' not in str(error):
            raise
        conn = _open(settings, FALLBACK_MAINTENANCE)
    version = conn.info.server_version
    if version < MIN_SERVER_VERSION:
        conn.close()
        raise InspectorError(
            Problem.ERROR, f"saved states need PostgreSQL 13 or later (this is {version})"
        )
    return conn


def _fetch_one(conn: Connection, query: sql.Composed) -> str | None:
    row = conn.execute(query).fetchone()
    return None if row is None else row[0]


def _statement_timeout(conn: Connection, settings: ConnectionSettings, size_bytes: int) -> None:
    """The call's timeout, plus time for the data a bulk statement moves or reads."""
    ms = settings.timeouts.statement_ms + int(size_bytes * 1000 / BYTES_PER_S)
    conn.execute("SELECT set_config('statement_timeout', %s, false)", (str(ms),))


def _database_sizes(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    rows = conn.execute(
        "SELECT datname, pg_database_size(oid) FROM pg_database WHERE datname = ANY(%s)",
        (list(names),),
    ).fetchall()
    return {row[0]: int(row[1]) for row in rows}


# ---------------------------------------------------------------- copies


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


def _create_from(
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
    _statement_timeout(conn, settings, size_bytes + 5 * BYTES_PER_S)
    try:
        for attempt in range(1, COPY_ATTEMPTS + 1):
            if saving:
                _terminate_sessions(conn, template)
            try:
                conn.execute(create)
                return
            except psycopg.errors.ObjectInUse:
                if not saving or attempt == COPY_ATTEMPTS:
                    raise
    finally:
        _statement_timeout(conn, settings, 0)


def _drop(conn: Connection, settings: ConnectionSettings, name: str) -> None:
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
    _statement_timeout(conn, settings, CHECKPOINT_ALLOWANCE)  # see _drop_database
    try:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        conn.execute(drop)
    finally:
        _statement_timeout(conn, settings, 0)


def _drop_quietly(conn: Connection, settings: ConnectionSettings, names: Iterable[str]) -> None:
    """Clean-up after a failure: whatever can still be dropped is."""
    for name in names:
        with contextlib.suppress(psycopg.Error):
            _drop(conn, settings, name)


def _drop_stale_temporaries(conn: Connection, settings: ConnectionSettings) -> None:
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (TEMPORARY_PREFIX,)
    ).fetchall()
    now = int(time.time())
    for (name,) in rows:
        match = _TEMPORARY_NAME.fullmatch(name)
        if match and now - int(match.group(1), 16) > STALE_TEMPORARY_S:
            _drop(conn, settings, name)


def _copies_of(conn: Connection, snapshot: str) -> list[str]:
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1",
        (_snapshot_prefix(snapshot),),
    ).fetchall()
    return [name for (name,) in rows if _COPY_NAME.fullmatch(name)]


# ---------------------------------------------------------------- manifest


@dataclass(frozen=True)
class SavedDatabase:
    database: Database
    copy: str
    size_bytes: int
    tables: int
    rows: int


@dataclass(frozen=True)
class Manifest:
    snapshot: str
    saved_at: str
    server_version: int
    fingerprint: str
    databases: tuple[SavedDatabase, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "plugin": "postgres",
            "snapshot": self.snapshot,
            "saved_at": self.saved_at,
            "server_version": self.server_version,
            "fingerprint": self.fingerprint,
            "databases": [
                {
                    **saved.database.to_json(),
                    "copy": saved.copy,
                    "size_bytes": saved.size_bytes,
                    "tables": saved.tables,
                    "rows": saved.rows,
                }
                for saved in self.databases
            ],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Manifest:
        if raw.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, not {MANIFEST_FORMAT}")
        databases = tuple(
            SavedDatabase(
                Database.from_json(entry),
                str(entry["copy"]),
                int(entry["size_bytes"]),
                int(entry["tables"]),
                int(entry["rows"]),
            )
            for entry in raw["databases"]
        )
        return cls(
            snapshot=str(raw["snapshot"]),
            saved_at=str(raw["saved_at"]),
            server_version=int(raw["server_version"]),
            fingerprint=str(raw["fingerprint"]),
            databases=databases,
        )


def _write_manifest(folder: Path, manifest: Manifest) -> None:
    path = folder / MANIFEST
    partial = folder / f".{MANIFEST}.{secrets.token_hex(4)}"
    try:
        partial.write_text(json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InspectorError(Problem.ERROR, f"cannot write {path}: {error.strerror}") from None


def read_manifest(ref: StateRef) -> Manifest | None:
    """The state's manifest; None when there is none; InspectorError when it is unusable."""
    path = ref.folder / MANIFEST
    try:
        manifest = Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InspectorError(Problem.ERROR, f"{path} is unreadable ({error})") from None
    for saved in manifest.databases:
        name = saved.database.name
        if name in TEMPLATES or is_envdecks(name):
            raise InspectorError(Problem.ERROR, f"{path} lists {name!r}: not a user database")
        # Only envdeck's own copies of this snapshot are ever used, or dropped.
        if saved.copy != copy_name(ref.name, name):
            raise InspectorError(
                Problem.ERROR,
                f"{path} names {saved.copy!r} as the copy of {saved.database.name!r} in "
                f"{ref.name!r}: not envdeck's name for it",
            )
    return manifest


# ---------------------------------------------------------------- fingerprint


@dataclass(frozen=True)
class Digest:
    """One database's part of a fingerprint."""

    hex: str
    tables: int
    rows: int
    counted: int  # tables too big to hash: counted only


CATALOG_QUERIES = (
    ("schemas", _catalog("""
SELECT n.nspname, pg_get_userbyid(n.nspowner), n.nspacl::text
FROM pg_namespace n WHERE {user_schema} ORDER BY 1""")),
    ("relations", _catalog("""
SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relpersistence,
       c.relacl::text, c.relrowsecurity, c.relispartition
FROM pg_class c {user_relation} ORDER BY 1, 2""")),
    ("columns", _catalog("""
SELECT n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       co.collname, a.attacl::text
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
{user_relation} AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, 2, 3""")),
    ("constraints", _catalog("""
SELECT n.nspname, coalesce(cl.relname, t.typname), c.conname, c.contype,
       pg_get_constraintdef(c.oid)
FROM pg_constraint c
JOIN pg_namespace n ON n.oid = c.connamespace
LEFT JOIN pg_class cl ON cl.oid = c.conrelid
LEFT JOIN pg_type t ON t.oid = c.contypid
WHERE {user_schema} ORDER BY 1, 2, 3""")),
    ("indexes", _catalog("""
SELECT n.nspname, c.relname, pg_get_indexdef(c.oid)
FROM pg_class c {user_relation} AND c.relkind IN ('i', 'I') ORDER BY 1, 2""")),
    ("views", _catalog("""
SELECT n.nspname, c.relname, pg_get_viewdef(c.oid)
FROM pg_class c {user_relation} AND c.relkind IN ('v', 'm') ORDER BY 1, 2""")),
    ("functions", _catalog("""
SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prokind,
       pg_get_function_result(p.oid), l.lanname, md5(coalesce(p.prosrc, '')),
       pg_get_userbyid(p.proowner), p.proacl::text
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE {user_schema} ORDER BY 1, 2, 3""")),
    ("triggers", _catalog("""
SELECT n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
{user_relation} AND NOT t.tgisinternal ORDER BY 1, 2, 3""")),
    ("types", _catalog("""
SELECT n.nspname, t.typname, t.typtype, pg_get_userbyid(t.typowner),
       (SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder)
        FROM pg_enum e WHERE e.enumtypid = t.oid)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {user_schema} ORDER BY 1, 2""")),
    ("extensions", _catalog("""
SELECT e.extname, e.extversion, n.nspname
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1""")),
    ("sequences", _catalog("""
SELECT schemaname, sequencename, data_type::text, start_value, min_value, max_value,
       increment_by, cycle, cache_size, last_value
FROM pg_sequences
WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
  AND schemaname !~ '^pg_(toast$|temp_|toast_temp_)'
ORDER BY 1, 2""")),
)  # fmt: skip
CONTENT_TABLES_SQL = _catalog("""
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
    with _open(settings, read_from, read_only=True) as conn:
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
    _statement_timeout(conn, settings, sum(int(row[3]) for row in batch))
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


def fingerprint(target: ServiceTarget) -> str:
    settings = ConnectionSettings.from_target(target)
    with _errors(settings):
        with _open_maintenance(settings) as conn:
            databases = user_databases(conn, settings)
        return combine({db.name: database_digest(settings, db.name, db) for db in databases})


# ---------------------------------------------------------------- save


def save_state(target: ServiceTarget, ref: StateRef) -> SavedState:
    settings = ConnectionSettings.from_target(target)
    saved_at = datetime.now(UTC)
    with _errors(settings), _open_maintenance(settings) as conn:
        databases = user_databases(conn, settings)
        _drop_stale_temporaries(conn, settings)
        sizes = _database_sizes(conn, (db.name for db in databases))
        made: dict[str, str] = {}  # database -> its temporary copy
        digests: dict[str, Digest] = {}
        try:
            for db in databases:
                temporary = _temporary_name()
                made[db.name] = temporary
                size = sizes.get(db.name, 0)
                _create_from(
                    conn, settings, name=temporary, template=db.name, owner=db.owner,
                    size_bytes=size, saving=True,
                )  # fmt: skip
                # Read from the copy itself: the fingerprint is what was saved, even if
                # a client reconnected to the source since.
                digests[db.name] = database_digest(settings, temporary, db)
                _seal(conn, temporary, ref.name, db.name, saved_at)
            for old in _copies_of(conn, ref.name):
                _drop(conn, settings, old)
            for db in databases:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(made.pop(db.name)),
                        sql.Identifier(copy_name(ref.name, db.name)),
                    )
                )
        except BaseException:
            _drop_quietly(conn, settings, made.values())
            raise
        copies = {db.name: copy_name(ref.name, db.name) for db in databases}
        copy_sizes = _database_sizes(conn, copies.values())
        version = conn.info.server_version
    manifest = Manifest(
        snapshot=ref.name,
        saved_at=saved_at.isoformat(timespec="seconds"),
        server_version=version,
        fingerprint=combine(digests),
        databases=tuple(
            SavedDatabase(
                db,
                copies[db.name],
                copy_sizes.get(copies[db.name], 0),
                digests[db.name].tables,
                digests[db.name].rows,
            )
            for db in databases
        ),
    )
    _write_manifest(ref.folder, manifest)
    return SavedState(
        location=_location(manifest),
        size_bytes=sum(saved.size_bytes for saved in manifest.databases),
        summary=_summary(manifest),
        fingerprint=manifest.fingerprint,
    )


def _seal(conn: Connection, copy: str, snapshot: str, database: str, saved_at: datetime) -> None:
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


def _location(manifest: Manifest) -> str:
    copies = [saved.copy for saved in manifest.databases]
    if not copies:
        return "no databases (an empty server), noted in the service's folder"
    if len(copies) == 1:
        return f"database {copies[0]} (in the service)"
    return f"{len(copies)} databases {', '.join(copies)} (in the service)"


def _summary(manifest: Manifest) -> str:
    count = len(manifest.databases)
    tables = sum(saved.tables for saved in manifest.databases)
    rows = sum(saved.rows for saved in manifest.databases)
    return (
        f"{count:,} database{'s' if count != 1 else ''}, "
        f"{tables:,} table{'s' if tables != 1 else ''}, {rows:,} row{'s' if rows != 1 else ''}"
    )


# ---------------------------------------------------------------- restore


def restore_state(target: ServiceTarget, ref: StateRef) -> str:
    settings = ConnectionSettings.from_target(target)
    manifest = read_manifest(ref)
    if manifest is None:
        raise InspectorError(
            Problem.ERROR,
            f"no saved state {ref.name!r} for {target.service}: {ref.folder / MANIFEST} is "
            "missing; nothing was changed",
        )
    started = time.monotonic()
    with _errors(settings):
        conn = _open_maintenance(settings)
        try:
            sizes = _check_restorable(conn, manifest, ref, target.service)
            saved = {entry.database.name for entry in manifest.databases}
            extra = [db for db in user_databases(conn, settings) if db.name not in saved]
            if MAINTENANCE in saved | {db.name for db in extra} and (
                conn.info.dbname == MAINTENANCE
            ):
                # `postgres` itself is replaced: work from template1 instead.
                conn.close()
                conn = _open(settings, FALLBACK_MAINTENANCE)
            notes = _rebuild(conn, settings, manifest, extra, sizes)
        finally:
            conn.close()
    ms = (time.monotonic() - started) * 1000
    count = len(manifest.databases)
    message = f"restored {count} database{'s' if count != 1 else ''} from {ref.name} in {ms:.0f} ms"
    return "; ".join([message, *notes])


def _check_restorable(
    conn: Connection, manifest: Manifest, ref: StateRef, service: str
) -> dict[str, int]:
    """Every copy and owner there, before anything changes; the copies' sizes."""
    copies = [saved.copy for saved in manifest.databases]
    sizes = _database_sizes(conn, copies)
    missing = [
        f"{saved.copy} (of {plain(saved.database.name)})"
        for saved in manifest.databases
        if saved.copy not in sizes
    ]
    if missing:
        raise InspectorError(
            Problem.ERROR,
            f"{ref.name!r} cannot be restored: {service} no longer has its "
            f"cop{'ies' if len(missing) > 1 else 'y'} {', '.join(missing)} (a new volume?); "
            "nothing was changed. Save it again, or delete it",
        )
    owners = sorted({saved.database.owner for saved in manifest.databases})
    found = {row[0] for row in conn.execute(
        "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (owners,)
    )}  # fmt: skip
    gone = [owner for owner in owners if owner not in found]
    if gone:
        raise InspectorError(
            Problem.ERROR,
            f"{ref.name!r} cannot be restored: its databases belong to role(s) "
            f"{', '.join(map(plain, gone))}, which {service} no longer has (roles are not "
            "part of a saved state); nothing was changed",
        )
    return sizes


def _rebuild(
    conn: Connection,
    settings: ConnectionSettings,
    manifest: Manifest,
    extra: Sequence[Database],
    sizes: Mapping[str, int],
) -> list[str]:
    """Drop the user databases the state does not hold, then replace each database by a
    copy of its saved one. Returns notes for the message."""
    emptied = next((db for db in extra if db.name == MAINTENANCE), None)
    dropped = [db.name for db in extra if db.name != MAINTENANCE]
    notes: list[str] = []
    done: list[str] = []
    current = ""
    try:
        for name in dropped:
            current = name
            _drop_database(conn, settings, name)
            done.append(f"dropped {plain(name)}")
        for saved in manifest.databases:
            current = saved.database.name
            size = sizes[saved.copy]
            _replace(conn, settings, saved.database, template=saved.copy, size_bytes=size)
            notes += _put_back(conn, saved.database)
            done.append(f"restored {plain(current)}")
        if emptied is not None:
            current = MAINTENANCE
            _replace(conn, settings, emptied, template="template0", size_bytes=0)
            notes += _put_back(conn, emptied)
    except psycopg.Error as error:
        raise InspectorError(
            inspector_error(error, settings).problem,
            f"restore stopped at {plain(current)}: {server_message(error)}. Already "
            f"{', '.join(done) or 'nothing changed'}; {plain(current)} may be missing. "
            "Restore again once the cause is fixed: the saved copies are untouched",
        ) from None
    if dropped:
        notes.append(f"dropped {', '.join(map(plain, dropped))} (not in it)")
    if emptied is not None:
        notes.append(f"{MAINTENANCE} emptied (it held nothing then)")
    return notes


def _replace(
    conn: Connection,
    settings: ConnectionSettings,
    database: Database,
    *,
    template: str,
    size_bytes: int,
) -> None:
    """Drop `database` (its sessions ended) and create it again from `template`. Dropping
    first is twice as fast as building aside and swapping: PostgreSQL 15's DROP DATABASE
    takes a checkpoint, which would otherwise write out the fresh copy's pages as well
    (measured: 108 against 220 ms for the sample's database)."""
    _drop_database(conn, settings, database.name)
    _create_from(
        conn, settings, name=database.name, template=template, owner=database.owner,
        size_bytes=size_bytes, saving=False,
    )  # fmt: skip


def _drop_database(conn: Connection, settings: ConnectionSettings, name: str) -> None:
    """A user database, gone with its sessions (WITH FORCE ends them). The checkpoint the
    server takes writes out whatever the tests left in shared buffers: time for that."""
    if name in TEMPLATES or is_envdecks(name):
        raise InspectorError(Problem.ERROR, f"{name!r} is not a user database: not dropped")
    _statement_timeout(conn, settings, CHECKPOINT_ALLOWANCE)
    try:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        conn.execute(drop)
    finally:
        _statement_timeout(conn, settings, 0)


def _put_back(conn: Connection, database: Database) -> list[str]:
    """What a copy does not carry: settings, GRANTs, limits, comment. Entries for roles
    that no longer exist are skipped, and said so."""
    name = sql.Identifier(database.name)
    roles: set[str] = set()
    if database.acl is not None or database.settings:
        roles = {row[0] for row in conn.execute("SELECT rolname FROM pg_roles")}
    skipped: set[str] = set()
    if database.acl is not None:
        conn.execute(
            sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC, {}").format(
                name, sql.Identifier(database.owner)
            )
        )
        for grantee, privilege, grantable in sorted(database.acl, key=_acl_key):
            if privilege not in DATABASE_PRIVILEGES:
                raise InspectorError(Problem.ERROR, f"unknown database privilege {privilege!r}")
            if grantee is not None and grantee not in roles:
                skipped.add(grantee)
                continue
            conn.execute(
                sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
                    sql.SQL(privilege),
                    name,
                    sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee),
                    sql.SQL(" WITH GRANT OPTION" if grantable else ""),
                )
            )
    for role, config in database.settings:
        if role is not None and role not in roles:
            skipped.add(role)
            continue
        for item in config:
            setting, _, value = item.partition("=")
            values = (
                _split_identifiers(value) if setting.lower() in LIST_QUOTED_SETTINGS else [value]
            )
            target = (
                sql.SQL("DATABASE {}").format(name)
                if role is None
                else sql.SQL("ROLE {} IN DATABASE {}").format(sql.Identifier(role), name)
            )
            conn.execute(
                sql.SQL("ALTER {} SET {} = {}").format(
                    target,
                    sql.Identifier(setting),
                    sql.SQL(", ").join(sql.Literal(part) for part in values),
                )
            )
    if database.comment is not None:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(name, sql.Literal(database.comment))
        )
    if database.connection_limit != -1 or database.is_template or not database.allow_connections:
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE {} ALLOW_CONNECTIONS {} "
                    "CONNECTION LIMIT {}").format(
                name,
                sql.SQL("true" if database.is_template else "false"),
                sql.SQL("true" if database.allow_connections else "false"),
                sql.Literal(database.connection_limit),
            )
        )  # fmt: skip
    if not skipped:
        return []
    return [
        f"grants and settings of {plain(database.name)} for missing role(s) "
        f"{', '.join(sorted(map(plain, skipped)))} skipped"
    ]


def _split_identifiers(value: str) -> list[str]:
    """`"$user", public` as PostgreSQL stores a list setting -> ['$user', 'public']."""
    items: list[str] = []
    index = 0
    while index <= len(value):
        while index < len(value) and value[index] == " ":
            index += 1
        if index < len(value) and value[index] == '"':
            end = index + 1
            item = ""
            while end < len(value):
                if value[end] == '"':
                    if value[end + 1 : end + 2] == '"':
                        item += '"'
                        end += 2
                        continue
                    break
                item += value[end]
                end += 1
            items.append(item)
            index = value.find(",", end + 1)
        else:
            comma = value.find(",", index)
            items.append(value[index : comma if comma >= 0 else len(value)].strip())
            index = comma
        if index < 0:
            break
        index += 1
    return items


# ---------------------------------------------------------------- exists, delete


def state_exists(target: ServiceTarget, ref: StateRef) -> bool:
    """The manifest is there and every copy it names is still in the server."""
    manifest = read_manifest(ref)
    if manifest is None:
        return False
    settings = ConnectionSettings.from_target(target)
    with _errors(settings), _open_maintenance(settings) as conn:
        copies = [saved.copy for saved in manifest.databases]
        return len(_database_sizes(conn, copies)) == len(copies)


def delete_state(target: ServiceTarget, ref: StateRef) -> None:
    """Drop the snapshot's copies (the manifest's, and any other copy of that name left
    in the server), then the manifest. Nothing to delete is no error."""
    try:
        manifest = read_manifest(ref)
    except InspectorError:
        manifest = None  # unreadable: the server's copies of that name still go
    settings = ConnectionSettings.from_target(target)
    with _errors(settings), _open_maintenance(settings) as conn:
        names = set(_copies_of(conn, ref.name))
        if manifest is not None:
            names |= {saved.copy for saved in manifest.databases}
        for name in sorted(names):
            _drop(conn, settings, name)
    (ref.folder / MANIFEST).unlink(missing_ok=True)
