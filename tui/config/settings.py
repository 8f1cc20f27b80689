"""envdeck's typed settings.

Read, highest priority first, from: explicit values (the command line), ENVDECK_*
environment variables, `envdeck.toml`, and `[tool.envdeck]` in `pyproject.toml`, both
looked up from the working directory upwards. `envdeck.toml` holds the same table, at its
top level or under `[tool.envdeck]`. A table's `extend = "other.toml"` puts it over that
file's table (`read_config`). Relative paths are taken relative to the folder of the file
that configured them. Every table forbids unknown keys: a misspelt `protected` must not
leave a service unprotected.

The settings are plain dataclasses, each field with its documentation and constraints in
its metadata (`setting`). Start-up reads them without pydantic (`tui.config.reading`:
importing pydantic and pydantic-settings cost 0.2-0.3 s of every command's start); a value
that reader is not sure of goes to pydantic (`tui.config.validation`), which either
accepts it or says what is wrong, in the same words as before.

One module (~500 lines): reading a file's table (with what it extends) walks these
dataclasses' fields to anchor each path to its own file, and loading the settings reads
the file: apart, the two would import each other.
"""

# `setting(...)` is a field specifier (it returns dataclasses.field), not a shared default.
# ruff: noqa: RUF009
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

CONFIG_FILE_NAMES = ("envdeck.toml", "pyproject.toml")
TOOL_HEADER = ("tool", "envdeck")
ENV_PREFIX = "ENVDECK_"
# The key that names another config file to build on; a file's key, not a setting.
EXTEND_KEY = "extend"
# A command's arguments that are paths relative to the file that gives the command.
_RELATIVE_ARGUMENT = ("./", "../")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which value and why."""


def setting(
    default: Any = dataclasses.MISSING,
    *,
    doc: str = "",
    factory: Any = dataclasses.MISSING,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    pattern: str | None = None,
    aliases: tuple[str, ...] = (),
    secret: bool = False,
    command: bool = False,
) -> Any:
    """A settings field: its default, what it means, and what values it takes. `aliases`
    are other keys a file may give it by (`username` for `user`); a `secret` stays out of
    repr(); a `command` is an argv run on this machine from the config's folder."""
    metadata = {
        "doc": doc,
        "gt": gt,
        "ge": ge,
        "le": le,
        "pattern": pattern,
        "aliases": aliases,
        "command": command,
    }
    return field(default=default, default_factory=factory, metadata=metadata, repr=not secret)


def seed_hook_problem(hook: SeedHook) -> str | None:
    """What makes `hook` unusable, or None."""
    kinds = [kind for kind in ("command", "exec", "file") if getattr(hook, kind)]
    if len(kinds) != 1:
        return "a seed hook needs exactly one of command, exec, file"
    if kinds[0] in ("exec", "file") and not hook.service:
        return f"a seed hook with {kinds[0]} needs a service"
    return None


@dataclass(frozen=True)
class SeedHook:
    """One step that puts data into a freshly created environment (after a hard reset).

    Exactly one of: `command` (argv run on this machine from the config's folder, with
    ENVDECK_<SERVICE>_HOST and ENVDECK_<SERVICE>_PORT_<N> set to where each published port
    is reached), `exec` (argv run inside `service`'s container), `file` (a seed file
    `service`'s plugin applies, e.g. SQL).
    """

    service: str | None = setting(None, doc="The service an exec or a file is for.")
    command: list[str] = setting(factory=list, command=True, doc="An argv run on this machine.")
    exec: list[str] = setting(factory=list, doc="An argv run inside the service's container.")
    file: Path | None = setting(None, doc="A seed file the service's plugin applies.")
    timeout: float = setting(120.0, gt=0, doc="Seconds the step may take.")

    def __post_init__(self) -> None:
        problem = seed_hook_problem(self)
        if problem is not None:
            raise ValueError(problem)

    @property
    def title(self) -> str:
        if self.file is not None:
            return f"seed {self.service} from {self.file.name}"
        if self.exec:
            return f"seed {self.service}: {' '.join(self.exec)}"
        return f"seed: {' '.join(self.command)}"


