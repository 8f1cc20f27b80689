"""Benchmark of issue #13.1: the data diff of one test on big data.

    .venv/bin/python -m bench.data_diff [--keys N] [--rows N] [--out FILE]

A Redis holding 1,000,000 keys (DEBUG POPULATE) and a PostgreSQL table of 1,000,000 rows
(generate_series), each in a container of its own (`envdeck-bench-diff-*`, the offline
image, free loopback ports, removed at the end whatever happens). For each, the phases
`diff_one_test` runs, timed through the plugin API: the save before the test, the diff's
begin, a "test" changing 10 keys / rows (updates, inserts, deletes), the diff's finish,
then the restore and its fingerprint check. The diff's own cost is begin + finish; the
save and restore are what putting the data back costs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import redis

from envdeck_postgres import PostgresPlugin
from envdeck_redis import RedisPlugin
from tui.plugins.api import ServiceDiff, ServiceTarget, StateRef

IMAGE = "envdeck-base:bookworm"
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def container(name: str, port: int, inner: int, *args: str) -> Iterator[None]:
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, "-p", f"127.0.0.1:{port}:{inner}", *args],
        check=True,
        capture_output=True,
    )
    try:
        yield
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: S110 - not up yet
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up within {timeout:g} s")


def timed(phases: dict[str, float], name: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = work()
    phases[name] = round(time.perf_counter() - started, 3)
    print(f"  {name}: {phases[name]:.3f} s", file=sys.stderr)
    return result


def run_phases(
    plugin: Any, target: ServiceTarget, change: Callable[[], None]
) -> tuple[dict[str, float], ServiceDiff]:
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        ref = StateRef("bench-diff", Path(folder))
        saved = timed(phases, "save", lambda: plugin.save_state(target, ref))
        watch = timed(phases, "begin", lambda: plugin.begin_diff(target, ref))
        timed(phases, "test", change)
        diff = timed(phases, "finish", lambda: watch.finish(20))
        timed(phases, "close", watch.close)
        timed(phases, "restore", lambda: plugin.restore_state(target, ref))
        same = timed(phases, "check", lambda: plugin.fingerprint(target) == saved.fingerprint)
        if not same:
            raise SystemExit("the data differs after the restore")
        plugin.delete_state(target, ref)
    phases["diff (begin + finish)"] = round(phases["begin"] + phases["finish"], 3)
    return phases, diff


def redis_case(keys: int) -> dict[str, Any]:
    port = free_port()
    name = f"envdeck-bench-diff-redis-{os.getpid()}"
    args = [
        IMAGE, "redis-server", "--bind", "0.0.0.0", "--protected-mode", "no",  # noqa: S104 - in its container
        "--save", "", "--enable-debug-command", "yes",
    ]  # fmt: skip
    with container(name, port, 6379, *args):
        client = redis.Redis(port=port)
        wait_for(lambda: bool(client.ping()), "Redis")
        client.execute_command("DEBUG", "POPULATE", keys, "key", 16)  # type: ignore[no-untyped-call]
        target = ServiceTarget("cache", IMAGE, "127.0.0.1", {6379: port}, {}, timeout=30.0)

        def change() -> None:
            for i in range(5):
                client.set(f"key:{i}", "changed")
            for i in range(3):
                client.set(f"new:{i}", "added")
            client.delete("key:100", "key:101")

        phases, diff = run_phases(RedisPlugin(), target, change)
    counts = {group.title: group.count for group in diff.groups}
    return {"keys": keys, "seconds": phases, "changes": counts}


def postgres_case(rows: int) -> dict[str, Any]:
    port = free_port()
    name = f"envdeck-bench-diff-postgres-{os.getpid()}"
    args = [
        "-e", "POSTGRES_PASSWORD=bench", "-v", f"{REPO / 'compose' / 'postgres'}:/envdeck:ro",
        "--entrypoint", "bash", IMAGE, "/envdeck/postgres-entrypoint.sh",
    ]  # fmt: skip
    dsn = f"host=127.0.0.1 port={port} user=postgres password=bench dbname=postgres"
    with container(name, port, 5432, *args):
        wait_for(lambda: _connects(dsn), "PostgreSQL")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, name text, n int)")
            conn.execute(
                "INSERT INTO items SELECT g, 'item ' || g, g %% 1000 FROM generate_series(1, %s) g",
                (rows,),
            )
            conn.execute("VACUUM ANALYZE items")
        env = {"POSTGRES_PASSWORD": "bench", "POSTGRES_DB": "postgres"}
        target = ServiceTarget("db", IMAGE, "127.0.0.1", {5432: port}, env, timeout=30.0)

        def change() -> None:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("UPDATE items SET n = -1 WHERE id IN (10, 200000, 500000, 999999)")
                conn.execute(
                    "INSERT INTO items VALUES (%s, 'a', 1), (%s, 'b', 2), (%s, 'c', 3)",
                    (rows + 1, rows + 2, rows + 3),
                )
                conn.execute("DELETE FROM items WHERE id IN (3, 400000, 750000)")

        phases, diff = run_phases(PostgresPlugin(), target, change)
    counts = {group.title: group.count for group in diff.groups}
    return {"rows": rows, "seconds": phases, "changes": counts}


def _connects(dsn: str) -> bool:
    with psycopg.connect(dsn):
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None)
    options = parser.parse_args()
    load_before = os.getloadavg()
    print("Redis:", file=sys.stderr)
    redis_result = redis_case(options.keys)
    print("PostgreSQL:", file=sys.stderr)
    postgres_result = postgres_case(options.rows)
    result = {
        "date": date.today().isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
        "uptime": subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "redis": redis_result,
        "postgres": postgres_result,
    }
    out = options.out or REPO / "bench" / "results" / f"data-diff-{result['date']}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
