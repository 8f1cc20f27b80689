"""The test session (`tui.core.testrun.session`) with real pytest on throwaway projects:
nothing a save asked for is lost, whether the save comes during a run or while the health
gate holds one. Saves go through the real watcher (real files, real filesystem events).

A test that must be "still running" when the next save comes waits for a file the test
writes (`GO`, outside the project: watch mode would see it) instead of sleeping: the save
happens once pytest has started it.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.ui.fixed_monitor import ENGINE, SERVICES, FixedMonitor
from tests.ui.test_tests_screen import READY
from tui.core.compose_cli import ComposeCommand
from tui.core.engine import DockerGateway
from tui.core.status import EnvironmentStatus, ServiceStatus
from tui.core.testrun import FinishedEvent, StartedEvent
from tui.core.testrun.events import TestEvent
from tui.core.testrun.place import ComposeService
from tui.core.testrun.run_state import RunState
from tui.core.testrun.session import SessionListener, TestSession

pytestmark = pytest.mark.usefixtures("no_autoloaded_plugins")

BLOCKING = (
    "import os, time\n"
    "def wait_for_go():\n"
    "    deadline = time.monotonic() + 60\n"
    "    while not os.path.exists({go!r}) and time.monotonic() < deadline:\n"
    "        time.sleep(0.02)\n"
)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).write_text(text)


@pytest.fixture
def go(tmp_path: Path) -> Path:
    return tmp_path / "GO"


@pytest.fixture
def project(tmp_path: Path, go: Path) -> Path:
    """test_a.py imports a.py and waits for GO; test_b.py imports b.py."""
    root = tmp_path / "project"
    root.mkdir()
    write(
        root,
        {
            "pytest.ini": "[pytest]\n",
            "gate.py": BLOCKING.format(go=str(go)),
            "a.py": "A = 1\n",
            "b.py": "B = 1\n",
            "test_a.py": "from a import A\nfrom gate import wait_for_go\n\n"
            "def test_a():\n    wait_for_go()\n    assert A\n",
            "test_b.py": "from b import B\n\ndef test_b():\n    assert B\n",
            "test_c.py": "def test_c():\n    assert True\n",
        },
    )
    return root


class Recorder(SessionListener):
    """Every run the session starts, and each test's events, in order."""

    def __init__(self) -> None:
        self.runs: list[RunState] = []
        self.started: dict[int, list[str]] = {}  # id() of a run -> tests it started
        self.finished: dict[int, list[str]] = {}

    async def test_event(self, run: RunState, event: TestEvent) -> None:
        if not any(run is known for known in self.runs):
            self.runs.append(run)
        if isinstance(event, StartedEvent):
            self.started.setdefault(id(run), []).append(event.nodeid)
        elif isinstance(event, FinishedEvent):
            self.finished.setdefault(id(run), []).append(event.nodeid)

    def started_in(self, run: RunState) -> list[str]:
        return self.started.get(id(run), [])

    def finished_in(self, run: RunState) -> list[str]:
        return sorted(self.finished.get(id(run), []))


