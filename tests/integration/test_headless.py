"""`envdeck test` answers what the tests screen answers (issue 12.4), on real pytest runs of
throwaway projects: a failures summary at the end; each failure with every service's log
lines of its time window; the health gate (refuse, or wait with --wait, while a service is
stopped); --json events whose counts are pytest's.

The service is our own: a compose project of its own name whose one container logs a line
every 0.1 s (the offline base image), removed after the module.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import eventually, run_envdeck

pytestmark = pytest.mark.usefixtures("no_autoloaded_plugins")

EXIT_NOT_READY = 6  # documented in the README's tests section: not one of pytest's 0-5

FAILING_TESTS = """\
import time

def test_slow_failure():
    print("noise " * 40)
    time.sleep(0.5)  # the window holds ~5 of the ticker's lines
    assert 1 == 2

def test_passes():
    pass

def test_other_failure():
    assert "x" == "y"

def test_skipped():
    import pytest
    pytest.skip("not today")
"""

TICKER_COMPOSE = """\
name: {name}
services:
  ticker:
    image: envdeck-base:bookworm
    command: ["sh", "-c", "i=0; while true; do echo tick $$i; i=$$((i+1)); sleep 0.1; done"]
    init: true
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "true"]
      interval: 200ms  # healthy again soon after a restart
"""


def write_project(root: Path, tests: str) -> Path:
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_sample.py").write_text(tests)
    return root


def envdeck_test(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_envdeck(project, "test", *args)


def compose(project: Path, *args: str) -> None:
    subprocess.run(
        ["docker", "compose", *args], cwd=project, check=True, capture_output=True, timeout=120
    )


@pytest.fixture(scope="module")
def ticker_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project with a compose stack of its own: one service logging a line per 0.1 s."""
    root = write_project(tmp_path_factory.mktemp("headless"), FAILING_TESTS)
    name = f"envdeck-headless-{uuid.uuid4().hex[:8]}"
    (root / "compose.yaml").write_text(TICKER_COMPOSE.format(name=name))
    compose(root, "up", "-d", "--wait")
    try:
        yield root
    finally:
        compose(root, "down", "-v", "--remove-orphans", "-t", "0")


