"""envdeck's typed settings.

Read, highest priority first, from: explicit values (the command line), ENVDECK_*
environment variables, `envdeck.toml`, and `[tool.envdeck]` in `pyproject.toml`, both
looked up from the working directory upwards. `envdeck.toml` holds the same table, at its
top level or under `[tool.envdeck]`. Relative paths are taken relative to the folder of
the file that configured them. Every table forbids unknown keys: a misspelt `protected`
must not leave a service unprotected.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from tui.config.problems import describe_validation_error

CONFIG_FILE_NAMES = ("envdeck.toml", "pyproject.toml")
TOOL_HEADER = ("tool", "envdeck")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which value and why."""


class SeedHook(BaseModel):
    """One step that puts data into a freshly created environment (after a hard reset).

    Exactly one of: `command` (argv run on this machine from the config's folder, with
    ENVDECK_<SERVICE>_PORT_<N> set to each published port), `exec` (argv run inside
    `service`'s container), `file` (a seed file `service`'s plugin applies, e.g. SQL).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str | None = None
    command: list[str] = Field(default_factory=list)
    exec: list[str] = Field(default_factory=list)
    file: Path | None = None
    timeout: float = Field(default=120.0, gt=0)

    @model_validator(mode="after")
    def _one_kind(self) -> SeedHook:
        kinds = [kind for kind in ("command", "exec", "file") if getattr(self, kind)]
        if len(kinds) != 1:
            raise ValueError("a seed hook needs exactly one of command, exec, file")
        if kinds[0] in ("exec", "file") and not self.service:
            raise ValueError(f"a seed hook with {kinds[0]} needs a service")
        return self

    @property
    def title(self) -> str:
        if self.file is not None:
            return f"seed {self.service} from {self.file.name}"
        if self.exec:
            return f"seed {self.service}: {' '.join(self.exec)}"
        return f"seed: {' '.join(self.command)}"


class ServiceSettings(BaseModel):
    """`[tool.envdeck.services.NAME]`: how envdeck treats one service and how its plugin
    reaches it. Every key is optional; unset ones come from the compose file and the
    service's own environment (POSTGRES_USER, REDIS_PASSWORD, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    plugin: str | None = Field(
        default=None, description="The plugin that inspects it (e.g. postgres), by name."
    )
    port: int | None = Field(
        default=None, gt=0, le=65535, description="Where it listens on 127.0.0.1."
    )
    timeout: float | None = Field(
        default=None, gt=0, description="Seconds one plugin call may take (default 5)."
    )
    protected: bool = Field(
        default=False, description="true: never reset, removed or seeded by envdeck."
    )
    one_shot: bool | None = Field(
        default=None,
        description="true: a one-shot service (migration, seeder), done when it exits 0; "
        "false: a server, never done; unset: decided from the compose file.",
    )
    user: str | None = Field(
        default=None,
        validation_alias=AliasChoices("user", "username"),
        description="The user to connect as (PostgreSQL role, Redis ACL user).",
    )
    password: str | None = Field(
        default=None, repr=False, description="The password to connect with."
    )
    database: str | None = Field(
        default=None,
        validation_alias=AliasChoices("database", "dbname"),
        description="PostgreSQL: the database to open.",
    )
    db: int | None = Field(default=None, ge=0, description="Redis: the database number.")
    api_key: str | None = Field(default=None, repr=False, description="Qdrant: the API key.")
    health_path: str | None = Field(
        default=None, description="HTTP: the path of the health endpoint, e.g. /healthz."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Settings of a third-party plugin, handed to it as they are.",
    )

    def plugin_options(self) -> dict[str, Any]:
        """What the service's plugin is told (`ServiceTarget.options`): the keys set here,
        under the names the plugins read too (libpq's `dbname`, Redis's `username`)."""
        known = self.model_dump(exclude={"options"}, exclude_none=True)
        if self.user is not None:
            known["username"] = self.user
        if self.database is not None:
            known["dbname"] = self.database
        return {**self.options, **known}


NO_SERVICE_SETTINGS = ServiceSettings()