async def until(condition: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.fixture
async def watching(project: Path) -> AsyncIterator[tuple[TestSession, Recorder, FixedMonitor]]:
    monitor = FixedMonitor(READY)
    session = TestSession(project, sys.executable, [], monitor=monitor)
    recorder = Recorder()
    session.listen(recorder)
    await session.discover()  # as the screen does: the status lines count the tests
    watcher = session.start_watching()
    await until(lambda: watcher.wait_ready(0))
    try:
        yield session, recorder, monitor
    finally:
        await session.aclose()


async def test_a_save_during_a_run_adds_its_tests_to_the_earlier_saves(
    watching: tuple[TestSession, Recorder, FixedMonitor], project: Path, go: Path
) -> None:
    _session, recorder, _ = watching
    (project / "a.py").write_text("A = 2\n")
    await until(
        lambda: recorder.runs and "test_a.py::test_a" in recorder.started_in(recorder.runs[0])
    )
    first = recorder.runs[0]
    assert first.why == "a.py changed → 1 affected test"
    (project / "b.py").write_text("B = 2\n")  # while test_a still runs: it waits for GO
    await until(lambda: len(recorder.runs) == 2)
    go.write_text("")
    second = recorder.runs[1]
    await until(lambda: second.result is not None)
    assert first.result is not None
    assert first.result.cancelled
    assert second.result is not None
    assert not second.result.cancelled
    # The earlier save's test ran with the newer one's, and nothing unaffected did.
    assert recorder.finished_in(second) == ["test_a.py::test_a", "test_b.py::test_b"]
    assert second.why == "a.py and b.py changed → 2 affected tests"


async def test_saves_while_the_gate_holds_a_run_all_run_once_it_is_ready(
    watching: tuple[TestSession, Recorder, FixedMonitor], project: Path, go: Path
) -> None:
    session, recorder, monitor = watching
    go.write_text("")
    monitor.status = EnvironmentStatus("shop", ENGINE, SERVICES)  # redis unhealthy, …
    (project / "a.py").write_text("A = 2\n")
    await until(lambda: session.run is not None and session.run.held_by)
    held = session.run
    assert held is not None
    assert "redis unhealthy" in held.held_by
    assert held.why == "a.py changed → 1 affected test"
    (project / "b.py").write_text("B = 2\n")  # a second save while the first is held
    await until(lambda: session.run is not None and "b.py" in session.run.why)
    assert session.run is not None
    assert session.run.held_by
    assert recorder.runs == []
    monitor.status = READY
    await until(lambda: recorder.runs and recorder.runs[0].result is not None)
    assert len(recorder.runs) == 1
    only = recorder.runs[0]
    assert recorder.finished_in(only) == ["test_a.py::test_a", "test_b.py::test_b"]
    assert only.why == "a.py and b.py changed → 2 affected tests"


async def test_cancel_drops_what_the_gate_holds_and_a_later_save_runs_alone(
    watching: tuple[TestSession, Recorder, FixedMonitor], project: Path, go: Path
) -> None:
    session, recorder, monitor = watching
    go.write_text("")
    monitor.status = EnvironmentStatus("shop", ENGINE, SERVICES)
    (project / "a.py").write_text("A = 2\n")
    await until(lambda: session.run is not None and session.run.held_by)
    assert await session.cancel()
    assert session.run is not None
    assert session.run.dropped
    monitor.status = READY
    (project / "b.py").write_text("B = 2\n")
    await until(lambda: recorder.runs and recorder.runs[0].result is not None)
    assert recorder.finished_in(recorder.runs[0]) == ["test_b.py::test_b"]  # a.py's: dropped


async def test_a_users_run_keeps_results_in_the_session(project: Path, go: Path) -> None:
    go.write_text("")
    session = TestSession(project, sys.executable, [])
    try:
        tree = await session.discover()
        assert tree.count == 3
        result = await session.run_now(None, "all tests")
        assert result is not None
        assert result.exit_code == 0
        assert set(session.results.outcomes) == {
            "test_a.py::test_a",
            "test_b.py::test_b",
            "test_c.py::test_c",
        }
        assert session.last_result == result
        assert session.run is not None
        assert session.run.summary() == "3 passed"
    finally:
        await session.aclose()


def test_the_service_the_tests_run_in_never_holds_a_run(tmp_path: Path) -> None:
    """A test-runner service has no container between runs (`compose run --rm`): the gate
    waits for the others, never for it."""
    missing = ServiceStatus("tests", None, "missing", "none", None, 0, None, None, ())
    status = EnvironmentStatus("shop", ENGINE, (*READY.services, missing))
    place = ComposeService(
        ComposeCommand(("docker", "compose"), cwd=tmp_path),
        "tests",
        "/srv/app",
        DockerGateway("unix:///nonexistent"),
    )
    monitor = FixedMonitor(status)
    assert TestSession(tmp_path, sys.executable, monitor=monitor, place=place).not_ready() == ()
    here = TestSession(tmp_path, sys.executable, monitor=monitor)
    assert [service.name for service in here.not_ready()] == ["tests"]  # run here: it holds
    monitor.status = EnvironmentStatus("shop", ENGINE, SERVICES)
    held = TestSession(tmp_path, sys.executable, monitor=monitor, place=place).not_ready()
    assert "redis" in [service.name for service in held]  # the others still hold it
