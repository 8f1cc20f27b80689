"""Warm starts against a real throwaway project: a run that takes the spare process reports
exactly what a cold run of the same arguments reports (outcomes, node ids, counts,
failures, collection errors, pytest's console) and its process looks the same from the
inside; a spare whose imports changed runs as a cold run would; cancelling a warm run
ends it and everything it started; no spare outlives its owner.

Every run here has bytecode caching on, in a folder of the test's own: these tests start
many Pythons, and compiling pytest from source for each would take seconds."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import WatchedOutput
from tests.integration.testrun_projects import (
    PKG,
    PYTEST_INI,
    QUIET,
    alive,
    finished,
    outcomes_module,
    own_config,
    reads_a_pipe,
    slow_module,
    write_project,
)
from tui.core.testrun import (
    CollectErrorEvent,
    CollectionFinishedEvent,
    FinishedEvent,
    Outcome,
    OutcomeCounts,
    OutputEvent,
    SessionFinishedEvent,
    SessionStartedEvent,
    StartedEvent,
    TestEvent,
    TestRun,
)
from tui.core.testrun.warm import WarmStarts

DEADLINE = 60.0

FILES = {
    "pytest.ini": PYTEST_INI,
    "pkg/__init__.py": PKG,
    "tests/conftest.py": """
        import pytest

        def same(a, b):
            assert a == b  # rewritten: conftest.py is imported by pytest's own hook

        @pytest.fixture
        def check():
            return same
    """,
    "tests/test_outcomes.py": outcomes_module(
        """
        import warnings

        warnings.warn("imported at collection", DeprecationWarning)

        def test_conftest_helper_fails(check):
            check(add(2, 2), 5)

        def test_warns():
            warnings.warn("at run time", UserWarning)
        """
    ),
    "tests/test_process.py": """
        import json
        import multiprocessing
        import os
        import stat
        import sys

        def facts():
            main = sys.modules["__main__"]
            stdin = os.fstat(0)
            return {
                "argv": sys.argv,
                "orig_argv": getattr(sys, "orig_argv", None),
                "main": {
                    "keys": sorted(vars(main)),
                    "name": main.__name__,
                    "file": getattr(main, "__file__", None),
                    "spec": getattr(getattr(main, "__spec__", None), "name", None),
                },
                "path": sys.path,
                "flags": list(sys.flags),
                "stdin_is_devnull": stat.S_ISCHR(stdin.st_mode)
                and stdin.st_rdev == os.stat(os.devnull).st_rdev,
                "stdout": [sys.stdout.isatty(), sys.stdout.encoding, sys.stdout.write_through],
                "own_session": os.getsid(0) == os.getpgid(0) == os.getpid(),
                "child_of_envdeck": os.getppid() == int(os.environ["EXPECTED_PARENT"]),
                "marker_in_proc_environ": any(
                    entry.startswith(b"ENVDECK_TESTRUN_ID=")
                    and entry.decode() == "ENVDECK_TESTRUN_ID=" + os.environ["ENVDECK_TESTRUN_ID"]
                    for entry in open("/proc/self/environ", "rb").read().split(b"\\0")
                ),
                "modules": sorted(sys.modules),
                "cwd": os.getcwd(),
            }

        def test_records_what_it_sees():
            with open(os.environ["FACTS_PATH"], "w") as out:
                json.dump(facts(), out)
            with open(os.environ["FACTS_PATH"] + ".cmdline", "wb") as out:
                out.write(open("/proc/self/cmdline", "rb").read())

        def test_spawned_processes_reimport_main():
            # spawn starts a fresh Python that imports our __main__ again: pytest's, as for
            # `python -m pytest`; the helper's own would not do.
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                assert pool.map(abs, [-1, -2]) == [1, 2]
    """,
    "broken/test_syntax.py": """
        def test_never(:
            pass
    """,
    "broken/test_import.py": """
        import no_such_module_anywhere

        def test_never():
            pass
    """,
    "broken/test_fine.py": """
        def test_fine():
            pass
    """,
    "slow/test_slow.py": slow_module(
        """
        def test_forks_a_child_that_leaves_the_session():
            if os.fork() == 0:
                os.setsid()
                note_pid("setsid_child")
                time.sleep(600)
                os._exit(0)
            note_pid("hangs")
            time.sleep(600)
        """
    ),
    "stale/test_sitecustomize.py": """
        import os
        import sitecustomize

        def test_sees_the_sitecustomize_on_disk():
            expected = open(os.environ["EXPECTED_VERSION"]).read().strip()
            assert sitecustomize.VERSION == int(expected)

        def test_records_its_command_line():
            with open(os.environ["FACTS_PATH"] + ".cmdline", "wb") as out:
                out.write(open("/proc/self/cmdline", "rb").read())
    """,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("throwaway"), FILES)


@pytest.fixture
def env(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The runs' extra environment: bytecode cached (shared by the module's tests), facts
    written to this test's folder, and this process's pid to check the parent against."""
    cache = tmp_path_factory.getbasetemp() / "pycache"
    return {
        **QUIET,
        "PYTHONDONTWRITEBYTECODE": "",
        "PYTHONPYCACHEPREFIX": str(cache),
        "FACTS_PATH": str(tmp_path / "facts.json"),
        "EXPECTED_PARENT": str(os.getpid()),
    }


async def events_of(run: TestRun) -> list[TestEvent]:
    async with run:
        async with asyncio.timeout(DEADLINE):
            return [event async for event in run.events()]


def what_counts(events: list[TestEvent]) -> dict[str, Any]:
    """Everything a run reports that does not depend on the clock or the pid."""
    collected = [e for e in events if isinstance(e, CollectionFinishedEvent)]
    end = events[-1]
    assert isinstance(end, SessionFinishedEvent)
    return {
        "collection": [(e.count, e.deselected, e.errors) for e in collected],
        "collect_errors": [
            (e.nodeid, e.longrepr) for e in events if isinstance(e, CollectErrorEvent)
        ],
        "started": [e.nodeid for e in events if isinstance(e, StartedEvent)],
        "finished": [
            (e.nodeid, e.outcome, e.when, blank(e.longrepr), e.reason, e.sections, e.interrupted)
            for e in events
            if isinstance(e, FinishedEvent)
        ],
        "exit_code": end.exit_code,
        "counts": end.counts,
        "cancelled": end.cancelled,
    }


def assert_same(warm: dict[str, Any], cold: dict[str, Any]) -> None:
    """Equal, or the first difference, said plainly (the whole dicts are long)."""
    assert sorted(warm) == sorted(cold)
    for key, expected in cold.items():
        if isinstance(expected, list) and isinstance(warm[key], list):
            for was, now in zip(expected, warm[key], strict=False):
                assert now == was, f"{key}: warm {now!r} != cold {was!r}"
            assert len(warm[key]) == len(expected), key
        assert warm[key] == expected, key


def blank(text: str) -> str:
    """Timings and memory addresses (`<function same at 0x7f…>`) differ from run to run,
    cold or warm: blanked."""
    return re.sub(r"0x[0-9a-f]+", "0x…", re.sub(r"\d+\.\d+s", "N.NNs", text))


def console(events: list[TestEvent]) -> str:
    """pytest's console output, blanked."""
    return blank("".join(e.text for e in events if isinstance(e, OutputEvent)))


def command_line(path: Path) -> list[str]:
    return path.read_bytes().decode().rstrip("\0").split("\0")


async def warm_run(
    project: Path,
    env: dict[str, str],
    *args: str,
    nodeids: list[str] | None = None,
    prepared: bool = False,
) -> tuple[TestRun, WarmStarts]:
    """A TestRun that will take the spare started for it, once the spare is waiting; with
    `prepared`, the spare prepared for exactly its arguments (paused before configure)."""
    starts = WarmStarts()
    run = TestRun(
        project,
        extra_args=[*own_config(project), *args],
        nodeids=nodeids or [],
        env=env,
        warm=starts,
    )
    if prepared:
        starts.expect(run.command[3:])
    await starts.prepare(project, sys.executable, env)
    await until_waiting_for_arguments(starts)
    if prepared:
        await until_paused(starts)
    return run, starts


async def until_paused(starts: WarmStarts) -> None:
    """The prepared spare blocks reading the go (on its copy of the pipe from envdeck)."""
    pid = starts.prepared_pid
    assert pid is not None
    deadline = time.monotonic() + DEADLINE
    while not reads_a_pipe(pid):
        assert time.monotonic() < deadline, "the prepared spare never paused"
        await asyncio.sleep(0.05)


async def until_waiting_for_arguments(starts: WarmStarts) -> None:
    """The spare has imported pytest and blocks reading its stdin (the arguments)."""
    spare = starts._spare
    assert spare is not None
    pid = spare.process.pid
    deadline = time.monotonic() + DEADLINE
    while True:
        syscall = Path(f"/proc/{pid}/syscall").read_text().split()
        stdin_pipe = os.readlink(f"/proc/{pid}/fd/0")
        # read(2) is syscall 0 on x86-64 and 63 on arm64; its first argument: fd 0.
        if syscall[:2] in (["0", "0x0"], ["63", "0x0"]) and stdin_pipe.startswith("pipe:"):
            return
        assert time.monotonic() < deadline, "the spare never got to wait for its arguments"
        await asyncio.sleep(0.05)


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout}s for {what}"
        await asyncio.sleep(0.05)


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


