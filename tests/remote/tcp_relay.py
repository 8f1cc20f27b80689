"""The engine's plain TCP endpoint: bytes relayed both ways between a TCP listener and the
engine's unix socket. dockerd's TLS settings apply to every TCP listener it has, so the
plain one cannot be dockerd's own while the TLS one is; HTTP over a byte relay is the same
API (hijacked attach/exec streams included: each half-close is passed on).

    python -m tests.remote.tcp_relay ADDRESS PORT SOCKET PIDFILE
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

CHUNK = 64 * 1024


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then half-close: the other way may still be talking."""
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


async def relay(
    client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter, socket_path: str
) -> None:
    try:
        engine_reader, engine_writer = await asyncio.open_unix_connection(socket_path)
    except OSError:
        client_writer.close()
        return
    try:
        await asyncio.gather(pipe(client_reader, engine_writer), pipe(engine_reader, client_writer))
    except OSError:
        pass  # a side went away: close both
    finally:
        for writer in (client_writer, engine_writer):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def serve(address: str, port: int, socket_path: str, pidfile: Path) -> None:
    server = await asyncio.start_server(
        lambda reader, writer: relay(reader, writer, socket_path),
        address,
        port,
        reuse_address=True,
    )
    pidfile.write_text(f"{os.getpid()}\n")
    async with server:
        await server.serve_forever()


def main() -> None:
    address, port, socket_path, pidfile = sys.argv[1:5]
    asyncio.run(serve(address, int(port), socket_path, Path(pidfile)))


if __name__ == "__main__":
    main()
