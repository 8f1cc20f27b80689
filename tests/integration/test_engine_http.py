"""`envdeck status`'s engine client (plain HTTP, tui.core.engine_http) against the real
engine, with docker-py, which the rest of envdeck uses, as the oracle: same engine, same
containers, same statuses; tcp and TLS through a local forwarder to the engine's socket."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, SampleEnv
from tests.integration.conftest import self_signed_certificates
from tui.core.engine import EngineUnavailable
from tui.core.engine_choice import choose_engine
from tui.core.engine_http import EngineHttp
from tui.core.monitor import DockerEnvironmentMonitor
from tui.core.status_snapshot import StatusReader

ENGINE_SOCKET = "/var/run/docker.sock"


def test_the_same_containers_and_statuses_as_docker_py(sample_env: SampleEnv) -> None:
    engine = EngineHttp(choose_engine())
    documents = engine.container_documents(sample_env.project)
    containers = sample_env.gateway.project_containers(sample_env.project)
    assert sorted(d["Id"] for d in documents) == sorted(str(c.id) for c in containers)
    assert len(documents) == 4
    assert engine.version()["Version"] == sample_env.gateway.client.version()["Version"]

    by_http = StatusReader(sample_env.settings).snapshot()
    by_docker_py = DockerEnvironmentMonitor(sample_env.settings, sample_env.gateway).snapshot()
    assert by_http.to_json() == by_docker_py.to_json()
    assert by_http.exit_code == by_docker_py.exit_code == 0


def test_the_readers_docker_py_gateway_is_one_connection(sample_env: SampleEnv) -> None:
    """`status --stats` with missing services asks the gateway twice (the stats, the
    images' reasons): one client, closed with the reader."""
    reader = StatusReader(sample_env.settings)
    gateway = reader.gateway()
    assert reader.gateway() is gateway
    assert gateway.client.ping()
    reader.close()
    assert gateway._client is None  # closed: the next call would connect again


def test_images_here_missing_and_invalid(sample_env: SampleEnv) -> None:
    engine = EngineHttp(choose_engine())
    image = sample_env.environment.project.services["redis"].image
    assert image is not None
    assert engine.image_exists(image)
    assert not engine.image_exists("envdeck-no-such-image:never")
    assert not engine.image_exists("Not A Valid Reference!")


def test_no_engine_is_said_as_docker_py_says_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(EngineUnavailable, match="the socket does not exist") as raised:
        EngineHttp(choose_engine()).version()
    assert "unix:///nonexistent/docker.sock (chosen by DOCKER_HOST)" in str(raised.value)


def test_a_tcp_engine(monkeypatch: pytest.MonkeyPatch, sample_env: SampleEnv) -> None:
    with forwarder() as port:
        monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")
        engine = EngineHttp(choose_engine())
        assert engine.version()["ApiVersion"]
        assert len(engine.container_documents(sample_env.project)) == 4


def test_a_tls_engine_with_the_client_certificate_and_verified(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = self_signed_certificates(tmp_path / "certs")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=folder / "ca.pem")
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no answer
    with forwarder(server) as port:
        monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")
        monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
        monkeypatch.setenv("DOCKER_CERT_PATH", str(folder))
        choice = choose_engine()
        assert choice.tls is not None
        assert EngineHttp(choice).version()["ApiVersion"]

        other = self_signed_certificates(tmp_path / "other")  # a CA that did not sign the engine's
        monkeypatch.setenv("DOCKER_CERT_PATH", str(other))
        with pytest.raises(EngineUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            EngineHttp(choose_engine()).version()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_a_tcp_engine_through_the_environments_proxy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tls: bool
) -> None:
    server = None
    if tls:
        folder = self_signed_certificates(tmp_path / "certs")
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=folder / "ca.pem")
        server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
        monkeypatch.setenv("DOCKER_CERT_PATH", str(folder))
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with forwarder(server) as engine_port, proxy() as (proxy_port, asked):
        monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{engine_port}")
        monkeypatch.setenv("https_proxy" if tls else "HTTP_PROXY", f"127.0.0.1:{proxy_port}")
        assert EngineHttp(choose_engine()).version()["ApiVersion"]
        expected = f"CONNECT 127.0.0.1:{engine_port}" if tls else "GET http://127.0.0.1:"
        assert asked, "the proxy was not asked"
        assert asked[0].startswith(expected), asked

        asked.clear()
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # exempt: straight to the engine
        assert EngineHttp(choose_engine()).version()["ApiVersion"]
        assert asked == []


