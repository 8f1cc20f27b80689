"""Tests that run inside a compose service (issue 12.5), on a stack of this module's own: a
Redis from the offline image and a `tests` service (pytest added to the offline image,
`pytest_image.py`) with the project bind-mounted at another path, whose tests reach Redis
by its compose name, `redis:6379`. Discovery, live events, outcomes equal to plain pytest's
in the same service, a failure's window of service logs, cancel leaving no container, pdb
with a terminal, and the reading of pytest's arguments, all through `compose run`."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.integration.conftest import POSTGRES_IMAGE, REPO, free_port, remove_project
from tests.integration.pytest_image import pytest_image
from tui.config.settings import EnvdeckSettings, load_settings
from tui.core.compose_cli import ComposeCommand
from tui.core.engine import ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, DockerGateway
from tui.core.environment import compose_command
from tui.core.monitor import DockerEnvironmentMonitor
from tui.core.testrun import (
    CollectionFinishedEvent,
    FinishedEvent,
    Outcome,
    StartedEvent,
    TestEvent,
    TestRun,
    discover,
)
from tui.core.testrun.arguments import read_arguments
from tui.core.testrun.configured_place import run_place
from tui.core.testrun.place import ComposeService
from tui.core.testrun.session import TestSession
from tui.core.testrun.warm import WarmStarts
from tui.core.testrun.window_logs import window_logs

pytestmark = pytest.mark.docker

INSIDE = "/srv/checkout"  # the project's folder in the container: not the host's path

COMPOSE = """\
name: {name}
services:
  redis:
    image: {base}
    command: ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "",
              "--enable-debug-command", "yes"]
    ports: ["127.0.0.1:{port}:6379"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 200ms
      timeout: 3s
      retries: 150
  tests:
    image: {runner}
    profiles: ["tests"]
    depends_on: [redis]
    volumes: ["./:{inside}"]
    working_dir: {inside}
"""

TESTS = """\
import signal
import socket
import time

import pytest


def redis(*args):
    with socket.create_connection(("redis", 6379), timeout=5) as connection:
        words = "".join("$%d\\r\\n%s\\r\\n" % (len(a.encode()), a) for a in args)
        connection.sendall(("*%d\\r\\n" % len(args) + words).encode())
        return connection.recv(65536).decode().strip()


def test_ping():
    assert redis("PING") == "+PONG"


@pytest.mark.parametrize("value", ["one", "two"])
def test_set_then_get(value):
    redis("SET", "key-" + value, value)
    assert redis("GET", "key-" + value).endswith(value)


def test_fails_after_a_log_line():
    redis("DEBUG", "LOG", "__MARK__")
    print("\\x1eenvdeck-event:" + "0" * 32 + ' {"kind": "finished"} printed by a test')
    assert redis("EXISTS", "never-set") == ":1"


def test_skipped():
    pytest.skip("not in this stack")


@pytest.mark.xfail(reason="known")
def test_xfail():
    assert redis("PING") == "+NO"


def test_waits_for_go():
    # Set from outside once envdeck has reported this test started: only live events can.
    deadline = time.monotonic() + 30
    while redis("EXISTS", "go") != ":1":
        assert time.monotonic() < deadline, "nobody said go"
        time.sleep(0.05)
"""

HANGS = """\
import signal
import socket
import time


def test_hangs():
    time.sleep(600)


def test_hangs_deaf_to_ctrl_c():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Said once it is deaf: envdeck reports the test started before its body runs, and a
    # ctrl-c in between would end it as any other (a race the harness waits out).
    with socket.create_connection(("redis", 6379), timeout=5) as connection:
        connection.sendall(b"*3\\r\\n$3\\r\\nSET\\r\\n$4\\r\\ndeaf\\r\\n$1\\r\\n1\\r\\n")
        connection.recv(100)
    time.sleep(600)
"""

TEST_IDS = {
    "tests/test_redis.py::test_ping",
    "tests/test_redis.py::test_set_then_get[one]",
    "tests/test_redis.py::test_set_then_get[two]",
    "tests/test_redis.py::test_fails_after_a_log_line",
    "tests/test_redis.py::test_skipped",
    "tests/test_redis.py::test_xfail",
    "tests/test_redis.py::test_waits_for_go",
}
FAILING = "tests/test_redis.py::test_fails_after_a_log_line"
PLAIN_OUTCOMES = {
    "PASSED": "passed",
    "FAILED": "failed",
    "ERROR": "error",
    "SKIPPED": "skipped",
    "XFAIL": "xfailed",
    "XPASS": "xpassed",
}


@dataclass(frozen=True)
class Stack:
    folder: Path
    name: str
    port: int  # Redis on 127.0.0.1
    mark: str  # what the failing test makes Redis log
    settings: EnvdeckSettings
    compose: ComposeCommand
    place: ComposeService


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, gateway: DockerGateway
) -> Iterator[Stack]:
    if not gateway.image_exists(POSTGRES_IMAGE):
        request.getfixturevalue("sample_env")  # builds the offline image
    runner = pytest_image(gateway, POSTGRES_IMAGE)
    folder = tmp_path_factory.mktemp("in-service") / "app"
    (folder / "tests").mkdir(parents=True)
    (folder / "hang").mkdir()
    name, port, mark = f"in-service-{uuid.uuid4().hex[:8]}", free_port(), uuid.uuid4().hex
    (folder / "compose.yaml").write_text(
        COMPOSE.format(name=name, base=POSTGRES_IMAGE, runner=runner, port=port, inside=INSIDE)
    )
    (folder / "envdeck.toml").write_text(
        'compose_files = ["compose.yaml"]\ntest_service = "tests"\n'
    )
    (folder / "pytest.ini").write_text(
        "[pytest]\ntestpaths = tests\naddopts = -p no:cacheprovider\n"
    )
    (folder / "tests" / "test_redis.py").write_text(TESTS.replace("__MARK__", mark))
    (folder / "hang" / "test_hang.py").write_text(HANGS)
    settings = load_settings(folder)
    compose = compose_command(settings)
    try:
        compose.run("up", "-d", "--wait", "redis", timeout=120)
        place = run_place(settings, gateway=gateway)
        assert isinstance(place, ComposeService)
        yield Stack(folder, name, port, mark, settings, compose, place)
    finally:
        remove_project(gateway, name)


def run_containers(gateway: DockerGateway, project: str) -> list[str]:
    """The names of the `tests` service's containers of `project`, one-off ones included."""
    filters: dict[str, str | list[str] | bool] = {
        "label": [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}=tests"]
    }
    found = gateway.client.containers.list(all=True, filters=filters)
    return [str(container.name) for container in found]


def stack_redis(port: int) -> redis.Redis:
    """The stack's Redis, as the host reaches it (its port on 127.0.0.1)."""
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)


