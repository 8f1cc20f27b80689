"""Workers that import a module at the same moment, each by its own first module, get
it whole: no `_DeadlockError`, no half-made module.

The dashboard's workers start together after the first frame (the baseline check, the
log follower, the stats round, an Inspect tab, the plugins' registry) and each imports
what it needs on first use. docker-py once broke there: two workers entered its import
cycles at different modules and one of them lost (see tui.core.engine). Here, in fresh
processes that have imported what the first frame imports, every module that envdeck's
code imports inside a function and every plugin (as its entry point loads it) is imported
by a thread of its own, all released at the same instant.

Plugins are entered only by their package (the entry point), whose `__init__` imports
every module of the plugin; their libraries only by those modules. Entering a plugin's
modules one by one from many threads at once is not something envdeck does, and fails:
redis, psycopg and the plugins' own packages have import cycles.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import tui

ROUNDS = 4  # fresh processes: each import happens once per process
FIRST_FRAME = "tui.ui.app"  # imported before the workers start

RACE = """
import importlib, json, sys, threading, traceback

names = json.loads(sys.argv[1])
for preloaded in json.loads(sys.argv[2]):
    importlib.import_module(preloaded)
barrier = threading.Barrier(len(names))
failures = {}


def enter(name):
    barrier.wait()
    try:
        importlib.import_module(name)
    except BaseException:
        failures[name] = traceback.format_exc(limit=3)


threads = [threading.Thread(target=enter, args=(name,), daemon=True) for name in names]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(60)
hung = [name for name, thread in zip(names, threads) if thread.is_alive()]
print(json.dumps({"failures": failures, "hung": hung}))
"""


def race(
    names: list[str], *, preload: tuple[str, ...] = (), path: Path | None = None
) -> dict[str, object]:
    """Import `preload`, then `names`, one thread each, released together, in a fresh
    process (with `path` first on its sys.path)."""
    answer = subprocess.run(
        [sys.executable, "-c", RACE, json.dumps(names), json.dumps(preload)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=path or Path(__file__).resolve().parents[2],
    )
    assert answer.returncode == 0, answer.stderr
    found: dict[str, object] = json.loads(answer.stdout)
    return found


# The command line's modules: imported inside functions, by the main thread, before
# anything else runs.
NOT_WORKERS_FIRST = ("tui.cli",)


def imported_in_functions() -> set[str]:
    """Every module that tui/ imports inside a function and workers may import first."""
    found: set[str] = set()
    for path in Path(tui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found.update(alias.name for alias in inner.names)
                elif isinstance(inner, ast.ImportFrom) and inner.module and not inner.level:
                    found.add(inner.module)
    return {name for name in found if not name.startswith(NOT_WORKERS_FIRST)}


def plugin_packages() -> set[str]:
    return {point.module for point in entry_points(group="envdeck.plugins")}


# Two modules that import each other, slowly: two threads entering one each lock both.
CYCLE = {
    "cycle_a": "import time\ntime.sleep(0.3)\nfrom cycle_b import B\nA = 1\n",
    "cycle_b": "import time\ntime.sleep(0.3)\nfrom cycle_a import A\nB = 2\n",
}


def test_the_race_finds_a_module_half_made_by_another_thread(tmp_path: Path) -> None:
    """The harness sees what it is here for: a cycle entered at two modules at once
    leaves one thread a half-made module."""
    for name, text in CYCLE.items():
        (tmp_path / f"{name}.py").write_text(text)
    found = race(list(CYCLE), path=tmp_path)
    failures = found["failures"]
    assert isinstance(failures, dict)
    assert failures  # one thread, or both, got a module the other had half made
    assert any("partially initialized module" in text for text in failures.values())


def test_what_workers_import_first_is_whole_when_all_start_at_once() -> None:
    names = sorted(imported_in_functions() | plugin_packages())
    assert {"tui.core.engine", "envdeck_redis", "envdeck_postgres"} <= set(names)
    for _ in range(ROUNDS):
        found = race(names, preload=(FIRST_FRAME,))
        assert found == {"failures": {}, "hung": []}
