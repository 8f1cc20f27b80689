"""Local ports that reach ports on an ssh engine's machine, through the user's `ssh -L`.

A port a service publishes on a remote engine is on that machine's addresses; one
published on its 127.0.0.1 (as test services should be) is reachable from nowhere else.
`ssh -N -L 127.0.0.1:LOCAL:127.0.0.1:REMOTE host` makes it a port of ours, with the user's
ssh config, keys and agent. One ssh process per forwarded port, started on first use,
started again when it has died (a cut link), ended with envdeck.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tui.core.ssh_bridge import ssh_command
from tui.core.ssh_processes import PerUrl, end_process

READY_TIMEOUT = 15.0  # an ssh login over a slow link


class TunnelFailed(Exception):
    """ssh could not forward the port; the message is ssh's own."""


@dataclass
class _Tunnel:
    local_port: int
    process: subprocess.Popen[bytes]


class SshTunnels:
    """Forwards to the machine of the ssh engine at `url` (ssh://[user@]host[:port])."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._tunnels: dict[tuple[str, int], _Tunnel] = {}
        self._lock = threading.Lock()

    def local_port(self, remote_host: str, remote_port: int) -> int:
        """A port on our 127.0.0.1 that reaches `remote_host:remote_port` as seen from the
        engine's machine; TunnelFailed when ssh cannot forward it."""
        key = (remote_host, remote_port)
        with self._lock:
            tunnel = self._tunnels.get(key)
            if tunnel is not None and tunnel.process.poll() is None:
                return tunnel.local_port
            tunnel = self._start(remote_host, remote_port)
            self._tunnels[key] = tunnel
            return tunnel.local_port

    def _start(self, remote_host: str, remote_port: int) -> _Tunnel:
        local_port = _free_port()
        base = ssh_command(self.url)
        command = [
            *base[:-2],
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-o",
            "BatchMode=yes",  # never a password prompt in the middle of the dashboard
            "-L",
            f"127.0.0.1:{local_port}:{remote_host}:{remote_port}",
            *base[-2:],
        ]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while not _accepts(local_port):
            if process.poll() is not None or time.monotonic() > deadline:
                end_process(process)
                said = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise TunnelFailed(
                    f"ssh could not forward {remote_host}:{remote_port} of {self.url}: "
                    + (said.strip().splitlines() or ["no answer in time"])[-1]
                )
            time.sleep(0.02)
        return _Tunnel(local_port, process)

    def close(self) -> None:
        with self._lock:
            tunnels = list(self._tunnels.values())
            self._tunnels.clear()
        for tunnel in tunnels:
            end_process(tunnel.process)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    """Whether something listens on our 127.0.0.1:`port`. Read from /proc where there is
    one: a test connection would reach the service (PostgreSQL logs every one)."""
    try:
        table = Path("/proc/net/tcp").read_text()
    except OSError:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            return probe.connect_ex(("127.0.0.1", port)) == 0
    wanted = f"0100007F:{port:04X}"
    return any(
        fields[1] == wanted and fields[3] == "0A"  # 0A: LISTEN
        for fields in (line.split() for line in table.splitlines()[1:])
        if len(fields) > 3
    )


_per_url: PerUrl[SshTunnels] = PerUrl(SshTunnels)


def tunnels_for(url: str) -> SshTunnels:
    """The process's one SshTunnels for `url`, made on first use and closed at exit."""
    return _per_url.get(url)


def close_tunnels() -> None:
    _per_url.close_all()
