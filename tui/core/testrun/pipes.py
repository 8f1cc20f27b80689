"""Reading a child's pipe without blocking the event loop: what a run and a prepared warm
start both read pytest's output and events through."""

from __future__ import annotations

import asyncio
import os

READ_BYTES = 64 * 1024  # read(), never readline(): asyncio's readline fails past 64 KiB


async def read_pipe(fd: int) -> tuple[asyncio.StreamReader, asyncio.BaseTransport]:
    """A stream reader over the read end `fd` of a pipe (closed with the transport)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=READ_BYTES)
    pipe = os.fdopen(fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    return reader, transport
