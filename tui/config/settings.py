"""envdeck's typed settings.

Read, highest priority first, from: explicit values (the command line), ENVDECK_*
environment variables, `envdeck.toml`, and `[tool.envdeck]` in `pyproject.toml`, both
looked up from the working directory upwards. Relative paths are taken relative to the
folder of the file that configured them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    PyprojectTomlConfigSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_NAMES = ("envdeck.toml", "pyproject.toml")


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
    services: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-service plugin settings, e.g. [tool.envdeck.services.db] with "
        "plugin, port, user, password, database, timeout.",
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


def load_settings(cwd: Path | None = None, **overrides: Any) -> EnvdeckSettings:
    """Settings for a run started in `cwd`, with command-line `overrides` on top."""
    cwd = (cwd or Path.cwd()).resolve()
    config_file = find_config_file(cwd)
    explicit = {key: value for key, value in overrides.items() if value not in (None, [], ())}

    class _FileBacked(EnvdeckSettings):
        if config_file is not None and config_file.name == "pyproject.toml":
            model_config = SettingsConfigDict(
                env_prefix="ENVDECK_",
                extra="forbid",
                pyproject_toml_table_header=("tool", "envdeck"),
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
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if config_file is not None and config_file.name == "envdeck.toml":
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
            elif config_file is not None:
                sources.append(
                    PyprojectTomlConfigSettingsSource(settings_cls, toml_file=config_file)
                )
            return tuple(sources)

    try:
        loaded = _FileBacked(**explicit)
    except ValidationError as error:
        where = config_file or "the environment"
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
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
