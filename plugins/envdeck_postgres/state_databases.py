"""The user databases a saved state holds, and their properties outside the database.

Which databases are user databases. Every database but template0 and template1, envdeck's
own (`envdeck_s_…` copies, `envdeck_t_…` temporaries) and `postgres` while it holds no
user objects (no schema but public, nothing in public, no extension but plpgsql): then it
is the maintenance database envdeck connects to, and is neither saved, fingerprinted nor
touched. Once it holds something (the official image keeps everything there when
POSTGRES_DB is unset) it is a user database like any other; a restore then works from a
template1 connection, and a restore of a state saved while `postgres` was empty recreates
it empty (from template0). template1's own contents are never saved nor restored.

Properties. What PostgreSQL keeps about a database in shared catalogs, which a copy made
with `CREATE DATABASE … TEMPLATE` does not carry: its owner, `ALTER DATABASE … SET` and
`ALTER ROLE … IN DATABASE … SET` settings, database GRANTs, connection limit, comment,
IS_TEMPLATE and ALLOW_CONNECTIONS. They are read into a `Database`, saved in the manifest,
part of the fingerprint, and put back on a restored database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from psycopg import sql

from envdeck_postgres.cells import plain
from envdeck_postgres.connection import ConnectionSettings
from envdeck_postgres.state_connection import MAINTENANCE, Connection, connect
from envdeck_postgres.state_copies import is_envdecks
from tui.plugins.api import InspectorError, Problem

# GUCs whose stored value is a list of quoted identifiers (GUC_LIST_QUOTE).
LIST_QUOTED_SETTINGS = frozenset(
    {"search_path", "temp_tablespaces", "session_preload_libraries", "local_preload_libraries"}
)
DATABASE_PRIVILEGES = frozenset({"CREATE", "CONNECT", "TEMPORARY"})

AclEntry = tuple[str | None, str, bool]  # (grantee or PUBLIC, privilege, grantable)


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
    acl: tuple[AclEntry, ...] | None  # None: the default privileges
    settings: tuple[tuple[str | None, tuple[str, ...]], ...]  # (role or all, name=value)
    comment: str | None

    def identity(self) -> str:
        """Its properties as one canonical line, for fingerprints."""
        values = asdict(self)
        values["acl"] = None if self.acl is None else sorted(self.acl, key=_acl_key)
        values["settings"] = sorted((role or "", sorted(config)) for role, config in self.settings)
        return json.dumps(list(values.values()), ensure_ascii=False)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

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


def _acl_key(entry: AclEntry) -> tuple[str, str, bool]:
    return (entry[0] or "", entry[1], entry[2])


def _acl_entry(raw: Sequence[Any]) -> AclEntry:
    grantee, privilege, grantable = raw
    return (_optional(grantee), str(privilege), bool(grantable))


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------- reading


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


USER_SCHEMA = sql.SQL(
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname !~ '^pg_(toast$|temp_|toast_temp_)'"
)
USER_RELATION = sql.SQL("JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {}").format(
    USER_SCHEMA
)


def catalog(text: str) -> sql.Composed:
    """A catalog query; {user_schema} and {user_relation} filter out the system's."""
    return sql.SQL(text).format(user_schema=USER_SCHEMA, user_relation=USER_RELATION)


HOLDS_USER_OBJECTS_SQL = catalog("""
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
    found = [_database(row) for row in rows if not is_envdecks(row[0])]
    return [db for db in found if db.name != MAINTENANCE or _holds_user_objects(conn, settings)]


def _holds_user_objects(conn: Connection, settings: ConnectionSettings) -> bool:
    """Whether `postgres` holds anything of a user's, read from `conn` if it is there."""
    if conn.info.dbname == MAINTENANCE:
        return _holds(conn)
    with connect(settings, MAINTENANCE, read_only=True) as other:
        return _holds(other)


def _holds(conn: Connection) -> bool:
    return conn.execute(HOLDS_USER_OBJECTS_SQL).fetchone() == ("t",)


# ---------------------------------------------------------------- putting back


def put_back(conn: Connection, database: Database) -> list[str]:
    """What a copy does not carry: settings, GRANTs, limits, comment. Entries for roles
    that no longer exist are skipped, and said so (the returned notes)."""
    name = sql.Identifier(database.name)
    roles: set[str] = set()
    if database.acl is not None or database.settings:
        roles = {row[0] for row in conn.execute("SELECT rolname FROM pg_roles")}
    skipped = _put_back_grants(conn, database, roles) | _put_back_settings(conn, database, roles)
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


def _put_back_grants(conn: Connection, database: Database, roles: set[str]) -> set[str]:
    """The database's GRANTs, as saved; returns the grantees skipped for being gone."""
    if database.acl is None:
        return set()
    name = sql.Identifier(database.name)
    conn.execute(
        sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC, {}").format(
            name, sql.Identifier(database.owner)
        )
    )
    skipped: set[str] = set()
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
    return skipped


def _put_back_settings(conn: Connection, database: Database, roles: set[str]) -> set[str]:
    """`ALTER DATABASE/ROLE … SET`, as saved; returns the roles skipped for being gone."""
    name = sql.Identifier(database.name)
    skipped: set[str] = set()
    for role, config in database.settings:
        if role is not None and role not in roles:
            skipped.add(role)
            continue
        target = (
            sql.SQL("DATABASE {}").format(name)
            if role is None
            else sql.SQL("ROLE {} IN DATABASE {}").format(sql.Identifier(role), name)
        )
        for item in config:
            setting, _, value = item.partition("=")
            values = (
                _split_identifiers(value) if setting.lower() in LIST_QUOTED_SETTINGS else [value]
            )
            conn.execute(
                sql.SQL("ALTER {} SET {} = {}").format(
                    target,
                    sql.Identifier(setting),
                    sql.SQL(", ").join(sql.Literal(part) for part in values),
                )
            )
    return skipped


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
