"""Commands in bulk: thousands packed into one write, their replies parsed in one pass.

redis-py's pipeline packs and parses each command through several layers of Python
(about 25 µs a command here), which made a save of 1,000,000 keys take a minute; what a
save, restore and fingerprint send (PTTL, GETRANGE, DUMP, TYPE, RESTORE) has simple
RESP2 replies, read here straight from the connection's socket. The connection comes
from the client's own pool, so it is authenticated and on the client's db; one that
fails half-way is dropped, never handed back with replies still unread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

# A reply: bytes (bulk or status), int, None (nil), a ResponseError, or a list of these.
Reply = Any

READ_BYTES = 1 << 20


def command(*args: bytes) -> bytes:
    """One command in RESP."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
    return b"".join(parts)


def key_command(name: bytes, key: bytes) -> bytes:
    """A command whose only argument is a key (PTTL, DUMP, TYPE): the commonest, packed
    in one step."""
    return b"*2\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(name), name, len(key), key)


class Wire:
    """One connection of a client's pool, for commands sent and read in bulk."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._buffer = b""  # read, not parsed yet: from _position on
        self._position = 0

    def run(self, commands: Iterable[bytes], count: int) -> list[Reply]:
        """Sends the `count` packed `commands` at once; their replies, in order. A
        command's error is its reply, never raised."""
        self.send(commands)
        return self.receive(count)

    def send(self, commands: Iterable[bytes]) -> None:
        """Sends packed commands, for `receive` to read their replies later: what the
        caller does in between overlaps with Redis running them."""
        self._connection.send_packed_command([b"".join(commands)], check_health=False)

    def receive(self, count: int) -> list[Reply]:
        """The replies of the next `count` commands sent."""
        return self._replies(count)

    def _replies(self, count: int) -> list[Reply]:
        replies: list[Reply] = []
        while len(replies) < count:
            self._parse_ready(replies, count)
            if len(replies) < count:  # an array, or a reply not all read yet
                replies.append(self._reply())
        return replies

    def _parse_ready(self, replies: list[Reply], count: int) -> None:
        """The replies that are not arrays and are all in the buffer, up to `count`: the
        common case, in one loop."""
        buffer, position, add = self._buffer, self._position, replies.append
        find, size, left = buffer.find, len(buffer), count - len(replies)
        while left:
            end = find(b"\r\n", position)
            if end < 0:
                break
            kind = buffer[position]
            if kind == 36:  # $: bulk string
                length = int(buffer[position + 1 : end])
                if length < 0:
                    add(None)
                    position = end + 2
                elif end + 4 + length <= size:
                    add(buffer[end + 2 : end + 2 + length])
                    position = end + 4 + length
                else:
                    break
            elif kind == 58:  # :
                add(int(buffer[position + 1 : end]))
                position = end + 2
            elif kind == 43:  # +
                add(buffer[position + 1 : end])
                position = end + 2
            elif kind == 45:  # -
                add(ResponseError(buffer[position + 1 : end].decode(errors="replace")))
                position = end + 2
            else:
                break
            left -= 1
        self._position = position

    def _reply(self) -> Reply:
        line = self._line()
        kind = line[:1]
        if kind == b"$":
            length = int(line[1:])
            return None if length < 0 else self._take(length)
        if kind == b":":
            return int(line[1:])
        if kind == b"+":
            return line[1:]
        if kind == b"-":
            return ResponseError(line[1:].decode(errors="replace"))
        if kind == b"*":
            length = int(line[1:])
            return None if length < 0 else self._replies(length)
        raise RedisConnectionError(f"unexpected reply from Redis: {line[:40]!r}")

    def _line(self) -> bytes:
        end = self._buffer.find(b"\r\n", self._position)
        while end < 0:
            self._fill()
            end = self._buffer.find(b"\r\n", self._position)
        line = self._buffer[self._position : end]
        self._position = end + 2
        return line

    def _take(self, length: int) -> bytes:
        """The next `length` bytes and the CRLF after them; a big value read in parts and
        joined once."""
        start, needed = self._position, length + 2
        if len(self._buffer) - start >= needed:
            self._position += needed
            return self._buffer[start : start + length]
        parts = [self._buffer[start:]]
        have = len(parts[0])
        while have < needed:
            parts.append(self._receive())
            have += len(parts[-1])
        data = b"".join(parts)
        self._buffer, self._position = data[needed:], 0
        return data[:length]

    def _fill(self) -> None:
        self._buffer = self._buffer[self._position :] + self._receive()
        self._position = 0

    def _receive(self) -> bytes:
        sock = self._connection._sock  # redis-py's socket: its parser has read nothing past
        if sock is None:  # the replies it waited for, so what comes next is ours
            raise RedisConnectionError("the connection to Redis closed")
        try:
            data: bytes = sock.recv(READ_BYTES)
        except TimeoutError:  # socket.timeout since 3.10
            raise RedisTimeoutError("Timeout reading from socket") from None
        except OSError as error:
            raise RedisConnectionError(f"Error while reading from socket: {error}") from error
        if not data:
            raise RedisConnectionError("Connection closed by server.")
        return data


@contextmanager
def wire(client: redis.Redis) -> Iterator[Wire]:
    """A connection of `client`'s pool for bulk commands, back in the pool after (or
    dropped, when anything failed: it may hold replies nobody read)."""
    pool = client.connection_pool
    connection: Any = pool.get_connection()  # connected (redis-py's own methods are untyped)
    try:
        yield Wire(connection)
    except BaseException:
        connection.disconnect()
        raise
    finally:
        pool.release(connection)


__all__ = ["Reply", "Wire", "command", "key_command", "wire"]