def ticker_container(project: Path) -> str:
    listed = subprocess.run(
        ["docker", "compose", "ps", "-a", "-q", "ticker"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.strip()


def test_a_failures_summary_ends_the_output(tmp_path: Path) -> None:
    project = write_project(tmp_path, FAILING_TESTS)
    result = envdeck_test(project)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.rstrip("\n").splitlines()
    # After the run's closing line: the summary, one line per failure, and nothing else.
    end = next(i for i, line in enumerate(lines) if "(exit code 1)" in line)
    assert lines[end + 1 :] == [
        "==================== failures summary: 2 ====================",
        "FAILED test_sample.py::test_slow_failure - assert 1 == 2",
        "FAILED test_sample.py::test_other_failure - AssertionError: assert 'x' == 'y'",
    ]


@pytest.mark.docker
def test_each_failure_shows_the_service_logs_of_its_window(ticker_project: Path) -> None:
    result = envdeck_test(ticker_project, "-k", "slow_failure")
    assert result.returncode == 1, result.stderr
    report = result.stdout.split("FAILED test_sample.py::test_slow_failure", 1)[1]
    heading = re.search(r"service logs (\S+) - (\S+) UTC", report)
    assert heading is not None, result.stdout
    ticks = re.findall(r"^ticker \| (\d\d:\d\d:\d\d\.\d{3}) tick \d+$", report, re.MULTILINE)
    assert len(ticks) >= 3, result.stdout  # 0.5 s of a line per 0.1 s
    # Only lines of the test's window: between its start and stop (same-day times).
    assert all(heading[1] <= tick <= heading[2] for tick in ticks), result.stdout

    quiet = envdeck_test(ticker_project, "-k", "slow_failure", "--no-service-logs")
    assert quiet.returncode == 1, quiet.stderr
    assert "service logs" not in quiet.stdout
    assert "ticker |" not in quiet.stdout


@pytest.mark.docker
def test_a_stopped_service_is_refused_and_waited_for(ticker_project: Path) -> None:
    container = ticker_container(ticker_project)
    subprocess.run(["docker", "stop", "-t", "1", container], check=True, capture_output=True)
    try:
        refused = envdeck_test(ticker_project, "-k", "passes")
        assert refused.returncode == EXIT_NOT_READY
        assert "not running the tests: ticker stopped" in refused.stderr
        assert "passed" not in refused.stdout  # pytest never ran

        waiting = subprocess.Popen(
            [sys.executable, "-m", "tui", "test", "--wait=120", "-k", "passes"],
            cwd=ticker_project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        said: list[str] = []
        assert waiting.stderr is not None
        stderr = waiting.stderr
        reader = threading.Thread(target=lambda: said.extend(iter(stderr.readline, "")))
        reader.start()
        eventually(
            lambda: True if any("waiting for ticker stopped" in s for s in said) else None,
            "envdeck waiting for the stopped service",
            timeout=60,
        )
        assert waiting.poll() is None  # still held: no run while the service is stopped
        starter = threading.Thread(
            target=subprocess.run,
            args=(["docker", "start", container],),
            kwargs={"check": True, "capture_output": True},
        )
        starter.start()
        assert waiting.stdout is not None
        stdout = waiting.stdout.read()  # to the end: the process is done (stderr: the reader's)
        waiting.wait(timeout=30)
        starter.join()
        reader.join(timeout=10)
        assert waiting.returncode == 0, "".join(said)
        assert "1 passed" in stdout
        assert any("the environment is ready" in s for s in said)
    finally:
        subprocess.run(["docker", "start", container], check=False, capture_output=True)


def test_json_events_parse_and_their_counts_are_pytests(tmp_path: Path) -> None:
    project = write_project(tmp_path, FAILING_TESTS)
    result = envdeck_test(project, "--json")
    plain = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == plain.returncode == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]  # every line is JSON
    assert events[0]["event"] == "session_started"
    finished = [e for e in events if e["event"] == "test_finished"]
    outcomes = {e["nodeid"].split("::")[1]: e["outcome"] for e in finished}
    assert outcomes == {
        "test_slow_failure": "failed",
        "test_passes": "passed",
        "test_other_failure": "failed",
        "test_skipped": "skipped",
    }
    assert all(e["duration"] >= 0 for e in finished)
    assert events[-1]["event"] == "session_finished"
    counts = events[-1]["counts"]
    assert events[-1]["exit_code"] == plain.returncode
    # pytest's own last line: "2 failed, 1 passed, 1 skipped in 0.53s"
    said = dict(
        (word, int(number))
        for number, word in re.findall(r"(\d+) (\w+)", plain.stdout.splitlines()[-1])
    )
    assert {k: v for k, v in counts.items() if v} == said
    # The human lines went to stderr, the summary with them.
    assert "failures summary: 2" in result.stderr


@pytest.mark.docker
def test_bundle_writes_a_folder_per_failure_with_the_services_logs(
    ticker_project: Path, tmp_path: Path
) -> None:
    bundles = tmp_path / "artifacts"
    result = envdeck_test(ticker_project, "--bundle", str(bundles), "-k", "failure")
    assert result.returncode == 1, result.stderr  # pytest's, bundles or not
    assert f"wrote 2 failure bundles under {bundles}" in result.stderr
    folders = sorted(path for path in bundles.iterdir() if path.is_dir())
    assert len(folders) == 2
    assert all((folder / "README.md").is_file() for folder in folders)
    (slow,) = [folder for folder in folders if "test_slow_failure" in folder.name]
    assert "tick" in (slow / "logs.txt").read_text()  # the ticker's lines of its 0.5 s window
    assert "test_slow_failure" in (bundles / "README.md").read_text()  # the index

    bare = envdeck_test(ticker_project, "--bundle")
    assert bare.returncode == 2
    assert "--bundle needs a value" in bare.stderr


def test_tests_named_on_the_command_line_replace_the_configured_ones(tmp_path: Path) -> None:
    """pytest_args naming tests is a default, as pytest's testpaths are: `envdeck test
    FILE` runs that file only (it ran every configured file too); options add up."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_a.py").write_text("def test_a():\n    assert True\n")
    (tmp_path / "test_b.py").write_text("def test_b():\n    assert True\n")
    (tmp_path / "envdeck.toml").write_text(
        'pytest_args = ["-p", "no:cacheprovider", "test_a.py", "test_b.py"]\n'
    )
    named = envdeck_test(tmp_path, "test_b.py")
    assert named.returncode == 0, named.stderr
    assert "PASSED test_b.py::test_b" in named.stdout
    assert "test_a.py::test_a" not in named.stdout
    configured = envdeck_test(tmp_path, "-q")
    assert configured.returncode == 0, configured.stderr
    assert "2 passed" in configured.stdout


def test_what_a_failing_test_printed_uncaptured_is_in_its_report(tmp_path: Path) -> None:
    """With `-s` (redis-py's addopts) pytest captures nothing: the test's prints went to the
    console and were nowhere in envdeck's output (new-user trial)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -s\n")
    (tmp_path / "test_loud.py").write_text(
        "def test_loud():\n    print('debugging: the value is 41')\n    assert 41 == 42\n\n"
        "def test_quiet_pass():\n    print('not shown for a pass')\n"
    )
    result = envdeck_test(tmp_path)
    assert result.returncode == 1, result.stderr
    report = result.stdout.split("FAILED test_loud.py::test_loud", 1)[1]
    assert "Console output while it ran (pytest did not capture it)" in report
    assert "debugging: the value is 41" in report
    assert "not shown for a pass" not in result.stdout
