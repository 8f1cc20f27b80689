"""A baseline outlives restarts of its services and writes to its volumes, but not volumes
created again (issue 11.3).

On Docker before 23.0 a volume's CreatedAt is its data folder's mtime: PostgreSQL moves it
at every start (postmaster.pid), Redis with every SAVE (dump.rdb). The stack is this
module's own (PostgreSQL, whose part of a baseline lives in the server, and Redis with a
data volume, whose part lives in files), from the offline image, on ports the engine picks
on 127.0.0.1, removed at the end: the shared sample stack is never restarted.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from docker.models.containers import Container

from tests.conftest import REPO
from tests.integration.conftest import eventually
from tui.config.settings import EnvdeckSettings
from tui.core.engine import PROJECT_LABEL, SERVICE_LABEL, DockerGateway
from tui.core.environment import Environment, resolve_environment
from tui.reset.states import StateManager
from tui.reset.steps import StepState
from tui.reset.store import BASELINE, MANIFEST

IMAGE = "envdeck-base:bookworm"
PG = {"user": "app", "password": "app-pw", "dbname": "app"}
# Checked every 200 ms: each `up --wait` and restart returns soon after the server answers.
HEALTH = "healthcheck: {interval: 200ms, timeout: 3s, retries: 300, start_period: 30s"
COMPOSE = f"""
name: envdeck-test-volid-{uuid.uuid4().hex[:8]}
services:
  postgres:
    image: {IMAGE}
    entrypoint: ["bash", "/envdeck/postgres-entrypoint.sh"]
    environment:
      POSTGRES_USER: {PG["user"]}
      POSTGRES_PASSWORD: {PG["password"]}
      POSTGRES_DB: {PG["dbname"]}
    ports: ["127.0.0.1::5432"]
    volumes:
      - {REPO / "compose" / "postgres"}:/envdeck:ro
      - pg-data:/var/lib/postgresql/data
    {HEALTH}, test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U app -d app"]}}
  redis:
    image: {IMAGE}
    command: ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data",
              "--save", "", "--appendonly", "no"]
    ports: ["127.0.0.1::6379"]
    volumes:
      - redis-data:/data
    {HEALTH}, test: ["CMD", "redis-cli", "ping"]}}
volumes:
  pg-data:
  redis-data:
