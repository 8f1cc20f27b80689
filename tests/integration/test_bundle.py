"""A failure bundle of a real failing test against the real sample stack (read-only use).

The test is real pytest with our plugin, on a throwaway project: it sends PostgreSQL a
query that fails on the stack's own password, so PostgreSQL logs that password (ERROR and
STATEMENT lines) within the test's window, prints the DSN with it, and fails. The bundle
must hold every file, the PostgreSQL lines before the failure mark, the real versions and
images, and the password nowhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SampleEnv
from tests.unit.test_bundle import EVERY_FILE
from tui.core.bundle import read_bundle, write_failure_bundle
from tui.core.engine import SERVICE_LABEL
from tui.core.monitor import DockerEnvironmentMonitor
from tui.core.secrets import MASK
from tui.core.testrun import pytest_plugin
from tui.core.testrun.events import FinishedEvent, parse_event

PASSWORD = "test_password"  # compose/compose.yaml's POSTGRES_PASSWORD
FAILING_TEST = """\
import subprocess
import time

import psycopg

DSN = "postgresql://test_user:{password}@127.0.0.1:{port}/test_crawl4ai"


def complained():
    logs = subprocess.run(
        ["docker", "logs", "--since", "120s", "{container}"], capture_output=True, text=True
    )
    return "invalid input syntax" in logs.stdout + logs.stderr


def test_orders_total():
    print("connecting to", DSN)
    with psycopg.connect(DSN, autocommit=True) as connection:
        try:
            connection.execute("SELECT 'envdeck-bundle-' || '{password}'::int")
        except psycopg.errors.InvalidTextRepresentation:
            pass
    # Docker stamps a log line when it reads it, a moment after the server wrote it: the
    # failure comes once the complaint is in Docker's log, as in a test that does more.
    deadline = time.monotonic() + 30
    while not complained():
        assert time.monotonic() < deadline, "PostgreSQL's complaint never reached Docker"
        time.sleep(0.05)
    assert 1 + 1 == 3
"""


def finished_events(project: Path) -> list[FinishedEvent]:
    """pytest run in `project` with envdeck's plugin: the tests' ends the plugin wrote."""
    shutil.copy(pytest_plugin.__file__, project / "envdeck_testrun_plugin.py")
    events = project / "events.jsonl"
    env = {**os.environ, "PYTHONPATH": str(project), "ENVDECK_EVENTS_PATH": str(events)}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "envdeck_testrun_plugin", "-p", "no:randomly"],
        cwd=project,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return [
        event
        for event in (parse_event(json.loads(line)) for line in events.read_text().splitlines())
        if isinstance(event, FinishedEvent)
    ]


def run_failing_test(project: Path, port: int, container: str) -> FinishedEvent:
    (project / "test_orders.py").write_text(
        FAILING_TEST.format(password=PASSWORD, port=port, container=container)
    )
    finished = finished_events(project)
    if not finished:
        raise AssertionError(f"no test finished: {(project / 'events.jsonl').read_text()}")
    return finished[0]


@pytest.fixture
def failure(sample_env: SampleEnv, tmp_path: Path) -> FinishedEvent:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    postgres = next(
        container.name
        for container in sample_env.gateway.project_containers(sample_env.project)
        if container.labels.get(SERVICE_LABEL) == "postgres"
    )
    event = run_failing_test(project, sample_env.port("postgres", 5432), str(postgres))
    assert event.outcome.value == "failed"
    return event


def test_a_real_failures_bundle_holds_every_file_and_no_secret(
    sample_env: SampleEnv, failure: FinishedEvent, tmp_path: Path
) -> None:
    monitor = DockerEnvironmentMonitor(sample_env.settings, sample_env.gateway)
    folder = write_failure_bundle(tmp_path / "bundles", failure, monitor)

    names = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert EVERY_FILE - {"data-diff.txt"} <= names  # no data diff was taken
    assert any(name.startswith("logs/postgres-") for name in names)

    # PostgreSQL's complaint about the query is among the lines before the failure mark.
    logs = (folder / "logs.txt").read_text().splitlines()
    failed_at = next(
        i for i, line in enumerate(logs) if "test failed here (AssertionError)" in line
    )
    complaint = next(i for i, line in enumerate(logs) if "invalid input syntax" in line)
    assert complaint < failed_at
    assert logs[complaint].startswith("postgres")
    assert MASK in logs[complaint]  # the value it quoted was the password

    status = json.loads((folder / "status.json").read_text())
    assert {s["name"] for s in status["services"]} >= {"postgres", "redis", "qdrant", "mock-api"}
    config = json.loads((folder / "compose-config.json").read_text())
    assert config["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == MASK
    versions = json.loads((folder / "versions.json").read_text())
    assert versions["docker"]["Version"] == sample_env.gateway.info().version
    assert versions["compose"]
    assert versions["images"]["postgres"]["id"].startswith("sha256:")

    readme = (folder / "README.md").read_text()
    assert "| `postgres` | running | healthy |" in readme
    assert "connecting to" in (folder / "report.txt").read_text()  # the captured output

    leaks = [p for p in folder.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert leaks == []

    shown = read_bundle(folder)
    assert shown.result.nodeid == "test_orders.py::test_orders_total"
    assert any("invalid input syntax" in line.text for line in shown.lines)


TIMED = """\
import pytest


@pytest.fixture
def broken():
    raise KeyError("no such key")


def test_raises():
    print("about to raise")
    raise ValueError("boom")


def test_setup_fails(broken):
    pass
"""


def test_the_plugin_tells_when_each_phase_ran_and_what_raised(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_timed.py").write_text(TIMED)
    finished = {event.nodeid: event for event in finished_events(tmp_path)}
    raised = finished["test_timed.py::test_raises"]
    assert raised.exception == "ValueError"
    assert [phase.when for phase in raised.phases] == ["setup", "call", "teardown"]
    call = raised.phases[1]
    assert raised.start <= call.start <= raised.failed_at <= raised.stop
    assert raised.failed_at == call.stop  # the call ended when it raised
    setup = finished["test_timed.py::test_setup_fails"]
    assert (setup.when, setup.exception) == ("setup", "KeyError")
    assert setup.failed_at == setup.phases[0].stop
