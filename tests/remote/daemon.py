"""The second engine's daemons: dockerd (which starts its own containerd), and the relay
that serves its plain TCP endpoint."""

from __future__ import annotations

import contextlib
import json
import sys

import docker
from docker.errors import DockerException
from docker.tls import TLSConfig
from requests.exceptions import RequestException

from tests.remote import layout
from tests.remote.processes import (
    HarnessError,
    in_remote,
    kill,
    pid_from,
    say,
    start_daemon,
    stop,
    stray_pids,
    wait_until,
)

DOCKERD = "/usr/sbin/dockerd"
API_VERSION = "1.41"  # Debian's dockerd 20.10; fixed, so a client asks no /version first
DOCKERD_LOG = layout.LOG_DIR / "dockerd.log"
RELAY_LOG = layout.LOG_DIR / "tcp-relay.log"


def start_dockerd() -> None:
    """dockerd with nothing of the first engine's: config (not /etc/docker/daemon.json),
    identity key, data and exec roots, containerd (dockerd 20.10 starts its own under its
    exec root), socket, bridge, cgroup parent. Published ports default to 0.0.0.0 over
    there, which is 10.213.0.2 from here; the remote's 127.0.0.1 is its own."""
    for folder in (layout.DATA_ROOT, layout.EXEC_ROOT):
        folder.mkdir(parents=True, exist_ok=True)
    layout.DAEMON_CONFIG.write_text(json.dumps({"deprecated-key-path": str(layout.ENGINE_KEY)}))
    certs = layout.SERVER_CERT_DIR
    dockerd = start_daemon(
        in_remote(
            [
                *(DOCKERD, "--config-file", layout.DAEMON_CONFIG),
                *("--data-root", layout.DATA_ROOT, "--exec-root", layout.EXEC_ROOT),
                *("--pidfile", layout.DOCKERD_PIDFILE),
                *("-H", layout.UNIX_URL, "-H", f"tcp://{layout.ADDRESS}:{layout.TLS_PORT}"),
                *("--tlsverify", "--tlscacert", certs / "ca.pem"),
                *("--tlscert", certs / "server-cert.pem", "--tlskey", certs / "server-key.pem"),
                *("--bip", layout.BRIDGE_CIDR, "--cgroup-parent", layout.CGROUP_PARENT),
            ]
        ),
        log=DOCKERD_LOG,
    )
    for answers, timeout, what in (
        (unix_answers, 60, "the second dockerd"),
        (tls_answers, 10, "the second dockerd's TLS port"),
    ):
        wait_until(answers, timeout=timeout, what=what, log=DOCKERD_LOG, process=dockerd)


def start_relay() -> None:
    """The plain TCP endpoint, in the engine's network namespace (and this machine's
    files: it runs from this checkout, which the remote may not see)."""
    relay = start_daemon(
        [
            *("nsenter", f"--net={layout.NETNS_PATH}", "--", sys.executable),
            *("-m", "tests.remote.tcp_relay", layout.ADDRESS, str(layout.TCP_PORT)),
            *(str(layout.SOCKET), str(layout.RELAY_PIDFILE)),
        ],
        log=RELAY_LOG,
        cwd=layout.REPO,
    )
    wait_until(
        tcp_answers, timeout=10, what="the second engine's TCP relay", log=RELAY_LOG, process=relay
    )


def stop_daemons() -> None:
    """The relay and sshd, then dockerd (it stops its containerd), then any process a
    SIGKILL may have left (shims, proxies, containers)."""
    for pidfile, what in (
        (layout.RELAY_PIDFILE, "the TCP relay"),
        (layout.SSHD_PIDFILE, "the remote's sshd"),
        (layout.DOCKERD_PIDFILE, "the second dockerd"),
    ):
        pid = pid_from(pidfile)
        if pid is not None:
            stop(pid, what)
    strays = stray_pids()
    if strays:
        say(f"killing {len(strays)} leftover process(es) of the second engine: {strays}")
        for pid in strays:
            kill(pid, "a leftover process of the second engine")


def client(base_url: str = layout.UNIX_URL, *, timeout: int = 60) -> docker.DockerClient:
    tls: TLSConfig | bool = False
    if base_url == layout.TLS_URL:
        certs = layout.CERT_DIR
        tls = TLSConfig(
            client_cert=(str(certs / "cert.pem"), str(certs / "key.pem")),
            ca_cert=str(certs / "ca.pem"),
            verify=True,
        )
    engine = docker.DockerClient(base_url=base_url, version=API_VERSION, timeout=timeout, tls=tls)
    # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE (set on these machines) replace the
    # engine's CA, and then verification fails (docker/docker-py#2433, open): ours is exact.
    engine.api.trust_env = False
    return engine


def _answers(base_url: str) -> bool:
    try:
        with contextlib.closing(client(base_url, timeout=2)) as engine:
            return bool(engine.ping())
    except (DockerException, RequestException, OSError):
        return False


def unix_answers() -> bool:
    return layout.SOCKET.exists() and _answers(layout.UNIX_URL)


def tcp_answers() -> bool:
    return _answers(layout.TCP_URL)


def tls_answers() -> bool:
    return _answers(layout.TLS_URL)


def engine_id() -> str:
    with contextlib.closing(client()) as engine:
        return str(engine.info()["ID"])


def clear_engine() -> None:
    """No containers, volumes or networks of anyone's left; images stay (the cache)."""
    try:
        with contextlib.closing(client()) as engine:
            for container in engine.containers.list(all=True):
                container.remove(force=True, v=True)
            engine.volumes.prune()
            engine.networks.prune()
    except (DockerException, RequestException) as error:
        raise HarnessError(f"clearing the second engine failed: {error}") from None
