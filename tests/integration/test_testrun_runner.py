"""The test runner against a real throwaway project: discovery, every outcome, extra args,
--lf, cancelling hanging tests and their escaped children, and a 50 MB print.

The project has its own pytest.ini (and cache), so this repository's configuration never
applies to it. No Docker needed; these run with the integration tests for their time."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import sysconfig
import textwrap
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from tests.integration.testrun_projects import (
    PKG,
    PYTEST_INI,
    QUIET,
    alive,
    finished,
    outcomes_module,
    own_config,
    slow_module,
    write_project,
)
from tui.core.testrun import (
    CollectionFinishedEvent,
    DiscoveryError,
    Outcome,
    OutcomeCounts,
    OutputEvent,
    SessionFinishedEvent,
    SessionStartedEvent,
    StartedEvent,
    TestEvent,
    TestRun,
    TestRunError,
    discover,
)
from tui.core.testrun.command import PLUGIN_MODULE, plugin_directory
from tui.core.testrun.events import parse_event
from tui.core.testrun.runner import OUTPUT_RING_BYTES

MiB = 1024 * 1024

FILES = {
    "pytest.ini": PYTEST_INI,
    "pkg/__init__.py": PKG,
    "tests/test_basic.py": outcomes_module(),
    "broken/test_broken.py": """
        def test_never(:
            pass
    """,
    "broken/test_fine.py": """
        def test_fine():
            pass
    """,
    "slowimport/test_slow_import.py": """
        import time
        time.sleep(600)
    """,
    "slow/test_slow.py": slow_module(
        """
        def test_hangs():
            note_pid("hangs")
            time.sleep(600)

        def test_ignores_sigint():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            note_pid("ignores_sigint")
            time.sleep(600)

        def test_forks_a_child_that_leaves_the_session():
            if os.fork() == 0:
                os.setsid()
                note_pid("setsid_child")
                time.sleep(600)
                os._exit(0)
            time.sleep(600)

        def test_leaves_a_daemon():
            child = os.fork()
            if child == 0:
                os.setsid()
                if os.fork() == 0:
                    note_pid("daemon")
                    time.sleep(600)
                os._exit(0)
            os.waitpid(child, 0)
            while not (HERE / "daemon.pid").exists():
                time.sleep(0.01)

        def test_prints_50_mb():
            line = "x" * 1023 + "\\n"
            for _ in range(50 * 1024):
                sys.stdout.write(line)

        def test_fails_after_printing_5_mb():
            sys.stdout.write("y" * (5 * 1024 * 1024))
            assert False
        """
    ),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("throwaway"), FILES)


def runner_for(
    project: Path,
    *extra: str,
    nodeids: Sequence[str] = (),
    last_failed: bool = False,
    env: dict[str, str] = QUIET,
) -> TestRun:
    return TestRun(
        project,
        nodeids=nodeids,
        last_failed=last_failed,
        extra_args=[*own_config(project), *extra],
        env=env,
    )


def line_of(file: str, text: str) -> int:
    """The 1-based line of the throwaway project's `file` that starts with `text`."""
    lines = textwrap.dedent(FILES[file]).lstrip().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.strip().startswith(text))


