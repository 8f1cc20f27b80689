"""A container's log stream over HTTP: the streamed response read as it arrives, its chunked
transfer coding undone whatever pieces it comes in, interruptible from another thread.

The stream is read below docker-py's `logs(stream=True)`, from the same client: that
generator drops which frame was stdout and which stderr, and reads TTY output a byte at a
time. Here whatever has arrived is taken at once: a flood costs per chunk, not per line.

One private member of a dependency is read here, on purpose (`_buffered_body`), and the
version of urllib3 it is read from is pinned in pyproject.toml; nothing else below
`requests.Response` is touched but through its public API.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from tui.core.engine import requests, urllib3

READ_BYTES = 256 * 1024  # at most, per read: a busy stream is read in big chunks
# A read ends in one of these when the stream broke or was interrupted: the socket shut
# down or reset (OSError), the reader closed (ValueError), urllib3's own wrapping of both.
_STREAM_BROKEN = (OSError, ValueError, urllib3.exceptions.HTTPError)
# urllib3's HTTPResponse.shutdown(): the socket shut down for reading, which wakes a read
# blocked in another thread; it refuses once the stream has ended (connection released)
# or been closed, when there is nothing left to wake.
_NOTHING_TO_INTERRUPT = (RuntimeError, ValueError, OSError)


class LogStream(Protocol):
    def read(self) -> bytes:
        """The next bytes, blocking; b"" once the stream ended or broke."""
        ...

    def interrupt(self) -> None:
        """Make a `read` blocked in another thread return now."""
        ...

    def close(self) -> None: ...


class HttpLogStream:
    """A streamed HTTP response read as it arrives, interruptible from another thread.

    Only the thread that reads closes the stream; another thread may only `interrupt` it.
    (Closing under a read made http.client drop its reader while it was used: the
    AttributeError the stream once had to take for "broken".)
    """

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self._body = _buffered_body(response)
        self._dechunker = ChunkedBody() if self._body is not None else None

    def read(self) -> bytes:
        if self._body is None or self._dechunker is None:
            return self._read_plain()
        try:
            while not self._dechunker.ended:
                data = self._body.read1(READ_BYTES)
                if not data:
                    return b""
                body = self._dechunker.feed(data)
                if body:
                    return body
        except _STREAM_BROKEN:  # also ChunkedBody's ValueError: not chunked after all
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
        with contextlib.suppress(*_NOTHING_TO_INTERRUPT):
            self.response.raw.shutdown()

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


def _buffered_body(response: requests.Response) -> Any:
    """The buffered socket reader under a chunked response nobody has read from yet, or
    None (then `read` goes through urllib3's public `read1`, a chunk at a time).

    urllib3 keeps the http.client response it wraps in `_fp`, a private member: the one
    envdeck reads of a dependency. No public API hands over what has arrived of a chunked
    body at once: urllib3 and http.client both give one chunk per call, and Docker sends
    each log message as a chunk of its own. Read through them (with a thread of their own
    to gather the chunks: the follower takes what has arrived every few milliseconds), the
    follower costs half as much CPU again: 4.8 -> 7.1% of a core at 10k lines/s, 15.5 ->
    24.5% at 50k (bench/log_transport.py, bench/README.md "The log transport"). So urllib3
    is pinned to the minor release this is tested on (pyproject.toml), and
    tests/integration/test_log_transport.py fails when it stops holding;
    tests/unit/test_no_private_dependency_members.py allows this member only.
    `fp`, `chunked` and `chunk_left` are plain attributes of http.client's response.
    """
    wrapped = getattr(response.raw, "_fp", None)  # http.client.HTTPResponse
    if not getattr(wrapped, "chunked", False) or getattr(wrapped, "chunk_left", None) is not None:
        return None
    reader = getattr(wrapped, "fp", None)
    return reader if hasattr(reader, "read1") else None
