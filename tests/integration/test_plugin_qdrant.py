"""The Qdrant plugin against the sample stack's real Qdrant service (the stand-in offline).

Other tests use the same server at the same time: every collection here has a uuid name
and is deleted at the end. Failure modes the server cannot show (401, missing routes,
silence) come from tiny local servers started by the tests themselves.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from envdeck_qdrant import QdrantPlugin
from envdeck_qdrant.views import BIG_COLLECTION
from tests.conftest import SampleEnv
from tests.integration.conftest import free_port
from tui.core.plugin_registry import PluginRegistry, build_target
from tui.plugins.api import (
    InspectorError,
    KeyValues,
    Problem,
    ServiceTarget,
    Table,
    TextBlock,
    ViewRequest,
    ViewResult,
)

HOSTILE = "\x1b]0;x\x07 [bold]not markup[/bold] \x9b31m ünïcødé 🚀"

# ---------------------------------------------------------------- helpers


def section(result: ViewResult, title_start: str) -> Any:
    return next(s for s in result.sections if s.title.startswith(title_start))


def table(result: ViewResult, title_start: str) -> Table:
    found = section(result, title_start)
    assert isinstance(found, Table)
    return found


def values(result: ViewResult, title_start: str) -> dict[str, str]:
    found = section(result, title_start)
    assert isinstance(found, KeyValues)
    return dict(found.items)


def no_control_characters(text: str) -> bool:
    return not any((ord(c) < 0x20 and c != "\t") or 0x7F <= ord(c) <= 0x9F for c in text)


def target_at(port: int, timeout: float = 10.0, **options: Any) -> ServiceTarget:
    return ServiceTarget(
        "qdrant", "qdrant/qdrant:v1.12.5", "127.0.0.1", {6333: port}, {}, options, timeout
    )


@pytest.fixture
def qdrant(sample_env: SampleEnv) -> ServiceTarget:
    return target_at(sample_env.port("qdrant", 6333))


@pytest.fixture
def rest(qdrant: ServiceTarget) -> Iterator[httpx.Client]:
    """The test's own REST client, to set up what the plugin should then see."""
    with httpx.Client(
        base_url=f"http://127.0.0.1:{qdrant.ports[6333]}", timeout=30, trust_env=False
    ) as client:
        yield client


@pytest.fixture
def new_collection(rest: httpx.Client) -> Iterator[Callable[[dict[str, Any]], str]]:
    """Creates collections with unique names; deletes them whatever the test did."""
    created: list[str] = []

    def create(vectors: dict[str, Any]) -> str:
        name = f"envdeck-test-{uuid.uuid4().hex}"
        response = rest.put(f"/collections/{name}", json={"vectors": vectors})
        assert response.status_code == 200, response.text
        created.append(name)
        return name

    yield create
    for name in created:
        rest.delete(f"/collections/{name}")


def upsert(rest: httpx.Client, name: str, points: list[dict[str, Any]]) -> None:
    response = rest.put(f"/collections/{name}/points?wait=true", json={"points": points})
    assert response.status_code == 200, response.text


def unit_points(
    ids: list[int | str], size: int, payload: dict[str, Any] | None = None
) -> list[Any]:
    return [{"id": i, "vector": [1.0] + [0.0] * (size - 1), "payload": payload} for i in ids]


# ---------------------------------------------------------------- local fake servers


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeServer:
    """Answers `routes[(method, path)] = (status, body)`; records every request."""

    routes: dict[tuple[str, str], tuple[int, bytes]]
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0


@pytest.fixture
def fake_server() -> Iterator[Callable[[dict[tuple[str, str], tuple[int, bytes]]], FakeServer]]:
    servers: list[ThreadingHTTPServer] = []

    def start(routes: dict[tuple[str, str], tuple[int, bytes]]) -> FakeServer:
        fake = FakeServer(routes)

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
                status, reply = fake.routes.get((self.command, self.path), (404, b""))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        fake.port = server.server_address[1]
        return fake

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def envelope(result: Any) -> bytes:
    return json.dumps({"result": result, "status": "ok", "time": 0.0}).encode()