@contextlib.contextmanager
def proxy() -> Iterator[tuple[int, list[str]]]:
    """An HTTP proxy on 127.0.0.1: CONNECT tunnels, and plain requests passed on as they
    are (the engine takes a request's absolute URL); yields its port and the first line
    of every connection it was asked for."""
    asked: list[str] = []

    def serve(client: socket.socket) -> None:
        with contextlib.ExitStack() as closing:
            closing.callback(client.close)
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(65536)
                if not data:
                    return
                head += data
            line = head.split(b"\r\n", 1)[0].decode()
            asked.append(line)
            method, target, _ = line.split(" ", 2)
            authority = target if method == "CONNECT" else target.split("/")[2]
            host, _, port = authority.rpartition(":")
            upstream = socket.create_connection((host, int(port)))
            closing.callback(upstream.close)
            if method == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream.sendall(head)
            back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
            back.start()
            pump(client, upstream)
            back.join(timeout=5)

    with listening(serve) as port:
        yield port, asked


@contextlib.contextmanager
def forwarder(tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """A port on 127.0.0.1 whose connections go to the engine's socket (TLS ended here
    when `tls` is given); yields the port."""

    def serve(client: socket.socket) -> None:
        with contextlib.ExitStack() as closing:
            closing.callback(client.close)
            if tls is not None:
                try:
                    client = tls.wrap_socket(client, server_side=True)
                except (ssl.SSLError, OSError):
                    return  # refused: no or a wrong client certificate
                closing.callback(client.close)
            engine = socket.socket(socket.AF_UNIX)
            closing.callback(engine.close)
            engine.connect(ENGINE_SOCKET)
            back = threading.Thread(target=pump, args=(engine, client), daemon=True)
            back.start()
            pump(client, engine)
            back.join(timeout=5)

    with listening(serve) as port:
        yield port


@contextlib.contextmanager
def listening(serve: Callable[[socket.socket], None]) -> Iterator[int]:
    """A port on 127.0.0.1; each connection to it served by `serve` in its own thread."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(client,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        acceptor.join(timeout=5)
        listener.close()


def pump(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


FIRST_FRAME_SCRIPT = """
import json, sys
from tui.config.settings import load_settings
from tui.core.monitor import DockerEnvironmentMonitor
from tui.ui.app import make_app

monitor = DockerEnvironmentMonitor(load_settings())
monitor.prefetch()
app = make_app(monitor.settings, monitor=monitor)
first = monitor.snapshot()
before = sorted(name for name in ("docker", "requests", "urllib3") if name in sys.modules)
later = monitor.snapshot()
print(json.dumps({"before": before, "first": first.to_json(), "later": later.to_json(),
                  "docker_py_later": "docker" in sys.modules}))
"""


def fresh_process_answer(script: str) -> Any:
    """What `script` prints as JSON, run by a fresh interpreter in the repository: nothing
    imported before it, as in a process `envdeck` starts."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_dashboards_first_listing_needs_no_docker_py(sample_env: SampleEnv) -> None:
    # envdeck's own monitor (no gateway given) lists over plain HTTP first: docker-py and
    # requests are not imported until the live parts start, after the first frame.
    found = fresh_process_answer(FIRST_FRAME_SCRIPT)
    assert found["before"] == []
    assert found["docker_py_later"]  # the second listing is docker-py's, as every later one
    assert found["first"] == found["later"]
    assert found["first"]["project"] == sample_env.project
    assert len(found["first"]["services"]) == 4


LIVE_PARTS_SCRIPT = """
import asyncio, json, sys, time
from tui.config.settings import load_settings
from tui.core.monitor import DockerEnvironmentMonitor
from tui.ui.app import make_app

async def main():
    monitor = DockerEnvironmentMonitor(load_settings())  # as `envdeck` makes it
    monitor.prefetch()
    app = make_app(monitor.settings, monitor=monitor)
    async with app.run_test(size=(150, 40)):
        screen = app.screen
        deadline = time.monotonic() + 30
        lines = cpu = None
        while time.monotonic() < deadline:
            if screen.details_ready:
                lines = screen.log_view.lines_widget.line_count
                cpu = str(screen.table.get_row_at(0)[5])
                if lines and cpu != "-":
                    break
            await asyncio.sleep(0.05)
        print(json.dumps({"service": screen.logs_service, "lines": lines, "cpu": cpu}))

asyncio.run(main())
"""


def test_the_dashboards_live_parts_start_in_a_fresh_process(sample_env: SampleEnv) -> None:
    """After the first frame, the log follower, the stats round and the baseline check
    each import docker-py in their own worker, at the same moment. In a fresh process
    (here: nothing imported docker-py before), entering its import cycles by different
    modules at once gave one worker a _DeadlockError and another a half-made module: the
    log pane stayed empty and CPU stayed "-" (2026-12-07, only outside the tests, whose
    monitors are given a gateway that imported docker-py first)."""
    found = fresh_process_answer(LIVE_PARTS_SCRIPT)
    assert found["service"] == "mock-api"
    assert found["lines"], found  # the selected service's log lines are in the pane
    assert found["cpu"] not in (None, "-"), found  # and the first stats round came