@dataclass(frozen=True)
class ServiceSettings:
    """`[tool.envdeck.services.NAME]`: how envdeck treats one service and how its plugin
    reaches it. Every key is optional; unset ones come from the compose file and the
    service's own environment (POSTGRES_USER, REDIS_PASSWORD, ...)."""

    plugin: str | None = setting(None, doc="The plugin that inspects it (e.g. postgres), by name.")
    port: int | None = setting(None, gt=0, le=65535, doc="Where it listens on 127.0.0.1.")
    timeout: float | None = setting(None, gt=0, doc="Seconds one plugin call may take (default 5).")
    protected: bool = setting(False, doc="true: never reset, removed or seeded by envdeck.")
    one_shot: bool | None = setting(
        None,
        doc="true: a one-shot service (migration, seeder), done when it exits 0; "
        "false: a server, never done; unset: decided from the compose file.",
    )
    user: str | None = setting(
        None,
        aliases=("username",),
        doc="The user to connect as (PostgreSQL role, Redis ACL user).",
    )
    password: str | None = setting(None, secret=True, doc="The password to connect with.")
    database: str | None = setting(
        None, aliases=("dbname",), doc="PostgreSQL: the database to open."
    )
    db: int | None = setting(None, ge=0, doc="Redis: the database number.")
    api_key: str | None = setting(None, secret=True, doc="Qdrant: the API key.")
    health_path: str | None = setting(
        None, doc="HTTP: the path of the health endpoint, e.g. /healthz."
    )
    options: dict[str, Any] = setting(
        factory=dict, doc="Settings of a third-party plugin, handed to it as they are."
    )

    def plugin_options(self) -> dict[str, Any]:
        """What the service's plugin is told (`ServiceTarget.options`): the keys set here,
        under the names the plugins read too (libpq's `dbname`, Redis's `username`)."""
        known = {
            item.name: getattr(self, item.name)
            for item in dataclasses.fields(self)
            if item.name != "options" and getattr(self, item.name) is not None
        }
        if self.user is not None:
            known["username"] = self.user
        if self.database is not None:
            known["dbname"] = self.database
        return {**self.options, **known}


NO_SERVICE_SETTINGS = ServiceSettings()