# ---------------------------------------------------------------- the sample's Qdrant


def test_the_registry_picks_the_qdrant_plugin_for_the_sample_service(
    sample_env: SampleEnv,
) -> None:
    spec = sample_env.environment.project.services["qdrant"]
    plugin = PluginRegistry().for_target(build_target(spec, None))
    assert isinstance(plugin, QdrantPlugin)


def test_overview_lists_collections_with_counts_vector_shapes_and_version(
    qdrant: ServiceTarget, rest: httpx.Client, new_collection: Callable[[dict[str, Any]], str]
) -> None:
    single = new_collection({"size": 4, "distance": "Cosine"})
    upsert(rest, single, unit_points(list(range(1, 8)), 4))
    named = new_collection(
        {"text": {"size": 4, "distance": "Cosine"}, "image": {"size": 8, "distance": "Dot"}}
    )
    upsert(
        rest,
        named,
        [{"id": i, "vector": {"text": [1.0, 0, 0, 0], "image": [0.5] * 8}} for i in (1, 2, 3)],
    )

    # Other tests' collections may be there too: ask for all of them.
    result = QdrantPlugin().show(qdrant, ViewRequest("overview", limit=100_000))

    server = values(result, "Qdrant")
    assert server["version"][:1].isdigit()
    collections = table(result, "Collections")
    rows = {row[0]: dict(zip(collections.columns, row, strict=True)) for row in collections.rows}
    assert rows[single]["points"] == "7"
    assert rows[single]["vectors"] == "4 Cosine"
    assert rows[single]["status"] == "green"
    assert rows[named]["points"] == "3"
    assert rows[named]["vectors"] == "image: 8 Dot; text: 4 Cosine"


def test_points_view_pages_through_int_and_uuid_ids(
    qdrant: ServiceTarget, rest: httpx.Client, new_collection: Callable[[dict[str, Any]], str]
) -> None:
    name = new_collection({"size": 2, "distance": "Cosine"})
    uuids: list[int | str] = [str(uuid.uuid4()) for _ in range(50)]
    upsert(rest, name, unit_points([*range(1, 201), *uuids], 2, {"n": 1}))

    plugin = QdrantPlugin()
    pages: list[ViewResult] = []
    cursor: str | None = None
    while True:
        page = plugin.show(qdrant, ViewRequest("points", name, cursor=cursor, limit=100))
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None or len(pages) > 5:
            break

    assert [len(table(page, "Points").rows) for page in pages] == [100, 100, 50]
    ids = [row[0] for page in pages for row in table(page, "Points").rows]
    assert len(set(ids)) == 250
    assert set(ids) == {str(i) for i in range(1, 201)} | {str(u) for u in uuids}
    assert pages[-1].next_cursor is None
    assert table(pages[0], "Points").columns == ("id", "payload")  # no vectors by default


def test_points_view_shows_vectors_when_asked(
    qdrant: ServiceTarget, rest: httpx.Client, new_collection: Callable[[dict[str, Any]], str]
) -> None:
    name = new_collection({"size": 3, "distance": "Euclid"})
    upsert(rest, name, [{"id": 1, "vector": [0.25, 0.5, 0.75]}])

    result = QdrantPlugin().show(qdrant, ViewRequest("points", f"{name} +vectors"))

    points = table(result, "Points")
    assert points.columns == ("id", "payload", "vector")
    assert points.rows[0][2].startswith("(3) [0.25,0.5,0.75]")


