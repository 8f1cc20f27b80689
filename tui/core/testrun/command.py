"""How pytest is started for envdeck: its command line, and our plugin on its path."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

# The plugin's import name, and the variables it reads (pytest_plugin.py has the same).
PLUGIN_MODULE = "envdeck_testrun_plugin"
WARM_HELPER_MODULE = "envdeck_warm_helper"  # warm_helper.py, for warm starts (warm.py)
EVENTS_FD_ENV = "ENVDECK_EVENTS_FD"
EVENTS_PATH_ENV = "ENVDECK_EVENTS_PATH"
SUBREAPER_ENV = "ENVDECK_SUBREAPER"
RUN_ID_ENV = "ENVDECK_TESTRUN_ID"  # marks every process of a run, for finding them later


@functools.cache
def plugin_directory() -> Path:
    """A private directory holding only our plugin, as `envdeck_testrun_plugin.py`, and the
    warm-start helper, as `envdeck_warm_helper.py`: on PYTHONPATH it adds those two modules
    to the project's interpreter, and nothing else."""
    directory = Path(tempfile.mkdtemp(prefix="envdeck-pytest-plugin-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    package = resources.files("tui.core.testrun")
    for source, module in (
        ("pytest_plugin.py", PLUGIN_MODULE),
        ("warm_helper.py", WARM_HELPER_MODULE),
    ):
        (directory / f"{module}.py").write_bytes(package.joinpath(source).read_bytes())
    return directory


def pytest_command(
    python: str,
    *,
    nodeids: Sequence[str] = (),
    last_failed: bool = False,
    extra_args: Sequence[str] = (),
    collect_only: bool = False,
) -> list[str]:
    command = [python, "-m", "pytest", "-p", PLUGIN_MODULE]
    if collect_only:
        command += ["--collect-only", "-q"]
    if last_failed:
        command.append("--lf")
    return [*command, *extra_args, *nodeids]


def pytest_environment(base: Mapping[str, str], events_fd: int, run_id: str) -> dict[str, str]:
    """`base` with our plugin importable, its event pipe, and the run's marker."""
    env = dict(base)
    path = [str(plugin_directory()), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(entry for entry in path if entry)
    env.pop(EVENTS_PATH_ENV, None)
    env[EVENTS_FD_ENV] = str(events_fd)
    env[RUN_ID_ENV] = run_id
    env[SUBREAPER_ENV] = "1"
    env["PYTHONUNBUFFERED"] = "1"  # the console view is live, not a block at a time
    return env