@dataclass(frozen=True)
class EnvdeckSettings:
    """Everything envdeck can be told; each field documents itself for `envdeck doctor`."""

    compose_files: list[Path] = setting(
        factory=list,
        doc="Compose files, like `docker compose -f`; empty: compose's own lookup.",
    )
    project_name: str | None = setting(None, doc="Compose project name, like `docker compose -p`.")
    project_dir: Path | None = setting(
        None, doc="Compose's --project-directory; unset: the first compose file's folder."
    )
    config_dir: Path | None = setting(
        None, doc="Folder of the config file (set by envdeck): where commands run from."
    )
    offline: bool | None = setting(
        None,
        doc="Use offline_compose_files: true always, false never, unset when the "
        "upstream images are missing and cannot be pulled.",
    )
    offline_compose_files: list[Path] = setting(
        factory=list, doc="Override files layered over compose_files when running offline."
    )
    offline_setup: list[str] = setting(
        factory=list,
        command=True,
        doc="A command (argv) that prepares offline images; run before `up`.",
    )
    compose_binary: Path | None = setting(
        None, doc="A Compose v2 binary to use instead of the bundled one."
    )
    up_timeout: float = setting(
        180.0, gt=0, doc="Seconds `up` waits for every service to be healthy."
    )
    services: dict[str, ServiceSettings] = setting(
        factory=dict,
        doc="Per-service settings, e.g. [tool.envdeck.services.db] with plugin, "
        "port, user, password, database, timeout, protected, one_shot.",
    )
    keymap: dict[str, str] = setting(
        factory=dict,
        doc='Key remapping by binding id, e.g. {"dashboard.restart" = "R"} '
        "(ids are listed in the help screen).",
    )
    test_python: Path | None = setting(
        None,
        doc="The interpreter that runs the project's tests; unset: its .venv, else envdeck's own.",
    )
    test_service: str | None = setting(
        None,
        doc="A compose service whose container runs the tests (`compose run --rm "
        "SERVICE`), so they reach services by their compose names; unset: on this machine.",
    )
    test_service_dir: str | None = setting(
        None,
        pattern=r"^/",
        doc="The project's folder inside test_service's container; unset: read "
        "from the service's bind mounts.",
    )
    test_service_python: str = setting(
        "python3", doc="The interpreter inside test_service's container."
    )
    pytest_args: list[str] = setting(factory=list, doc="Extra pytest arguments for every test run.")
    log_lines_per_service: int = setting(
        10_000,
        ge=100,
        le=1_000_000,
        doc="Log lines kept in memory per service (older ones are dropped).",
    )
    engine_timeout: float = setting(10.0, gt=0, doc="Seconds a single Docker engine call may take.")
    state_dir: Path | None = setting(
        None,
        doc="Where baselines, snapshots and the last reset are kept; unset: "
        ".envdeck beside the config (or the compose file).",
    )
    seed: list[SeedHook] = setting(
        factory=list,
        doc="Steps a hard reset runs after `up`, in order: [[tool.envdeck.seed]] "
        "with command, exec or file.",
    )
    reset_before_watch_runs: bool = setting(
        False, doc="Fast-reset the environment before every watch-mode test run."
    )
    test_warm_start: bool = setting(
        True,
        doc="The tests screen and watch mode keep the next run's Python started, "
        "with pytest imported, so a run starts ~0.3 s sooner; false: every run starts a "
        "fresh pytest.",
    )

    def service(self, name: str) -> ServiceSettings:
        """`[tool.envdeck.services.NAME]`, or the defaults when the service has none."""
        return self.services.get(name, NO_SERVICE_SETTINGS)

    def replace(self, **changes: Any) -> EnvdeckSettings:
        """The same settings with `changes` (typed values, not checked again)."""
        return dataclasses.replace(self, **changes)


def find_config_file(start: Path) -> Path | None:
    """The nearest envdeck.toml, or pyproject.toml with a [tool.envdeck] table."""
    found = _find_config(start)
    return found[0] if found else None


def _find_config(start: Path) -> tuple[Path, dict[str, Any] | None] | None:
    """`find_config_file`'s answer, with a pyproject.toml's document as parsed to find
    it: read once, not twice (2-5 ms of the first frame for a long one; issue 17)."""
    for folder in (start, *start.parents):
        toml_file = folder / "envdeck.toml"
        if toml_file.is_file():
            return toml_file, None
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            has_table, document = _envdeck_table_in(pyproject)
            if has_table:
                return pyproject, document
    return None


def _has_envdeck_table(pyproject: Path) -> bool:
    return _envdeck_table_in(pyproject)[0]


def _envdeck_table_in(pyproject: Path) -> tuple[bool, dict[str, Any] | None]:
    """Whether `pyproject` has our table, and its document when it parses."""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False, None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        # Broken TOML that names our table is ours: read_config_table then says where.
        return "[tool.envdeck" in text, None
    tool = document.get("tool")
    return isinstance(tool, dict) and "envdeck" in tool, document


class ExtendedTable(NamedTuple):
    """A table another config file extends, as written in its own file."""

    file: Path
    table: ConfigTable
    extended_by: Path


class ConfigTable(NamedTuple):
    """envdeck's table as read from a config file, and where it sits in that file."""

    values: dict[str, Any]
    header: tuple[str, ...]  # ("tool", "envdeck"), or () at the top of an envdeck.toml
    # The tables `values` were merged from, nearest first (`extend`), each as written.
    extends: tuple[ExtendedTable, ...] = ()