def test_hostile_payloads_come_back_as_safe_plain_strings(
    qdrant: ServiceTarget, rest: httpx.Client, new_collection: Callable[[dict[str, Any]], str]
) -> None:
    name = new_collection({"size": 2, "distance": "Dot"})
    upsert(rest, name, unit_points([1], 2, {"text": HOSTILE, HOSTILE: ["[red]x[/red]"]}))

    result = QdrantPlugin().show(qdrant, ViewRequest("points", name))

    (row,) = table(result, "Points").rows
    payload = row[1]
    assert all(isinstance(cell, str) for cell in row)
    assert no_control_characters(payload)
    assert "[bold]not markup[/bold]" in payload  # markup stays literal text
    assert "ünïcødé 🚀" in payload
    assert "\\u001b]0;x\\u0007" in payload  # escapes stay visible, never raw


def test_collection_view_shows_counts_vectors_payload_schema_and_config(
    qdrant: ServiceTarget, rest: httpx.Client, new_collection: Callable[[dict[str, Any]], str]
) -> None:
    name = new_collection({"size": 4, "distance": "Cosine"})
    upsert(rest, name, unit_points(list(range(12)), 4, {"city": "Berlin"}))
    index = rest.put(
        f"/collections/{name}/index?wait=true",
        json={"field_name": "city", "field_schema": "keyword"},
    )
    assert index.status_code == 200, index.text

    result = QdrantPlugin().show(qdrant, ViewRequest("collection", name))

    summary = values(result, "Collection")
    assert summary["points (exact count)"] == "12"
    vectors = table(result, "Vectors")
    assert vectors.rows[0][:3] == ("(unnamed)", "4", "Cosine")
    schema = table(result, "Payload schema")
    assert schema.rows[0][:3] == ("city", "keyword", "12")
    assert "hnsw_config.m" in values(result, "Config")


def test_a_big_collection_is_counted_approximately(
    qdrant: ServiceTarget, rest: httpx.Client, new_collection: Callable[[dict[str, Any]], str]
) -> None:
    name = new_collection({"size": 2, "distance": "Dot"})
    upsert(rest, name, unit_points(list(range(BIG_COLLECTION + 1)), 2))

    result = QdrantPlugin().show(qdrant, ViewRequest("collection", name))

    assert values(result, "Collection")["points (approximate count)"] == f"{BIG_COLLECTION + 1:,}"


def test_snapshots_view_lists_a_collections_snapshots(
    qdrant: ServiceTarget, rest: httpx.Client, new_collection: Callable[[dict[str, Any]], str]
) -> None:
    name = new_collection({"size": 2, "distance": "Dot"})
    plugin = QdrantPlugin()
    assert table(plugin.show(qdrant, ViewRequest("snapshots", name)), "Snapshots").rows == ()
    created = rest.post(f"/collections/{name}/snapshots?wait=true")
    assert created.status_code == 200, created.text

    rows = table(plugin.show(qdrant, ViewRequest("snapshots", name)), "Snapshots").rows

    snapshot = created.json()["result"]["name"]
    rest.delete(f"/collections/{name}/snapshots/{snapshot}")  # tidy: not every server drops it
    assert [row[0] for row in rows] == [snapshot]


def test_a_missing_collection_is_an_error_with_qdrants_own_message(qdrant: ServiceTarget) -> None:
    missing = f"envdeck-missing-{uuid.uuid4().hex}"
    with pytest.raises(InspectorError) as caught:
        QdrantPlugin().show(qdrant, ViewRequest("points", missing))
    assert caught.value.problem is Problem.ERROR
    assert f"Collection `{missing}` doesn't exist" in str(caught.value)


def test_query_views_without_a_name_list_the_collections(
    qdrant: ServiceTarget, new_collection: Callable[[dict[str, Any]], str]
) -> None:
    name = new_collection({"size": 2, "distance": "Dot"})
    result = QdrantPlugin().show(qdrant, ViewRequest("collection", ""))
    block = section(result, "Which collection?")
    assert isinstance(block, TextBlock)
    assert name in block.text


