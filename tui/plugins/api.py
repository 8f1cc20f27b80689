"""The contract between envdeck and a service plugin: small, typed and data-only.

A plugin is told where its service is (`ServiceTarget`), answers with dataclasses
(`KeyValues`, `Table`, `TextBlock`) that one generic widget renders, and never imports
Textual. Every call blocks and must finish within `target.timeout`: envdeck calls
plugins from worker threads only. Failures are `InspectorError`s with a plain message.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

# ---------------------------------------------------------------- what a plugin is told


@dataclass(frozen=True)
class ServiceTarget:
    """One compose service, as a plugin needs it: where it listens and how it is set up."""

    service: str
    image: str | None
    host: str
    ports: Mapping[int, int]  # container port -> port published on `host`
    environment: Mapping[str, str]
    options: Mapping[str, Any] = field(default_factory=dict)  # [tool.envdeck.services.X]
    timeout: float = 5.0
    route: str = ""  # how `host` reaches a remote engine's ports (tunnel, …); "" when local

    def host_port(self, container_port: int) -> int | None:
        """The published port for `container_port`; an explicit `port` option wins."""
        if "port" in self.options:
            return int(self.options["port"])
        return self.ports.get(container_port)

    def published_port(self, container_port: int) -> int:
        """`host_port`, or an `InspectorError` (DOWN) that says where to set one."""
        port = self.host_port(container_port)
        if port is None:
            raise InspectorError(
                Problem.DOWN,
                f"{self.service} publishes no port for {container_port}: publish it in the "
                f"compose file or set port in [tool.envdeck.services.{self.service}]",
            )
        return port

    def setting(self, option: str, *env_names: str, default: str = "") -> str:
        """A connection setting: the config option, else the first env var set."""
        if option in self.options:
            return str(self.options[option])
        for name in env_names:
            value = self.environment.get(name)
            if value:
                return value
        return default

    @property
    def image_name(self) -> str:
        """`redis` for `docker.io/library/redis:7-alpine`."""
        name = (self.image or "").rsplit("/", 1)[-1]
        return name.split("@", 1)[0].split(":", 1)[0].lower()


class Match(int, Enum):
    """How sure a plugin is that it serves a target; the highest wins."""

    NO = 0
    FALLBACK = 1  # e.g. HTTP: anything with a port
    PORT = 20  # its well-known port is exposed
    IMAGE = 50  # the image is the service's own
    CONFIGURED = 100  # the config names this plugin for the service


def image_or_port_match(target: ServiceTarget, images: Collection[str], port: int) -> Match:
    """How a plugin for one kind of server matches: IMAGE when the target's image is one
    of `images`, else PORT when the server's well-known `port` is published, else NO."""
    if target.image_name in images:
        return Match.IMAGE
    if target.host_port(port) is not None:
        return Match.PORT
    return Match.NO


# ---------------------------------------------------------------- what a plugin answers


@dataclass(frozen=True)
class KeyValues:
    title: str
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""  # e.g. "first 100 of about 1,000,000"


@dataclass(frozen=True)
class TextBlock:
    title: str
    text: str


Section = KeyValues | Table | TextBlock


@dataclass(frozen=True)
class View:
    """Something a plugin can show: an overview, a key browser, a table's rows..."""

    id: str
    title: str
    takes_query: bool = False  # a pattern, a table name, a SQL statement
    query_hint: str = ""


@dataclass(frozen=True)
class ViewRequest:
    view: str
    query: str = ""
    cursor: str | None = None  # from the previous page's next_cursor
    limit: int = 100


@dataclass(frozen=True)
class ViewResult:
    sections: tuple[Section, ...]
    next_cursor: str | None = None  # None: no more pages


@dataclass(frozen=True)
class Action:
    """Something a plugin can do. Destructive ones are confirmed by envdeck first."""

    id: str
    title: str
    destructive: bool
    params: tuple[str, ...] = ()  # names of the text parameters it needs


class Problem(Enum):
    DOWN = "down"  # nothing listens / no published port
    REFUSED = "refused"
    AUTH = "auth"  # wrong or missing credentials
    TIMEOUT = "timeout"
    REFUSED_QUERY = "refused query"  # e.g. a write in a read-only session
    ERROR = "error"


