"""Prepared warm starts against a real throwaway project: a spare that is the expected run
paused before pytest_configure (its plugins and initial conftest.py files imported) runs
it only if nothing it read has changed. A changed conftest.py, a changed module of fixtures
that conftest.py imports, a changed project module imported at conftest time, and a new
conftest.py each make it a cold pytest, which reports what a fresh pytest reports, console
included (what the paused pytest printed is not shown twice). Unchanged, it runs the tests
itself; a run of other arguments takes the plain spare and leaves the prepared one."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.integration.testrun_projects import reads_a_pipe, write_project
from tui.core.testrun import FinishedEvent, Outcome, OutputEvent, SessionFinishedEvent, TestRun
from tui.core.testrun.warm import WarmStarts

DEADLINE = 60.0
TEST_FILE = "tests/test_values.py"

FILES = {
    "pytest.ini": """
        [pytest]
        testpaths = tests
        pythonpath = .
    """,
    "pkg/__init__.py": "",
    "pkg/settings.py": "LIMIT = 1\n",
    "helpers/__init__.py": "",
    "helpers/fixtures.py": """
        import pytest

        @pytest.fixture
        def offset():
            return 0
    """,
    "tests/conftest.py": """
        import pytest

        from helpers.fixtures import offset  # noqa: F401
        from pkg import settings

        print("conftest imported, limit", settings.LIMIT)

        @pytest.fixture
        def base():
            return 0
    """,
    TEST_FILE: """
        import os

        from pkg import settings

        def test_sum(offset, base):
            assert settings.LIMIT + offset + base == 1

        def test_records_its_command_line():
            with open(os.environ["CMDLINE_PATH"], "wb") as out:
                out.write(open("/proc/self/cmdline", "rb").read())
    """,
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project", FILES)


@pytest.fixture
def env(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONDONTWRITEBYTECODE": "",
        "PYTHONPYCACHEPREFIX": str(tmp_path_factory.getbasetemp() / "pycache"),
        "CMDLINE_PATH": str(tmp_path / "cmdline"),
    }


def a_run(project: Path, env: dict[str, str], starts: WarmStarts | None = None) -> TestRun:
    # -s: what conftest.py prints at import reaches the console before the pause.
    return TestRun(project, nodeids=[TEST_FILE], extra_args=["-v", "-s"], env=env, warm=starts)


async def prepared_spare(project: Path, env: dict[str, str]) -> WarmStarts:
    """Spares for `a_run`, the prepared one paused and waiting for its go."""
    starts = WarmStarts()
    starts.expect(a_run(project, env).command[3:])
    await starts.prepare(project, sys.executable, env)
    pid = starts.prepared_pid
    assert pid is not None
    deadline = time.monotonic() + DEADLINE
    while True:
        if reads_a_pipe(pid):
            return starts
        assert time.monotonic() < deadline, "the prepared spare never paused"
        await asyncio.sleep(0.05)


async def outcome_of(run: TestRun) -> tuple[dict[str, Outcome], str, int]:
    """Each test's outcome, the console (timings blanked), the exit code."""
    async with run, asyncio.timeout(DEADLINE):
        events = [event async for event in run.events()]
    outcomes = {e.nodeid: e.outcome for e in events if isinstance(e, FinishedEvent)}
    text = "".join(e.text for e in events if isinstance(e, OutputEvent))
    console = "\n".join(line for line in text.splitlines() if " passed" not in line)
    end = events[-1]
    assert isinstance(end, SessionFinishedEvent)
    return outcomes, console, end.exit_code


def ran_as(env: dict[str, str]) -> list[str]:
    """How the run's process was started: `-m envdeck_warm_helper` or `-m pytest ...`."""
    return Path(env["CMDLINE_PATH"]).read_bytes().decode().rstrip("\0").split("\0")[1:3]


