"""An ssh:// engine, reached the way the Docker CLI reaches it: the user's own `ssh` runs
`docker system dial-stdio` on the engine's host, one process per connection, and its
stdin/stdout are the connection (the CLI's "connhelper").

docker-py can do the same only with paramiko installed, and importing paramiko costs
every envdeck start about a quarter of a second, ssh engine or not. So envdeck offers
the connection on a private unix socket instead: each client connection to it starts
one such `ssh` and copies bytes both ways. The docker-py client then talks to that
socket as to a local engine. `ssh` reads the user's config and agent as it always does;
a control socket of ours lets the connections after the first reuse its login (our own
`ControlPath`, so the user's masters are left alone).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

from tui.core.ssh_processes import PerUrl, end_process

_log = logging.getLogger(__name__)
_CHUNK = 65536
SPARES = 2  # connections dialled ahead (docker-py opens several at once for stats, logs)

# A dead or unreachable link is noticed by ssh within ~10 s, not TCP's minutes.
SSH_OPTIONS = (
    *("-o", "ConnectTimeout=10"),
    *("-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2"),
)


def ssh_command(url: str, control_path: Path | None = None) -> list[str]:
    """`ssh [-l user] [-p port] [control options] -- host`, as the Docker CLI builds it."""
    parts = urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname:
        raise ValueError(f"not an ssh:// engine: {url}")
    command = [shutil.which("ssh") or "ssh", *SSH_OPTIONS]
    if parts.username:
        command += ["-l", parts.username]
    if parts.port:
        command += ["-p", str(parts.port)]
    if control_path is not None:
        command += ["-o", "ControlMaster=auto", "-o", f"ControlPath={control_path}"]
        command += ["-o", "ControlPersist=60"]
    return [*command, "--", parts.hostname]


class SshBridge:
    """A private unix socket that reaches the engine at `url` (ssh://…)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._dir = Path(tempfile.mkdtemp(prefix="envdeck-ssh-"))  # mode 0700
        self.socket_path = self._dir / "docker.sock"
        self.control_path = self._dir / "control"
        self._command = ssh_command(url, self.control_path)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.socket_path))
        self._listener.listen(16)
        self._closed = threading.Event()
        self._processes: set[subprocess.Popen[bytes]] = set()
        self._spares: list[subprocess.Popen[bytes]] = []  # dialled ahead, not yet used
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="envdeck-ssh-bridge", daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket_path}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(
                target=self._serve, args=(connection,), name="envdeck-ssh-conn", daemon=True
            ).start()

    def _dial(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [*self._command, "docker", "system", "dial-stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # ctrl+c in the terminal is ours to handle, not ssh's
        )
        with self._lock:
            self._processes.add(process)
        return process

    def _take_dialled(self) -> subprocess.Popen[bytes]:
        """A connected `dial-stdio`: a spare started ahead when one is alive (each costs
        the engine's machine a login shell and a docker CLI start, 0.3-0.8 s, and
        docker-py opens a connection per distinct URL), and another spare started."""
        with self._lock:
            spares, self._spares = self._spares, []
        process = None
        for spare in spares:
            if process is None and spare.poll() is None:
                process = spare
            else:
                end_process(spare)
        if process is None:
            process = self._dial()
        if not self._closed.is_set():
            threading.Thread(target=self._add_spare, name="envdeck-ssh-spare", daemon=True).start()
        return process

    def _add_spare(self) -> None:
        try:
            spare = self._dial()
        except OSError:
            return
        with self._lock:
            if not self._closed.is_set() and len(self._spares) < SPARES:
                self._spares.append(spare)
                return
        end_process(spare)

    def _serve(self, connection: socket.socket) -> None:
        try:
            process = self._take_dialled()
        except OSError as error:
            _log.warning("cannot start ssh for %s: %s", self.url, error)
            connection.close()
            return
        assert process.stdin is not None  # PIPE
        assert process.stdout is not None
        upstream = threading.Thread(
            target=_copy_to_process, args=(connection, process), daemon=True
        )
        upstream.start()
        try:
            while chunk := os.read(process.stdout.fileno(), _CHUNK):
                connection.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
            end_process(process)
            with self._lock:
                self._processes.discard(process)

    def close(self) -> None:
        """Stop listening and end every connection's ssh, and the shared login."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            end_process(process)
        if self.control_path.exists():
            subprocess.run(
                [*self._command[:-2], "-O", "exit", "--", self._command[-1]],
                capture_output=True,
                timeout=5,
                check=False,
            )
        shutil.rmtree(self._dir, ignore_errors=True)


def _copy_to_process(connection: socket.socket, process: subprocess.Popen[bytes]) -> None:
    stdin = process.stdin
    assert stdin is not None
    try:
        while chunk := connection.recv(_CHUNK):
            stdin.write(chunk)
            stdin.flush()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            stdin.close()  # EOF: dial-stdio closes its write half to the engine


_per_url: PerUrl[SshBridge] = PerUrl(SshBridge)


def bridge_for(url: str) -> SshBridge:
    """The process's one SshBridge for `url`, made on first use and closed at exit."""
    return _per_url.get(url)


def close_bridges() -> None:
    _per_url.close_all()
