"""Throwaway pytest projects for the test-runner tests (test_testrun_*), and the looks into
/proc their tests share. Each project has its own pytest.ini, so this repository's
configuration never applies to it."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from pathlib import Path

from tui.core.testrun import FinishedEvent, TestEvent

# Third-party pytest plugins of our venv are not the throwaway project's business, and
# loading them (textual, syrupy…) would triple every start.
QUIET = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}

PYTEST_INI = """
    [pytest]
    testpaths = tests
    pythonpath = .
    markers =
        slow: a slow test
"""

PKG = """
    def add(a, b):
        return a + b
"""


# A test of every outcome pytest reports, using PKG's add.
OUTCOMES_TESTS = """
    import logging
    import sys

    import pytest

    from pkg import add

    def test_passes():
        assert add(1, 2) == 3

    def test_fails_with_diff():
        print("to stdout")
        sys.stderr.write("to stderr\\n")
        logging.getLogger("app").warning("to log")
        assert {"name": "qdrant", "port": 6333} == {"name": "qdrant", "port": 6334}

    @pytest.fixture
    def database():
        raise RuntimeError("database is down")

    def test_fixture_errors(database):
        pass

    @pytest.fixture
    def leaky():
        yield
        raise RuntimeError("teardown failed")

    def test_teardown_errors(leaky):
        pass

    @pytest.mark.skip(reason="needs redis 8")
    def test_skipped():
        pass

    @pytest.mark.xfail(reason="known bug")
    def test_xfails():
        assert add(2, 2) == 5

    @pytest.mark.xfail(reason="maybe fixed")
    def test_xpasses():
        assert add(2, 2) == 4

    @pytest.mark.parametrize(
        ("a", "b", "total"), [(1, 2, 3), pytest.param(-1, -1, -2, id="negative")]
    )
    def test_add(a, b, total):
        assert add(a, b) == total

    @pytest.mark.slow
    class TestMath:
        def test_commutes(self):
            assert add(1, 2) == add(2, 1)
    """


def outcomes_module(more_tests: str = "") -> str:
    """OUTCOMES_TESTS, then `more_tests`: the outcomes and counts a test asserts are those
    of both."""
    return textwrap.dedent(OUTCOMES_TESTS) + textwrap.dedent(more_tests)


# The start of a module of tests that hang: each test notes its pid in a file of the
# module's folder (written whole, then renamed, so a reader never sees half of it).
SLOW_MODULE_START = """
    import os
    import signal
    import sys
    import time
    from pathlib import Path

    HERE = Path(__file__).parent

    def note_pid(name):
        (HERE / f"{name}.tmp").write_text(str(os.getpid()))
        (HERE / f"{name}.tmp").rename(HERE / f"{name}.pid")
"""


def slow_module(tests: str) -> str:
    """SLOW_MODULE_START, then `tests`."""
    return textwrap.dedent(SLOW_MODULE_START) + textwrap.dedent(tests)


def write_project(root: Path, files: Mapping[str, str]) -> Path:
    """`files` (path: text, dedented) written under `root`."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text).lstrip())
    return root


def own_config(project: Path) -> list[str]:
    return ["-c", str(project / "pytest.ini"), f"--rootdir={project}"]


def finished(events: list[TestEvent]) -> dict[str, FinishedEvent]:
    return {e.nodeid: e for e in events if isinstance(e, FinishedEvent)}


def alive(pid: int) -> bool:
    """Running, stopped or sleeping: not dead. A killed orphan is a zombie until init
    reaps it, which is init's business (and may take it a second or two)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(") ")[2].split()[0] != "Z"


def reads_a_pipe(pid: int) -> bool:
    """Whether the process is blocked in read(2) on a pipe (not fd 0): a prepared spare
    waiting for its go."""
    syscall = Path(f"/proc/{pid}/syscall").read_text().split()
    # read(2) is syscall 0 on x86-64 and 63 on arm64; its first argument: the fd.
    if syscall[0] not in ("0", "63") or syscall[1] == "0x0":
        return False
    try:
        target = os.readlink(f"/proc/{pid}/fd/{int(syscall[1], 16)}")
    except FileNotFoundError:  # a file it read while importing, closed since
        return False
    return target.startswith("pipe:")