# ---------------------------------------------------------------- the same results


@pytest.mark.parametrize("prepared", [False, True], ids=["plain", "prepared"])
@pytest.mark.parametrize("plugins", ["none", "autoload"])
async def test_a_warm_run_reports_what_a_cold_run_reports(
    project: Path, env: dict[str, str], plugins: str, prepared: bool
) -> None:
    if plugins == "autoload":  # every pytest plugin of our venv, loaded by both runs
        env = {key: value for key, value in env.items() if key not in QUIET} | {
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": ""
        }
    args = ["-v", "-rA", "--continue-on-collection-errors", "tests", "broken"]
    cold = TestRun(project, extra_args=[*own_config(project), *args], env=env)
    cold_events = await events_of(cold)
    assert Path(env["FACTS_PATH"]).exists(), console(cold_events)
    cold_facts = json.loads(Path(env["FACTS_PATH"]).read_text())
    cold_command = command_line(Path(env["FACTS_PATH"] + ".cmdline"))

    run, starts = await warm_run(project, env, *args, prepared=prepared)
    try:
        warm_events = await events_of(run)
    finally:
        await starts.aclose()
    warm_facts = json.loads(Path(env["FACTS_PATH"]).read_text())
    warm_command = command_line(Path(env["FACTS_PATH"] + ".cmdline"))

    assert (cold.warm_start, run.warm_start) == (False, True)
    assert run.prepared_start == prepared
    # The warm run really was the helper, which had imported pytest before the arguments came.
    assert cold_command[1:4] == ["-m", "pytest", "-p"]
    assert warm_command[1:] == ["-m", "envdeck_warm_helper"]
    started = next(e for e in warm_events if isinstance(e, SessionStartedEvent))
    assert started.pid == run.pid

    assert_same(what_counts(warm_events), what_counts(cold_events))
    assert console(warm_events) == console(cold_events)
    assert_same(warm_facts, cold_facts)

    # And what both reported is the project's truth, not an agreement on nothing.
    outcomes = {nodeid: e.outcome for nodeid, e in finished(cold_events).items()}
    assert outcomes["tests/test_outcomes.py::test_conftest_helper_fails"] == Outcome.FAILED
    assert outcomes["tests/test_process.py::test_spawned_processes_reimport_main"] == Outcome.PASSED
    assert outcomes["tests/test_outcomes.py::test_add[negative]"] == Outcome.PASSED
    assert len(outcomes) == 15
    end = cold_events[-1]
    assert isinstance(end, SessionFinishedEvent)
    assert end.exit_code == 1
    assert end.counts == OutcomeCounts(passed=8, failed=2, error=2, skipped=1, xfailed=1, xpassed=1)
    errors = dict(what_counts(cold_events)["collect_errors"])
    assert sorted(errors) == ["broken/test_import.py", "broken/test_syntax.py"]
    assert "SyntaxError" in errors["broken/test_syntax.py"]
    helper = finished(cold_events)["tests/test_outcomes.py::test_conftest_helper_fails"]
    assert "assert 4 == 5" in helper.longrepr  # conftest.py's assert was rewritten
    assert "imported at collection" in console(cold_events)  # the warnings summary
    assert cold_facts["stdin_is_devnull"]
    assert cold_facts["own_session"]
    assert cold_facts["child_of_envdeck"]
    assert cold_facts["marker_in_proc_environ"]
    assert cold_facts["main"]["spec"] == "pytest.__main__"