def read_config_table(config_file: Path, document: dict[str, Any] | None = None) -> ConfigTable:
    """envdeck's table in `config_file`: `[tool.envdeck]` of a pyproject.toml; in an
    envdeck.toml, the top level or `[tool.envdeck]` (the same table, copied over).
    `document`: the file as just parsed, when the caller has it."""
    if document is None:
        try:
            document = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"cannot read {config_file}: {error}") from None
    tool = document.get("tool")
    table = tool.get("envdeck") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{config_file}: tool.envdeck must be a table")
    if config_file.name == "pyproject.toml":
        return ConfigTable(table or {}, TOOL_HEADER)
    if tool is None:
        return ConfigTable(document, ())
    if table is None:
        raise ConfigError(
            f"{config_file}: envdeck.toml takes envdeck's settings at its top level "
            "(compose_files = [...]) or under [tool.envdeck]; its [tool] table has no "
            "envdeck table"
        )
    elsewhere = sorted(key for key in document if key != "tool")
    if elsewhere:
        raise ConfigError(
            f"{config_file}: settings both under [tool.envdeck] and at the top level "
            f"({', '.join(elsewhere)}): keep them in one place"
        )
    return ConfigTable(table, TOOL_HEADER)


def read_config(
    config_file: Path, *, commands_here: bool = True, document: dict[str, Any] | None = None
) -> ConfigTable:
    """envdeck's table in `config_file` over the tables it extends (`extend = "path"`,
    relative to its folder; an extended file may extend another). Tables are merged key by
    key, lists replaced. An extended file's relative paths are taken from its own folder,
    and so are its commands' ./ and ../ arguments, which are rewritten to run from
    `config_file`'s folder (where commands run). `commands_here=False`: they run from
    elsewhere, so every file's paths and ./ arguments are made absolute. `document`:
    `config_file` as just parsed, when the caller has it."""
    table = read_config_table(config_file, document)
    commands_from = config_file.parent if commands_here else None
    own = _without_extend(table.values)
    if not commands_here:
        own = _anchored_values(own, config_file.parent, commands_from)
    if EXTEND_KEY not in table.values:
        return table._replace(values=own)
    from tui.config.reading import merged_sources  # noqa: PLC0415 - see the docstring

    extended = _extended_tables(config_file, table)
    layers = [
        _anchored_values(item.table.values, item.file.parent, commands_from) for item in extended
    ]
    return ConfigTable(merged_sources(own, *layers), table.header, tuple(extended))


def _extended_tables(config_file: Path, table: ConfigTable) -> list[ExtendedTable]:
    """The tables `table` extends, nearest first, each without its `extend` key."""
    chain = [config_file.resolve()]
    extended: list[ExtendedTable] = []
    current = config_file
    while EXTEND_KEY in table.values:
        target = _extend_target(current, table.values[EXTEND_KEY])
        if target in chain:
            cycle = " -> ".join(str(file) for file in (*chain[chain.index(target) :], target))
            raise ConfigError(f"{current}: `extend` makes a cycle: {cycle}")
        chain.append(target)
        try:
            table = read_config_table(target)
        except ConfigError as error:
            raise ConfigError(f"{current} extends {target}, which is broken: {error}") from None
        if target.name == "pyproject.toml" and not _has_envdeck_table(target):
            raise ConfigError(f"{current} extends {target}, which has no [tool.envdeck] table")
        extended.append(
            ExtendedTable(target, table._replace(values=_without_extend(table.values)), current)
        )
        current = target
    return extended


def _extend_target(config_file: Path, value: Any) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"{config_file}: `extend` takes the path of another config file, not {value!r}"
        )
    target = (config_file.parent / value).resolve()
    if not target.is_file():
        raise ConfigError(f'{config_file}: extend = "{value}", but {target} does not exist')
    return target


def _without_extend(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key != EXTEND_KEY}


def _anchored_values(
    values: dict[str, Any], folder: Path, commands_from: Path | None
) -> dict[str, Any]:
    """`values` of a file in `folder` with its relative paths made absolute and its
    commands' ./ and ../ arguments made relative to `commands_from` (absolute when None).
    Values of the wrong type are left as they are, for the reader to refuse."""
    return _anchored_table(EnvdeckSettings, values, folder, commands_from)


