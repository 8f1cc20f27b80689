"""A container's log stream over HTTP: the streamed response read as it arrives, its chunked
transfer coding undone whatever pieces it comes in, closable from another thread.

The stream is read below docker-py's `logs(stream=True)`, from the same client: that
generator drops which frame was stdout and which stderr, and reads TTY output a byte at a
time. Here whatever has arrived is taken at once: a flood costs per chunk, not per line.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any, Protocol

import requests
import urllib3.exceptions

READ_BYTES = 256 * 1024  # at most, per read: a busy stream is read in big chunks
_STREAM_BROKEN = (OSError, ValueError, AttributeError, urllib3.exceptions.HTTPError)


class LogStream(Protocol):
    def read(self) -> bytes:
        """The next bytes, blocking; b"" once the stream ended or broke."""
        ...

    def interrupt(self) -> None:
        """Make a `read` blocked in another thread return now."""
        ...

    def close(self) -> None: ...


class HttpLogStream:
    """A streamed HTTP response read as it arrives, closable from another thread.

    The body is read below http.client: Docker sends each log message as its own HTTP
    chunk, and http.client hands chunks over one per call. Here whatever has arrived is
    taken from the socket's buffer at once and its chunk framing removed in one loop.
    """

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self._dechunker = ChunkedBody() if _chunked_reader(response) is not None else None
        self._reader = _chunked_reader(response)

    def read(self) -> bytes:
        if self._reader is None or self._dechunker is None:
            return self._read_plain()
        try:
            while not self._dechunker.ended:
                data = self._reader.read1(READ_BYTES)
                if not data:
                    return b""
                body = self._dechunker.feed(data)
                if body:
                    return body
        except _STREAM_BROKEN:
            return b""
        except ValueError:  # not chunked after all: garbled
            return b""
        return b""

    def _read_plain(self) -> bytes:
        try:
            # read1: whatever has arrived, not a full buffer; a quiet service must not stall.
            data = self.response.raw.read1(READ_BYTES, decode_content=False)
        except _STREAM_BROKEN:
            return b""
        return bytes(data or b"")

    def interrupt(self) -> None:
        # Closing the response does not wake a blocked recv(); shutting the socket down does.
        sock = _socket_of(self.response)
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.interrupt()
        self.response.close()


class ChunkedBody:
    """HTTP/1.1 chunked transfer coding, undone for bytes fed in any pieces."""

    def __init__(self) -> None:
        self._rest = b""  # an incomplete chunk-size line
        self._left = 0  # bytes of the current chunk still to come
        self._crlf = 0  # bytes of the CRLF after the current chunk still to skip
        self.ended = False

    def feed(self, data: bytes) -> bytes:
        """The body bytes in `data`; ValueError when it is not chunked coding."""
        buffer = self._rest + data if self._rest else data
        size, position = len(buffer), 0
        body: list[bytes] = []
        if self._left or self._crlf:  # the end of a chunk begun in an earlier piece
            end = min(size, self._left)
            body.append(buffer[:end])
            self._left -= end
            skipped = min(self._crlf, size - end) if not self._left else 0
            self._crlf -= skipped
            position = end + skipped
        find = buffer.find
        while not (self._left or self._crlf or self.ended):  # whole chunks: one pass each
            line_end = find(b"\r\n", position)
            if line_end < 0:
                if size - position > 1024:
                    raise ValueError("no chunk size")
                break
            # A size, maybe with ;extensions. Docker sends none, but they are allowed.
            chunk = int(buffer[position:line_end].split(b";", 1)[0], 16)
            if chunk == 0:
                self.ended = True  # trailers, if any, are not needed
                break
            start = line_end + 2
            end = start + chunk
            if end + 2 <= size:
                body.append(buffer[start:end])
                position = end + 2
                continue
            body.append(buffer[start:end])  # a chunk that goes on in the next piece
            self._left = chunk - (min(end, size) - start)
            self._crlf = 2 - max(0, size - end)
            position = size
        self._rest = buffer[position:] if not (self.ended or self._left or self._crlf) else b""
        return b"".join(body)


def _chunked_reader(response: requests.Response) -> Any:
    """The buffered socket reader under a chunked response nobody has read from yet."""
    fp = getattr(response.raw, "_fp", None)  # http.client.HTTPResponse
    if not getattr(fp, "chunked", False) or getattr(fp, "chunk_left", None) is not None:
        return None
    reader = getattr(fp, "fp", None)
    return reader if hasattr(reader, "read1") else None


def _socket_of(response: requests.Response) -> socket.socket | None:
    # urllib3 response -> http.client response -> buffered reader -> SocketIO -> socket
    reader = getattr(getattr(response.raw, "_fp", None), "fp", None)
    sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None
