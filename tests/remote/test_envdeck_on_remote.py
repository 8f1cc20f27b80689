"""envdeck against a stack on a second, real engine, as a user with `DOCKER_HOST=ssh://…`,
`tcp://` with TLS, or a named context runs it: up, status, inspect, reset, logs across a
restart, the tests' health gate, and the dashboard through a cut link.

The sample stack runs on the second engine under its own project name: the first engine's
`envdeck-sample` (other tests') is never touched; a test checks that too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.remote import layout
from tests.remote.engine import Route, SecondEngine
from tui.config.settings import load_settings
from tui.core.engine import DockerGateway
from tui.ui.app import make_app
from tui.ui.widgets.services_table import ServicesTable

pytestmark = pytest.mark.docker
REPO = layout.REPO
PROJECT = "envdeck-remote-sample"  # not the first engine's envdeck-sample
SERVICES = {"mock-api", "postgres", "qdrant", "redis"}


def envdeck(
    engine: SecondEngine | None,
    route: Route,
    *args: str,
    cwd: Path = REPO,
    extra: dict[str, str] | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """`envdeck -p PROJECT ARGS` in the checkout, with the engine variables of `route`."""
    environment = dict(os.environ) if engine is None else engine.environ(route)
    return subprocess.run(
        [sys.executable, "-m", "tui", "-p", PROJECT, *args],
        cwd=cwd,
        env={**environment, "PYTHONPATH": str(REPO), **(extra or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def remote_exec(engine: SecondEngine, service: str, *command: str) -> str:
    return engine.docker("exec", f"{PROJECT}-{service}-1", *command).strip()


@pytest.fixture(scope="module")
def remote_stack(second_engine: SecondEngine) -> Iterator[SecondEngine]:
    """The sample stack up on the second engine (through envdeck over ssh), with this
    checkout's files shared: the sample bind-mounts its init files (a real remote needs
    the folder synced; `doctor` warns, tested below)."""
    second_engine.share_files()
    try:
        result = envdeck(second_engine, "ssh", "up")
        assert result.returncode == 0, result.stdout + result.stderr
        yield second_engine
    finally:
        envdeck(second_engine, "ssh", "down", "-v", "--yes")
        second_engine.hide_files()


@pytest.mark.parametrize("route", ["ssh", "tcp", "tls"])
def test_status_over_each_route_names_the_engine_and_its_services(
    remote_stack: SecondEngine, route: Route
) -> None:
    result = envdeck(remote_stack, route, "status", "--json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    engine = document["engine"]
    assert engine["connected"] is True
    assert (engine["host"], engine["chosen_by"]) == (remote_stack.url(route), "DOCKER_HOST")
    services = {service["name"]: service for service in document["services"]}
    assert set(services) == SERVICES
    assert all(service["health"] == "healthy" for service in services.values())
    # The containers envdeck reports are the second engine's; the first has none of them.
    reported = {service["container"] for service in services.values()}
    assert reported <= set(remote_stack.docker("ps", "--format", "{{.Names}}").split())
    first = subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.Names}}"],
        env={k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert not reported & set(first.stdout.split())


def test_a_named_context_and_the_context_flag(remote_stack: SecondEngine, tmp_path: Path) -> None:
    config = {"DOCKER_CONFIG": str(tmp_path)}
    create = subprocess.run(
        ["docker", "context", "create", "box", "--docker", remote_stack.context_endpoint("tls")],
        env={**os.environ, **config},
        capture_output=True,
        text=True,
        check=False,
    )
    assert create.returncode == 0, create.stderr
    # The local engine is what the environment names; --context wins, as for docker.
    flagged = envdeck(None, "unix", "--context", "box", "status", "--json", extra=config)
    assert flagged.returncode == 0, flagged.stderr
    engine = json.loads(flagged.stdout)["engine"]
    assert (engine["context"], engine["chosen_by"]) == ("box", "--context")
    # `docker context use` makes it the current one for envdeck too; doctor says so.
    subprocess.run(
        ["docker", "context", "use", "box"],
        env={**os.environ, **config},
        check=True,
        capture_output=True,
    )
    doctor = envdeck(None, "unix", "doctor", extra=config)
    assert f"at {remote_stack.tls_url} with TLS (context box, chosen by docker context use)" in (
        doctor.stdout
    )
    # A bind mount of this checkout's files: the remote mounts its own path.
    assert "mounts" in doctor.stdout
    assert "a path on this machine" in doctor.stdout


def test_inspect_reaches_loopback_ports_through_ssh_and_says_tcp_cannot(
    remote_stack: SecondEngine,
) -> None:
    over_ssh = envdeck(remote_stack, "ssh", "inspect", "postgres", "--json")
    assert over_ssh.returncode == 0, over_ssh.stderr
    assert "ssh tunnel to envdeck-remote" in over_ssh.stderr
    assert "→ 127.0.0.1:5432" in over_ssh.stderr
    assert json.loads(over_ssh.stdout)["service"] == "postgres"

    # The sample publishes on 127.0.0.1: the tcp engine's host keeps those ports to itself.
    over_tcp = envdeck(remote_stack, "tcp", "inspect", "redis")
    assert over_tcp.returncode != 0
    assert "published on that host's 127.0.0.1 only" in over_tcp.stderr


def test_a_fast_reset_over_ssh_puts_the_remote_data_back(remote_stack: SecondEngine) -> None:
    remote_exec(remote_stack, "redis", "redis-cli", "SET", "written:by-a-test", "1")
    remote_exec(
        remote_stack,
        "postgres",
        *("psql", "-h", "/tmp", "-U", "test_user", "-d", "test_crawl4ai", "-c"),
        "CREATE TABLE left_by_a_test (id int)",
    )
    result = envdeck(remote_stack, "ssh", "reset", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert remote_exec(remote_stack, "redis", "redis-cli", "EXISTS", "written:by-a-test") == "0"
    assert remote_exec(remote_stack, "redis", "redis-cli", "EXISTS", "config:feature_flags") == "1"
    tables = remote_exec(
        remote_stack,
        "postgres",
        *("psql", "-h", "/tmp", "-U", "test_user", "-d", "test_crawl4ai", "-tAc"),
        "SELECT count(*) FROM pg_tables WHERE tablename = 'left_by_a_test'",
    )
    assert tables == "0"


def test_logs_follow_the_remote_service_across_a_restart(remote_stack: SecondEngine) -> None:
    follower = subprocess.Popen(
        [sys.executable, "-m", "tui", "-p", PROJECT, "logs", "-f", "redis"],
        cwd=REPO,
        env={**remote_stack.environ("ssh"), "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    stdout = follower.stdout
    assert stdout is not None
    threading.Thread(target=lambda: seen.extend(iter(stdout.readline, "")), daemon=True).start()
    try:
        started = wait_for_line(seen, "Ready to accept connections")
        remote_stack.docker("restart", f"{PROJECT}-redis-1")
        wait_for_line(seen, "redis restarted (exit code 0)", after=started + 1)
        # The new run's start; dockerd 20.10's follow stream may carry it across a fast
        # restart, so it can come just before the marker as well as after it.
        wait_for_line(seen, "Ready to accept connections", after=started + 1)
        ready = [line for line in seen if "Ready to accept connections" in line]
        assert len(ready) == len(set(ready))  # nothing read twice across the restart
    finally:
        follower.terminate()
        follower.wait(timeout=10)
        wait_healthy(remote_stack, "redis")  # as the next test expects it


def wait_for_line(seen: list[str], text: str, after: int = 0, timeout: float = 60) -> int:
    """The index of the first line from `after` on that holds `text` (a reader thread
    fills `seen`: the follower never ends by itself)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for index, line in enumerate(seen[after:], start=after):
            if text in line:
                return index
        time.sleep(0.05)
    raise AssertionError(f"never saw {text!r}; got:\n{''.join(seen[-30:])}")


