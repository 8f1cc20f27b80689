"""Configuration errors said in the words of the file: which table, which key, and for a
misspelt key the nearest one envdeck knows ("did you mean `protected`?")."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from inspect import isclass
from typing import Any, get_args

from pydantic import AliasChoices, BaseModel, ValidationError

from tui.config.settings import EXTEND_KEY

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def describe_validation_error(
    error: ValidationError, model: type[BaseModel], header: tuple[str, ...]
) -> str:
    """Every problem of `error` on one line each, joined by "; ". `header` is where the
    model's table sits in the file (("tool", "envdeck") in pyproject.toml)."""
    return "; ".join(_describe(item, model, header) for item in error.errors())


def _describe(item: Any, model: type[BaseModel], header: tuple[str, ...]) -> str:
    loc: tuple[int | str, ...] = tuple(item["loc"])
    if item["type"] != "extra_forbidden" or not loc:
        return f"{'.'.join(str(part) for part in loc)}: {item['msg']}"
    key = str(loc[-1])
    table = _table_name(header, loc[:-1])
    known = keys_at(model, loc[:-1])
    if len(loc) == 1:  # the table's own level also takes `extend`, which is no setting
        known = sorted({*known, EXTEND_KEY})
    text = f"{table} has no key `{key}`"
    nearest = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if nearest:
        return f"{text}: did you mean `{nearest[0]}`?"
    if known:
        return f"{text} (it takes {', '.join(known)})"
    return text


def keys_at(model: type[BaseModel], path: Sequence[int | str]) -> list[str]:
    """The keys the table at `path` accepts (names and aliases), or [] when unknown."""
    annotation: Any = model
    for part in path:
        if isclass(annotation) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        else:  # dict[str, X] or list[X]: the key or the index leads to an X
            arguments = get_args(annotation)
            if not arguments:
                return []
            annotation = arguments[-1]
    if not (isclass(annotation) and issubclass(annotation, BaseModel)):
        return []
    keys: list[str] = []
    for name, field in annotation.model_fields.items():
        keys.append(name)
        if isinstance(field.validation_alias, AliasChoices):
            keys.extend(str(choice) for choice in field.validation_alias.choices)
    return sorted(set(keys))


def _table_name(header: tuple[str, ...], path: Sequence[int | str]) -> str:
    """`[tool.envdeck.services.db]`, `[[tool.envdeck.seed]] #2`, or the file's top level."""
    names = [*header]
    position = ""
    for part in path:
        if isinstance(part, int):
            position = f" #{part + 1}"
        else:
            names.append(_toml_key(part))
    if not names:
        return "the top level"
    if position:
        return f"[[{'.'.join(names)}]]{position}"
    return f"[{'.'.join(names)}]"


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else f'"{key}"'