def rewrite(path: Path, old: str, new: str) -> None:
    """Another size too: Python trusts a .pyc whose source has the same mtime second and size."""
    text = path.read_text()
    assert old in text
    assert len(old) != len(new)
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    ("changed", "old", "new"),
    [
        ("tests/conftest.py", "return 0", "return 10"),
        ("helpers/fixtures.py", "return 0", "return 10"),
        ("pkg/settings.py", "LIMIT = 1", "LIMIT = 50"),
    ],
    ids=["conftest", "fixture-module", "imported-at-conftest-time"],
)
async def test_a_change_to_what_the_spare_imported_runs_as_a_fresh_pytest(
    project: Path, env: dict[str, str], changed: str, old: str, new: str
) -> None:
    starts = await prepared_spare(project, env)
    rewrite(project / changed, old, new)  # the spare imported the old one
    run = a_run(project, env, starts)
    try:
        warm = await outcome_of(run)
    finally:
        await starts.aclose()
    assert run.prepared_start
    assert ran_as(env) == ["-m", "pytest"]  # it became a cold pytest (exec)
    cold = await outcome_of(a_run(project, env))

    assert warm == cold
    outcomes, console, exit_code = cold
    assert outcomes[f"{TEST_FILE}::test_sum"] == Outcome.FAILED  # the change is seen
    assert exit_code == 1
    assert console.count("conftest imported") == 1  # printed once, not by the paused one too


async def test_a_new_conftest_runs_as_a_fresh_pytest(project: Path, env: dict[str, str]) -> None:
    starts = await prepared_spare(project, env)
    # In a folder pytest looked in for one (the project's), where there was none.
    (project / "conftest.py").write_text(
        textwrap.dedent("""
            import pytest

            @pytest.fixture(autouse=True)
            def new(request):
                if request.node.name == "test_sum":
                    raise RuntimeError
        """)
    )
    run = a_run(project, env, starts)
    try:
        warm = await outcome_of(run)
    finally:
        await starts.aclose()
    assert ran_as(env) == ["-m", "pytest"]
    assert warm == await outcome_of(a_run(project, env))
    assert warm[0][f"{TEST_FILE}::test_sum"] == Outcome.ERROR  # its fixture ran


async def test_unchanged_the_prepared_spare_runs_it_as_a_fresh_pytest_would(
    project: Path, env: dict[str, str]
) -> None:
    cold = await outcome_of(a_run(project, env))
    starts = await prepared_spare(project, env)
    rewrite(project / TEST_FILE, "== 1", "== 20")  # a test file: read after the go, as cold
    run = a_run(project, env, starts)
    try:
        warm = await outcome_of(run)
    finally:
        await starts.aclose()

    assert run.prepared_start
    assert ran_as(env) == ["-m", "envdeck_warm_helper"]  # it ran the tests itself
    assert cold[0][f"{TEST_FILE}::test_sum"] == Outcome.PASSED
    assert warm[0][f"{TEST_FILE}::test_sum"] == Outcome.FAILED
    assert warm[1].count("conftest imported") == 1
    assert warm == await outcome_of(a_run(project, env))


async def test_other_arguments_take_the_plain_spare_and_leave_the_prepared_one(
    project: Path, env: dict[str, str]
) -> None:
    starts = await prepared_spare(project, env)
    prepared, plain = starts.prepared_pid, starts.waiting_pid
    other = TestRun(project, nodeids=[f"{TEST_FILE}::test_sum"], env=env, warm=starts)
    try:
        outcomes, _, _ = await outcome_of(other)
        assert (other.warm_start, other.prepared_start) == (True, False)
        assert other.pid == plain
        assert starts.prepared_pid == prepared  # still waiting, for a later run
        assert outcomes == {f"{TEST_FILE}::test_sum": Outcome.PASSED}
    finally:
        await starts.aclose()


async def test_a_run_that_takes_the_prepared_spare_at_once_runs(
    project: Path, env: dict[str, str]
) -> None:
    # The go arrives while the spare is still importing pytest: with the prepare line, in
    # one read of its pipe.
    starts = WarmStarts()
    starts.expect(a_run(project, env).command[3:])
    await starts.prepare(project, sys.executable, env)
    run = a_run(project, env, starts)
    try:
        outcomes, console, exit_code = await outcome_of(run)
    finally:
        await starts.aclose()
    assert run.prepared_start
    assert exit_code == 0, console
    assert outcomes[f"{TEST_FILE}::test_sum"] == Outcome.PASSED
    assert ran_as(env) == ["-m", "envdeck_warm_helper"]
