"""Every registered plugin — built-in or third-party — honours the same contract."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

import pytest

from tests.conftest import SampleEnv
from tui.core.plugin_registry import PluginRegistry, build_target
from tui.plugins.api import (
    Action,
    KeyValues,
    Match,
    ServicePlugin,
    Table,
    TextBlock,
    View,
    ViewRequest,
    ViewResult,
)

REGISTRY = PluginRegistry()
# Which sample service each plugin is shown against, and with which config options.
SERVES: dict[str, tuple[str, dict[str, Any]]] = {
    "redis": ("redis", {}),
    "postgres": ("postgres", {}),
    "qdrant": ("qdrant", {}),
    "http": ("mock-api", {}),
    "uptime": ("mock-api", {"plugin": "uptime"}),
}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_every_built_in_and_the_third_party_plugin_is_registered() -> None:
    names = {info.name: info.distribution for info in REGISTRY.available()}
    assert {"redis", "postgres", "qdrant", "http"} <= set(names)
    assert names["uptime"] == "envdeck-test-plugin"  # from another distribution
    assert set(names) <= set(SERVES), "a new plugin needs a row in SERVES"


def _strings(result: ViewResult) -> list[str]:
    found: list[str] = []
    for section in result.sections:
        for field in fields(section):
            value = getattr(section, field.name)
            found += _flatten(value)
    return found


def _flatten(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return [text for item in value for text in _flatten(item)]
    raise AssertionError(f"sections carry str only, found {type(value).__name__}: {value!r}")


@pytest.mark.parametrize("name", sorted(SERVES))
def test_plugin_contract(name: str, sample_env: SampleEnv) -> None:
    plugin = REGISTRY.load(name)
    assert isinstance(plugin, ServicePlugin)
    assert plugin.name == name
    assert plugin.title
    service, options = SERVES[name]
    spec = sample_env.environment.project.services[service]
    target = build_target(spec, None, options)

    chosen = REGISTRY.for_target(target)
    assert chosen is not None
    assert chosen.name == name, f"{service} should be served by {name}, got {chosen.name}"
    if not options:
        assert plugin.matches(target) > Match.NO

    views = list(plugin.views(target))
    assert views
    assert all(isinstance(view, View) for view in views)
    assert views[0].id == "overview"
    result = plugin.show(target, ViewRequest("overview"))
    assert isinstance(result, ViewResult)
    assert result.sections
    assert all(isinstance(s, KeyValues | Table | TextBlock) for s in result.sections)
    for text in _strings(result):
        assert not CONTROL.search(text) or "\n" in text, f"control character in {text!r}"
    for section in result.sections:
        if isinstance(section, Table):
            assert all(len(row) == len(section.columns) for row in section.rows)

    for action in plugin.actions(target):
        assert isinstance(action, Action)
        assert action.id
        assert action.title
        assert isinstance(action.destructive, bool)
