"""The key browser: SCAN pages of bounded cost, each key described in pipelined calls.

KEYS is never used: it walks the whole keyspace in one command and blocks Redis while
it does. A page issues at most SCAN_CALLS_MAX SCANs of at most SCAN_COUNT_MAX slots each,
so even a keyspace of millions costs each page a few milliseconds of server time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from envdeck_redis.display import (
    as_bytes,
    bytes_text,
    cell_text,
    count_text,
    is_glob,
    key_candidates,
    ttl_text,
)
from tui.plugins.api import Table, ViewResult

SCAN_COUNT_MAX = 1000
SCAN_CALLS_MAX = 8

# The length of each type (redis-py's method for its command) and the length's unit.
SIZE_COMMANDS: dict[str, tuple[str, str]] = {
    "string": ("strlen", "B"),
    "hash": ("hlen", "fields"),
    "list": ("llen", "items"),
    "set": ("scard", "members"),
    "zset": ("zcard", "members"),
    "stream": ("xlen", "entries"),
}
KEY_COLUMNS = ("key", "type", "TTL", "size", "memory")


@dataclass(frozen=True)
class ScanPage:
    keys: tuple[bytes, ...]  # distinct, in SCAN's order
    cursor: int  # where the next page starts; 0 when the keyspace is done
    calls: int  # SCANs this page issued


@dataclass(frozen=True)
class KeyInfo:
    key: bytes
    type: str  # "none" when the key vanished since SCAN returned it
    pttl: int | None
    size: int | None
    memory: int | None

    @property
    def size_text(self) -> str:
        if self.size is None:
            return "-"
        unit = SIZE_COMMANDS[self.type][1]
        return bytes_text(self.size) if unit == "B" else count_text(self.size, unit)


def scan_page(client: redis.Redis, cursor: int, pattern: str, limit: int) -> ScanPage:
    """Up to about `limit` distinct keys matching `pattern`, resuming at `cursor`.

    SCAN may return a key twice (while Redis resizes its table), hence the dedup; it
    returns batches whole, so a page can exceed `limit` by less than one batch."""
    found: dict[bytes, None] = {}  # an ordered set
    count = max(10, min(limit, SCAN_COUNT_MAX))
    calls = 0
    while True:
        cursor, batch = client.scan(cursor, match=pattern, count=count)
        calls += 1
        found.update(dict.fromkeys(as_bytes(key) for key in batch))
        if cursor == 0 or len(found) >= limit or calls >= SCAN_CALLS_MAX:
            return ScanPage(tuple(found), int(cursor), calls)
        # Few matches (a narrow pattern): look at more slots per call, within the bound.
        count = min(SCAN_COUNT_MAX, count * 2)


def describe_keys(client: redis.Redis, keys: tuple[bytes, ...]) -> list[KeyInfo]:
    """TYPE, PTTL, MEMORY USAGE and length of each key: two round trips per page, not
    per key (the length command depends on the type, so it needs the first answers)."""
    first = client.pipeline(transaction=False)
    for key in keys:
        first.type(key)
        first.pttl(key)
        first.memory_usage(key, samples=5)
    replies = first.execute(raise_on_error=False)
    types = [_text(reply) for reply in replies[0::3]]
    sizes = _sizes(client, keys, types)
    return [
        KeyInfo(key, kind, _int(pttl), size, _int(memory))
        for key, kind, pttl, memory, size in zip(
            keys, types, replies[1::3], replies[2::3], sizes, strict=True
        )
    ]


def _sizes(client: redis.Redis, keys: tuple[bytes, ...], types: list[str]) -> list[int | None]:
    pairs = zip(keys, types, strict=True)
    sized = [(key, SIZE_COMMANDS[kind][0]) for key, kind in pairs if kind in SIZE_COMMANDS]
    if not sized:
        return [None] * len(keys)
    pipeline = client.pipeline(transaction=False)
    for key, command in sized:
        getattr(pipeline, command)(key)
    answers = iter(pipeline.execute(raise_on_error=False))
    return [_int(next(answers)) if kind in SIZE_COMMANDS else None for kind in types]


def keys_view(
    client: redis.Redis, db: int, pattern: str, cursor: str | None, limit: int
) -> ViewResult:
    pattern = pattern if pattern.strip() else "*"
    if not is_glob(pattern):
        return _single_key(client, db, pattern)
    page = scan_page(client, _cursor(cursor), pattern, max(1, limit))
    rows = tuple(_row(info) for info in describe_keys(client, page.keys))
    more = page.cursor != 0
    note = _page_note(len(rows), client.dbsize(), db, more)
    table = Table(f"Keys matching {pattern} in db {db}", KEY_COLUMNS, rows, note=note)
    return ViewResult((table,), next_cursor=str(page.cursor) if more else None)


def _single_key(client: redis.Redis, db: int, name: str) -> ViewResult:
    """A pattern without wildcards names one key: look it up instead of scanning."""
    existing = next((key for key in key_candidates(name) if client.exists(key)), None)
    found = () if existing is None else describe_keys(client, (existing,))  # b"" is a key too
    rows = tuple(_row(info) for info in found)
    note = "" if rows else f"no key named {name} in db {db}"
    return ViewResult((Table(f"Key {name} in db {db}", KEY_COLUMNS, rows, note=note),))


def _row(info: KeyInfo) -> tuple[str, ...]:
    return (
        cell_text(info.key),
        info.type,
        ttl_text(info.pttl),
        info.size_text,
        "-" if info.memory is None else bytes_text(info.memory),
    )


def _page_note(shown: int, total: int, db: int, more: bool) -> str:
    note = f"{count_text(shown)} on this page · {count_text(total)} keys in db {db}"
    if more:
        note += " · more on the next page"
    return note


def _cursor(cursor: str | None) -> int:
    try:
        return int(cursor) if cursor else 0
    except ValueError:
        return 0  # a cursor from elsewhere: start over rather than fail


def _text(reply: Any) -> str:
    if isinstance(reply, bytes):
        return reply.decode("ascii", errors="replace")
    return "?" if isinstance(reply, Exception) else str(reply)


def _int(reply: Any) -> int | None:
    # raise_on_error=False: a refused command (e.g. MEMORY under an ACL) is an exception
    # object in the replies, shown as unknown rather than failing the page.
    return reply if isinstance(reply, int) and not isinstance(reply, bool) else None