def _anchored_table(
    cls: type[Any], values: dict[str, Any], folder: Path, commands_from: Path | None
) -> dict[str, Any]:
    anchored = dict(values)
    for item in dataclasses.fields(cls):
        value = anchored.get(item.name)
        kind = str(item.type)
        if isinstance(value, str) and kind in ("Path", "Path | None"):
            anchored[item.name] = _absolute(value, folder)
        elif isinstance(value, list) and kind == "list[Path]":
            anchored[item.name] = [
                _absolute(path, folder) if isinstance(path, str) else path for path in value
            ]
        elif isinstance(value, list) and item.metadata["command"]:
            anchored[item.name] = [_argument(arg, folder, commands_from) for arg in value]
        elif isinstance(value, list) and kind == "list[SeedHook]":
            anchored[item.name] = [
                _anchored_table(SeedHook, hook, folder, commands_from)
                if isinstance(hook, dict)
                else hook
                for hook in value
            ]
    return anchored


def _absolute(path: str, folder: Path) -> str:
    return path if Path(path).is_absolute() else str((folder / path).resolve())


def _argument(argument: Any, folder: Path, commands_from: Path | None) -> Any:
    if not isinstance(argument, str) or not argument.startswith(_RELATIVE_ARGUMENT):
        return argument
    target = (folder / argument).resolve()
    if commands_from is None:
        return str(target)
    try:
        relative = os.path.relpath(target, commands_from)
    except ValueError:  # another drive (Windows)
        return str(target)
    # Without a separator, an argv[0] would be looked up on PATH instead.
    return relative if os.sep in relative else os.curdir + os.sep + relative


def load_settings(cwd: Path | None = None, **overrides: Any) -> EnvdeckSettings:
    """Settings for a run started in `cwd`, with command-line `overrides` on top."""
    cwd = (cwd or Path.cwd()).resolve()
    config_file, document = _find_config(cwd) or (None, None)
    table = (
        read_config(config_file, document=document) if config_file else ConfigTable({}, TOOL_HEADER)
    )
    explicit = {key: value for key, value in overrides.items() if value not in (None, [], ())}
    settings = typed_settings(explicit, table, config_file or "the environment")
    # Paths in a config file are relative to its folder; the CLI passes absolute ones.
    return anchor_paths(settings, config_file.parent if config_file else cwd)


def typed_settings(
    explicit: dict[str, Any], table: ConfigTable, where: Path | str
) -> EnvdeckSettings:
    """The settings from `explicit` values, ENVDECK_* variables and `table`, paths as
    given; ConfigError naming every problem (and the file it is in)."""
    from tui.config.reading import NotSure, read_settings  # noqa: PLC0415 - see the docstring

    try:
        return read_settings(explicit, table.values)
    except NotSure:
        from tui.config.validation import validate_settings  # noqa: PLC0415 - pydantic, when needed

        return validate_settings(explicit, table, where)


def settings_of_file(config_file: Path) -> tuple[EnvdeckSettings, set[str]]:
    """The settings `config_file` gives (with what it extends) when its folder is not
    where commands run: every path and ./ argument made absolute. With them, the keys it
    sets, for a caller to take just those."""
    table = read_config(config_file, commands_here=False)
    settings = typed_settings({}, table, config_file)
    return anchor_paths(settings, config_file.parent), set(table.values)


def anchor_paths(settings: EnvdeckSettings, base: Path) -> EnvdeckSettings:
    """The same settings with every relative path made absolute against `base`."""

    def anchor(path: Path) -> Path:
        return path if path.is_absolute() else (base / path).resolve()

    return settings.replace(
        compose_files=[anchor(path) for path in settings.compose_files],
        offline_compose_files=[anchor(path) for path in settings.offline_compose_files],
        project_dir=anchor(settings.project_dir) if settings.project_dir else None,
        config_dir=base,
        compose_binary=anchor(settings.compose_binary) if settings.compose_binary else None,
        test_python=anchor(settings.test_python) if settings.test_python else None,
        state_dir=anchor(settings.state_dir) if settings.state_dir else None,
        seed=[
            dataclasses.replace(hook, file=anchor(hook.file)) if hook.file else hook
            for hook in settings.seed
        ],
    )
