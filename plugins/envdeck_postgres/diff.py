"""What one test changed in a PostgreSQL server: per database, rows inserted, deleted
and updated per table, tables and schemas created or dropped, sequences moved.

How it stays quick. Before the test (just after envdeck saved the state, as template
copies of every user database: state.py) each database's catalogs are read: schemas,
tables with their file, sequences' last values, each table's write counters
(pg_stat_user_tables n_tup_ins + n_tup_upd + n_tup_del), and the oldest transaction id
that may write from now on. After the test, once its sessions have ended (a session
reports its counters as it ends; we wait up to 5 s, and say so when some stay open),
the same is read again: only tables whose counters moved or whose file changed are
looked at, and in those only the rows the test wrote (newer xmin) and the pages that
lost rows are read (diff_rows.py). A table of a million rows where the test changed
ten sends those ten rows and one count a page.

Exact, but for these: a session that stays open after the test (a pooled connection of
an app container) may not have reported its latest counters, so a table only it wrote
can be missed (the note names how many sessions stayed); a rewritten table is compared
whole; values are compared as text. Databases created or dropped by the test are
named, not compared.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from envdeck_postgres.connection import ConnectionSettings
from envdeck_postgres.diff_catalog import (
    Catalog,
    Name,
    changed_tables,
    read_catalog,
    rewritten,
    wait_for_other_sessions,
    write_threshold,
)
from envdeck_postgres.diff_rows import Row, RowChanges, candidate_rows, row_changes
from envdeck_postgres.errors import inspector_error
from envdeck_postgres.state_connection import (
    Connection,
    bulk_timeout,
    connect,
    connect_maintenance,
    database_sizes,
)
from envdeck_postgres.state_databases import user_databases
from envdeck_postgres.state_manifest import read_manifest
from tui.plugins.api import (
    Change,
    DiffGroup,
    DiffItem,
    InspectorError,
    Problem,
    ServiceDiff,
    ServiceTarget,
    StateRef,
)
from tui.plugins.diff_build import bounded_group, groups_with_changes, preview

XID_SPACE = 2**32


@dataclass(frozen=True)
class _Before:
    copy: str  # the saved copy of the database
    catalog: Catalog
    threshold: int  # 32-bit xid: rows with this xmin or newer were written since


class PostgresDiffWatch:
    def __init__(self, target: ServiceTarget, before: StateRef) -> None:
        self._settings = ConnectionSettings.from_target(target)
        manifest = read_manifest(before)
        if manifest is None:
            raise InspectorError(Problem.ERROR, f"no saved state of {target.service} to diff from")
        self._before: dict[str, _Before] = {}
        try:
            for saved in manifest.databases:
                with connect(self._settings, saved.database.name, read_only=True) as conn:
                    threshold = int(write_threshold(conn)) % XID_SPACE
                    self._before[saved.database.name] = _Before(
                        saved.copy, read_catalog(conn), threshold
                    )
        except psycopg.Error as error:
            raise inspector_error(error, self._settings) from None

    def close(self) -> None:
        """Nothing to undo: beginning only read the catalogs."""

    def finish(self, limit: int) -> ServiceDiff:
        try:
            return self._finish(limit)
        except psycopg.Error as error:
            raise inspector_error(error, self._settings) from None

    def _finish(self, limit: int) -> ServiceDiff:
        groups: list[DiffGroup] = []
        notes: list[str] = []
        with connect_maintenance(self._settings) as maintenance:
            now = {db.name for db in user_databases(maintenance, self._settings)}
            created = sorted(now - set(self._before))
            dropped = sorted(set(self._before) - now)
            groups.append(_names_group(Change.ADDED, "databases created", created, limit))
            groups.append(_names_group(Change.REMOVED, "databases dropped", dropped, limit))
            for database, before in self._before.items():
                if database in now:
                    groups += self._database(maintenance, database, before, limit, notes)
        return ServiceDiff(groups_with_changes(groups), tuple(notes))

    def _database(
        self,
        maintenance: Connection,
        database: str,
        before: _Before,
        limit: int,
        notes: list[str],
    ) -> list[DiffGroup]:
        where = "" if len(self._before) == 1 else f"{database}: "
        with connect(self._settings, database, read_only=True) as live:
            still_open = wait_for_other_sessions(live, [maintenance.info.backend_pid])
            if still_open:
                notes.append(
                    f"{where}{still_open} other session(s) stayed connected after the test: "
                    "tables only they wrote may be missing"
                )
            after = read_catalog(live)
            groups = _catalog_groups(before.catalog, after, where, limit)
            tables = changed_tables(before.catalog, after)
            if tables:
                with _opened_copy(maintenance, self._settings, before.copy) as copy:
                    size = database_sizes(maintenance, [database]).get(database, 0)
                    with (
                        bulk_timeout(live, self._settings, size),
                        bulk_timeout(copy, self._settings, size),
                    ):
                        for table in tables:
                            was, now = before.catalog.tables[table], after.tables[table]
                            found = candidate_rows(
                                live, copy, table, before.threshold, rewritten=rewritten(was, now)
                            )
                            if found.whole:
                                notes.append(
                                    f"{where}{preview(_dotted(table))} was rewritten or "
                                    "altered: compared in full"
                                )
                            key = [found.columns.index(column) for column in found.key]
                            changes = row_changes(found.removed, found.written, key)
                            groups += _row_groups(
                                changes, found.columns, key, where + _dotted(table), limit
                            )
        return groups


# ---------------------------------------------------------------- groups


def _catalog_groups(before: Catalog, after: Catalog, where: str, limit: int) -> list[DiffGroup]:
    schemas_created = sorted(after.schemas - before.schemas)
    schemas_dropped = sorted(before.schemas - after.schemas)
    tables_created = sorted(set(after.tables) - set(before.tables))
    tables_dropped = sorted(set(before.tables) - set(after.tables))
    moved = [
        DiffItem(
            preview(_dotted(name)),
            (("last value", preview(str(was))),),
            (("last value", preview(str(after.sequences[name]))),),
        )
        for name, was in sorted(before.sequences.items())
        if name in after.sequences and after.sequences[name] != was
    ]
    return [
        _names_group(Change.ADDED, f"{where}schemas created", schemas_created, limit),
        _names_group(Change.REMOVED, f"{where}schemas dropped", schemas_dropped, limit),
        _names_group(Change.ADDED, f"{where}tables created", map(_dotted, tables_created), limit),
        _names_group(Change.REMOVED, f"{where}tables dropped", map(_dotted, tables_dropped), limit),
        bounded_group(Change.CHANGED, f"{where}sequences moved", moved, len(moved), limit),
    ]


def _names_group(
    change: Change, title: str, names: Sequence[str] | map[str], limit: int
) -> DiffGroup:
    listed = list(names)
    items = (DiffItem(preview(name)) for name in listed)
    return bounded_group(change, title, items, len(listed), limit)


def _row_groups(
    changes: RowChanges, columns: Sequence[str], key: Sequence[int], table: str, limit: int
) -> list[DiffGroup]:
    shown = preview(table)

    def label(row: Row) -> str:
        if not key:
            return "row"
        return preview(", ".join(f"{columns[i]}={_cell(row[i])}" for i in key))

    def whole(row: Row) -> tuple[tuple[str, str], ...]:
        return tuple(
            (preview(column), _cell(value)) for column, value in zip(columns, row, strict=True)
        )

    def differing(
        was: Row, now: Row
    ) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
        changed = [i for i, (a, b) in enumerate(zip(was, now, strict=True)) if a != b]
        return (
            tuple((preview(columns[i]), _cell(was[i])) for i in changed),
            tuple((preview(columns[i]), _cell(now[i])) for i in changed),
        )

    inserted = (DiffItem(label(row), (), whole(row)) for row in changes.inserted)
    deleted = (DiffItem(label(row), whole(row), ()) for row in changes.deleted)
    updated = (DiffItem(label(now), *differing(was, now)) for was, now in changes.updated)
    return [
        bounded_group(
            Change.ADDED, f"rows inserted into {shown}", inserted, len(changes.inserted), limit
        ),
        bounded_group(
            Change.REMOVED, f"rows deleted from {shown}", deleted, len(changes.deleted), limit
        ),
        bounded_group(
            Change.CHANGED, f"rows updated in {shown}", updated, len(changes.updated), limit
        ),
    ]


def _cell(value: str | None) -> str:
    return "NULL" if value is None else preview(value)


def _dotted(name: Name) -> str:
    return f"{name[0]}.{name[1]}"


@contextlib.contextmanager
def _opened_copy(
    maintenance: Connection, settings: ConnectionSettings, copy: str
) -> Iterator[Connection]:
    """A read-only connection to a saved copy, which takes none otherwise: allowed for the
    read, refused again after (a restore copies it, which needs it unconnected)."""
    name = sql.Identifier(copy)
    maintenance.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(name))
    try:
        with connect(settings, copy, read_only=True) as conn:
            yield conn
    finally:
        maintenance.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name))
