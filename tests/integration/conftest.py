"""Network helpers shared by the integration tests: ports nobody listens on, and ports
that accept a connection and then never answer (for timeouts)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest


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
