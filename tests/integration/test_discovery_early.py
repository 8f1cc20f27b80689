"""discover() answers when pytest has collected, not when its process has exited.

After collecting, pytest still prints the tests, unconfigures and tears its interpreter
down (0.5 s on 10,000 tests: bench/large_suite.py). Here a project's conftest.py holds
pytest in `pytest_unconfigure` until the test lets it go: the tree must come back
meanwhile, and the process must still end (on its own, or stopped when it does not).
No Docker needed.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tui.core.testrun import discover, discovery

QUIET = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
HELD_SECONDS = 60  # how long the conftest holds pytest at most: far past every wait here

CONFTEST = f"""
    import os, pathlib, time

    def pytest_unconfigure(config):
        here = pathlib.Path(__file__).parent
        # Written whole, then renamed: the test reads it as soon as it exists.
        (here / "pytest.pid.part").write_text(str(os.getpid()))
        (here / "pytest.pid.part").replace(here / "pytest.pid")
        deadline = time.monotonic() + {HELD_SECONDS}
        while not (here / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
"""


@pytest.fixture
def held_project(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    return tmp_path


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(") ")[2].split()[0] != "Z"


async def until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        await asyncio.sleep(0.05)


async def test_the_tree_comes_back_while_pytest_is_still_exiting(held_project: Path) -> None:
    pid_file = held_project / "pytest.pid"
    tree = await asyncio.wait_for(
        discover(held_project, sys.executable, ["-p", "no:cacheprovider"], env=QUIET),
        timeout=HELD_SECONDS / 2,
    )
    assert [item.nodeid for item in tree.items] == ["test_one.py::test_one"]

    await until(pid_file.exists, "pytest in its unconfigure")
    pid = int(pid_file.read_text())
    assert running(pid)  # held: the tree did not wait for it
    (held_project / "release").touch()
    await until(lambda: not running(pid), "pytest gone once let go")


async def test_a_pytest_that_does_not_exit_after_collecting_is_stopped(
    held_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discovery, "EXIT_TIMEOUT", 1.0)
    tree = await asyncio.wait_for(
        discover(held_project, sys.executable, ["-p", "no:cacheprovider"], env=QUIET),
        timeout=HELD_SECONDS / 2,
    )
    assert tree.count == 1

    pid_file = held_project / "pytest.pid"
    await until(pid_file.exists, "pytest in its unconfigure")
    pid = int(pid_file.read_text())
    await until(lambda: not running(pid), "pytest stopped after EXIT_TIMEOUT")
    assert not (held_project / "release").exists()  # stopped, not let go