async def test_without_capture_a_warm_run_sees_the_process_a_cold_run_sees(
    project: Path, env: dict[str, str]
) -> None:
    # With -s nothing stands in for the test's stdin: it is the process's own.
    nodeids = ["tests/test_process.py::test_records_what_it_sees"]
    cold = TestRun(project, extra_args=[*own_config(project), "-s"], nodeids=nodeids, env=env)
    cold_events = await events_of(cold)
    cold_facts = json.loads(Path(env["FACTS_PATH"]).read_text())
    run, starts = await warm_run(project, env, "-s", nodeids=nodeids)
    try:
        warm_events = await events_of(run)
    finally:
        await starts.aclose()
    warm_facts = json.loads(Path(env["FACTS_PATH"]).read_text())

    assert run.warm_start
    assert what_counts(warm_events)["exit_code"] == what_counts(cold_events)["exit_code"] == 0
    assert_same(warm_facts, cold_facts)
    assert cold_facts["stdin_is_devnull"]


async def test_a_spare_whose_imports_changed_runs_as_a_cold_run(
    project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    # A sitecustomize.py on PYTHONPATH: every Python imports it at start, the spare too.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("VERSION = 1\n")
    expected = tmp_path / "expected"
    env = {**env, "PYTHONPATH": str(site), "EXPECTED_VERSION": str(expected)}
    run, starts = await warm_run(project, env, "stale")
    (site / "sitecustomize.py").write_text("VERSION = 22\n")  # the spare has imported 1
    expected.write_text("22")
    try:
        events = await events_of(run)
    finally:
        await starts.aclose()

    assert run.warm_start  # it took the spare, which then became a cold pytest (exec)
    assert what_counts(events)["exit_code"] == 0, console(events)
    assert {e.outcome for e in finished(events).values()} == {Outcome.PASSED}
    assert command_line(Path(env["FACTS_PATH"] + ".cmdline"))[1:3] == ["-m", "pytest"]

    # Positive control: with nothing changed, the spare runs it itself.
    run, starts = await warm_run(project, env, "stale")
    try:
        events = await events_of(run)
    finally:
        await starts.aclose()
    assert what_counts(events)["exit_code"] == 0, console(events)
    assert command_line(Path(env["FACTS_PATH"] + ".cmdline"))[1:] == ["-m", "envdeck_warm_helper"]


async def test_a_spare_that_does_not_fit_is_killed_and_the_run_starts_cold(
    project: Path, env: dict[str, str]
) -> None:
    starts = WarmStarts()
    await starts.prepare(project, sys.executable, env)
    spare = starts._spare
    assert spare is not None
    other_env = {**env, "SOMETHING": "else"}  # the run's environment differs
    run = TestRun(
        project,
        extra_args=[*own_config(project), "broken/test_fine.py"],
        env=other_env,
        warm=starts,
    )
    try:
        events = await events_of(run)
    finally:
        await starts.aclose()

    assert not run.warm_start
    assert [e.outcome for e in finished(events).values()] == [Outcome.PASSED]
    assert run.pid != spare.process.pid
    await eventually(lambda: not alive(spare.process.pid), "the unfitting spare to end")


# ---------------------------------------------------------------- cancelling, leftovers


async def test_cancelling_a_warm_run_ends_it_and_everything_it_started(
    project: Path, env: dict[str, str]
) -> None:
    pids = project / "slow"
    for stale in pids.glob("*.pid"):
        stale.unlink()
    nodeid = "slow/test_slow.py::test_forks_a_child_that_leaves_the_session"
    run, starts = await warm_run(project, env, nodeids=[nodeid])
    try:
        async with run:
            assert run.warm_start
            events: list[TestEvent] = []

            async def collect() -> None:
                events.extend([event async for event in run.events()])

            collecting = asyncio.create_task(collect())
            await eventually((pids / "setsid_child.pid").exists, "the child", DEADLINE)
            await eventually((pids / "hangs.pid").exists, "the test", DEADLINE)
            child = int((pids / "setsid_child.pid").read_text())
            assert processes_with(run.marker)

            started = time.monotonic()
            await run.cancel()
            assert time.monotonic() - started < 3
            await asyncio.wait_for(collecting, DEADLINE)
    finally:
        await starts.aclose()

    stopped = finished(events)[nodeid]
    assert (stopped.outcome, stopped.interrupted, stopped.reason) == (
        Outcome.ERROR,
        True,
        "stopped by the user",
    )
    assert run.result is not None
    assert (run.result.cancelled, run.result.exit_code) == (True, 2)
    await eventually(lambda: not alive(child), "the child that left the session")
    await eventually(lambda: not processes_with(run.marker), "the run's processes")


async def test_closing_kills_the_spare(project: Path, env: dict[str, str]) -> None:
    starts = WarmStarts()
    await starts.prepare(project, sys.executable, env)
    spare = starts._spare
    assert spare is not None
    await until_waiting_for_arguments(starts)
    marker = f"ENVDECK_TESTRUN_ID={spare.run_id}"
    assert processes_with(marker) == [spare.process.pid]

    await starts.aclose()
    assert not alive(spare.process.pid)
    assert not processes_with(marker)


def test_a_spare_ends_when_its_owner_dies_without_a_word(
    project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    # A process that prepares a spare, says its marker, and is then SIGKILLed.
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from tui.core.testrun.warm import WarmStarts

        async def main():
            starts = WarmStarts()
            await starts.prepare({str(project)!r}, sys.executable, {env!r})
            print(starts._spare.process.pid, starts._spare.run_id, flush=True)
            await asyncio.sleep(600)

        asyncio.run(main())
        """
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        start_new_session=True,
    )
    try:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(owner.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(DEADLINE)
        pid, run_id = line[0].split()
        marker = f"ENVDECK_TESTRUN_ID={run_id}"
        assert processes_with(marker) == [int(pid)]
    finally:
        os.killpg(owner.pid, signal.SIGKILL)
        owner.wait(10)

    deadline = time.monotonic() + DEADLINE  # it may still be importing pytest: then EOF
    while processes_with(marker) and alive(int(pid)):
        assert time.monotonic() < deadline, "the spare outlived its owner"
        time.sleep(0.05)


# ---------------------------------------------------------------- envdeck test --watch


@pytest.fixture
def watched(tmp_path: Path) -> Path:
    root = tmp_path / "watched"
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\ntestpaths = tests\npythonpath = .\n")
    (root / "app.py").write_text("VALUE = 0\n")
    (root / "tests" / "test_app.py").write_text(
        textwrap.dedent(
            """
            import os
            import app

            def test_value():
                with open(os.environ["FACTS_PATH"] + ".cmdline", "ab") as out:
                    out.write(open("/proc/self/cmdline", "rb").read() + b"\\n")
                assert app.VALUE >= 0
            """
        )
    )
    return root


def spares_in(folder: Path) -> list[int]:
    """Warm-start helpers running in `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                b"envdeck_warm_helper" in (entry / "cmdline").read_bytes()
                and Path(os.readlink(entry / "cwd")) == folder.resolve()
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def envdeck_watch(watched: Path, env: dict[str, str]) -> Iterator[Callable[[str], WatchedOutput]]:
    started: list[subprocess.Popen[str]] = []

    def start(warm: str) -> WatchedOutput:
        output = WatchedOutput(
            watched,
            env={**os.environ, **env, "ENVDECK_TEST_WARM_START": warm},
            start_new_session=True,
        )
        started.append(output.process)
        return output

    yield start
    for process in started:
        os.killpg(process.pid, signal.SIGINT)  # envdeck ends its run and its spare
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.mark.parametrize("warm", ["1", "0"])
def test_watch_mode_runs_a_save_in_the_spare_unless_told_not_to(
    watched: Path, env: dict[str, str], envdeck_watch: Callable[[str], WatchedOutput], warm: str
) -> None:
    lines = envdeck_watch(warm)
    first = lines.wait_for("1 passed")
    lines.wait_for("watching")
    if warm == "1":  # prepared once the first run is over
        deadline = time.monotonic() + DEADLINE
        while not spares_in(watched):
            assert time.monotonic() < deadline, "no spare was started"
            time.sleep(0.02)
    (watched / "app.py").write_text("VALUE = -1\n")
    failed = lines.wait_for("FAILED tests/test_app.py::test_value", after=first + 1)
    lines.wait_for("assert -1 >= 0", after=failed)

    runs = Path(env["FACTS_PATH"] + ".cmdline").read_bytes().splitlines()
    assert len(runs) == 2
    modules = [run.split(b"\0")[2] for run in runs]  # python -m <module> ...
    assert modules[0] == b"pytest"  # the first run, at start, is cold: no spare yet
    assert modules[1] == (b"envdeck_warm_helper" if warm == "1" else b"pytest")
