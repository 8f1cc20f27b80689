"""The server at a glance (INFO) and its slow log (SLOWLOG GET)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import redis
from redis.exceptions import ResponseError

from envdeck_redis.display import (
    bytes_text,
    cell_text,
    count_text,
    duration_text,
    micros_text,
    percent_text,
)
from tui.plugins.api import KeyValues, Section, Table

SLOWLOG_ENTRIES = 50


def overview_sections(client: redis.Redis, db: int) -> tuple[Section, ...]:
    info: dict[str, Any] = client.info()
    return (
        _server(info),
        _memory(info),
        _activity(info),
        _keyspace(info, db),
    )


def _server(info: Mapping[str, Any]) -> KeyValues:
    # Valkey 8 names itself in server_name; Redis and KeyDB do not.
    name = str(info.get("server_name") or "redis")
    version = info.get("valkey_version") or info.get("redis_version", "?")
    mode = f"{info.get('redis_mode', 'standalone')}, {info.get('role', '?')}"
    if info.get("role") == "slave":
        mode += f" of {info.get('master_host')}:{info.get('master_port')}"
    clients = count_text(int(info.get("connected_clients", 0)))
    if info.get("blocked_clients"):
        clients += f" ({info['blocked_clients']} blocked)"
    return KeyValues(
        "Server",
        (
            ("server", f"{name} {version}"),
            ("mode", mode),
            ("uptime", duration_text(float(info.get("uptime_in_seconds", 0)))),
            ("connected clients", clients),
            ("ops/sec", count_text(int(info.get("instantaneous_ops_per_sec", 0)))),
        ),
    )


def _memory(info: Mapping[str, Any]) -> KeyValues:
    maxmemory = int(info.get("maxmemory", 0))
    return KeyValues(
        "Memory",
        (
            ("used", bytes_text(info.get("used_memory"))),
            ("peak", bytes_text(info.get("used_memory_peak"))),
            ("maxmemory", bytes_text(maxmemory) if maxmemory else "no limit"),
            ("eviction policy", str(info.get("maxmemory_policy", "?"))),
            ("fragmentation", str(info.get("mem_fragmentation_ratio", "?"))),
        ),
    )


def _activity(info: Mapping[str, Any]) -> KeyValues:
    hits, misses = int(info.get("keyspace_hits", 0)), int(info.get("keyspace_misses", 0))
    hit_rate = percent_text(hits, hits + misses)
    return KeyValues(
        "Keys",
        (
            ("hit rate", f"{hit_rate} ({count_text(hits)} hits, {count_text(misses)} misses)"),
            ("evicted keys", count_text(int(info.get("evicted_keys", 0)))),
            ("expired keys", count_text(int(info.get("expired_keys", 0)))),
        ),
    )


def _keyspace(info: Mapping[str, Any], db: int) -> Table:
    databases = {
        int(name[2:]): stats
        for name, stats in info.items()
        if name.startswith("db") and name[2:].isdigit() and isinstance(stats, Mapping)
    }
    rows = tuple(
        (
            str(number) + (" (envdeck's)" if number == db else ""),
            count_text(int(stats.get("keys", 0))),
            count_text(int(stats.get("expires", 0))),
            duration_text(int(stats.get("avg_ttl", 0)) / 1000) if stats.get("avg_ttl") else "-",
        )
        for number, stats in sorted(databases.items())
    )
    note = "" if db in databases else f"db {db}, which envdeck browses, is empty"
    return Table("Keyspace", ("db", "keys", "with expiry", "avg TTL"), rows, note)


def slowlog_sections(client: redis.Redis) -> tuple[Section, ...]:
    entries: list[dict[str, Any]] = client.slowlog_get(SLOWLOG_ENTRIES)
    total = int(client.slowlog_len())
    rows = tuple(_slow_entry(entry) for entry in entries)
    note = f"latest {len(rows)} of {count_text(total)} entries"
    threshold = _config(client, "slowlog-log-slower-than")
    if threshold is not None:
        note += f" · logs commands slower than {micros_text(int(threshold))}"
    columns = ("id", "when", "duration", "command", "client")
    return (Table("Slow log, newest first", columns, rows, note),)


def _slow_entry(entry: Mapping[str, Any]) -> tuple[str, ...]:
    client = cell_text(entry.get("client_address") or b"")
    if entry.get("client_name"):
        client += f" ({cell_text(entry['client_name'])})"
    return (
        str(entry["id"]),
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(entry["start_time"]))),
        micros_text(int(entry["duration"])),
        cell_text(entry.get("command") or b""),
        client,
    )


def _config(client: redis.Redis, name: str) -> str | None:
    """A setting from CONFIG GET, or None where CONFIG is renamed or forbidden."""
    try:
        values: dict[Any, Any] = client.config_get(name)
    except ResponseError:
        return None
    value = values.get(name.encode(), values.get(name))
    return value.decode() if isinstance(value, bytes) else value