def test_delete_collection_action_deletes_it(
    qdrant: ServiceTarget, rest: httpx.Client, new_collection: Callable[[dict[str, Any]], str]
) -> None:
    name = new_collection({"size": 2, "distance": "Dot"})
    plugin = QdrantPlugin()
    (action,) = plugin.actions(qdrant)
    assert (action.id, action.destructive, action.params) == (
        "delete_collection",
        True,
        ("collection",),
    )

    message = plugin.run_action(qdrant, "delete_collection", {"collection": name})

    assert name in message
    assert rest.get(f"/collections/{name}/exists").json()["result"]["exists"] is False
    with pytest.raises(InspectorError, match="no collection"):
        plugin.run_action(qdrant, "delete_collection", {"collection": name})


# ---------------------------------------------------------------- what the server cannot show


def test_the_api_key_is_sent_and_a_401_is_an_auth_problem(
    fake_server: Callable[[dict[tuple[str, str], tuple[int, bytes]]], FakeServer],
) -> None:
    unauthorized = b'{"status":{"error":"Must provide an API key"}}'
    fake = fake_server({("GET", "/"): (401, unauthorized)})
    plugin = QdrantPlugin()

    with pytest.raises(InspectorError) as with_option:
        plugin.show(target_at(fake.port, api_key="from-config"), ViewRequest("overview"))
    env_target = ServiceTarget(
        "vectors",
        "qdrant/qdrant",
        "127.0.0.1",
        {6333: fake.port},
        {"QDRANT__SERVICE__API_KEY": "k2"},
    )
    with pytest.raises(InspectorError):
        plugin.show(env_target, ViewRequest("overview"))
    with pytest.raises(InspectorError) as without_key:
        plugin.show(target_at(fake.port), ViewRequest("overview"))

    sent = [request.headers.get("api-key") for request in fake.requests]
    assert sent == ["from-config", "k2", None]
    assert with_option.value.problem is Problem.AUTH
    assert without_key.value.problem is Problem.AUTH
    assert str(without_key.value) == (
        "Qdrant wants an API key: set api_key in [tool.envdeck.services.qdrant]"
    )


def test_a_big_collection_is_counted_with_exact_false(
    fake_server: Callable[[dict[tuple[str, str], tuple[int, bytes]]], FakeServer],
) -> None:
    info = {"status": "green", "points_count": 5_000_000, "config": {"params": {}}}
    fake = fake_server(
        {
            ("GET", "/collections/big"): (200, envelope(info)),
            ("POST", "/collections/big/points/count"): (200, envelope({"count": 4_999_000})),
        }
    )

    result = QdrantPlugin().show(target_at(fake.port), ViewRequest("collection", "big"))

    (count,) = [r for r in fake.requests if r.path.endswith("/count")]
    assert count.body == {"exact": False}
    assert values(result, "Collection")["points (approximate count)"] == "4,999,000"


def test_a_server_without_snapshot_routes_says_so(
    fake_server: Callable[[dict[tuple[str, str], tuple[int, bytes]]], FakeServer],
) -> None:
    fake = fake_server({})  # every route a bare 404, like actix for a route it lacks

    result = QdrantPlugin().show(target_at(fake.port), ViewRequest("snapshots", "docs"))

    assert result.sections == (TextBlock("Snapshots", "snapshots not supported by this server"),)


def test_a_port_nobody_listens_on_is_down() -> None:
    with pytest.raises(InspectorError) as caught:
        QdrantPlugin().show(target_at(free_port()), ViewRequest("overview"))
    assert caught.value.problem is Problem.DOWN


def test_a_server_that_never_answers_times_out_within_the_timeout(silent_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(InspectorError) as caught:
        QdrantPlugin().show(target_at(silent_port, timeout=0.5), ViewRequest("overview"))
    assert caught.value.problem is Problem.TIMEOUT
    assert time.monotonic() - started < 2.0
