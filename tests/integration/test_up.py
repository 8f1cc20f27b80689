"""`envdeck up` waits by envdeck's rule: a one-shot job that exits 0 is done, not a
failure (compose's own `up --wait` fails on it), and a service that fails ends the wait
at once with its name."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.integration.conftest import free_port, remove_project, run_envdeck
from tui.core.engine import DockerGateway

PROJECT = """\
name: {name}
services:
  cache:
    image: {image}
    command: ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", ""]
    ports: ["127.0.0.1:{port}:6379"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
      timeout: 3s
      retries: 30
  smoke:
    image: {image}
    command: ["sh", "-c", "sleep 1; exit {smoke_exit}"]
"""


def write_project(folder: Path, image: str, smoke_exit: int) -> str:
    name = f"up-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    (folder / "compose.yaml").write_text(
        PROJECT.format(name=name, image=image, port=free_port(), smoke_exit=smoke_exit)
    )
    (folder / "pyproject.toml").write_text(
        "[tool.envdeck]\ncompose_files = ['compose.yaml']\n"
        "[tool.envdeck.services.smoke]\none_shot = true\n"
    )
    return name


def test_up_counts_a_one_shot_that_exits_0_as_done(
    tmp_path: Path, gateway: DockerGateway, image: str
) -> None:
    name = write_project(tmp_path / "app", image, 0)
    try:
        up = run_envdeck(tmp_path / "app", "up")
        assert up.returncode == 0, up.stderr
        assert "2 ready (1 one-shot done)" in up.stderr
        status = run_envdeck(tmp_path / "app", "status")
        assert status.returncode == 0, status.stdout
    finally:
        remove_project(gateway, name)


def test_up_names_a_one_shot_that_failed_at_once(
    tmp_path: Path, gateway: DockerGateway, image: str
) -> None:
    name = write_project(tmp_path / "app", image, 3)
    try:
        up = run_envdeck(tmp_path / "app", "up")
        assert up.returncode != 0
        assert "smoke exited 3" in up.stderr
        assert "not ready after" not in up.stderr  # it did not wait out the timeout
    finally:
        remove_project(gateway, name)
