"""Saved states of a PostgreSQL service, kept in the server itself as template databases.

What a state is. For every user database `db`, a copy made by the server with
`CREATE DATABASE <copy> TEMPLATE db`, named `envdeck_s_<hash of the snapshot name>_<hash
of snapshot and db>` (31 bytes, far below the 63-byte limit), owned by `db`'s owner, marked
`IS_TEMPLATE true, ALLOW_CONNECTIONS false` and described by `COMMENT ON DATABASE`
(snapshot, source database, time). A small manifest in `ref.folder` (postgres-state.json)
says which databases the state holds, under which copy names, and the per-database
properties PostgreSQL keeps outside the database (below). The data never leaves the
server: `SavedState.location` names the copies, `size_bytes` is their pg_database_size.

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

The rest is told where it is done: which databases are user databases (`postgres` only
once it holds something) in `state_databases`; names, and the copy strategy behind a
reset's speed, in `state_copies`; the manifest in `state_manifest`; what the fingerprint
covers in `state_fingerprint`; statement timeouts for bulk work in `state_connection`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import psycopg

from envdeck_postgres.cells import plain
from envdeck_postgres.connection import ConnectionSettings
from envdeck_postgres.errors import inspector_error, server_message
from envdeck_postgres.state_connection import (
    FALLBACK_MAINTENANCE,
    MAINTENANCE,
    Connection,
    connect,
    connect_maintenance,
    database_sizes,
    errors,
)
from envdeck_postgres.state_copies import (
    copies_of,
    copy_name,
    create_from,
    drop_copy,
    drop_quietly,
    drop_stale_temporaries,
    drop_user_database,
    rename,
    seal,
    temporary_name,
)
from envdeck_postgres.state_databases import Database, put_back, user_databases
from envdeck_postgres.state_fingerprint import Digest, combine, database_digest
from envdeck_postgres.state_manifest import (
    MANIFEST,
    Manifest,
    SavedDatabase,
    read_manifest,
    write_manifest,
)
from tui.plugins.api import InspectorError, Problem, SavedState, ServiceTarget, StateRef

# ---------------------------------------------------------------- fingerprint


def fingerprint(target: ServiceTarget) -> str:
    settings = ConnectionSettings.from_target(target)
    with errors(settings):
        with connect_maintenance(settings) as conn:
            databases = user_databases(conn, settings)
        return combine({db.name: database_digest(settings, db.name, db) for db in databases})


# ---------------------------------------------------------------- save


def save_state(target: ServiceTarget, ref: StateRef) -> SavedState:
    settings = ConnectionSettings.from_target(target)
    saved_at = datetime.now(UTC)
    with errors(settings), connect_maintenance(settings) as conn:
        databases = user_databases(conn, settings)
        drop_stale_temporaries(conn, settings)
        sizes = database_sizes(conn, (db.name for db in databases))
        copies = {db.name: copy_name(ref.name, db.name) for db in databases}
        made: dict[str, str] = {}  # database -> its temporary copy, until renamed
        digests: dict[str, Digest] = {}
        try:
            for db in databases:
                temporary = temporary_name()
                made[db.name] = temporary
                create_from(
                    conn, settings, name=temporary, template=db.name, owner=db.owner,
                    size_bytes=sizes.get(db.name, 0), saving=True,
                )  # fmt: skip
                # Read from the copy itself: the fingerprint is what was saved, even if
                # a client reconnected to the source since.
                digests[db.name] = database_digest(settings, temporary, db)
                seal(conn, temporary, ref.name, db.name, saved_at)
            for old in copies_of(conn, ref.name):
                drop_copy(conn, settings, old)
            for db in databases:
                rename(conn, made.pop(db.name), copies[db.name])
        except BaseException:
            drop_quietly(conn, settings, made.values())
            raise
        copy_sizes = database_sizes(conn, copies.values())
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
    write_manifest(ref.folder, manifest)
    return SavedState(
        location=_location(manifest),
        size_bytes=sum(saved.size_bytes for saved in manifest.databases),
        summary=_summary(manifest),
        fingerprint=manifest.fingerprint,
    )


def _location(manifest: Manifest) -> str:
    copies = manifest.copies
    if not copies:
        return "no databases (an empty server), noted in the service's folder"
    if len(copies) == 1:
        return f"database {copies[0]} (in the service)"
    return f"{len(copies)} databases {', '.join(copies)} (in the service)"


def _summary(manifest: Manifest) -> str:
    count = len(manifest.databases)
    tables = sum(saved.tables for saved in manifest.databases)
    rows = sum(saved.rows for saved in manifest.databases)
    return f"{_count(count, 'database')}, {_count(tables, 'table')}, {_count(rows, 'row')}"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'s' if number != 1 else ''}"


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
    with errors(settings):
        conn = connect_maintenance(settings)
        try:
            sizes = _check_restorable(conn, manifest, ref, target.service)
            saved = {entry.database.name for entry in manifest.databases}
            extra = [db for db in user_databases(conn, settings) if db.name not in saved]
            replaced = saved | {db.name for db in extra}
            if MAINTENANCE in replaced and conn.info.dbname == MAINTENANCE:
                # `postgres` itself is replaced: work from template1 instead.
                conn.close()
                conn = connect(settings, FALLBACK_MAINTENANCE)
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
    sizes = database_sizes(conn, manifest.copies)
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
            drop_user_database(conn, settings, name)
            done.append(f"dropped {plain(name)}")
        for saved in manifest.databases:
            current = saved.database.name
            _replace(conn, settings, saved.database, saved.copy, sizes[saved.copy])
            notes += put_back(conn, saved.database)
            done.append(f"restored {plain(current)}")
        if emptied is not None:
            current = MAINTENANCE
            _replace(conn, settings, emptied, "template0", 0)
            notes += put_back(conn, emptied)
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
    template: str,
    size_bytes: int,
) -> None:
    """Drop `database` (its sessions ended) and create it again from `template`: dropping
    first, not building aside and swapping (see `state_copies`)."""
    drop_user_database(conn, settings, database.name)
    create_from(
        conn, settings, name=database.name, template=template, owner=database.owner,
        size_bytes=size_bytes, saving=False,
    )  # fmt: skip


# ---------------------------------------------------------------- exists, delete


def state_exists(target: ServiceTarget, ref: StateRef) -> bool:
    """The manifest is there and every copy it names is still in the server."""
    manifest = read_manifest(ref)
    if manifest is None:
        return False
    settings = ConnectionSettings.from_target(target)
    with errors(settings), connect_maintenance(settings) as conn:
        return len(database_sizes(conn, manifest.copies)) == len(manifest.copies)


def delete_state(target: ServiceTarget, ref: StateRef) -> None:
    """Drop the snapshot's copies (the manifest's, and any other copy of that name left
    in the server), then the manifest. Nothing to delete is no error."""
    try:
        manifest = read_manifest(ref)
    except InspectorError:
        manifest = None  # unreadable: the server's copies of that name still go
    settings = ConnectionSettings.from_target(target)
    with errors(settings), connect_maintenance(settings) as conn:
        names = set(copies_of(conn, ref.name))
        if manifest is not None:
            names |= set(manifest.copies)
        for name in sorted(names):
            drop_copy(conn, settings, name)
    (ref.folder / MANIFEST).unlink(missing_ok=True)