def say_go(port: int) -> None:
    with stack_redis(port) as client:
        assert client.set("go", "1")


def forget_deaf(port: int) -> None:
    with stack_redis(port) as client:
        client.delete("deaf")


async def until_deaf(port: int, timeout: float = 30.0) -> None:
    """Until the deaf test says it ignores ctrl-c (it sets `deaf` in the stack's Redis)."""
    deadline = time.monotonic() + timeout
    with stack_redis(port) as client:
        while not await asyncio.to_thread(client.exists, "deaf"):
            assert time.monotonic() < deadline, "the deaf test never said it was deaf"
            await asyncio.sleep(0.05)


def plain_pytest_outcomes(stack: Stack) -> tuple[int, dict[str, str]]:
    """What pytest says in the same service, run by hand: `compose run --rm tests pytest -v`."""
    argv = stack.compose.argv("run", "--rm", "--no-deps", "-T", "tests")
    plain = subprocess.run(
        [*argv, "python3", "-m", "pytest", "-v"],
        cwd=stack.folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    verdicts = re.findall(r"^(tests/\S+::\S+) ([A-Z]+)\b", plain.stdout, flags=re.MULTILINE)
    return plain.returncode, {nodeid: PLAIN_OUTCOMES[word] for nodeid, word in verdicts}


async def test_discovery_lists_the_tests_as_the_service_collects_them(stack: Stack) -> None:
    tree = await discover(stack.folder, place=stack.place)
    assert {item.nodeid for item in tree.items} == TEST_IDS
    assert tree.errors == ()


async def test_a_run_reports_each_test_live_and_as_pytest_in_the_service_says(
    stack: Stack, gateway: DockerGateway
) -> None:
    events: list[TestEvent] = []
    async with TestRun(stack.folder, place=stack.place) as run:
        async for event in run.events():
            events.append(event)
            waiting = "tests/test_redis.py::test_waits_for_go"
            if isinstance(event, StartedEvent) and event.nodeid == waiting:
                # It waits for this while its container runs: the events came as they happened.
                assert [e.nodeid for e in events if isinstance(e, FinishedEvent)]
                assert run_containers(gateway, stack.name)
                await asyncio.to_thread(say_go, stack.port)
        result = await run.wait()
    finished = {e.nodeid: e for e in events if isinstance(e, FinishedEvent)}
    ours = {nodeid: event.outcome.value for nodeid, event in finished.items()}
    assert ours == {
        "tests/test_redis.py::test_ping": "passed",
        "tests/test_redis.py::test_set_then_get[one]": "passed",
        "tests/test_redis.py::test_set_then_get[two]": "passed",
        FAILING: "failed",
        "tests/test_redis.py::test_skipped": "skipped",
        "tests/test_redis.py::test_xfail": "xfailed",
        "tests/test_redis.py::test_waits_for_go": "passed",
    }
    assert next(e for e in events if isinstance(e, CollectionFinishedEvent)).count == 7
    plain_code, plain = plain_pytest_outcomes(stack)
    assert plain == ours
    assert (result.exit_code, result.cancelled) == (plain_code, False) == (1, False)
    assert (result.counts.passed, result.counts.failed, result.counts.skipped) == (4, 1, 1)
    # The failure as pytest told it, its captured output whole (a fake frame in it too).
    failure = finished[FAILING]
    assert "assert ':0' == ':1'" in failure.longrepr
    assert any('{"kind": "finished"} printed by a test' in s.text for s in failure.sections)
    assert "1 failed, 4 passed, 1 skipped, 1 xfailed" in run.output.text()
    # Its time window holds what Redis logged meanwhile, as for a run here.
    monitor = DockerEnvironmentMonitor(stack.settings, gateway)
    lines = await asyncio.to_thread(window_logs, monitor, failure.start, failure.stop)
    assert [line.service for line in lines if stack.mark in line.text] == ["redis"]
    assert run_containers(gateway, stack.name) == []


@pytest.mark.parametrize("test", ["test_hangs", "test_hangs_deaf_to_ctrl_c"])
async def test_cancel_ends_the_run_and_leaves_no_container(
    stack: Stack, gateway: DockerGateway, test: str
) -> None:
    nodeid = f"hang/test_hang.py::{test}"
    deaf = test == "test_hangs_deaf_to_ctrl_c"
    await asyncio.to_thread(forget_deaf, stack.port)
    async with TestRun(stack.folder, place=stack.place, nodeids=[nodeid], grace=1.0) as run:
        async for event in run.events():
            if isinstance(event, StartedEvent):
                assert run_containers(gateway, stack.name) == [run.container_name]
                if deaf:
                    await until_deaf(stack.port)
                began = time.monotonic()
                await run.cancel()
                assert time.monotonic() - began < 10
        result = await run.wait()
    assert result.cancelled
    # pytest ended its session on the engine's SIGINT (2); the deaf one was killed (137).
    assert result.exit_code == (128 + 9 if deaf else 2)
    assert run.outcomes() == {nodeid: Outcome.ERROR}
    assert run_containers(gateway, stack.name) == []  # at once, not eventually
    one_off: dict[str, str | list[str] | bool] = {
        "label": [f"{PROJECT_LABEL}={stack.name}", f"{ONEOFF_LABEL}=True"]
    }
    assert gateway.client.containers.list(all=True, filters=one_off) == []


def test_pdb_gets_the_terminal_in_the_service(stack: Stack, gateway: DockerGateway) -> None:
    argv = stack.place.debug_argv(FAILING)
    assert argv == stack.compose.argv(
        "run", "--rm", "--no-deps", "--workdir", INSIDE, "-it", "tests",
        "python3", "-m", "pytest", "--pdb", "-p", "no:cacheprovider", FAILING,
    )  # fmt: skip
    screen = b""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        argv, cwd=stack.folder, stdin=terminal, stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    try:
        deadline = time.monotonic() + 60
        while b"(Pdb)" not in screen:
            assert time.monotonic() < deadline, screen.decode(errors="replace")
            if select.select([controller], [], [], 0.5)[0]:
                screen += os.read(controller, 65536)
        assert b"AssertionError" in screen  # stopped at the failure of that test
        os.write(controller, b"q\n")
        assert process.wait(timeout=60) != 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    assert run_containers(gateway, stack.name) == []


async def test_warm_starts_do_not_apply_in_a_container(stack: Stack) -> None:
    warm = WarmStarts()
    await warm.prepare(stack.folder, sys.executable)
    spare = warm.waiting_pid
    try:
        nodeid = "tests/test_redis.py::test_ping"
        async with TestRun(stack.folder, place=stack.place, nodeids=[nodeid], warm=warm) as run:
            result = await run.wait()
        assert not run.warm_start
        assert run.outcomes() == {nodeid: Outcome.PASSED}
        assert result.exit_code == 0
        assert warm.waiting_pid == spare  # the local spare was not taken
    finally:
        await warm.aclose()


async def test_pytest_reads_the_arguments_in_the_service(stack: Stack) -> None:
    arguments = await read_arguments(
        stack.folder, "python3", ["-k", "ping", "tests", "--deselect", FAILING], place=stack.place
    )
    assert arguments.understood, arguments.why_unknown
    assert arguments.selection == ["tests"]


async def test_the_session_collects_and_runs_in_the_service(stack: Stack) -> None:
    """The one session both faces drive passes the place through: its tree and its runs
    come from the service (here, envdeck's own Python would find no `redis` host), and it
    prepares no warm start."""
    warm = WarmStarts()
    session = TestSession(
        stack.folder, sys.executable, ["-k", "ping"], warm=warm, place=stack.place
    )
    try:
        tree = await session.discover()
        assert {item.nodeid for item in tree.items} == {"tests/test_redis.py::test_ping"}
        result = await session.run_now(["tests/test_redis.py"], "a test")
        assert result is not None
        assert (result.exit_code, result.counts.passed) == (0, 1)
        assert warm.waiting_pid is None
    finally:
        await session.aclose()


def test_envdeck_test_runs_in_the_service_with_its_failures_and_logs(stack: Stack) -> None:
    """The headless face: `envdeck test` in a project whose tests run in a service."""
    ran = subprocess.run(
        [sys.executable, "-m", "tui", "test", "-k", "ping or fails_after"],
        cwd=stack.folder,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert ran.returncode == 1, ran.stderr  # pytest's, from inside the container
    assert "==================== failures summary: 1 ====================" in ran.stdout
    assert f"FAILED {FAILING}" in ran.stdout
    # Redis's log line of the failure's window (the mark alone is in the traceback too).
    assert re.search(rf"^redis \| .* DEBUG LOG: {stack.mark}$", ran.stdout, re.M), ran.stdout
    assert "PASSED tests/test_redis.py::test_ping" in ran.stdout
    assert "1 failed, 1 passed in" in ran.stdout
