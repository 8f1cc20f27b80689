"""The log stream's transport against the real engine: a burst is read in bulk, and a read
blocked in one thread ends when another interrupts it.

The bulk read relies on one private member of urllib3 (`HTTPResponse._fp`, see
tui/core/logs/transport.py), with urllib3 pinned to the release it is tested on. These
tests fail when an upgrade changes it: the stream would still work, a message a read.
"""

from __future__ import annotations

import fcntl
import struct
import termios
import threading
from collections.abc import Iterator

import pytest
from docker.models.containers import Container

from tests.integration.throwaway_containers import new_project, run_service, wait_for
from tui.core.engine import PROJECT_LABEL, SERVICE_LABEL, DockerGateway
from tui.core.log_buffer import MultiplexedLogParser
from tui.core.logs import DockerLogSource, HttpLogStream

BURST = 20_000  # ~1 MB of frames: more than a socket holds, the engine writes as we read


@pytest.fixture
def burst(gateway: DockerGateway) -> Iterator[Container]:
    """A container that printed BURST numbered lines and then sleeps: its log is whole."""
    command = ["bash", "-c", f"seq 1 {BURST}; exec sleep infinity"]
    container = run_service(gateway, new_project("transport"), "burst", command)
    try:
        wait_for(
            lambda: container.logs().count(b"\n") >= BURST, f"the engine to have {BURST} lines"
        )
        yield container
    finally:
        container.remove(force=True)


def unread_bytes(stream: HttpLogStream) -> int:
    """What the engine sent that waits in the stream's socket, not read yet (FIONREAD)."""
    queued = fcntl.ioctl(stream.response.raw.fileno(), termios.FIONREAD, b"\0\0\0\0")
    return int(struct.unpack("i", queued)[0])


def open_stream(gateway: DockerGateway, container: Container) -> HttpLogStream:
    source = DockerLogSource(gateway)
    run = source.current_container(container.labels[PROJECT_LABEL], container.labels[SERVICE_LABEL])
    assert run is not None
    return source.open_logs(run, since=None, until=None, tail=None, follow=True)


def test_what_has_arrived_is_read_at_once_not_a_message_a_read(
    gateway: DockerGateway, burst: Container
) -> None:
    stream = open_stream(gateway, burst)
    parser = MultiplexedLogParser()
    try:
        texts = parser.feed_parsed(stream.read()).texts
        # Each line is an HTTP chunk of its own (~50 bytes here); 2 KiB of them wait in
        # the socket, which holds a few hundred small writes before the engine blocks.
        # Read a chunk at a time (urllib3's public read1 or stream), the next read would
        # bring one line.
        wait_for(lambda: unread_bytes(stream) >= 2048, "2 KiB of the burst in the socket")
        at_once = parser.feed_parsed(stream.read()).texts
        assert len(at_once) >= 30, f"{len(at_once)} lines in one read"
        texts += at_once
        while len(texts) < BURST:
            data = stream.read()
            assert data, f"the stream ended after {len(texts)} lines"
            texts += parser.feed_parsed(data).texts
    finally:
        stream.close()
    assert texts == [str(n) for n in range(1, BURST + 1)]


def test_interrupt_ends_a_read_blocked_in_another_thread(
    gateway: DockerGateway, burst: Container
) -> None:
    stream = open_stream(gateway, burst)
    parser = MultiplexedLogParser()
    seen = 0
    while seen < BURST:  # the history, so that the next read waits for new lines
        seen += len(parser.feed_parsed(stream.read()).texts)
    outcome: list[bytes | BaseException] = []

    def read() -> None:
        try:
            outcome.append(stream.read())  # the container prints nothing more
        except BaseException as error:
            outcome.append(error)

    # A daemon: if the read is never interrupted, the test fails instead of hanging (and
    # closing the stream under it would hang too); removing the container ends it.
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stream.interrupt()  # blocked already or about to read: both must end
    reader.join(timeout=5)
    assert not reader.is_alive(), "the read was not interrupted"
    try:
        assert outcome == [b""]
        assert stream.read() == b""  # and stays ended
    finally:
        stream.close()
    stream.interrupt()  # after close: nothing to wake, no error
    stream.close()
