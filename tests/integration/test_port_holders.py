"""A port a service publishes is held by someone else: `envdeck up` and `envdeck doctor`
name the holder (another project's container, or a process on this machine) and the way
out. Two projects that both publish 5432 or 6379 are the everyday case, and the engine's
own "port is already allocated" names neither."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import free_port, published_port, remove_project, run_envdeck
from tests.integration.throwaway_containers import http_project, new_project, run_service
from tui.core.engine import DockerGateway


@pytest.fixture
def holder(gateway: DockerGateway, image: str) -> Iterator[tuple[str, str, int]]:
    """(its project, its container's name, the host port): a container of another project
    publishing a port on loopback, as a second project's postgres would."""
    project = new_project("holder")
    container = run_service(
        gateway,
        project,
        "db",
        ["python3", "-m", "http.server", "8000"],
        ports={"8000/tcp": ("127.0.0.1", None)},
    )
    try:
        port = published_port(container, 8000)
        assert port is not None
        assert container.name is not None
        yield project, container.name, port
    finally:
        remove_project(gateway, project)


def write_project(folder: Path, image: str, port: int) -> str:
    name = f"ports-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    (folder / "compose.yaml").write_text(http_project(name, image, port))
    return name


def test_up_names_the_container_of_another_project_that_holds_the_port(
    tmp_path: Path, gateway: DockerGateway, image: str, holder: tuple[str, str, int]
) -> None:
    holder_project, holder_name, port = holder
    name = write_project(tmp_path / "app", image, port)
    try:
        up = run_envdeck(tmp_path / "app", "up")
        assert up.returncode != 0
        said = f"web: port 127.0.0.1:{port} is taken by container {holder_name} (compose "
        assert said + f"project {holder_project}, service db)" in up.stderr, up.stderr
        assert f"`docker compose -p {holder_project} stop`" in up.stderr
        doctor = run_envdeck(tmp_path / "app", "doctor")
        assert f"[FAIL] port: {said}project {holder_project}" in doctor.stdout, doctor.stdout
        # compose created the container and could not start it: `status` says why.
        status = run_envdeck(tmp_path / "app", "status")
        assert status.returncode == 1
        unstarted = f"web: created, not started: port 127.0.0.1:{port} is taken by container "
        assert unstarted + holder_name in status.stdout, status.stdout
        # Only read: the holder is another project's, and still runs.
        assert gateway.client.containers.get(holder_name).status == "running"
    finally:
        remove_project(gateway, name)


def test_doctor_names_a_process_on_this_machine_that_holds_the_port(
    tmp_path: Path, gateway: DockerGateway, image: str, silent_port: int
) -> None:
    name = write_project(tmp_path / "app", image, silent_port)
    try:
        doctor = run_envdeck(tmp_path / "app", "doctor")
        said = f"web: port 127.0.0.1:{silent_port} is taken by another process on this machine"
        assert f"[FAIL] port: {said}" in doctor.stdout, doctor.stdout
        up = run_envdeck(tmp_path / "app", "up")
        assert up.returncode != 0
        assert said in up.stderr, up.stderr
    finally:
        remove_project(gateway, name)


def test_a_listener_on_another_loopback_address_is_no_conflict(
    tmp_path: Path, gateway: DockerGateway, image: str, silent_port: int
) -> None:
    """Published on 127.0.0.2, the port is free though 127.0.0.1 has a listener on it."""
    folder = tmp_path / "app"
    name = write_project(folder, image, silent_port)
    compose = folder / "compose.yaml"
    compose.write_text(compose.read_text().replace('"127.0.0.1:', '"127.0.0.2:'))
    try:
        doctor = run_envdeck(folder, "doctor")
        assert "is taken by" not in doctor.stdout, doctor.stdout
    finally:
        remove_project(gateway, name)


def test_a_running_service_is_not_said_to_hold_its_own_port(
    tmp_path: Path, gateway: DockerGateway, image: str
) -> None:
    name = write_project(tmp_path / "app", image, free_port())
    try:
        up = run_envdeck(tmp_path / "app", "up")
        assert up.returncode == 0, up.stderr
        doctor = run_envdeck(tmp_path / "app", "doctor")
        assert "is taken by" not in doctor.stdout, doctor.stdout
    finally:
        remove_project(gateway, name)
