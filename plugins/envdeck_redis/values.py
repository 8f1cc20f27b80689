"""One key: what it is, and a preview of its value fetched in ranges, never whole.

A string is read with GETRANGE up to STRING_PREVIEW_BYTES; collections give their first
`limit` elements (LRANGE, ZRANGE, XRANGE COUNT, or a few bounded HSCAN/SSCAN calls).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from envdeck_redis.browser import describe_keys
from envdeck_redis.display import (
    as_bytes,
    bytes_text,
    cell_text,
    count_text,
    key_candidates,
    key_text,
    truncated,
    ttl_text,
    value_text,
)
from tui.plugins.api import KeyValues, Section, Table, TextBlock

STRING_PREVIEW_BYTES = 4096
PREVIEW_MAX = 1000  # elements, whatever the page limit asks
SUBSCAN_CALLS_MAX = 8  # HSCAN/SSCAN calls for one preview

Preview = Callable[[redis.Redis, bytes, int, int], Section]


def resolve_key(client: redis.Redis, name: str) -> bytes | None:
    """The key `name` denotes, as typed or as the browser showed it (escapes undone)."""
    return next((key for key in key_candidates(name) if client.exists(key)), None)


def key_view(client: redis.Redis, db: int, name: str, limit: int) -> tuple[Section, ...]:
    if not name:
        return (TextBlock("Key", "Type a key name, as the key browser shows it."),)
    key = resolve_key(client, name)
    info = describe_keys(client, (key,))[0] if key is not None else None
    if key is None or info is None or info.type == "none":
        return (TextBlock("Key", f"No key named {name} in db {db}."),)
    encoding = client.object("encoding", key)
    summary = KeyValues(
        "Key",
        (
            ("name", key_text(key)),
            ("db", str(db)),
            ("type", info.type),
            ("encoding", _plain(encoding)),
            ("TTL", ttl_text(info.pttl)),
            ("size", info.size_text),
            ("memory", "?" if info.memory is None else bytes_text(info.memory)),
        ),
    )
    preview = PREVIEWS.get(info.type)
    if preview is None or info.size is None:
        return (summary, TextBlock("Value", f"envdeck cannot preview a {info.type} value."))
    return (summary, preview(client, key, info.size, max(1, min(limit, PREVIEW_MAX))))


def _string(client: redis.Redis, key: bytes, size: int, limit: int) -> Section:
    raw = as_bytes(client.getrange(key, 0, STRING_PREVIEW_BYTES - 1))
    complete = len(raw) >= size
    title = "Value" if complete else f"Value: first {len(raw):,} of {size:,} bytes"
    return TextBlock(title, value_text(raw, complete=complete))


def _list(client: redis.Redis, key: bytes, size: int, limit: int) -> Section:
    items = client.lrange(key, 0, limit - 1)
    rows = tuple((str(index), cell_text(item)) for index, item in enumerate(items))
    return Table("Items", ("index", "value"), rows, _note(len(rows), size, "items"))


def _zset(client: redis.Redis, key: bytes, size: int, limit: int) -> Section:
    # redis-py types replies loosely (they differ with RESP3, decode_responses...).
    members: list[Any] = client.zrange(key, 0, limit - 1, withscores=True)
    rows = tuple(
        (str(rank), cell_text(member), repr(score)) for rank, (member, score) in enumerate(members)
    )
    note = _note(len(rows), size, "members")
    return Table("Members, lowest score first", ("rank", "member", "score"), rows, note)


def _stream(client: redis.Redis, key: bytes, size: int, limit: int) -> Section:
    entries: list[Any] = client.xrange(key, "-", "+", count=limit) or []
    rows = tuple((cell_text(entry_id), _fields_text(fields)) for entry_id, fields in entries)
    return Table("Entries, oldest first", ("id", "fields"), rows, _note(len(rows), size, "entries"))


def _hash(client: redis.Redis, key: bytes, size: int, limit: int) -> Section:
    fields: dict[Any, Any] = {}
    cursor, calls = 0, 0
    while len(fields) < limit and calls < SUBSCAN_CALLS_MAX:
        batch: Any
        cursor, batch = client.hscan(key, cursor, count=limit)
        fields.update(batch)  # a dict: a field HSCAN returns twice counts once
        calls += 1
        if cursor == 0:
            break
    shown = list(fields.items())[:limit]
    rows = tuple((cell_text(field), cell_text(value)) for field, value in shown)
    return Table("Fields", ("field", "value"), rows, _note(len(rows), size, "fields", "scan"))


def _set(client: redis.Redis, key: bytes, size: int, limit: int) -> Section:
    members: dict[bytes, None] = {}
    cursor, calls = 0, 0
    while len(members) < limit and calls < SUBSCAN_CALLS_MAX:
        cursor, batch = client.sscan(key, cursor, count=limit)
        members.update(dict.fromkeys(as_bytes(member) for member in batch))
        calls += 1
        if cursor == 0:
            break
    rows = tuple((cell_text(member),) for member in list(members)[:limit])
    return Table("Members", ("member",), rows, _note(len(rows), size, "members", "scan"))


PREVIEWS: dict[str, Preview] = {
    "string": _string,
    "list": _list,
    "zset": _zset,
    "stream": _stream,
    "hash": _hash,
    "set": _set,
}


def _note(shown: int, total: int, unit: str, order: str = "") -> str:
    if shown >= total:
        return f"all {count_text(total, unit)}"
    # Hashes and sets have no order: "first" means first in SCAN's order.
    first = "first" if not order else f"first (in {order} order)"
    return f"{first} {count_text(shown)} of {count_text(total, unit)}"


def _fields_text(fields: dict[bytes, bytes]) -> str:
    return truncated(
        " ".join(f"{key_text(name)}={key_text(value)}" for name, value in fields.items())
    )


def _plain(reply: Any) -> str:
    return reply.decode("ascii", errors="replace") if isinstance(reply, bytes) else str(reply)
