"""Independent reads of the sample environment's data, to compare before and after a
reset without trusting the plugins' own fingerprints."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import redis
from psycopg import sql

from tests.conftest import SampleEnv

PG = {"user": "test_user", "password": "test_password", "dbname": "test_crawl4ai"}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def redis_client(env: SampleEnv) -> redis.Redis:
    return redis.Redis(port=env.port("redis", 6379), socket_timeout=5)


def pg_connect(env: SampleEnv, dbname: str = "test_crawl4ai") -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="127.0.0.1",
        port=env.port("postgres", 5432),
        connect_timeout=5,
        user=PG["user"],
        password=PG["password"],
        dbname=dbname,
    )


def qdrant(env: SampleEnv) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{env.port('qdrant', 6333)}", timeout=10)


def redis_data(env: SampleEnv) -> dict[bytes, tuple[str, Any, bool]]:
    """Every key of db 0: its type, value, and whether it expires."""
    client = redis_client(env)
    data: dict[bytes, tuple[str, Any, bool]] = {}
    for key in client.scan_iter(count=500):
        kind = client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        value: Any
        if kind == "string":
            value = client.get(key)
        elif kind == "hash":
            value = sorted(client.hgetall(key).items())
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(client.smembers(key))
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        else:
            value = client.dump(key)
        data[key] = (kind, value, client.pttl(key) > 0)
    client.close()
    return data


def postgres_data(env: SampleEnv) -> dict[str, Any]:
    """Databases, and every table of every schema with all its rows, in order."""
    with pg_connect(env) as connection:
        databases = [
            row[0]
            for row in connection.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1"
            )
        ]
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        rows = {}
        for schema, table in tables:
            query = sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(schema, table))
            rows[f"{schema}.{table}"] = connection.execute(query).fetchall()
        sequence = connection.execute("SELECT last_value FROM documents_id_seq").fetchone()
    return {"databases": databases, "rows": rows, "documents_id_seq": sequence}


def qdrant_data(env: SampleEnv) -> dict[str, Any]:
    """Every collection's vector config and all its points."""
    with qdrant(env) as client:
        names = sorted(
            c["name"] for c in client.get("/collections").json()["result"]["collections"]
        )
        data: dict[str, Any] = {}
        for name in names:
            info = client.get(f"/collections/{name}").json()["result"]
            points = client.post(
                f"/collections/{name}/points/scroll",
                json={"limit": 10_000, "with_vectors": True, "with_payload": True},
            ).json()["result"]["points"]
            data[name] = {
                "vectors": info["config"]["params"]["vectors"],
                "points": sorted((str(p["id"]), p["vector"], p["payload"]) for p in points),
            }
    return data


def everything(env: SampleEnv) -> dict[str, Any]:
    return {"redis": redis_data(env), "postgres": postgres_data(env), "qdrant": qdrant_data(env)}


def dirty_everything(env: SampleEnv, tag: str) -> None:
    """Change every service in every way a test run could."""
    client = redis_client(env)
    client.set(f"dirty:{tag}", "x")
    client.hset(f"dirty:hash:{tag}", mapping={"a": "1"})
    client.expire(f"dirty:{tag}", 3600)
    for key in list(client.scan_iter(match="config:*")):
        client.delete(key)
    client.close()
    with pg_connect(env) as connection:
        connection.execute(
            "INSERT INTO documents (url, title, content, content_hash) "
            "VALUES (%s, 'dirty', 'dirty', md5('dirty'))",
            (f"https://dirty.example/{tag}",),
        )
        connection.execute("UPDATE documents SET title = 'changed' WHERE id = 1")
        connection.execute("DELETE FROM documents WHERE id = 2")
        connection.execute(sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(f"t_{tag}")))
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(f"s_{tag}")))
    with pg_connect(env) as connection:
        connection.autocommit = True
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(f"db_{tag}")))
    with qdrant(env) as http:
        name = f"dirty_{tag}"
        http.put(f"/collections/{name}", json={"vectors": {"size": 2, "distance": "Dot"}})
        http.put(
            f"/collections/{name}/points?wait=true",
            json={"points": [{"id": 1, "vector": [1.0, 0.0], "payload": {"tag": tag}}]},
        ).raise_for_status()
        collections = http.get("/collections").json()["result"]["collections"]
        for collection in collections:
            if collection["name"].startswith("seed_"):
                http.put(
                    f"/collections/{collection['name']}/points?wait=true",
                    json={"points": [{"id": 99, "vector": [0.5, 0.5, 0.5, 0.5], "payload": {}}]},
                ).raise_for_status()