class Watcher:
    """Collects a run's events in the background, so a test can wait for one."""

    def __init__(self, run: TestRun) -> None:
        self.run = run
        self.events: list[TestEvent] = []
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for event in self.run.events():
            self.events.append(event)

    async def until(self, predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"waited {timeout}s for {what}"
            await asyncio.sleep(0.02)

    async def started(self, nodeid: str) -> None:
        await self.until(
            lambda: any(isinstance(e, StartedEvent) and e.nodeid == nodeid for e in self.events),
            f"{nodeid} to start",
        )

    async def finish(self) -> list[TestEvent]:
        await asyncio.wait_for(self._task, 60)
        return self.events


async def run_to_end(run: TestRun) -> list[TestEvent]:
    async with run:
        return await Watcher(run).finish()


def read_pid(path: Path) -> int:
    return int(path.read_text())


def pids_of_run(project: Path, marker: str = "") -> list[int]:
    """Processes started with the run's marker in their environment, or with the project's
    path on their command line (a child forked by a test has pytest's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if (marker and marker.encode() in environ) or str(project).encode() in cmdline:
            found.append(int(entry.name))
    return found


def exists(pid: int) -> bool:
    """Alive, or a zombie not yet reaped."""
    return Path(f"/proc/{pid}").exists()


async def eventually_gone(pids: Callable[[], list[int]], what: str, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while left := pids():
        assert time.monotonic() < deadline, f"{what} still there after {timeout}s: {left}"
        await asyncio.sleep(0.05)


@pytest.fixture
def pid_files(project: Path) -> Path:
    folder = project / "slow"
    for stale in folder.glob("*.pid"):
        stale.unlink()
    return folder


# ---------------------------------------------------------------- discovery


async def test_discovery_finds_every_test_and_each_broken_file(project: Path) -> None:
    tree = await discover(project, extra_args=[*own_config(project), "tests", "broken"], env=QUIET)

    basic = "tests/test_basic.py"
    assert [item.nodeid for item in tree.items] == [
        f"{basic}::test_passes",
        f"{basic}::test_fails_with_diff",
        f"{basic}::test_fixture_errors",
        f"{basic}::test_teardown_errors",
        f"{basic}::test_skipped",
        f"{basic}::test_xfails",
        f"{basic}::test_xpasses",
        f"{basic}::test_add[1-2-3]",
        f"{basic}::test_add[negative]",
        f"{basic}::TestMath::test_commutes",
        "broken/test_fine.py::test_fine",
    ]
    negative = tree.item(f"{basic}::test_add[negative]")
    assert negative is not None
    assert (negative.file, negative.cls, negative.name, negative.params) == (
        basic,
        None,
        "test_add",
        "negative",
    )
    # pytest's line for a decorated function: its first decorator's.
    assert negative.lineno == line_of("tests/test_basic.py", "@pytest.mark.parametrize")
    commutes = tree.item(f"{basic}::TestMath::test_commutes")
    assert commutes is not None
    assert (commutes.cls, commutes.markers) == ("TestMath", ("slow",))
    skipped = tree.item(f"{basic}::test_skipped")
    assert skipped is not None
    assert skipped.markers == ("skip",)

    (error,) = tree.errors
    assert error.nodeid == "broken/test_broken.py"
    assert "SyntaxError" in error.longrepr
    assert [(f.name, f.count, f.error is not None) for f in tree.files()] == [
        (basic, 10, False),
        ("broken/test_fine.py", 1, False),
        ("broken/test_broken.py", 0, True),
    ]


async def test_discovery_reports_a_usage_error_with_pytest_words(project: Path) -> None:
    with pytest.raises(DiscoveryError) as caught:
        await discover(project, extra_args=[*own_config(project), "--no-such-option"], env=QUIET)
    assert "unrecognized arguments: --no-such-option" in caught.value.output


async def test_discovery_is_bounded_in_time(project: Path) -> None:
    started = time.monotonic()
    with pytest.raises(DiscoveryError, match="within 2 s"):
        await discover(
            project, extra_args=[*own_config(project), "slowimport"], env=QUIET, timeout=2
        )
    assert time.monotonic() - started < 6
    await eventually_gone(lambda: pids_of_run(project), "the collection")


# ---------------------------------------------------------------- a run


async def test_a_run_reports_every_outcome_as_it_happens(project: Path) -> None:
    before = datetime.now().astimezone()
    run = runner_for(project, env={})  # with every pytest plugin of the venv loaded too
    events = await run_to_end(run)
    after = datetime.now().astimezone()

    basic = "tests/test_basic.py"
    results = finished(events)
    assert {nodeid: e.outcome for nodeid, e in results.items()} == {
        f"{basic}::test_passes": Outcome.PASSED,
        f"{basic}::test_fails_with_diff": Outcome.FAILED,
        f"{basic}::test_fixture_errors": Outcome.ERROR,
        f"{basic}::test_teardown_errors": Outcome.ERROR,
        f"{basic}::test_skipped": Outcome.SKIPPED,
        f"{basic}::test_xfails": Outcome.XFAILED,
        f"{basic}::test_xpasses": Outcome.XPASSED,
        f"{basic}::test_add[1-2-3]": Outcome.PASSED,
        f"{basic}::test_add[negative]": Outcome.PASSED,
        f"{basic}::TestMath::test_commutes": Outcome.PASSED,
    }
    assert run.outcomes() == {nodeid: e.outcome for nodeid, e in results.items()}

    failure = results[f"{basic}::test_fails_with_diff"]
    assert failure.when == "call"
    assert "AssertionError" in failure.longrepr
    assert "{'port': 6333} != {'port': 6334}" in failure.longrepr  # pytest's own diff
    log_line = line_of("tests/test_basic.py", "logging.getLogger")
    assert {s.title: s.text.strip() for s in failure.sections} == {
        "Captured stdout call": "to stdout",
        "Captured stderr call": "to stderr",
        "Captured log call": f"WARNING  app:test_basic.py:{log_line} to log",
    }
    fixture = results[f"{basic}::test_fixture_errors"]
    assert (fixture.when, "database is down" in fixture.longrepr) == ("setup", True)
    teardown = results[f"{basic}::test_teardown_errors"]
    assert (teardown.when, "teardown failed" in teardown.longrepr) == ("teardown", True)
    assert results[f"{basic}::test_skipped"].reason == "needs redis 8"
    assert results[f"{basic}::test_xfails"].reason == "known bug"
    assert results[f"{basic}::test_xpasses"].reason == "maybe fixed"

    for event in results.values():  # the window to fetch every service's logs for
        start, stop = datetime.fromisoformat(event.start), datetime.fromisoformat(event.stop)
        assert before <= start <= stop <= after
        assert event.start.endswith("Z")
        assert len(event.start) == len("2026-01-02T03:04:05.123456Z")

    structural = [e for e in events if not isinstance(e, OutputEvent)]
    assert isinstance(structural[0], SessionStartedEvent)
    assert structural[-1] == run.result
    order = [(type(e).__name__, getattr(e, "nodeid", "")) for e in structural]
    for nodeid in results:
        assert order.index(("StartedEvent", nodeid)) < order.index(("FinishedEvent", nodeid))
    end = structural[-1]
    assert isinstance(end, SessionFinishedEvent)
    assert (end.exit_code, end.cancelled) == (1, False)
    assert end.counts == OutcomeCounts(passed=4, failed=1, error=2, skipped=1, xfailed=1, xpassed=1)

    console = "".join(e.text for e in events if isinstance(e, OutputEvent))
    # pytest counts reports: the test with a teardown error is "passed" and an "error" there.
    assert "1 failed, 5 passed, 1 skipped, 1 xfailed, 1 xpassed, 2 errors" in console
    assert run.output.text() == console


async def test_extra_arguments_reach_pytest(project: Path) -> None:
    events = await run_to_end(runner_for(project, "-k", "add"))
    assert sorted(finished(events)) == [
        "tests/test_basic.py::test_add[1-2-3]",
        "tests/test_basic.py::test_add[negative]",
    ]
    collection = next(e for e in events if isinstance(e, CollectionFinishedEvent))
    assert (collection.count, collection.deselected) == (2, 8)


async def test_last_failed_reruns_only_the_failures(project: Path, tmp_path: Path) -> None:
    cache = ["-o", f"cache_dir={tmp_path / 'cache'}"]
    first = finished(await run_to_end(runner_for(project, *cache)))
    failures = sorted(n for n, e in first.items() if e.outcome in (Outcome.FAILED, Outcome.ERROR))
    assert len(failures) == 3

    again = await run_to_end(runner_for(project, *cache, last_failed=True))
    assert sorted(finished(again)) == failures


async def test_selected_node_ids_run_alone(project: Path) -> None:
    chosen = ["tests/test_basic.py::TestMath", "tests/test_basic.py::test_add[negative]"]
    events = await run_to_end(runner_for(project, nodeids=chosen))
    assert sorted(finished(events)) == [
        "tests/test_basic.py::TestMath::test_commutes",
        "tests/test_basic.py::test_add[negative]",
    ]


# ---------------------------------------------------------------- ending a run


async def cancel_timed(run: TestRun) -> float:
    started = time.monotonic()
    await run.cancel()
    return time.monotonic() - started


async def test_cancel_ends_a_hanging_test_and_every_process(project: Path, pid_files: Path) -> None:
    nodeid = "slow/test_slow.py::test_hangs"
    async with runner_for(project, nodeids=[nodeid]) as run:
        watcher = Watcher(run)
        await watcher.started(nodeid)
        await watcher.until((pid_files / "hangs.pid").exists, "the test's pid")
        assert pids_of_run(project, run.marker)

        assert await cancel_timed(run) < 3
        events = await watcher.finish()

    stopped = finished(events)[nodeid]
    assert (stopped.outcome, stopped.interrupted) == (Outcome.ERROR, True)
    assert stopped.reason == "stopped by the user"
    assert run.result is not None
    assert run.result.cancelled
    assert run.result.exit_code == 2  # pytest's "interrupted": it ended the session itself
    assert run.result.counts == OutcomeCounts(error=1)
    await eventually_gone(lambda: pids_of_run(project, run.marker), "the run's processes")
    assert not exists(read_pid(pid_files / "hangs.pid"))  # pytest itself: our child, reaped


async def test_cancel_interrupts_cleanly_when_envdeck_was_started_ignoring_sigint(
    project: Path, pid_files: Path
) -> None:
    """Started with `&` by a script, envdeck inherits SIGINT ignored, and so would pytest:
    the cancel's SIGINT then did nothing and pytest was killed without its teardowns
    (exit -9; a new user's project then refused every later run)."""
    nodeid = "slow/test_slow.py::test_hangs"
    was = signal.signal(signal.SIGINT, signal.SIG_IGN)  # what the children inherit
    try:
        async with runner_for(project, nodeids=[nodeid]) as run:
            watcher = Watcher(run)
            await watcher.started(nodeid)
            await watcher.until((pid_files / "hangs.pid").exists, "the test's pid")
            assert await cancel_timed(run) < 1.4  # interrupted, not killed after the grace
            await watcher.finish()
    finally:
        signal.signal(signal.SIGINT, was)
    assert run.result is not None
    assert run.result.exit_code == 2  # pytest ended the session itself


async def test_cancel_kills_a_test_that_ignores_sigint(project: Path, pid_files: Path) -> None:
    nodeid = "slow/test_slow.py::test_ignores_sigint"
    async with runner_for(project, nodeids=[nodeid]) as run:
        watcher = Watcher(run)
        await watcher.until((pid_files / "ignores_sigint.pid").exists, "the test's pid")

        assert 1.4 < await cancel_timed(run) < 3  # the grace period, then SIGKILL
        events = await watcher.finish()

    assert run.result is not None
    assert run.result.exit_code == -9
    assert run.pid is not None
    assert not exists(run.pid)  # our child, reaped
    assert finished(events)[nodeid].interrupted
    await eventually_gone(lambda: pids_of_run(project, run.marker), "the run's processes")


async def test_cancel_kills_a_child_that_left_the_session(project: Path, pid_files: Path) -> None:
    nodeid = "slow/test_slow.py::test_forks_a_child_that_leaves_the_session"
    async with runner_for(project, nodeids=[nodeid]) as run:
        watcher = Watcher(run)
        await watcher.until((pid_files / "setsid_child.pid").exists, "the child's pid")
        child = read_pid(pid_files / "setsid_child.pid")
        session = Path(f"/proc/{child}/stat").read_text().rpartition(") ")[2].split()[3]
        assert int(session) == child != run.pid  # it is in a session of its own

        assert await cancel_timed(run) < 3
        await watcher.finish()

    await eventually_gone(lambda: [child] if alive(child) else [], "the setsid child")
    await eventually_gone(lambda: pids_of_run(project, run.marker), "the run's processes")


async def test_stop_test_ends_the_run_with_that_test_stopped(project: Path) -> None:
    nodeid = "slow/test_slow.py::test_hangs"
    async with runner_for(project, nodeids=[nodeid]) as run:
        watcher = Watcher(run)
        assert not await run.stop_test(nodeid)  # not running yet
        await watcher.started(nodeid)
        assert run.running_tests == (nodeid,)

        assert await run.stop_test(nodeid)
        events = await watcher.finish()

    stopped = finished(events)[nodeid]
    assert stopped.outcome == Outcome.ERROR
    assert stopped.reason == f"stopped: {nodeid} was hanging"
    assert not run.running_tests
    assert not await run.stop_test(nodeid)


async def test_a_finished_run_leaves_no_daemon_behind(project: Path, pid_files: Path) -> None:
    run = runner_for(project, nodeids=["slow/test_slow.py::test_leaves_a_daemon"])
    events = await run_to_end(run)

    assert [e.outcome for e in finished(events).values()] == [Outcome.PASSED]
    daemon = read_pid(pid_files / "daemon.pid")
    await eventually_gone(lambda: [daemon] if alive(daemon) else [], "the test's daemon")


async def test_leaving_the_block_early_ends_the_run(project: Path, pid_files: Path) -> None:
    nodeid = "slow/test_slow.py::test_hangs"
    async with runner_for(project, nodeids=[nodeid]) as run:
        async for event in run.events():
            if isinstance(event, StartedEvent):
                break
    assert run.result is not None
    assert run.result.cancelled
    await eventually_gone(lambda: pids_of_run(project, run.marker), "the run's processes")


# ---------------------------------------------------------------- output


def peak_rss_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


async def test_50_mb_of_output_keeps_memory_bounded(project: Path) -> None:
    Path("/proc/self/clear_refs").write_text("5")  # restart the peak-RSS mark from now
    peak_before = peak_rss_bytes()
    seen = skipped = 0
    async with runner_for(project, "-s", nodeids=["slow/test_slow.py::test_prints_50_mb"]) as run:
        async for event in run.events():  # counted, not kept: the runner's memory is measured
            if isinstance(event, OutputEvent):
                seen, skipped = seen + len(event.text), skipped + event.skipped

    assert run.result is not None
    assert run.result.exit_code == 0
    assert seen + skipped >= 50 * MiB
    assert run.output.size <= OUTPUT_RING_BYTES
    assert run.output.dropped >= 48 * MiB
    assert "1 passed" in run.output.text()[-500:]
    assert peak_rss_bytes() - peak_before < 100 * MiB


async def test_captured_output_is_clipped_in_the_failure(project: Path) -> None:
    nodeid = "slow/test_slow.py::test_fails_after_printing_5_mb"
    events = await run_to_end(runner_for(project, nodeids=[nodeid]))

    (stdout,) = [s for s in finished(events)[nodeid].sections if s.stream == "stdout"]
    assert len(stdout.text) < 300 * 1024
    assert "characters cut by envdeck" in stdout.text
    assert stdout.text.endswith("y" * 1000)


# ---------------------------------------------------------------- interpreters


async def test_a_missing_interpreter_is_a_clear_error(project: Path) -> None:
    with pytest.raises(TestRunError, match="/nowhere/python"):
        await TestRun(project, python="/nowhere/python").start()


async def test_the_plugin_works_where_envdeck_is_not_installed(
    project: Path, tmp_path: Path
) -> None:
    # A venv that sees pytest (our site-packages, without their .pth files) but not envdeck.
    venv = tmp_path / "venv"
    create = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "venv", "--without-pip", str(venv)
    )
    assert await create.wait() == 0
    python = venv / "bin" / "python"
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "ours.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    code = "import importlib.util as u, pytest, sys; sys.exit(u.find_spec('tui.core') is not None)"
    probe = await asyncio.create_subprocess_exec(python, "-c", code, cwd=tmp_path)
    assert await probe.wait() == 0  # pytest is there, envdeck is not

    tree = await discover(project, str(python), [*own_config(project), "tests"], env=QUIET)
    assert tree.count == 10


async def test_by_hand_the_plugin_writes_its_events_to_a_file(
    project: Path, tmp_path: Path
) -> None:
    events_file = tmp_path / "events.jsonl"
    env = {
        **os.environ,
        **QUIET,
        "PYTHONPATH": str(plugin_directory()),
        "ENVDECK_EVENTS_PATH": str(events_file),
    }
    nodeid = "tests/test_basic.py::test_passes"
    argv = ["-m", "pytest", "-p", PLUGIN_MODULE, "-q", *own_config(project), nodeid]
    pytest_run = await asyncio.create_subprocess_exec(
        sys.executable, *argv, cwd=project, env=env, stdout=asyncio.subprocess.DEVNULL
    )
    assert await pytest_run.wait() == 0

    events = [parse_event(json.loads(line)) for line in events_file.read_text().splitlines()]
    assert [type(e).__name__ for e in events] == [
        "SessionStartedEvent",
        "CollectedEvent",
        "CollectionFinishedEvent",
        "StartedEvent",
        "FinishedEvent",
        "SessionFinishedEvent",
    ]
    assert finished(events)[nodeid].outcome == Outcome.PASSED
