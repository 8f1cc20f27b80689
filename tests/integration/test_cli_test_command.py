"""`envdeck test` on a real throwaway project: exit codes, events, watch mode."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

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
    return subprocess.run(
        [sys.executable, "-m", "tui", "test", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


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
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "test", "--watch"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    reader = threading.Thread(
        target=lambda: seen.extend(iter(process.stdout.readline, "")),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()

    def wait_for(text: str, after: int = 0, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index, line in enumerate(seen[after:], start=after):
                if text in line:
                    return index
            time.sleep(0.05)
        raise AssertionError(f"never saw {text!r}; got:\n{''.join(seen)}")

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
        process.terminate()
        process.wait(timeout=10)
