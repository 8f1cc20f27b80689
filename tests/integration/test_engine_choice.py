"""envdeck chooses the Docker engine exactly as the Docker CLI does: the CLI itself
(`docker context show`, `docker context inspect`) is the oracle, on contexts it created
in a config folder of the test's own. No engine is needed: choosing reads files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import self_signed_certificates
from tui.core.engine_choice import (
    ChosenBy,
    EngineChoiceError,
    choose_engine,
)
from tui.core.service_routes import route_service

DOCKER = shutil.which("docker") or "docker"


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Docker CLI config folder of the test's own, and no engine variable set."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def certificates(tmp_path: Path) -> Path:
    return self_signed_certificates(tmp_path / "certs")


def docker(*args: str) -> str:
    return subprocess.run(
        [DOCKER, *args], check=True, capture_output=True, text=True, env=os.environ
    ).stdout.strip()


def cli_choice() -> tuple[str, str]:
    """(context, host) as the Docker CLI resolves them now."""
    name = docker("context", "show")
    endpoints = json.loads(docker("context", "inspect", name))[0]["Endpoints"]
    return name, endpoints["docker"]["Host"]


def test_the_local_socket_when_nothing_is_set(docker_config: Path) -> None:
    choice = choose_engine()
    assert (choice.context, choice.host) == cli_choice()
    assert choice.chosen_by is ChosenBy.DEFAULT
    assert not choice.remote
    assert choice.header_text() == ""  # the header says nothing when nothing was chosen


def test_docker_context_use_then_docker_context_then_docker_host(
    docker_config: Path, certificates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tls = f"ca={certificates}/ca.pem,cert={certificates}/cert.pem,key={certificates}/key.pem"
    docker("context", "create", "box", "--docker", f"host=tcp://10.1.2.3:2376,{tls}")
    docker("context", "create", "other", "--docker", "host=ssh://deploy@build-box:2222")

    # `docker context create` writes no config.json; --context still finds the store.
    assert not (docker_config / "config.json").exists()
    flagged = choose_engine("box")
    assert flagged.chosen_by is ChosenBy.FLAG
    assert flagged.tls is not None  # the context's certificates, verified
    assert flagged.tls.verify is True
    assert flagged.describe() == "tcp://10.1.2.3:2376 with TLS (context box, chosen by --context)"

    docker("context", "use", "box")
    current = choose_engine()
    assert (current.context, current.host) == cli_choice() == ("box", "tcp://10.1.2.3:2376")
    assert current.chosen_by is ChosenBy.CURRENT_CONTEXT
    assert current.remote
    assert current.address == "10.1.2.3"

    monkeypatch.setenv("DOCKER_CONTEXT", "other")
    by_variable = choose_engine()
    assert (by_variable.context, by_variable.host) == cli_choice()
    assert by_variable.chosen_by is ChosenBy.DOCKER_CONTEXT
    assert by_variable.kind == "ssh"
    assert by_variable.address == "build-box"

    monkeypatch.setenv("DOCKER_HOST", "tcp://10.9.9.9:2375")
    by_host = choose_engine()
    assert (by_host.context, by_host.host) == cli_choice() == ("default", "tcp://10.9.9.9:2375")
    assert by_host.chosen_by is ChosenBy.DOCKER_HOST

    # --context wins over DOCKER_HOST, as `docker --context` does; the children follow.
    flagged = choose_engine("other")
    assert flagged.host == "ssh://deploy@build-box:2222"
    environ = dict(os.environ)
    flagged.subprocess_environment(environ)
    assert "DOCKER_HOST" not in environ
    assert environ["DOCKER_CONTEXT"] == "other"
    name = subprocess.run(
        [DOCKER, "context", "show"], env=environ, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert name == "other"  # the Docker CLI, given envdeck's environment, agrees


def test_docker_host_with_tls_variables(
    docker_config: Path, certificates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.1.2.3:2376")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(certificates))
    choice = choose_engine()
    assert choice.tls is not None
    assert choice.tls.cert == (str(certificates / "cert.pem"), str(certificates / "key.pem"))
    assert choice.secure
    assert "with TLS" in choice.describe()


def test_an_unknown_context_is_a_clear_error(
    docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(EngineChoiceError, match=r"no Docker context named 'nope'.*--context"):
        choose_engine("nope")
    monkeypatch.setenv("DOCKER_CONTEXT", "gone")
    with pytest.raises(EngineChoiceError, match=r"'gone' .*DOCKER_CONTEXT.*docker context ls"):
        choose_engine()


def test_ports_of_a_tcp_engine_are_on_its_host_and_its_loopback_is_its_own(
    docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = route_service(choose_engine(), {6379: ("127.0.0.1", 16379)})
    assert (local.host, local.ports, local.how) == ("127.0.0.1", {6379: 16379}, "")

    monkeypatch.setenv("DOCKER_HOST", "tcp://10.1.2.3:2375")
    route = route_service(choose_engine(), {6379: ("0.0.0.0", 16379), 5432: ("127.0.0.1", 15432)})  # noqa: S104
    assert route.host == "10.1.2.3"
    assert route.ports == {6379: 16379}  # 15432 is the engine host's own loopback
    assert "15432 is published on that host's 127.0.0.1 only" in route.how
