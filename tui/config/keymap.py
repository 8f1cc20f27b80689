"""Checks of the `keymap` setting: an id no key has, or a key given two actions.

Textual ignores a keymap entry whose id no binding has, and when a remapped key lands on
another binding's key in the same place, it silently drops the other one. Both are said
instead, at start-up and by `envdeck doctor`. The keys themselves are known only to the
UI, so it hands them in as plain data (`KeyCatalogue`); the core never imports Textual.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

APP_SCOPE = "the whole app"  # the App's own keys, active on every screen
CLASH_FIX = "give one of them another key in [tool.envdeck.keymap]"


@dataclass(frozen=True)
class KnownBinding:
    """One key of one place (the app, a screen, a widget), as declared."""

    scope: str  # the class that declares it, e.g. "DashboardScreen", or APP_SCOPE
    key: str
    action: str
    description: str
    id: str | None  # bindings without an id cannot be remapped
    under_app: bool = False  # a screen: the app's own keys are active there too


@dataclass(frozen=True)
class KeyCatalogue:
    """Every key envdeck declares, and how to spell a key one way ("?" = question_mark)."""

    bindings: tuple[KnownBinding, ...]
    canonical: Callable[[str], str]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(binding.id for binding in self.bindings if binding.id)


@dataclass(frozen=True)
class KeymapProblem:
    what: str
    fix: str

    def __str__(self) -> str:
        return f"keymap: {self.what}: {self.fix}"


def keymap_problems(keymap: Mapping[str, str], catalogue: KeyCatalogue) -> list[KeymapProblem]:
    """What is wrong with `keymap`, each with its fix; [] when nothing."""
    unknown = [_unknown(binding_id, catalogue) for binding_id in sorted(keymap)]
    return [problem for problem in unknown if problem] + _clashes(keymap, catalogue)


def _unknown(binding_id: str, catalogue: KeyCatalogue) -> KeymapProblem | None:
    if binding_id in catalogue.ids:
        return None
    what = f"no key has the id `{binding_id}`, so it changes nothing"
    nearest = difflib.get_close_matches(binding_id, sorted(catalogue.ids), n=1, cutoff=0.6)
    if nearest:
        return KeymapProblem(what, f"did you mean `{nearest[0]}`?")
    return KeymapProblem(what, "use an id listed on the ? screen")


def _clashes(keymap: Mapping[str, str], catalogue: KeyCatalogue) -> list[KeymapProblem]:
    """Keys the keymap gives two different actions in one place."""
    app_keys = [binding for binding in catalogue.bindings if binding.scope == APP_SCOPE]
    scopes: dict[str, list[KnownBinding]] = {}
    for binding in catalogue.bindings:
        scopes.setdefault(binding.scope, []).append(binding)
    problems: list[KeymapProblem] = []
    for scope, bindings in scopes.items():
        together = bindings + (app_keys if bindings[0].under_app else [])
        problems.extend(_clashes_in(scope, together, keymap, catalogue.canonical))
    return problems


def _clashes_in(
    scope: str,
    bindings: list[KnownBinding],
    keymap: Mapping[str, str],
    canonical: Callable[[str], str],
) -> list[KeymapProblem]:
    defaults: dict[str, set[str]] = {}  # id -> its keys as declared
    for binding in bindings:
        if binding.id is not None:
            defaults.setdefault(binding.id, set()).add(binding.key)
    on_key: dict[str, list[tuple[KnownBinding, bool]]] = {}
    for binding in bindings:
        keys = [binding.key]
        if binding.id is not None and binding.id in keymap:
            keys = [canonical(key) for key in keymap[binding.id].split(",")]
        for key in keys:
            # Moved there by the keymap (not a key the binding had anyway).
            moved = key not in defaults.get(binding.id or "", {binding.key})
            entries = on_key.setdefault(key, [])
            if (binding, moved) not in entries:
                entries.append((binding, moved))
    problems = []
    for key, entries in on_key.items():
        actions = {binding.action for binding, _ in entries}
        if len(actions) < 2 or not any(moved for _, moved in entries):
            continue  # envdeck's own defaults, or one action under two names
        if all(binding.scope != scope for binding, _ in entries):
            continue  # between the app's own keys: said once, for the app
        names = " and ".join(sorted({_name(binding) for binding, _ in entries}))
        problems.append(KeymapProblem(f"`{key}` in {scope} would be both {names}", CLASH_FIX))
    return problems


def _name(binding: KnownBinding) -> str:
    label = binding.description or binding.action
    return f"{label} ({binding.id})" if binding.id else f"{label} (not remappable)"
