"""Fixtures for the demo integration tests of the envdeck sample environment.

Every client reads the port of its service from the same variables compose.yaml uses
(ENVDECK_REDIS_PORT, ENVDECK_POSTGRES_PORT, ENVDECK_QDRANT_PORT, ENVDECK_MOCK_API_PORT),
so the tests follow the stack wherever it was published.

Tests share a live stack (maybe with another run at the same time), so everything they
create carries a fresh uuid, and the fixtures below remove it again afterwards.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import TYPE_CHECKING, Protocol

import httpx
import psycopg
import pytest
import redis
from psycopg.rows import DictRow, dict_row

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

HOST = "127.0.0.1"  # compose.yaml publishes every port on loopback only
TEST_URL_ROOT = "https://envdeck-demo.test"


def _port(variable: str, default: int) -> int:
    return int(os.environ.get(variable) or default)


class WaitUntil(Protocol):
    def __call__(
        self, condition: Callable[[], bool], *, timeout: float = ..., what: str = ...
    ) -> float: ...


def _wait_until(
    condition: Callable[[], bool], *, timeout: float = 5.0, what: str = "condition"
) -> float:
    """Poll `condition` until it holds; return the seconds it took, fail at the deadline."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def wait_until() -> WaitUntil:
    return _wait_until


@pytest.fixture
def uid() -> str:
    """A short unique token for names this test creates."""
    return uuid.uuid4().hex[:12]


# ---------------------------------------------------------------- Redis


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    port = _port("ENVDECK_REDIS_PORT", 6379)
    client = redis.Redis(
        host=HOST,
        port=port,
        decode_responses=True,
        socket_connect_timeout=3,
        socket_timeout=5,
    )
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable on {HOST}:{port}: {exc}")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis, uid: str) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"envdeck-demo:{uid}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}*", count=500))
    if keys:
        redis_client.delete(*keys)


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def pg_conninfo() -> str:
    port = _port("ENVDECK_POSTGRES_PORT", 5432)
    return (
        f"host={HOST} port={port} dbname=test_crawl4ai user=test_user "
        "password=test_password connect_timeout=5 application_name=envdeck-demo-tests"
    )


@pytest.fixture(scope="session")
def pg(pg_conninfo: str) -> Iterator[psycopg.Connection[DictRow]]:
    """One autocommit connection for the session: each statement is its own transaction."""
    try:
        conn = psycopg.connect(pg_conninfo, autocommit=True, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable: {exc}")
    with conn:
        yield conn


@pytest.fixture
def doc_url(pg: psycopg.Connection[DictRow], uid: str) -> Iterator[Callable[[str], str]]:
    """Make document URLs under a root of this test's own; its rows are deleted afterwards."""
    root = f"{TEST_URL_ROOT}/{uid}/"

    def make(path: str) -> str:
        return root + path.lstrip("/")

    yield make
    pg.execute("DELETE FROM documents WHERE url LIKE %s", (root + "%",))


@pytest.fixture
def forget_documents(pg: psycopg.Connection[DictRow]) -> Iterator[list[str]]:
    """URLs appended to this list are deleted from `documents` afterwards."""
    urls: list[str] = []
    yield urls
    if urls:
        pg.execute("DELETE FROM documents WHERE url = ANY(%s)", (urls,))


# ---------------------------------------------------------------- HTTP services


def _http_client(variable: str, default: int, name: str, probe: str) -> Iterator[httpx.Client]:
    base_url = f"http://{HOST}:{_port(variable, default)}"
    client = httpx.Client(base_url=base_url, timeout=10.0)
    try:
        try:
            client.get(probe)
        except httpx.TransportError as exc:
            pytest.fail(f"{name} is not reachable at {base_url}: {exc!r}")
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def mock_api() -> Iterator[httpx.Client]:
    yield from _http_client("ENVDECK_MOCK_API_PORT", 8080, "the mock API", "/health")


@pytest.fixture(scope="session")
def qdrant() -> Iterator[httpx.Client]:
    yield from _http_client("ENVDECK_QDRANT_PORT", 6333, "Qdrant", "/")


@pytest.fixture
def embed(mock_api: httpx.Client) -> Callable[..., list[list[float]]]:
    """Embed texts through the mock API's OpenAI-shaped endpoint."""

    def run(*texts: str, dimensions: int = 384) -> list[list[float]]:
        response = mock_api.post(
            "/v1/embeddings",
            json={"model": "mock-embedding", "input": list(texts), "dimensions": dimensions},
        )
        response.raise_for_status()
        data = sorted(response.json()["data"], key=lambda item: item["index"])
        return [item["embedding"] for item in data]

    return run


@pytest.fixture
def collection(qdrant: httpx.Client, uid: str) -> Iterator[Callable[[int], str]]:
    """Create Qdrant collections (cosine) of this test's own; they are dropped afterwards."""
    created: list[str] = []

    def create(size: int) -> str:
        name = f"envdeck-demo-{uid}-{len(created)}"
        response = qdrant.put(
            f"/collections/{name}", json={"vectors": {"size": size, "distance": "Cosine"}}
        )
        assert response.status_code == 200, response.text
        created.append(name)
        return name

    yield create
    for name in created:
        qdrant.delete(f"/collections/{name}")
