"""The settings judged by pydantic: what `tui.config.reading` is not sure of.

Imported only then (pydantic and pydantic-settings take 0.2-0.3 s to import here). The
pydantic models are made from the settings dataclasses, field by field (type, default,
documentation, limits, aliases), so each setting is declared once; pydantic-settings
reads the environment and the file as it always did, and its errors become one
ConfigError in the file's words (`tui.config.problems`).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from pathlib import Path
from typing import Any, ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic import model_validator as pydantic_model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from tui.config.problems import describe_validation_error
from tui.config.settings import (
    ENV_PREFIX,
    ConfigError,
    ConfigTable,
    EnvdeckSettings,
    SeedHook,
    ServiceSettings,
    seed_hook_problem,
)


def validate_settings(
    explicit: dict[str, Any], table: ConfigTable, where: Path | str
) -> EnvdeckSettings:
    """The settings as pydantic-settings reads them; ConfigError naming every problem.
    A problem in a table `table` extends is said first, in that file's words."""
    for extended in table.extends:
        _check(
            {},
            extended.table,
            f"{extended.file}, extended by {extended.extended_by}",
            read_environment=False,
        )
    return _check(explicit, table, where, read_environment=True)


def _check(
    explicit: dict[str, Any], table: ConfigTable, where: Path | str, *, read_environment: bool
) -> EnvdeckSettings:
    class _FileBacked(settings_model()):  # type: ignore[misc]
        file_values = table.values
        environment_read = read_environment

    try:
        loaded = _FileBacked(**explicit)
    except ValidationError as error:
        problems = describe_validation_error(error, settings_model(), table.header)
        raise ConfigError(f"invalid envdeck configuration ({where}): {problems}") from None
    return typing.cast(EnvdeckSettings, to_dataclass(loaded, EnvdeckSettings))


@functools.cache
def settings_model() -> type[BaseSettings]:
    """EnvdeckSettings as a pydantic-settings model (ENVDECK_* variables, no extra keys)."""
    model: type[BaseSettings] = create_model(
        "EnvdeckSettings",
        __base__=_EnvdeckSettingsBase,
        __doc__=EnvdeckSettings.__doc__,
        **_fields_of(EnvdeckSettings),
    )
    return model


@functools.cache
def _service_model() -> type[BaseModel]:
    model: type[BaseModel] = create_model(
        "ServiceSettings",
        __config__=ConfigDict(extra="forbid", frozen=True, populate_by_name=True),
        __doc__=ServiceSettings.__doc__,
        **_fields_of(ServiceSettings),
    )
    return model


@functools.cache
def _seed_model() -> type[BaseModel]:
    def one_kind(hook: Any) -> Any:
        problem = seed_hook_problem(hook)
        if problem is not None:
            raise ValueError(problem)
        return hook

    validators: dict[str, Any] = {"_one_kind": pydantic_model_validator(mode="after")(one_kind)}
    model: type[BaseModel] = create_model(
        "SeedHook",
        __config__=ConfigDict(extra="forbid", frozen=True),
        __doc__=SeedHook.__doc__,
        __validators__=validators,
        **_fields_of(SeedHook),
    )
    return model


class _EnvdeckSettingsBase(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")
    # Set by a subclass per read (_check): the file's table, and whether ENVDECK_*
    # variables count (not for a file another extends: they apply once, over both).
    file_values: ClassVar[dict[str, Any]] = {}
    environment_read: ClassVar[bool] = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_settings = InitSettingsSource(settings_cls, init_kwargs=cls.file_values)
        if cls.environment_read:
            return (init_settings, env_settings, file_settings)
        return (init_settings, file_settings)


_MODELS = {ServiceSettings: _service_model, SeedHook: _seed_model}


def _fields_of(cls: type[Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        meta = item.metadata
        limits = {
            name: meta[name] for name in ("gt", "ge", "le", "pattern") if meta[name] is not None
        }
        if item.default_factory is not dataclasses.MISSING:
            limits["default_factory"] = item.default_factory
        else:
            limits["default"] = item.default
        if meta["aliases"]:
            limits["validation_alias"] = AliasChoices(item.name, *meta["aliases"])
        annotation = _pydantic_type(hints[item.name])
        fields[item.name] = (annotation, Field(description=meta["doc"], repr=item.repr, **limits))
    return fields


def _pydantic_type(annotation: Any) -> Any:
    """`annotation` with the settings dataclasses replaced by their pydantic models."""
    if annotation in _MODELS:
        return _MODELS[annotation]()
    arguments = typing.get_args(annotation)
    if not arguments:
        return annotation
    mapped = tuple(_pydantic_type(argument) for argument in arguments)
    origin = typing.get_origin(annotation)
    if origin is types.UnionType or origin is typing.Union:
        return functools.reduce(lambda left, right: left | right, mapped)
    return origin[mapped]


def to_dataclass(model: BaseModel, cls: type[Any]) -> Any:
    """A validated pydantic model as the settings dataclass `cls`."""
    hints = typing.get_type_hints(cls)
    values = {}
    for item in dataclasses.fields(cls):
        values[item.name] = _plain(getattr(model, item.name), hints[item.name])
    return cls(**values)


def _plain(value: Any, annotation: Any) -> Any:
    if isinstance(value, BaseModel):
        target = next(cls for cls in _MODELS if isinstance(value, _MODELS[cls]()))
        return to_dataclass(value, target)
    if isinstance(value, dict):
        return {key: _plain(element, annotation) for key, element in value.items()}
    if isinstance(value, list):
        return [_plain(element, annotation) for element in value]
    return value
