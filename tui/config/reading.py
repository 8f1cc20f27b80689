"""The settings read without pydantic: what every command's start-up goes through.

It takes the values exactly as the pydantic-settings reading did (explicit values over
ENVDECK_* variables over the file, dictionaries merged key by key; variables named in any
case; lists and tables in a variable as JSON) and accepts only values whose typed form
is certain: a string where a string goes, a TOML number or plain digits where a number
goes, a boolean or one of pydantic's words for one. Anything else (a wrong type, a value
out of range, an unknown key, an alias given twice, JSON that does not parse) raises
NotSure, and `tui.config.validation` decides with pydantic, which either accepts the value
or says what is wrong. So a value read here is the value pydantic would have produced,
and every message is pydantic's (tests/unit/test_settings_reading.py compares the two).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tui.config.settings import ENV_PREFIX, EnvdeckSettings, SeedHook, ServiceSettings


class NotSure(Exception):
    """A value this reader does not convert itself: pydantic decides."""


# pydantic's lax reading of a string as a boolean (case-insensitive).
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
# Fields whose ENVDECK_* variable holds JSON (pydantic-settings' "complex" fields).
_JSON_KINDS = ("list[", "dict[")


def read_settings(explicit: Mapping[str, Any], file_values: Mapping[str, Any]) -> EnvdeckSettings:
    """The settings from `explicit` values, the environment and `file_values`; NotSure
    when any value needs pydantic's judgement."""
    values = merged_sources(explicit, environment_values(os.environ), file_values)
    settings: EnvdeckSettings = _build(EnvdeckSettings, values)
    return settings


def environment_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """ENVDECK_* variables of known fields, as pydantic-settings read them."""
    lowered = {key.lower(): value for key, value in environ.items()}
    prefix = ENV_PREFIX.lower()
    found: dict[str, Any] = {}
    for item in dataclasses.fields(EnvdeckSettings):
        raw = lowered.get(prefix + item.name)
        if raw is None:
            continue
        if str(item.type).startswith(_JSON_KINDS):
            try:
                found[item.name] = json.loads(raw)
            except ValueError:
                raise NotSure(item.name) from None
        else:
            found[item.name] = raw
    return found


def merged_sources(*sources: Mapping[str, Any]) -> dict[str, Any]:
    """Highest priority first; tables present in several are merged key by key, as
    pydantic-settings' deep update does."""
    merged: dict[str, Any] = {}
    for source in reversed(sources):
        merged = _deep_update(merged, source)
    return merged


def _deep_update(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in update.items():
        if isinstance(result.get(key), dict) and isinstance(value, dict):
            result[key] = _deep_update(result[key], value)
        else:
            result[key] = value
    return result


def _build(cls: type[Any], values: Any) -> Any:
    if isinstance(values, cls):
        return values  # already typed (pydantic did not validate instances again either)
    if not isinstance(values, dict):
        raise NotSure(cls.__name__)
    keys = dict(values)
    arguments: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        names = [name for name in (item.name, *item.metadata["aliases"]) if name in keys]
        if len(names) > 1:
            raise NotSure(item.name)  # given twice: pydantic's words for it
        if names:
            arguments[item.name] = _convert(item, keys.pop(names[0]))
    if keys:
        raise NotSure(f"unknown keys {sorted(keys)}")
    try:
        return cls(**arguments)
    except ValueError:  # e.g. a seed hook of two kinds
        raise NotSure(cls.__name__) from None


def _convert(item: dataclasses.Field[Any], value: Any) -> Any:
    kind = str(item.type)
    optional = kind.endswith(" | None")
    if value is None:
        if optional:
            return None
        raise NotSure(item.name)
    convert = _CONVERTERS.get(kind.removesuffix(" | None"))
    if convert is None:
        raise NotSure(f"{item.name}: {kind}")
    converted = convert(value)
    _check_limits(item, converted)
    return converted


def _check_limits(item: dataclasses.Field[Any], value: Any) -> None:
    meta = item.metadata
    if (
        (meta["gt"] is not None and not value > meta["gt"])
        or (meta["ge"] is not None and not value >= meta["ge"])
        or (meta["le"] is not None and not value <= meta["le"])
        or (meta["pattern"] is not None and not re.search(meta["pattern"], value))
    ):
        raise NotSure(item.name)


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise NotSure(repr(value))


def _path(value: Any) -> Path:
    if isinstance(value, str | Path):
        return Path(value)
    raise NotSure(repr(value))


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise NotSure(repr(value))


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise NotSure(repr(value))


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return float(value)
    raise NotSure(repr(value))


def _list_of(convert: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    def converted(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise NotSure(repr(value))
        return [convert(element) for element in value]

    return converted


def _table_of(convert: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    def converted(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise NotSure(repr(value))
        return {key: convert(element) for key, element in value.items()}

    return converted


def _anything(value: Any) -> Any:
    return value


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "str": _string,
    "Path": _path,
    "bool": _boolean,
    "int": _integer,
    "float": _number,
    "list[str]": _list_of(_string),
    "list[Path]": _list_of(_path),
    "dict[str, str]": _table_of(_string),
    "dict[str, Any]": _table_of(_anything),
    "dict[str, ServiceSettings]": _table_of(lambda value: _build(ServiceSettings, value)),
    "list[SeedHook]": _list_of(lambda value: _build(SeedHook, value)),
}