def test_the_tests_health_gate_reads_the_remote_stack(
    remote_stack: SecondEngine, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        "[tool.envdeck]\n"
        f'compose_files = ["{REPO}/compose/compose.yaml"]\n'
        f'project_name = "{PROJECT}"\n'
    )
    (project / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 3\n")
    ran = envdeck(remote_stack, "tcp", "test", "test_one.py", cwd=project)
    assert ran.returncode == 1, ran.stdout + ran.stderr  # pytest's: the test failed
    assert "FAILED test_one.py::test_one" in ran.stdout

    remote_stack.docker("stop", f"{PROJECT}-redis-1")
    try:
        held = envdeck(remote_stack, "tcp", "test", "test_one.py", cwd=project)
        assert held.returncode == 6, held.stdout + held.stderr  # the gate: not ready
        assert "redis" in held.stdout + held.stderr
    finally:
        remote_stack.docker("start", f"{PROJECT}-redis-1")
        wait_healthy(remote_stack, "redis")


def wait_healthy(engine: SecondEngine, service: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = engine.docker(
            "inspect", "--format", "{{.State.Health.Status}}", f"{PROJECT}-{service}-1"
        ).strip()
        if health == "healthy":
            return
        time.sleep(0.2)
    raise AssertionError(f"{service} on the second engine never became healthy")


@pytest.mark.parametrize("route", ["ssh", "tls", "context"])
async def test_the_dashboard_runs_on_the_remote_stack(
    remote_stack: SecondEngine,
    route: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """ssh://, tcp:// with TLS, and a named context (made current by `docker context use`)."""
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)
    if route == "context":
        monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
        endpoint = remote_stack.context_endpoint("tls")
        subprocess.run(["docker", "context", "create", "box", "--docker", endpoint], check=True)
        subprocess.run(["docker", "context", "use", "box"], check=True, capture_output=True)
        where = f"at {remote_stack.tls_url} · context box (docker context use)"
    else:
        for name, value in remote_stack.environ(route).items():  # type: ignore[arg-type]
            monkeypatch.setenv(name, value)
        where = f"at {remote_stack.url(route)} (DOCKER_HOST)"  # type: ignore[arg-type]
    settings = load_settings(REPO, project_name=PROJECT)
    app = make_app(settings, DockerGateway(timeout=settings.engine_timeout))
    async with app.run_test(size=(160, 40)) as pilot:
        header = app.screen.query_one("#summary")
        await until(pilot, lambda: "4/4 ready" in str(header.render()), "the remote stack")
        assert where in str(header.render())
        table = app.screen.query_one(ServicesTable)
        assert sorted(status.name for status in table.statuses.values()) == sorted(SERVICES)
        await pilot.press("q")


async def test_the_dashboard_says_the_link_is_cut_and_comes_back_by_itself(
    remote_stack: SecondEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in remote_stack.environ("tcp").items():
        monkeypatch.setenv(name, value)
    settings = load_settings(REPO, project_name=PROJECT).replace(engine_timeout=2.0)
    app = make_app(settings, DockerGateway(timeout=settings.engine_timeout))
    async with app.run_test(size=(160, 40)) as pilot:

        def header() -> str:
            return str(app.screen.query_one("#summary").render())

        await until(pilot, lambda: "4/4 ready" in header(), "the remote stack listed")
        assert f"at {remote_stack.tcp_url} (DOCKER_HOST)" in header()
        remote_stack.cut()
        try:
            await until(pilot, lambda: "unreachable" in header(), "the cut seen", timeout=30)
            table = app.screen.query_one(ServicesTable)
            row = table.cursor_row
            await pilot.press("j")  # the UI still answers keys while the engine does not
            await until(pilot, lambda: table.cursor_row == row + 1, "the key handled")
        finally:
            remote_stack.restore()
        await until(pilot, lambda: "4/4 ready" in header(), "reconnected by itself", timeout=60)
        await pilot.press("q")


async def until(
    pilot: Pilot[Any], condition: Callable[[], bool], what: str, timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.1)
