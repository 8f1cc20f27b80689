"""Helpers shared by the integration tests: ports nobody listens on, ports that accept a
connection and then never answer (for timeouts), and throwaway PostgreSQL servers (for
tests that stop a server, or replace its databases)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from docker.models.containers import Container

from tui.core.engine import PROJECT_LABEL, DockerGateway
from tui.plugins.api import ServiceTarget

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def run_envdeck(
    folder: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The `envdeck` command as a user runs it in `folder`, with no terminal to ask; `env`
    adds to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        stdin=subprocess.DEVNULL,
    )


class WatchedOutput:
    """`envdeck test --watch` running in `folder`, its output collected line by line by a
    reader thread, so a test can wait for a line without blocking on the pipe. `env` and
    `start_new_session` go to Popen."""

    def __init__(
        self,
        folder: Path,
        *args: str,
        env: Mapping[str, str] | None = None,
        start_new_session: bool = False,
    ) -> None:
        self.folder = folder
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui", "test", "--watch", *args],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=start_new_session,
        )
        self.seen: list[str] = []
        stdout = self.process.stdout
        assert stdout is not None
        threading.Thread(
            target=lambda: self.seen.extend(iter(stdout.readline, "")), daemon=True
        ).start()

    def wait_for(self, text: str, after: int = 0, timeout: float = 60) -> int:
        """The index of the first line from `after` on that holds `text`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index, line in enumerate(self.seen[after:], start=after):
                if text in line:
                    return index
            time.sleep(0.05)
        raise AssertionError(f"never saw {text!r}; got:\n{''.join(self.seen)}")

    def stop(self) -> None:
        """SIGTERM, as a service manager or `kill` stops it: it exits as ctrl+c would, and
        nothing it started (a run, a spare started ahead) is left running or frozen."""
        self.process.terminate()
        assert self.process.wait(timeout=10) == 128 + signal.SIGTERM
        assert processes_in(self.folder) == [], "envdeck left processes behind"


def processes_in(folder: Path, timeout: float = 10) -> list[str]:
    """The command lines of processes working in `folder`, once none is left or at the
    timeout (a killed process is gone a moment after its signal)."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and (proc / "cwd").resolve() == folder.resolve():
                    found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:  # gone meanwhile, or not ours to read
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def free_port() -> int:
    """A loopback port with nothing listening (a refused connection)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []

    def accept_forever() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return  # the listener was closed: the test is over

    threading.Thread(target=accept_forever, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for connection in held:
        connection.close()


def eventually(check: Callable[[], T | None], what: str, timeout: float = 10.0) -> T:
    """`check()`'s first value that is not None, polled until `timeout`; else the test fails."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout} s")
        time.sleep(0.1)


# ---------------------------------------------------------------- throwaway PostgreSQL

POSTGRES_IMAGE = "envdeck-base:bookworm"  # Debian's PostgreSQL 15, see compose.offline.yaml
PGDATA = "/var/lib/postgresql/data"  # where compose/postgres/postgres-entrypoint.sh keeps it
THROWAWAY_ENV = {
    "POSTGRES_USER": "throwaway",
    "POSTGRES_PASSWORD": "throwaway-pw",
    "POSTGRES_DB": "throwaway",
}


@contextmanager
def throwaway_postgres(
    request: pytest.FixtureRequest,
    environment: Mapping[str, str] = THROWAWAY_ENV,
    init_sql: Path | None = None,
) -> Iterator[tuple[ServiceTarget, Container]]:
    """A PostgreSQL server of the test's own, from the offline image, removed afterwards.
    It yields once the port is published; the server may still be initialising. The image
    comes from bringing the sample environment up offline when it is not here yet."""
    gateway: DockerGateway = request.getfixturevalue("gateway")
    if not gateway.client.images.list(name=POSTGRES_IMAGE):
        request.getfixturevalue("sample_env")
    tag = uuid.uuid4().hex[:8]
    volumes = {str(REPO / "compose" / "postgres"): {"bind": "/envdeck", "mode": "ro"}}
    if init_sql is not None:
        volumes[str(init_sql)] = {"bind": "/docker-entrypoint-initdb.d/01-init.sql", "mode": "ro"}
    container = run_on_loopback(
        gateway,
        POSTGRES_IMAGE,
        5432,
        f"envdeck-test-pg-{tag}",
        entrypoint=["bash", "/envdeck/postgres-entrypoint.sh"],
        environment=dict(environment),
        volumes=volumes,
        # The same server on a disk with nothing to sync: initdb, and the copies of whole
        # databases that saved states are, take a third of the time (the data is thrown
        # away with the container anyway).
        tmpfs={PGDATA: ""},
        name=f"envdeck-test-pg-{tag}",
    )
    try:
        port = eventually(lambda: published_port(container, 5432), "the port published")
        target = ServiceTarget("db", POSTGRES_IMAGE, "127.0.0.1", {5432: port}, environment)
        yield target, container
    finally:
        container.remove(force=True)


def run_on_loopback(
    gateway: DockerGateway, image: str, port: int, project: str, **options: Any
) -> Container:
    """A throwaway container of `image`, alone in a project of its own (`project` names it
    too), with `port` published on loopback at a host port the engine picks."""
    # The stubs know no None port, but the engine takes it as "pick one".
    ports: dict[str, Any] = {f"{port}/tcp": ("127.0.0.1", None)}
    return gateway.client.containers.run(
        image, labels={PROJECT_LABEL: project}, ports=ports, detach=True, **options
    )


def published_port(container: Container, port: int) -> int | None:
    """The host port `port` of the container is published at, once it is."""
    container.reload()
    bindings = (container.ports or {}).get(f"{port}/tcp") or []
    return int(bindings[0]["HostPort"]) if bindings else None


@pytest.fixture
def throwaway(request: pytest.FixtureRequest) -> Iterator[tuple[ServiceTarget, Container]]:
    """A PostgreSQL of this test's own: the only kind a test may stop."""
    with throwaway_postgres(request) as server:
        yield server


@pytest.fixture
def image(request: pytest.FixtureRequest, gateway: DockerGateway) -> str:
    """The offline image, for compose projects of a test's own (built with the sample
    environment when it is not here yet)."""
    if not gateway.image_exists(POSTGRES_IMAGE):
        request.getfixturevalue("sample_env")
    return POSTGRES_IMAGE


def remove_project(gateway: DockerGateway, project: str) -> None:
    """Everything of a test's own compose project: containers, volumes, networks."""
    label: dict[str, str | list[str] | bool] = {"label": f"{PROJECT_LABEL}={project}"}
    for container in gateway.client.containers.list(all=True, filters=label):
        container.remove(force=True)
    for volume in gateway.client.volumes.list(filters=label):
        volume.remove(force=True)
    for network in gateway.client.networks.list(filters=label):
        network.remove()


def self_signed_certificates(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 that is its own CA, as the Docker CLI
    expects the files (ca.pem, cert.pem, key.pem); both ends use it."""
    folder.mkdir()
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", "key.pem", "-out", "cert.pem"),
        ],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    shutil.copy(folder / "cert.pem", folder / "ca.pem")
    return folder