"""


@dataclass(frozen=True)
class Stack:
    settings: EnvdeckSettings
    environment: Environment
    gateway: DockerGateway

    @property
    def project(self) -> str:
        return self.environment.project.name

    def manager(self, state_dir: Path) -> StateManager:
        settings = self.settings.replace(**{"state_dir": state_dir})
        return StateManager(settings, self.environment, self.gateway)

    def container(self, service: str) -> Container:
        found = [
            container
            for container in self.gateway.project_containers(self.project)
            if container.labels.get(SERVICE_LABEL) == service
        ]
        assert len(found) == 1, f"one {service} container, not {len(found)}"
        return found[0]

    def port(self, service: str, container_port: int) -> int:
        bindings = self.container(service).ports.get(f"{container_port}/tcp") or []
        return int(bindings[0]["HostPort"])

    def volumes_created_at(self) -> dict[str, str]:
        label: dict[str, Any] = {"label": f"{PROJECT_LABEL}={self.project}"}
        volumes = self.gateway.client.volumes.list(filters=label)
        return {volume.name: str(volume.attrs["CreatedAt"]) for volume in volumes}

    def up(self) -> None:
        self.environment.compose.run("up", "-d", "--wait", timeout=180)

    def healthy(self, service: str) -> bool | None:
        container = self.container(service)
        return container.attrs["State"].get("Health", {}).get("Status") == "healthy" or None


@pytest.fixture(scope="module")
def stack(
    gateway: DockerGateway, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    if not gateway.client.images.list(name=IMAGE):
        request.getfixturevalue("sample_env")  # builds the offline image
    folder = tmp_path_factory.mktemp("volume-identity")
    (folder / "compose.yaml").write_text(COMPOSE)
    settings = EnvdeckSettings(
        compose_files=[folder / "compose.yaml"],
        offline_compose_files=[],
        config_dir=folder,
        seed=[],
    )
    environment = resolve_environment(settings, gateway)
    stack = Stack(settings, environment, gateway)
    try:
        stack.up()
        yield stack
    finally:
        # Killed, not stopped: a clean PostgreSQL shutdown costs 2 s, and the data goes.
        environment.compose.run("down", "-v", "--remove-orphans", "-t", "0", timeout=120)


def pg(stack: Stack) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="127.0.0.1",
        port=stack.port("postgres", 5432),
        connect_timeout=5,
        user=PG["user"],
        password=PG["password"],
        dbname=PG["dbname"],
    )


def tables(stack: Stack) -> set[str]:
    with pg(stack) as connection:
        rows = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in rows}


def redis_client(stack: Stack) -> redis.Redis:
    return redis.Redis(port=stack.port("redis", 6379), socket_timeout=5)


def a_second_after(created_at: dict[str, str]) -> None:
    """Until the clock is past every CreatedAt's second: a write then moves it (the engine
    reports whole seconds)."""
    latest = max(datetime.fromisoformat(value).timestamp() for value in created_at.values())
    eventually(lambda: time.time() >= latest + 1.05 or None, "a second to pass", timeout=5)


def restart(stack: Stack, service: str) -> None:
    stack.container(service).restart(timeout=10)
    eventually(lambda: stack.healthy(service), f"{service} healthy again", timeout=60)


def old_format_copy(manager: StateManager, into: Path) -> StateManager:
    """The baseline as a record written before the containers were kept: CreatedAt only."""
    copy = StateManager(
        manager.settings.replace(**{"state_dir": into}),
        manager.environment,
        manager.gateway,
    )
    shutil.copytree(manager.store.path(BASELINE), copy.store.path(BASELINE))
    manifest = copy.store.path(BASELINE) / MANIFEST
    raw = json.loads(manifest.read_text())
    raw["volumes"] = {name: mark["created_at"] for name, mark in raw["volumes"].items()}
    manifest.write_text(json.dumps(raw))
    return copy


def test_a_restart_and_writes_to_the_volumes_keep_the_baseline(
    stack: Stack, tmp_path: Path
) -> None:
    manager = stack.manager(tmp_path / "state")
    outcome = manager.take_baseline()
    assert outcome.ok, outcome.failure_summary
    old_format = old_format_copy(manager, tmp_path / "old-format")
    created_then = stack.volumes_created_at()
    tables_then, keys_then = tables(stack), set(redis_client(stack).keys())
    a_second_after(created_then)

    restart(stack, "postgres")
    redis_client(stack).set("written-after-the-baseline", "1")
    redis_client(stack).save()  # dump.rdb, new at the top of the volume
    with pg(stack) as connection:
        connection.execute("CREATE TABLE written_after_the_baseline (id int)")

    # What today's CreatedAt comparison refused on: both volumes' CreatedAt moved.
    created_now = stack.volumes_created_at()
    assert all(created_now[name] != created_then[name] for name in created_then), created_now
    assert manager.baseline_problem() is None
    assert old_format.baseline_problem() is None, "a record with CreatedAt only still counts"
    outcome = manager.fast_reset()
    assert outcome.ok, outcome.failure_summary
    assert tables(stack) == tables_then
    assert set(redis_client(stack).keys()) == keys_then


def test_down_and_up_without_removing_volumes_keeps_the_baseline(
    stack: Stack, tmp_path: Path
) -> None:
    manager = stack.manager(tmp_path / "state")
    outcome = manager.take_baseline()
    assert outcome.ok, outcome.failure_summary
    containers_then = {c.id for c in stack.gateway.project_containers(stack.project)}
    a_second_after(stack.volumes_created_at())

    stack.environment.compose.run("down", timeout=120)
    stack.up()

    # Every container new, PostgreSQL's CreatedAt moved: the engine cannot tell this from
    # `down -v`; the baseline's template databases are still in the server.
    assert not containers_then & {c.id for c in stack.gateway.project_containers(stack.project)}
    assert manager.baseline_problem() is None
    outcome = manager.fast_reset()
    assert outcome.ok, outcome.failure_summary


def test_volumes_created_again_make_the_baseline_stale(stack: Stack, tmp_path: Path) -> None:
    manager = stack.manager(tmp_path / "state")
    outcome = manager.take_baseline()
    assert outcome.ok, outcome.failure_summary

    stack.environment.compose.run("down", "-v", "-t", "0", timeout=120)  # the data goes
    assert manager.baseline_problem() is not None, "with the volumes gone"
    stack.up()

    # On Docker 20.10 the engine cannot tell this from `down` then `up`; PostgreSQL's part,
    # template databases in the server, went with its volume.
    assert manager.baseline_problem() is not None
    refused = manager.fast_reset()
    assert not refused.ok
    steps = {s.title: s.state for s in refused.steps}
    # Found before any service is touched, so Redis is not restored while PostgreSQL fails.
    assert steps["check every part can be restored"] is StepState.FAILED
    assert "reset postgres" not in steps
    assert "postgres no longer has its saved data" in refused.failure_summary
    outcome = manager.take_baseline()
    assert outcome.ok, outcome.failure_summary
    assert manager.baseline_problem() is None
