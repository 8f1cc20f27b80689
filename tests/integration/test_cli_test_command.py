"""`envdeck test` on a real throwaway project: exit codes, events, watch mode."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import WatchedOutput, run_envdeck

pytestmark = pytest.mark.usefixtures("no_autoloaded_plugins")

APP = "def add(a, b):\n    return a + b\n"
OTHER = "def shout(s):\n    return s.upper()\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "other.py").write_text(OTHER)
    (tmp_path / "test_app.py").write_text(
        "from app import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    )
    (tmp_path / "test_other.py").write_text(
        "from other import shout\n\ndef test_shout():\n    assert shout('a') == 'A'\n"
    )
    return tmp_path


def envdeck_test(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_envdeck(project, "test", *args)


def test_exit_code_and_lines_are_pytests(project: Path) -> None:
    passing = envdeck_test(project)
    assert passing.returncode == 0, passing.stderr
    assert "PASSED test_app.py::test_add" in passing.stdout
    (project / "app.py").write_text("def add(a, b):\n    return a - b\n")
    failing = envdeck_test(project, "-k", "add")
    assert failing.returncode == 1
    assert "FAILED test_app.py::test_add" in failing.stdout
    assert "assert -1 == 3" in failing.stdout  # the assertion, as pytest explains it
    assert "test_shout" not in failing.stdout  # -k passed through


def test_watch_reruns_only_the_tests_a_save_affects(project: Path) -> None:
    watched = WatchedOutput(project)
    wait_for, seen = watched.wait_for, watched.seen
    try:
        first = wait_for("2 passed")
        wait_for("watching", timeout=30)
        (project / "other.py").write_text(OTHER + "\n# saved\n")
        reason = wait_for("other.py changed", after=first)
        done = wait_for("1 passed", after=reason)
        rerun = "".join(seen[reason : done + 1])
        assert "test_other.py::test_shout" in rerun
        assert "test_app.py" not in rerun  # not affected: not run
    finally:
        watched.stop()
