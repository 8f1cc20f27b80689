"""The second engine is what the remote-engine tests take it for: another engine, reached
over tcp, tls (client certificates required) and ssh, with the sample images, a link that
can be cut and slowed, its own loopback and its own view of the files."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.remote import daemon, layout
from tests.remote.engine import Route, SecondEngine, start
from tests.remote.processes import HarnessError, run, wait_until

pytestmark = pytest.mark.docker
REPO = layout.REPO
IMAGE = layout.SAMPLE_IMAGES[0]


def first_engine(*args: str) -> str:
    """The docker CLI against the engine the rest of the suite uses."""
    return run(["docker", *args]).stdout.strip()


def test_it_is_another_engine_than_the_first(second_engine: SecondEngine) -> None:
    first = first_engine("info", "--format", "{{.ID}}")
    answer = second_engine.docker("info", "--format", "{{.ID}} {{.Name}} {{.DockerRootDir}}")
    identity, name, root = answer.split()
    assert identity == second_engine.engine_id != first
    assert name == layout.NAME
    assert root == str(layout.DATA_ROOT)


@pytest.mark.parametrize("route", ["tcp", "tls", "ssh"])
def test_the_cli_reaches_it_by_each_route(second_engine: SecondEngine, route: Route) -> None:
    answer = second_engine.docker("info", "--format", "{{.ID}}", route=route)
    assert answer.strip() == second_engine.engine_id


@pytest.mark.parametrize("route", ["tls", "ssh"])
def test_a_named_context_reaches_it(
    second_engine: SecondEngine, route: Route, tmp_path: Path
) -> None:
    """`docker context create NAME --docker ...` as a user would (in a config of its own)."""
    environment = second_engine.environ(route) | {"DOCKER_CONFIG": str(tmp_path)}
    for name in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        environment.pop(name, None)
    endpoint = second_engine.context_endpoint(route)
    run(["docker", "context", "create", "harness", "--docker", endpoint], env=environment)
    answer = run(["docker", "--context", "harness", "info", "--format", "{{.ID}}"], env=environment)
    assert answer.stdout.strip() == second_engine.engine_id


def test_compose_v2_runs_a_project_on_it_over_ssh(
    second_engine: SecondEngine, tmp_path: Path
) -> None:
    """Compose runs `ssh` from PATH as the CLI does; the project runs over there only."""
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  probe:\n    image: {IMAGE}\n    command: [sleep, '300']\n"
    )
    compose = ["docker", "compose", "--project-name", "harness-probe", "--project-directory"]
    compose += [str(tmp_path)]
    environment = second_engine.environ("ssh")
    run([*compose, "up", "--detach", "--wait"], env=environment, timeout=120)
    try:
        listed = run(["docker", "compose", "ls", "--format", "json"], env=environment).stdout
        assert "harness-probe" in listed
        assert "harness-probe" not in first_engine("compose", "ls", "--all", "--format", "json")
    finally:
        run([*compose, "down", "--timeout", "0"], env=environment, timeout=120)


def test_dial_stdio_over_ssh_is_the_second_engines_api(second_engine: SecondEngine) -> None:
    """What every ssh client of the API runs over there (the CLI, compose, docker-py's
    ssh client, envdeck's bridge) speaks to the second engine, not to the first."""
    request = "GET /v1.41/info HTTP/1.0\r\nHost: docker\r\n\r\n"
    answer = run(
        ["ssh", "envdeck-remote", "docker", "system", "dial-stdio"],
        input_text=request,
        env=second_engine.environ("ssh"),
    ).stdout
    assert answer.startswith("HTTP/1.0 200 OK")
    assert second_engine.engine_id in answer


def test_tls_refuses_a_client_without_a_certificate(second_engine: SecondEngine) -> None:
    plain = subprocess.run(
        ["docker", "-H", second_engine.tls_url, "info"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=second_engine.environ("tcp"),
    )
    assert plain.returncode != 0
    assert "HTTP request to an HTTPS server" in plain.stderr
    assert ping_over_tls(second_engine, client_certificate=True).startswith(b"HTTP/1.0 200")
    with pytest.raises(ssl.SSLError, match=r"BAD_CERTIFICATE|CERTIFICATE_REQUIRED"):
        ping_over_tls(second_engine, client_certificate=False)


def ping_over_tls(engine: SecondEngine, *, client_certificate: bool) -> bytes:
    context = ssl.create_default_context(cafile=str(engine.cert_dir / "ca.pem"))
    if client_certificate:
        context.load_cert_chain(engine.cert_dir / "cert.pem", engine.cert_dir / "key.pem")
    with (
        socket.create_connection((engine.address, layout.TLS_PORT), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=engine.address) as connection,
    ):
        # TLS 1.3: the server judges the client's certificate after the handshake.
        connection.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
        return connection.recv(100)


def test_the_sample_images_are_there(second_engine: SecondEngine) -> None:
    for name in layout.SAMPLE_IMAGES:
        there = second_engine.docker("image", "inspect", "--format", "{{.Id}}", name).strip()
        assert there == first_engine("image", "inspect", "--format", "{{.Id}}", name)


def test_a_cut_link_times_out_and_restore_brings_it_back(second_engine: SecondEngine) -> None:
    client = daemon.client(second_engine.tcp_url, timeout=2)
    try:
        assert client.ping()
        second_engine.cut()
        try:
            with pytest.raises(requests.exceptions.Timeout):
                client.ping()
            assert second_engine.docker("info", "--format", "{{.ID}}").strip()  # still running
        finally:
            second_engine.restore()
        assert client.ping()
    finally:
        client.close()


def test_a_slow_link_delays_every_round_trip(second_engine: SecondEngine) -> None:
    client = daemon.client(second_engine.tcp_url, timeout=2)
    try:
        second_engine.slow(400)
        try:
            began = time.monotonic()
            assert client.ping()  # a new connection: handshake and request, 2 round trips
            assert time.monotonic() - began >= 0.8
        finally:
            second_engine.restore()
        route = run(["ip", "route", "get", second_engine.address]).stdout
        assert f"dev {layout.HOST_LINK} " in route
        assert client.ping()
    finally:
        client.close()


@contextlib.contextmanager
def web_server(engine: SecondEngine, publish: str) -> Iterator[None]:
    name = f"harness-web-{publish.replace(':', '-').replace('.', '-')}"
    engine.docker(
        "run", "-d", "--name", name, "-p", publish, IMAGE, "python3", "-m", "http.server", "8000"
    )
    try:
        yield
    finally:
        engine.docker("rm", "-f", name)


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as connection:
            connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return connection.recv(12).startswith(b"HTTP/1.0 200")
    except OSError:
        return False


def free_local_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_its_loopback_is_its_own_and_ssh_tunnels_reach_it(second_engine: SecondEngine) -> None:
    """A port published on the remote's 0.0.0.0 is at its address; one on its 127.0.0.1 is
    not reachable from here, except through an ssh tunnel."""
    with web_server(second_engine, "18000:8000"), web_server(second_engine, "127.0.0.1:18001:8000"):
        wait_until(lambda: answers(second_engine.address, 18000), timeout=20, what="the web server")
        assert not answers(second_engine.address, 18001)
        assert not answers("127.0.0.1", 18001)
        local = free_local_port()
        tunnel = subprocess.Popen(
            [
                "ssh",
                "-N",
                "-o",
                "ExitOnForwardFailure=yes",
                "-L",
                f"127.0.0.1:{local}:127.0.0.1:18001",
                "envdeck-remote",
            ],
            env=second_engine.environ("ssh"),
            stderr=subprocess.PIPE,
        )
        try:
            wait_until(lambda: answers("127.0.0.1", local), timeout=20, what="the ssh tunnel")
        finally:
            tunnel.terminate()
            tunnel.wait(timeout=10)


def test_it_does_not_see_this_checkout_unless_shared(second_engine: SecondEngine) -> None:
    """As on a real remote, a bind mount of a local file finds nothing there."""
    readme = REPO / "README.md"
    look = (
        "run",
        "--rm",
        "-v",
        f"{readme}:/mounted/README.md:ro",
        IMAGE,
        "test",
        "-f",
        "/mounted/README.md",
    )
    assert not second_engine.files_shared
    with pytest.raises(HarnessError, match="failed"):
        second_engine.docker(*look)
    second_engine.share_files()
    try:
        assert second_engine.files_shared
        second_engine.docker(*look)
    finally:
        second_engine.hide_files()
    assert not second_engine.files_shared


def test_the_script_prints_what_a_user_would_export(second_engine: SecondEngine) -> None:
    printed = run([REPO / "scripts" / "remote-engine.sh", "env", "tls"]).stdout
    exported = dict(line.removeprefix("export ").split("=", 1) for line in printed.splitlines())
    assert exported == second_engine.env_for("tls")


def test_it_fails_plainly_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not root: a message that says so (the fixture fails with it, never skips)."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(HarnessError, match="needs root"):
        start(owner="session")