class InspectorError(Exception):
    """A failure to show the user as it is: `problem` says which kind."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@runtime_checkable
class ServicePlugin(Protocol):
    """What every inspector plugin provides. Read-only unless an Action says otherwise."""

    name: ClassVar[str]
    title: ClassVar[str]

    def matches(self, target: ServiceTarget) -> Match: ...

    def views(self, target: ServiceTarget) -> Sequence[View]: ...

    def show(self, target: ServiceTarget, request: ViewRequest) -> ViewResult: ...

    def actions(self, target: ServiceTarget) -> Sequence[Action]: ...

    def run_action(self, target: ServiceTarget, action: str, params: Mapping[str, str]) -> str: ...


# ---------------------------------------------------------------- saved data states


@dataclass(frozen=True)
class StateRef:
    """Where one saved state of a service lives.

    `folder` is a project-local directory that belongs to this service's part of the
    state (it exists, is empty before `save_state`); a plugin keeps its files there, or
    keeps the data in the service itself (e.g. a template database) and its name in
    `name`. Names are the user's snapshot names; `baseline` is the automatic one.
    """

    name: str
    folder: Path


@dataclass(frozen=True)
class SavedState:
    """What `save_state` made: shown in `snapshot list`, checked after a restore."""

    location: str  # "3 files in .envdeck/..." or "database envdeck_s_1a2b3c (in the service)"
    size_bytes: int
    summary: str  # "1,204 keys in 2 dbs", "2 databases, 14 tables, 3,100 rows"
    fingerprint: str  # the data's fingerprint when saved: equal after a correct restore


@runtime_checkable
class StatefulPlugin(Protocol):
    """Optional: a plugin that can save and restore its service's data.

    Reset, baseline and snapshots are built on these four calls. Each may take longer
    than `target.timeout` in total (a restore moves data), but every single request to
    the service still uses that timeout. Restores replace the service's data as a whole:
    whatever the saved state does not contain is removed.
    """

    def save_state(self, target: ServiceTarget, ref: StateRef) -> SavedState: ...

    def restore_state(self, target: ServiceTarget, ref: StateRef) -> str: ...

    def state_exists(self, target: ServiceTarget, ref: StateRef) -> bool:
        """Whether `ref` can still be restored here: its files are in `ref.folder`, and
        what it keeps in the service itself is still there (a recreated volume loses
        that). envdeck asks before trusting a baseline and retakes one on False. Raise
        (the service is down) when it cannot tell; that counts as restorable."""
        ...

    def delete_state(self, target: ServiceTarget, ref: StateRef) -> None: ...

    def fingerprint(self, target: ServiceTarget) -> str: ...


@runtime_checkable
class SeedablePlugin(Protocol):
    """Optional: a plugin that can apply a seed file (SQL, commands) to its service."""

    def apply_seed(self, target: ServiceTarget, path: Path) -> str: ...


# ---------------------------------------------------------------- data diffs


class Change(Enum):
    """Which way something changed between before and after a test."""

    ADDED = "added"  # a key set, a row inserted, a table created, a point upserted
    REMOVED = "removed"
    CHANGED = "changed"  # there before and after, different


@dataclass(frozen=True)
class DiffItem:
    """One changed thing: a key, a row, a point, a table, a sequence.

    `label` names it ("user:1", "id=3", "point 42"); `before` and `after` are short
    previews as (field, value) pairs, empty on the side where it does not exist. Every
    string is the service's data, untrusted: shown through `tui.core.text.safe_text`.
    """

    label: str
    before: tuple[tuple[str, str], ...] = ()
    after: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DiffGroup:
    """Every change of one kind in one place: "rows inserted" into "public.users".

    `count` is all of them, always; `items` only the first `limit` the caller asked for.
    """

    change: Change
    title: str  # "keys added in db 0", "rows updated in public.users"
    count: int
    items: tuple[DiffItem, ...]

    @property
    def more(self) -> int:
        """How many changes of this kind `items` leaves out."""
        return max(0, self.count - len(self.items))


@dataclass(frozen=True)
class ServiceDiff:
    """What a test changed in one service's data, as its plugin found it.

    `notes` say how the changes were found and where the answer is approximate (a
    connection that dropped notifications, a collection too large to compare point by
    point): a diff without notes is exact.
    """

    groups: tuple[DiffGroup, ...]  # only kinds with at least one change
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return any(group.count for group in self.groups)


@runtime_checkable
class DiffWatch(Protocol):
    """One diff under way, from `DiffablePlugin.begin_diff`."""

    def finish(self, limit: int) -> ServiceDiff:
        """What changed since `begin_diff`, with at most `limit` items a group. Called
        once the test is over and before its data is put back; it must leave the
        service's data as the test left it."""
        ...

    def close(self) -> None:
        """Stop watching and undo what `begin_diff` changed in the service (a setting, a
        subscription). Called once, after `finish` or instead of it; never raises."""
        ...


@runtime_checkable
class DiffablePlugin(Protocol):
    """Optional, beside `StatefulPlugin`: a plugin that can say what one test changed.

    envdeck saves the service's state (`save_state` into `before`), calls `begin_diff`,
    runs the test, calls `finish` and `close` on the watch, then restores `before` unless
    the user keeps the test's data. `before` is the state as it was when the test
    started: a plugin may read what things were from it. A diff must stay quick on a
    service holding millions of things when the test changes a few: watch what changes
    (notifications, statistics, transaction ids) rather than compare everything. Calls
    block, from worker threads, like every plugin call.
    """

    def begin_diff(self, target: ServiceTarget, before: StateRef) -> DiffWatch: ...
