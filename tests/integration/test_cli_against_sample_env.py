"""The CLI commands against the real engine and the running sample environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from tests.conftest import REPO, SampleEnv

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def envdeck(
    *args: str, cwd: Path = REPO, timeout: float = 120, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI run as a user runs it; `env` adds to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **env} if env is not None else None,
    )


def test_status_json_reports_every_service_healthy(sample_env: SampleEnv) -> None:
    result = envdeck("status", "--json", "--stats")  # CPU and memory only on request
    assert result.returncode == 0, result.stderr + result.stdout
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["project"] == "envdeck-sample"
    assert document["engine"]["connected"] is True
    services = {service["name"]: service for service in document["services"]}
    assert set(services) == {"mock-api", "postgres", "qdrant", "redis"}
    for service in services.values():
        assert (service["state"], service["health"]) == ("running", "healthy"), service
        assert service["mem_bytes"] > 0
        assert service["cpu_percent"] is not None
        assert service["ports"], service
        for port in service["ports"]:
            assert port["host_ip"] == "127.0.0.1", "test services bind to loopback only"


def test_status_text_and_wait(sample_env: SampleEnv) -> None:
    result = envdeck("status", "--wait", "--timeout", "30")
    assert result.returncode == 0, result.stderr
    assert "4/4 ready" in result.stdout


def test_status_is_2_when_no_engine_answers() -> None:
    result = envdeck("status", "--json", timeout=60, env=NO_ENGINE)
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)["engine"] == {
        "connected": False,
        "version": None,
        "host": "unix:///nonexistent/docker.sock",  # where it looked, and why there
        "context": "default",
        "chosen_by": "DOCKER_HOST",
        "kind": "unix",
    }


def test_status_is_2_for_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  web:\n    image: [unclosed\n")
    result = envdeck("-f", str(broken), "status", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("envdeck: ")
    assert "Traceback" not in result.stderr


def test_doctor_reports_engine_compose_and_file(sample_env: SampleEnv) -> None:
    result = envdeck("doctor")
    assert result.returncode == 0, result.stdout
    assert "[ok  ] engine: Docker" in result.stdout
    assert "[ok  ] compose: Compose 2." in result.stdout
    assert "project 'envdeck-sample': 4 services" in result.stdout


def test_doctor_says_how_to_fix_a_missing_engine() -> None:
    result = envdeck("doctor", timeout=60, env=NO_ENGINE)
    assert result.returncode == 1
    assert "[FAIL] engine:" in result.stdout
    assert "fix: start Docker" in result.stdout


def test_up_on_a_healthy_environment_is_quick_and_changes_nothing(sample_env: SampleEnv) -> None:
    before = {c.id for c in sample_env.gateway.project_containers(sample_env.project)}
    result = envdeck("up")
    assert result.returncode == 0, result.stderr
    assert "envdeck-sample is up" in result.stderr
    after = {c.id for c in sample_env.gateway.project_containers(sample_env.project)}
    assert after == before


def test_the_seeded_data_is_there(sample_env: SampleEnv) -> None:
    with psycopg.connect(
        host="127.0.0.1",
        port=sample_env.port("postgres", 5432),
        dbname="test_crawl4ai",
        user="test_user",
        password="test_password",
        connect_timeout=5,
    ) as connection:
        rows = connection.execute("SELECT count(*) FROM documents").fetchone()
        assert rows is not None
        assert rows[0] >= 3
    client = redis.Redis(port=sample_env.port("redis", 6379), socket_timeout=5)
    assert client.config_get("maxmemory") == {"maxmemory": str(256 * 1024 * 1024)}
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}


def test_compose_files_are_valid_and_publish_only_on_loopback() -> None:
    for files in (["compose.yaml"], ["compose.yaml", "compose.offline.yaml"]):
        argv = ["docker", "compose"]
        for file in files:
            argv += ["-f", str(REPO / "compose" / file)]
        result = subprocess.run(
            [*argv, "config", "--format", "json"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        for name, service in json.loads(result.stdout)["services"].items():
            assert "healthcheck" in service, f"{name} has no healthcheck"
            for port in service.get("ports", []):
                assert port["host_ip"] == "127.0.0.1", f"{name} publishes beyond loopback"


def test_inspect_json_shows_what_the_plugin_sees(sample_env: SampleEnv) -> None:
    result = envdeck("inspect", "postgres", "--json", "--view", "rows", "--query", "documents")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["service"], document["plugin"], document["view"]) == (
        "postgres",
        "postgres",
        "rows",
    )
    (table,) = [s for s in document["sections"] if s["kind"] == "table"]
    urls = {row[table["columns"].index("url")] for row in table["rows"]}
    assert "https://example.com/" in urls


def test_inspect_refuses_writes_and_unconfirmed_destructive_actions(sample_env: SampleEnv) -> None:
    write = envdeck("inspect", "postgres", "--view", "query", "--query", "DELETE FROM documents")
    assert write.returncode == 1
    assert "read-only" in write.stderr
    flush = envdeck("inspect", "redis", "--action", "flush_db")
    assert flush.returncode == 2
    assert "add --yes" in flush.stderr


def test_inspect_runs_an_action_with_params_and_yes(sample_env: SampleEnv) -> None:
    client = redis.Redis(port=sample_env.port("redis", 6379), socket_timeout=5)
    client.set("envdeck-cli-action-test", "x")
    result = envdeck(
        "inspect",
        "redis",
        "--action",
        "delete_key",
        "--param",
        "key=envdeck-cli-action-test",
        "--yes",
    )
    assert result.returncode == 0, result.stderr
    assert client.exists("envdeck-cli-action-test") == 0


def test_logs_shows_a_known_request_and_grep_filters(sample_env: SampleEnv) -> None:
    marker = f"envdeck-logs-{uuid.uuid4().hex[:8]}"
    httpx.get(f"http://127.0.0.1:{sample_env.port('mock-api', 8080)}/search?q={marker}", timeout=5)
    result = envdeck("logs", "mock-api", "--since", "5m", "--grep", marker)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line]
    assert lines
    assert all(marker in line for line in lines)


def test_logs_follow_streams_new_lines(sample_env: SampleEnv) -> None:
    marker = f"envdeck-follow-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "logs", "-f", "--tail", "0", "mock-api", "qdrant"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        found: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                if marker in line:
                    found.append(line)
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 20
        url = f"http://127.0.0.1:{sample_env.port('mock-api', 8080)}/search?q={marker}"
        while not found and time.monotonic() < deadline:
            httpx.get(url, timeout=5)  # again until the follower, once attached, sees one
            reader.join(0.5)
        assert found, "the followed log never showed the request"
        assert found[0].startswith("mock-api │ ")
    finally:
        process.terminate()
        process.wait(timeout=10)
