"""A unix-socket proxy to the Docker engine that a test can cut and restore.

It lets a test watch "the engine going away" without stopping the shared engine:
`cut()` closes every connection and the listening socket (clients then get "connection
refused"), `restore()` listens again on the same path. `hold(marker)` makes the engine
never answer requests that contain `marker`, as a stuck daemon would.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import tempfile
import threading
from pathlib import Path
from types import TracebackType

POLL_SECONDS = 0.05  # how quickly the threads notice a cut
CHUNK = 64 * 1024


class SocketProxy:
    """Forwards a temporary unix socket to `upstream`, one thread per connection."""

    def __init__(self, upstream: str = "/var/run/docker.sock") -> None:
        self.upstream = upstream
        self._directory = tempfile.TemporaryDirectory(prefix="envdeck-proxy-")
        self.path = Path(self._directory.name) / "docker.sock"
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._pumps: set[threading.Thread] = set()
        self._sockets: set[socket.socket] = set()
        self._cut = threading.Event()
        self._hold_marker: bytes | None = None
        self.held = threading.Event()  # set when a request was held

    @property
    def base_url(self) -> str:
        return f"unix://{self.path}"

    def start(self) -> SocketProxy:
        self.restore()
        return self

    def restore(self) -> None:
        """Accept connections again."""
        self._cut.clear()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(16)
        listener.settimeout(POLL_SECONDS)
        self._listener = listener
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener,), name="socket-proxy-accept", daemon=True
        )
        self._acceptor.start()

    def hold(self, marker: bytes) -> None:
        """From now on, a request containing `marker` is neither forwarded nor answered:
        its connection stays open and silent until the proxy is cut."""
        self._hold_marker = marker

    def cut(self) -> None:
        """Close every connection and stop listening: new clients are refused."""
        self._cut.set()
        if self._acceptor is not None:
            self._acceptor.join(5)
            self._acceptor = None
        if self._listener is not None:
            self._listener.close()  # the file stays: connecting to it is refused
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            pumps = list(self._pumps)
        for pump in pumps:
            pump.join(5)

    def close(self) -> None:
        self.cut()
        self._directory.cleanup()

    def __enter__(self) -> SocketProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self, listener: socket.socket) -> None:
        while not self._cut.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._start_pump(client)

    def _start_pump(self, client: socket.socket) -> None:
        client.setblocking(True)
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(self.upstream)
        except OSError:
            client.close()
            upstream.close()
            return
        pump = threading.Thread(
            target=self._pump, args=(client, upstream), name="socket-proxy-pump", daemon=True
        )
        with self._lock:
            self._sockets |= {client, upstream}
            self._pumps.add(pump)
        pump.start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        """Copy bytes both ways until either side closes or the proxy is cut."""
        peers = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            try:
                while not self._cut.is_set():
                    for key, _ in selector.select(POLL_SECONDS):
                        source: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = source.recv(CHUNK)
                        if not data:
                            return
                        marker = self._hold_marker
                        if source is client and marker is not None and marker in data:
                            self.held.set()
                            self._cut.wait()
                            return
                        peers[source].sendall(data)
            except OSError:
                return
            finally:
                self._forget(client, upstream)

    def _forget(self, *sockets: socket.socket) -> None:
        with self._lock:
            for sock in sockets:
                self._sockets.discard(sock)
                sock.close()
            self._pumps.discard(threading.current_thread())


def sockets_connected_to(path: Path) -> int:
    """How many sockets of this process are connected to the unix socket at `path` (Linux)."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError, ValueError):
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            with socket.socket(fileno=os.dup(int(name))) as sock:
                if sock.family == socket.AF_UNIX and sock.getpeername() == str(path):
                    count += 1
    return count
