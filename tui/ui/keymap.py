"""Every key envdeck's UI declares, as plain data for the keymap checks
(tui.config.keymap), which `envdeck doctor` runs without a terminal and the app at
start-up. Found, not listed: every class of tui.ui that declares BINDINGS, so a new
screen or widget is covered the day it is written.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import key_to_character
from textual.screen import Screen

import tui.ui
from tui.config.keymap import APP_SCOPE, KeyCatalogue, KnownBinding


def canonical_key(key: str) -> str:
    """One spelling per key: "question_mark" and "?" are both "?"."""
    key = key.strip()
    character = key_to_character(key)
    # Named keys whose character is blank or unprintable ("space", "tab") keep their name.
    return character if character and character.isprintable() and not character.isspace() else key


def key_catalogue() -> KeyCatalogue:
    """Every binding of every screen, widget and the app of tui.ui."""
    for module in pkgutil.walk_packages(tui.ui.__path__, f"{tui.ui.__name__}."):
        importlib.import_module(module.name)
    bindings: list[KnownBinding] = []
    for node_class in _declaring_classes():
        bindings.extend(_bindings_of(node_class))
    return KeyCatalogue(tuple(bindings), canonical_key)


def _declaring_classes() -> Iterator[type[DOMNode]]:
    seen: set[type[DOMNode]] = set()
    pending: list[type[DOMNode]] = [DOMNode]
    while pending:
        node_class = pending.pop()
        for subclass in node_class.__subclasses__():
            if subclass in seen:
                continue
            seen.add(subclass)
            pending.append(subclass)
            if subclass.__module__.startswith(f"{tui.ui.__name__}.") and (
                "BINDINGS" in vars(subclass)
            ):
                yield subclass


def _bindings_of(node_class: type[DOMNode]) -> Iterator[KnownBinding]:
    """Its own keys and those it inherits (Textual merges a class's bases' BINDINGS)."""
    scope = APP_SCOPE if issubclass(node_class, App) else node_class.__name__
    for base in reversed(node_class.__mro__):
        if not (isinstance(base, type) and issubclass(base, DOMNode)):
            continue
        for binding in Binding.make_bindings(vars(base).get("BINDINGS", [])):
            yield KnownBinding(
                scope=scope,
                key=canonical_key(binding.key),
                action=binding.action,
                description=binding.description,
                id=binding.id,
                under_app=issubclass(node_class, Screen),
            )
