"""A second, real Docker engine for the tests, and the `second_engine` fixture.

`start()` brings up a dockerd (Debian's, with its own containerd, data root and identity)
in the network namespace `envdeck-remote`, reached from here at 10.213.0.2 over plain TCP
(:2375), TLS with client certificates (:2376) and ssh (:22, its own sshd). It is another
machine as far as it can be: its own host name, loopback and firewall, and neither this
checkout nor the temp folder in its view (files.py). The sample stack's images are loaded
into it from the first engine when it lacks them. `stop()` removes what ran on it and
undoes everything but the image cache in /var/lib/envdeck-remote.

One engine per machine: a session joins the one already running (started by hand with
`python -m tests.remote up`, by another session, or by a session that was killed), and
the last session using it stops it, unless it was started by hand (sharing.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import pytest

from tests.remote import files, images, layout, network, sharing, sshd, tls
from tests.remote.daemon import (
    clear_engine,
    engine_id,
    start_dockerd,
    start_relay,
    stop_daemons,
    tcp_answers,
    tls_answers,
    unix_answers,
)
from tests.remote.processes import HarnessError, pid_from, run, say

Route = Literal["unix", "tcp", "tls", "ssh"]
ROUTES: tuple[Route, ...] = ("unix", "tcp", "tls", "ssh")
# What selects an engine for the docker CLI and docker-py: cleared before a route's own.
ENGINE_VARIABLES = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


@dataclass(frozen=True)
class SecondEngine:
    """The running second engine: how to reach it, and its link to cut or slow down."""

    engine_id: str  # `docker info` ID; the first engine's differs
    address: str = layout.ADDRESS
    unix_url: str = layout.UNIX_URL
    tcp_url: str = layout.TCP_URL
    tls_url: str = layout.TLS_URL
    ssh_url: str = layout.SSH_URL
    cert_dir: Path = layout.CERT_DIR  # ca.pem, cert.pem, key.pem (DOCKER_CERT_PATH)
    ssh_path_dir: Path = layout.SSH_PATH_DIR  # its `ssh` knows the host envdeck-remote
    ssh_config: Path = sshd.SSH_CONFIG

    def url(self, route: Route) -> str:
        return {"unix": self.unix_url, "tcp": self.tcp_url, "tls": self.tls_url}.get(
            route, self.ssh_url
        )

    def env_for(self, route: Route, path: str | None = None) -> dict[str, str]:
        """The variables a user sets to use this engine by that route: DOCKER_HOST, and
        DOCKER_TLS_VERIFY with DOCKER_CERT_PATH for tls, PATH (`path`, default this
        process's, behind the ssh wrapper's folder) for ssh."""
        variables = {"DOCKER_HOST": self.url(route)}
        if route == "tls":
            variables |= {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(self.cert_dir)}
        if route == "ssh":
            rest = os.environ.get("PATH", os.defpath) if path is None else path
            variables["PATH"] = f"{self.ssh_path_dir}{os.pathsep}{rest}"
        return variables

    def environ(self, route: Route, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """A whole environment for a subprocess: `base` (default this process's) without
        its own engine settings (DOCKER_CONTEXT too), with this route's."""
        environment = dict(os.environ if base is None else base)
        for name in ENGINE_VARIABLES:
            environment.pop(name, None)
        return environment | self.env_for(route, environment.get("PATH", os.defpath))

    def context_endpoint(self, route: Route) -> str:
        """The `--docker` value of `docker context create NAME --docker ...` for that route
        (an ssh context needs `ssh_path_dir` on PATH when it is used)."""
        endpoint = f"host={self.url(route)}"
        if route == "tls":
            certs = self.cert_dir
            endpoint += f",ca={certs / 'ca.pem'},cert={certs / 'cert.pem'},key={certs / 'key.pem'}"
        return endpoint

    def docker(self, *args: str, route: Route = "unix", timeout: float = 60) -> str:
        """The docker CLI against this engine by that route; its output (fails on error)."""
        docker = shutil.which("docker") or "docker"
        return run([docker, *args], timeout=timeout, env=self.environ(route)).stdout

    def cut(self) -> None:
        """Drop every packet between here and there, both ways (clients time out)."""
        network.cut()

    def restore(self) -> None:
        """The link as it was made: neither cut nor slow."""
        network.restore()

    def slow(self, ms: int, loss_percent: float = 0.0) -> None:
        """Every round trip `ms` longer, `loss_percent` of packets lost each way; 0: plain."""
        network.slow(ms, loss_percent)

    @property
    def files_shared(self) -> bool:
        """Whether the remote sees this checkout and the temp folder (at first it does not)."""
        return not files.hidden_folders()

    def share_files(self) -> None:
        """Let containers created from now on bind-mount this machine's files (a shortcut
        no real remote offers: only for tests about something else)."""
        files.share()

    def hide_files(self) -> None:
        """This checkout and the temp folder empty over there again, as on a real remote."""
        files.hide()


Owner = Literal["session", "hand"]  # who started it: a test session, or someone's `up`


def start(owner: Owner) -> SecondEngine:
    """The engine, ready with the sample images; call with `sharing.setup_lock()` held.
    One already running is joined; when nobody else uses it, its link is made plain and
    its files hidden first. Started by `hand`, no session stops it."""
    _require_root()
    network.require_tools()
    running = current()
    if running is not None:
        alone = sharing.nobody_uses_it()
        if alone:
            running.restore()  # a cut link would make a healthy engine look dead
        if tcp_answers() and tls_answers() and sshd.answers():
            if alone:
                running.hide_files()
            images.ensure_sample_images()
            if owner == "hand":
                _write_state(running.engine_id, owner)
            return running
    if running is not None or layout.RUN_DIR.exists() or network.exists():
        stop()  # what a killed run left, or an engine that no longer answers: start clean
    began = time.monotonic()
    ports = f"tcp :{layout.TCP_PORT}, tls :{layout.TLS_PORT}, ssh :{layout.SSH_PORT}"
    say(f"starting a second Docker engine in namespace {layout.NETNS} ({layout.ADDRESS}: {ports})")
    try:
        engine = _start()
    except BaseException:
        stop()
        raise
    _write_state(engine.engine_id, owner)
    say(f"second engine ready in {time.monotonic() - began:.1f} s (logs: {layout.LOG_DIR})")
    return engine


def _write_state(engine_id: str, owner: Owner) -> None:
    layout.STATE_FILE.write_text(json.dumps({"engine_id": engine_id, "owner": owner}))


def started_by() -> Owner | None:
    try:
        owner = json.loads(layout.STATE_FILE.read_text())["owner"]
    except (OSError, ValueError, KeyError):
        return None
    return "hand" if owner == "hand" else "session"


def _start() -> SecondEngine:
    sshd.ensure_installed()
    for folder in (layout.RUN_DIR, layout.LOG_DIR):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    tls.make_certificates()
    sshd.prepare()
    network.create()
    files.create_namespaces()
    start_dockerd()
    start_relay()
    sshd.start()
    identity = engine_id()
    over_ssh = sshd.remote_command("docker", "info", "--format", "{{.ID}}").strip()
    if over_ssh != identity:
        raise HarnessError(f"over ssh, `docker info` names engine {over_ssh!r}, not {identity!r}")
    clear_engine()  # a cached data root may hold a killed session's containers
    images.ensure_sample_images()
    return SecondEngine(engine_id=identity)


def current() -> SecondEngine | None:
    """The engine a previous start left running, when its daemons run and it answers on
    its socket (its link may be cut or slow)."""
    try:
        state = json.loads(layout.STATE_FILE.read_text())
    except (OSError, ValueError):
        return None
    pid_files = (layout.DOCKERD_PIDFILE, layout.RELAY_PIDFILE, layout.SSHD_PIDFILE)
    if any(pid_from(pidfile) is None for pidfile in pid_files) or not unix_answers():
        return None
    return SecondEngine(engine_id=str(state["engine_id"]))


def stop(*, purge: bool = False) -> None:
    """Remove its containers, volumes and networks, stop its daemons, delete its
    namespaces and run folder; `purge` deletes its data root (the image cache) too."""
    _require_root()
    if unix_answers():
        try:
            clear_engine()
        except HarnessError as error:
            say(f"could not clear the second engine before stopping it: {error}")
    network.stop_slow_link()
    stop_daemons()
    files.delete_namespaces()
    network.delete()
    shutil.rmtree(layout.RUN_DIR, ignore_errors=True)
    if purge:
        shutil.rmtree(layout.DATA_DIR, ignore_errors=True)


def _require_root() -> None:
    if os.geteuid() != 0:
        raise HarnessError(
            "the second Docker engine needs root (network namespaces, a dockerd, an sshd); "
            "run the tests as root, as `make test` does in CI"
        )


@pytest.fixture(scope="session")
def second_engine(request: pytest.FixtureRequest) -> Iterator[SecondEngine]:
    """The second engine for this session; fails (never skips) when it cannot start.
    At the end it is stopped if a session started it and no other session still uses it."""
    use = sharing.Use()
    try:
        # What it installs and starts belongs in CI's log even when every test passes.
        with _uncaptured(request), sharing.setup_lock():
            engine = start(owner="session")
            use.begin()
    except HarnessError as error:
        pytest.fail(
            f"the second Docker engine (tests/remote) did not start: {error}", pytrace=False
        )
    try:
        yield engine
    finally:
        with sharing.setup_lock():
            use.end()
            if sharing.nobody_uses_it() and current() is not None:
                if started_by() == "session":
                    stop()
                else:
                    engine.restore()
                    engine.hide_files()


def _uncaptured(request: pytest.FixtureRequest) -> contextlib.AbstractContextManager[None]:
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        return contextlib.nullcontext()
    return cast("contextlib.AbstractContextManager[None]", capture.global_and_fixture_disabled())


__all__ = ["ROUTES", "HarnessError", "Route", "SecondEngine", "second_engine"]
