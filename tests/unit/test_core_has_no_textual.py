"""The core layer works without a terminal: importing it loads neither Textual nor Rich."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import tui.config
import tui.core
import tui.plugins
import tui.presentation

CORE_PACKAGES = (tui.core, tui.config, tui.plugins, tui.presentation)
PLUGINS = ("envdeck_redis", "envdeck_postgres", "envdeck_qdrant", "envdeck_http")


def core_modules() -> list[str]:
    """Every module of the core packages, found by walking them: none can be forgotten."""
    names = []
    for package in CORE_PACKAGES:
        names.append(package.__name__)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            if not module.name.endswith("pytest_plugin"):  # loaded inside pytest, by design
                names.append(module.name)
    return [*names, *PLUGINS, "tui.cli"]


def test_the_walk_finds_the_core() -> None:
    modules = core_modules()
    assert {"tui.core.events", "tui.core.logs", "tui.core.watch.graph"} <= set(modules)
    assert len(modules) > 30


def test_core_imports_no_textual_or_rich() -> None:
    # httpx loads Rich for its own command line (httpx/_main.py) whenever Rich is
    # installed; that is httpx's doing. Nothing of ours may add Textual or Rich modules.
    code = (
        "import sys, httpx\n"
        "ui = lambda: {m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')}\n"
        "before = ui()\n"
        f"for m in {core_modules()!r}: __import__(m)\n"
        "print(','.join(sorted(ui() - before)))\n"
        "print('textual' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    added, textual_loaded = result.stdout.splitlines()
    assert added == ""
    assert textual_loaded == "False"