class EnvdeckSettings(BaseSettings):
    """Everything envdeck can be told; each field documents itself for `envdeck doctor`."""

    model_config = SettingsConfigDict(env_prefix="ENVDECK_", extra="forbid")

    compose_files: list[Path] = Field(
        default_factory=list,
        description="Compose files, like `docker compose -f`; empty: compose's own lookup.",
    )
    project_name: str | None = Field(
        default=None, description="Compose project name, like `docker compose -p`."
    )
    project_dir: Path | None = Field(
        default=None,
        description="Compose's --project-directory; unset: the first compose file's folder.",
    )
    config_dir: Path | None = Field(
        default=None,
        description="Folder of the config file (set by envdeck): where commands run from.",
    )
    offline: bool | None = Field(
        default=None,
        description="Use offline_compose_files: true always, false never, unset when the "
        "upstream images are missing and cannot be pulled.",
    )
    offline_compose_files: list[Path] = Field(
        default_factory=list,
        description="Override files layered over compose_files when running offline.",
    )
    offline_setup: list[str] = Field(
        default_factory=list,
        description="A command (argv) that prepares offline images; run before `up`.",
    )
    compose_binary: Path | None = Field(
        default=None, description="A Compose v2 binary to use instead of the bundled one."
    )
    up_timeout: float = Field(
        default=180.0, gt=0, description="Seconds `up` waits for every service to be healthy."
    )
    services: dict[str, ServiceSettings] = Field(
        default_factory=dict,
        description="Per-service settings, e.g. [tool.envdeck.services.db] with plugin, "
        "port, user, password, database, timeout, protected, one_shot.",
    )
    keymap: dict[str, str] = Field(
        default_factory=dict,
        description='Key remapping by binding id, e.g. {"dashboard.restart" = "R"} '
        "(ids are listed in the help screen).",
    )
    test_python: Path | None = Field(
        default=None,
        description="The interpreter that runs the project's tests; unset: its .venv, "
        "else envdeck's own.",
    )
    test_service: str | None = Field(
        default=None,
        description="A compose service whose container runs the tests (`compose run --rm "
        "SERVICE`), so they reach services by their compose names; unset: on this machine.",
    )
    test_service_dir: str | None = Field(
        default=None,
        pattern=r"^/",
        description="The project's folder inside test_service's container; unset: read "
        "from the service's bind mounts.",
    )
    test_service_python: str = Field(
        default="python3", description="The interpreter inside test_service's container."
    )
    pytest_args: list[str] = Field(
        default_factory=list, description="Extra pytest arguments for every test run."
    )
    log_lines_per_service: int = Field(
        default=10_000,
        ge=100,
        le=1_000_000,
        description="Log lines kept in memory per service (older ones are dropped).",
    )
    engine_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a single Docker engine call may take."
    )
    state_dir: Path | None = Field(
        default=None,
        description="Where baselines, snapshots and the last reset are kept; unset: "
        ".envdeck beside the config (or the compose file).",
    )
    seed: list[SeedHook] = Field(
        default_factory=list,
        description="Steps a hard reset runs after `up`, in order: [[tool.envdeck.seed]] "
        "with command, exec or file.",
    )
    reset_before_watch_runs: bool = Field(
        default=False,
        description="Fast-reset the environment before every watch-mode test run.",
    )
    test_warm_start: bool = Field(
        default=True,
        description="The tests screen and watch mode keep the next run's Python started, "
        "with pytest imported, so a run starts ~0.3 s sooner; false: every run starts a "
        "fresh pytest.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # File sources are added by load_settings(), which knows where the files are.
        return (init_settings, env_settings)

    def service(self, name: str) -> ServiceSettings:
        """`[tool.envdeck.services.NAME]`, or the defaults when the service has none."""
        return self.services.get(name, NO_SERVICE_SETTINGS)


def find_config_file(start: Path) -> Path | None:
    """The nearest envdeck.toml, or pyproject.toml with a [tool.envdeck] table."""
    for folder in (start, *start.parents):
        toml_file = folder / "envdeck.toml"
        if toml_file.is_file():
            return toml_file
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.envdeck" in pyproject.read_text(errors="replace"):
            return pyproject
    return None


class ConfigTable(NamedTuple):
    """envdeck's table as read from a config file, and where it sits in that file."""

    values: dict[str, Any]
    header: tuple[str, ...]  # ("tool", "envdeck"), or () at the top of an envdeck.toml


def read_config_table(config_file: Path) -> ConfigTable:
    """envdeck's table in `config_file`: `[tool.envdeck]` of a pyproject.toml; in an
    envdeck.toml, the top level or `[tool.envdeck]` (the same table, copied over)."""
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


def load_settings(cwd: Path | None = None, **overrides: Any) -> EnvdeckSettings:
    """Settings for a run started in `cwd`, with command-line `overrides` on top."""
    cwd = (cwd or Path.cwd()).resolve()
    config_file = find_config_file(cwd)
    table = read_config_table(config_file) if config_file else ConfigTable({}, TOOL_HEADER)
    explicit = {key: value for key, value in overrides.items() if value not in (None, [], ())}

    class _FileBacked(EnvdeckSettings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            file_settings = InitSettingsSource(settings_cls, init_kwargs=table.values)
            return (init_settings, env_settings, file_settings)

    try:
        loaded = _FileBacked(**explicit)
    except ValidationError as error:
        where = config_file or "the environment"
        problems = describe_validation_error(error, EnvdeckSettings, table.header)
        raise ConfigError(f"invalid envdeck configuration ({where}): {problems}") from None
    settings = EnvdeckSettings.model_construct(**dict(loaded))
    # Paths in a config file are relative to its folder; the CLI passes absolute ones.
    return anchor_paths(settings, config_file.parent if config_file else cwd)


def anchor_paths(settings: EnvdeckSettings, base: Path) -> EnvdeckSettings:
    """The same settings with every relative path made absolute against `base`."""

    def anchor(path: Path) -> Path:
        return path if path.is_absolute() else (base / path).resolve()

    return settings.model_copy(
        update={
            "compose_files": [anchor(path) for path in settings.compose_files],
            "offline_compose_files": [anchor(path) for path in settings.offline_compose_files],
            "project_dir": anchor(settings.project_dir) if settings.project_dir else None,
            "config_dir": base,
            "compose_binary": anchor(settings.compose_binary) if settings.compose_binary else None,
            "test_python": anchor(settings.test_python) if settings.test_python else None,
            "state_dir": anchor(settings.state_dir) if settings.state_dir else None,
            "seed": [
                hook.model_copy(update={"file": anchor(hook.file)}) if hook.file else hook
                for hook in settings.seed
            ],
        }
    )
