"""A stopped server is not "done" (issue 11, item 2), against the real engine: a project of
this test's own with a Redis server (healthcheck, published port), a plain worker (a
second Redis: no healthcheck, no port), a one-shot `migrate` that `app` waits for with
`service_completed_successfully`, and `app`. `docker stop` ends both Redis processes with
exit code 0, like a finished job; envdeck must still call them down."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import eventually, free_port
from tui.config.settings import load_settings
from tui.core.engine import SERVICE_LABEL, DockerGateway
from tui.core.events import ContainerChange, EngineState
from tui.core.monitor import DockerEnvironmentMonitor
from tui.core.status import EnvironmentStatus
from tui.presentation.change_text import change_toast

IMAGE = "envdeck-base:bookworm"


def compose_file(redis_port: int) -> str:
    return f"""
services:
  redis:
    image: {IMAGE}
    command: ["redis-server", "--port", "6379", "--save", "", "--appendonly", "no"]
    ports: ["127.0.0.1:{redis_port}:6379"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 200ms  # `app` starts a fifth of a second after redis answers
      timeout: 3s
      retries: 150
  worker:
    image: {IMAGE}
    command: ["redis-server", "--port", "7000", "--save", "", "--appendonly", "no"]
  migrate:
    image: {IMAGE}
    command: ["true"]
  app:
    image: {IMAGE}
    command: ["sleep", "infinity"]
    init: true
    depends_on:
      migrate:
        condition: service_completed_successfully
      redis:
        condition: service_healthy
"""


@dataclass(frozen=True)
class OwnProject:
    name: str
    file: Path
    gateway: DockerGateway

    def envdeck(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tui", "-f", str(self.file), "-p", self.name, *args],
            cwd=self.file.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def stop(self, service: str) -> int:
        """`docker stop` the service's container; its exit code."""
        (container,) = [
            c
            for c in self.gateway.project_containers(self.name)
            if c.labels.get(SERVICE_LABEL) == service
        ]
        container.stop(timeout=10)
        container.reload()
        return int(container.attrs["State"]["ExitCode"])


@pytest.fixture
def own_project(
    request: pytest.FixtureRequest, gateway: DockerGateway, tmp_path: Path
) -> Iterator[OwnProject]:
    if not gateway.client.images.list(name=IMAGE):
        request.getfixturevalue("sample_env")  # brings the offline image here
    name = f"envdeck-t-oneshot-{uuid.uuid4().hex[:8]}"
    file = tmp_path / "compose.yaml"
    file.write_text(compose_file(free_port()))
    compose = ["docker", "compose", "-f", str(file), "-p", name]
    try:
        up = subprocess.run(
            [*compose, "up", "-d"], capture_output=True, text=True, timeout=120, check=False
        )
        assert up.returncode == 0, up.stderr
        yield OwnProject(name, file, gateway)
    finally:
        subprocess.run(
            [*compose, "down", "-v", "--remove-orphans", "--timeout", "1"],
            capture_output=True,
            timeout=120,
            check=False,
        )


def services(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    document: dict[str, Any] = json.loads(result.stdout)
    return {service["name"]: service for service in document["services"]}


def test_a_stopped_server_is_not_ready_while_a_finished_migration_is(
    own_project: OwnProject,
) -> None:
    # Everything up, the migration finished: ready, and the migration counts as done.
    ready = own_project.envdeck("status", "--wait", "--timeout", "60")
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert "4/4 ready" in ready.stdout
    assert _row(ready.stdout, "migrate")[1] == "done"

    assert own_project.stop("redis") == 0, "Redis ends a `docker stop` with 0, like a job"
    assert own_project.stop("worker") == 0

    result = own_project.envdeck("status", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    found = services(result)
    assert (found["redis"]["state"], found["redis"]["exit_code"]) == ("exited", 0)
    assert (found["migrate"]["state"], found["migrate"]["exit_code"]) == ("exited", 0)

    table = own_project.envdeck("status")
    assert table.returncode == 1, table.stdout + table.stderr
    assert _row(table.stdout, "redis")[1:3] == ["exited", "(0)"]  # a server, never done
    # No healthcheck, no port: shaped like a job, but Docker saw it stopped.
    assert _row(table.stdout, "worker")[1:3] == ["exited", "(0)"]
    assert _row(table.stdout, "migrate")[1] == "done"
    assert "2/4 ready" in table.stdout

    waited = own_project.envdeck("status", "--wait", "--timeout", "1")  # nothing will change
    assert waited.returncode == 1, waited.stdout + waited.stderr


def test_the_dashboards_live_path_says_stopped_not_finished(
    own_project: OwnProject, gateway: DockerGateway
) -> None:
    settings = load_settings(
        own_project.file.parent,
        compose_files=[own_project.file],
        project_name=own_project.name,
    )
    monitor = DockerEnvironmentMonitor(settings, gateway)
    changes: queue.SimpleQueue[ContainerChange] = queue.SimpleQueue()
    resyncs: queue.SimpleQueue[EnvironmentStatus] = queue.SimpleQueue()

    def on_engine(_: EngineState) -> None:
        return None

    watcher = monitor.watch(changes.put, resyncs.put, on_engine)
    watcher.start()
    try:
        # The watcher's first listing, once the stack is up: the migration is done.
        def settled() -> EnvironmentStatus | None:
            status = monitor.snapshot()
            return status if status.exit_code == 0 else None

        eventually(settled, "the project ready", timeout=60)
        listed = {s.name: s for s in resyncs.get(timeout=10).services}
        assert listed["migrate"].state == "exited"
        assert listed["migrate"].is_ready  # the watcher's listing knows it is a one-shot

        own_project.stop("redis")

        def redis_died() -> ContainerChange | None:
            try:
                change = changes.get(timeout=0.5)
            except queue.Empty:
                return None
            return change if (change.service, change.kind) == ("redis", "died") else None

        died = eventually(redis_died, "redis's die event", timeout=20)
        assert died.status is not None
        assert (died.status.state, died.status.exit_code) == ("exited", 0)
        assert not died.status.is_ready
        toast = change_toast(died, None)
        assert toast is not None
        assert toast.message == "redis was stopped (exit code 0)"
        assert died.status.stop_requested  # Docker's kill event, seen through the history
        assert monitor.snapshot().exit_code == 1
    finally:
        watcher.stop()


def _row(table: str, service: str) -> list[str]:
    for line in table.splitlines():
        cells = line.split()
        if cells and cells[0] == service:
            return cells
    raise AssertionError(f"no row for {service} in:\n{table}")
