"""The offline Qdrant stand-in (compose/qdrant-standin) driven by the official qdrant-client.

The offline sample environment runs this server in place of Qdrant, so these tests hold it
to what the real client sends and expects: routes, response shapes, status codes, filter
semantics and scores (recomputed here in plain Python, independently of the server). The
server stores and scores through Qdrant's engine (qdrant-edge-py), in float32 as Qdrant
does: vectors read back are their float32 values, scores agree to about 1e-7.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import random
import socket
import struct
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

SERVER = Path(__file__).resolve().parents[2] / "compose" / "qdrant-standin" / "server.py"
STARTUP_TIMEOUT_S = 10.0
DIM = 4


@dataclass
class Standin:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_standin(storage: Path, log_path: Path, *extra: str) -> Standin:
    """Run server.py as the container does and wait, with a deadline, for /healthz."""
    port = _free_port()
    command = [sys.executable, str(SERVER), "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [*command, "--storage", str(storage), *extra],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},  # no __pycache__ in compose/
        )
    standin = Standin(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"stand-in exited with {process.returncode}:\n{standin.log()}")
        if _healthy(standin.url):
            return standin
        time.sleep(0.02)  # poll interval, bounded by the deadline
    stop_standin(standin)
    pytest.fail(f"stand-in not healthy within {STARTUP_TIMEOUT_S}s:\n{standin.log()}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1.0) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError):
        return False


def stop_standin(standin: Standin) -> None:
    standin.process.terminate()
    try:
        standin.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        standin.process.kill()
        standin.process.wait()


def connect(standin: Standin) -> QdrantClient:
    return QdrantClient(url=standin.url, prefer_grpc=False, check_compatibility=False, timeout=5)


# One server for the module (each test uses its own collections): starting Python and
# qdrant-client per test would multiply the runtime.
@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standin]:
    folder = tmp_path_factory.mktemp("standin")
    server = start_standin(folder / "storage", folder / "standin.log")
    try:
        yield server
    finally:
        stop_standin(server)


@pytest.fixture(scope="module")
def client(standin: Standin) -> Iterator[QdrantClient]:
    qdrant = connect(standin)
    try:
        yield qdrant
    finally:
        qdrant.close()


@pytest.fixture(scope="module")
def http(standin: Standin) -> Iterator[httpx.Client]:
    """Raw REST, for what qdrant-client hides (status lines, routes it no longer calls)."""
    with httpx.Client(base_url=standin.url, timeout=5) as raw:
        yield raw


# ---------------------------------------------------------------- expectations


def f32_approx(expected: Any) -> Any:
    """Scores as Qdrant computes them, in float32 arithmetic."""
    return pytest.approx(expected, rel=1e-6, abs=1e-6)


def as_stored(vector: list[float]) -> list[float]:
    """The vector as Qdrant stores it: each number rounded to float32."""
    return list(struct.unpack(f"<{len(vector)}f", struct.pack(f"<{len(vector)}f", *vector)))


def _normalised(vector: list[float]) -> list[float]:
    length = math.sqrt(sum(x * x for x in vector))
    return [x / length for x in vector]


def expected_score(distance: models.Distance, query: list[float], stored: list[float]) -> float:
    if distance == models.Distance.COSINE:
        return sum(a * b for a, b in zip(_normalised(query), _normalised(stored), strict=True))
    if distance == models.Distance.DOT:
        return sum(a * b for a, b in zip(query, stored, strict=True))
    if distance == models.Distance.EUCLID:
        return math.sqrt(sum((a - b) ** 2 for a, b in zip(query, stored, strict=True)))
    return sum(abs(a - b) for a, b in zip(query, stored, strict=True))


def expected_ranking(
    distance: models.Distance, query: list[float], vectors: dict[int, list[float]]
) -> list[tuple[int, float]]:
    """(id, score), best first: similarity descending, distance ascending."""
    scored = [(pid, expected_score(distance, query, v)) for pid, v in vectors.items()]
    similarity = distance in (models.Distance.COSINE, models.Distance.DOT)
    return sorted(scored, key=lambda item: -item[1] if similarity else item[1])


def sample_vectors(count: int, seed: int = 7) -> dict[int, list[float]]:
    rng = random.Random(seed)
    return {pid: [rng.uniform(-1.0, 1.0) for _ in range(DIM)] for pid in range(1, count + 1)}


def upsert_sample(
    client: QdrantClient, name: str, distance: models.Distance, count: int = 12
) -> dict[int, list[float]]:
    vectors = sample_vectors(count)
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=distance))
    client.upsert(
        name,
        points=[
            models.PointStruct(id=pid, vector=v, payload={"group": "odd" if pid % 2 else "even"})
            for pid, v in vectors.items()
        ],
    )
    return vectors


def ids_of(points: list[Any]) -> list[Any]:
    return [point.id for point in points]


# ---------------------------------------------------------------- the engine


def test_tests_and_the_offline_image_run_the_same_engine() -> None:
    # The image is built from requirements.txt, the tests run the dev dependency: one pin.
    standin = SERVER.parent
    (pin,) = [
        line.strip()
        for line in (standin / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pyproject = tomllib.loads((standin.parents[1] / "pyproject.toml").read_text())
    assert pin in pyproject["dependency-groups"]["dev"]
    assert pin == f"qdrant-edge-py=={importlib.metadata.version('qdrant-edge-py')}"


# ---------------------------------------------------------------- service and collections


def test_service_endpoints_answer_like_qdrant(http: httpx.Client) -> None:
    root = http.get("/")
    assert root.json() == {"title": "qdrant - vector search engine", "version": "1.12.5"}
    for probe, text in [
        ("healthz", "healthz check passed"),
        ("livez", "healthz check passed"),
        ("readyz", "all shards are ready"),
    ]:
        response = http.get(f"/{probe}")
        assert (response.status_code, response.text) == (200, text)
        assert response.headers["content-type"].startswith("text/plain")


def test_collection_lifecycle(client: QdrantClient) -> None:
    assert client.create_collection(
        "docs", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
    )
    assert "docs" in [c.name for c in client.get_collections().collections]
    assert client.collection_exists("docs")
    assert not client.collection_exists("other")

    info = client.get_collection("docs")
    assert info.status == models.CollectionStatus.GREEN
    assert info.optimizer_status == models.OptimizersStatusOneOf.OK
    assert info.points_count == 0
    assert info.config.params.vectors == models.VectorParams(
        size=DIM, distance=models.Distance.COSINE
    )
    assert info.payload_schema == {}

    with pytest.raises(UnexpectedResponse) as exists:
        client.create_collection(
            "docs", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT)
        )
    assert exists.value.status_code == 409
    assert "already exists" in exists.value.content.decode()

    assert client.delete_collection("docs")
    assert not client.collection_exists("docs")
    assert not client.delete_collection("docs")  # Qdrant answers false, not 404


def test_named_vectors_config_and_output(client: QdrantClient) -> None:
    client.create_collection(
        "multi",
        vectors_config={
            "text": models.VectorParams(size=3, distance=models.Distance.COSINE),
            "image": models.VectorParams(size=2, distance=models.Distance.EUCLID),
        },
    )
    vectors = client.get_collection("multi").config.params.vectors
    assert isinstance(vectors, dict)
    assert vectors["text"].size == 3
    assert vectors["image"].distance == models.Distance.EUCLID

    client.upsert(
        "multi",
        points=[models.PointStruct(id=1, vector={"text": [3.0, 0.0, 4.0], "image": [1.0, 2.0]})],
    )
    (point,) = client.retrieve("multi", ids=[1], with_vectors=True)
    assert point.vector == {"text": pytest.approx([0.6, 0.0, 0.8]), "image": [1.0, 2.0]}
    (only_image,) = client.retrieve("multi", ids=[1], with_vectors=["image"])
    assert only_image.vector == {"image": [1.0, 2.0]}


# ---------------------------------------------------------------- points


def test_upsert_count_scroll_and_paging(client: QdrantClient) -> None:
    vectors = upsert_sample(client, "pages", models.Distance.COSINE, count=25)
    assert client.get_collection("pages").points_count == 25
    assert client.count("pages", exact=True).count == 25
    odd = models.Filter(
        must=[models.FieldCondition(key="group", match=models.MatchValue(value="odd"))]
    )
    assert client.count("pages", count_filter=odd).count == 13

    seen: list[Any] = []
    offset: Any = None
    pages = 0
    while True:
        records, offset = client.scroll("pages", limit=10, offset=offset)
        seen.extend(ids_of(records))
        pages += 1
        if offset is None:
            break
    assert (seen, pages) == (list(range(1, 26)), 3)

    records, next_offset = client.scroll("pages", scroll_filter=odd, limit=5, with_vectors=True)
    assert ids_of(records) == [1, 3, 5, 7, 9]
    assert next_offset == 11
    assert records[0].payload == {"group": "odd"}
    # Qdrant keeps Cosine vectors normalised and returns them so.
    assert records[0].vector == pytest.approx(_normalised(vectors[1]))


def test_uuid_ids_are_canonical_and_sort_after_integers(client: QdrantClient) -> None:
    client.create_collection(
        "ids", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    spelled = "6B0D1C4E-8F4B-4A53-9C3A-0E2B5F7A9D11"
    canonical = str(uuid.UUID(spelled))
    client.upsert(
        "ids",
        points=models.Batch(ids=[spelled, 7], vectors=[[1.0, 0.0], [0.0, 1.0]]),
    )
    records, _ = client.scroll("ids")
    assert ids_of(records) == [7, canonical]
    (point,) = client.retrieve("ids", ids=[canonical])
    assert point.id == canonical
    assert point.payload == {}


def test_retrieve_and_get_point(client: QdrantClient, http: httpx.Client) -> None:
    vectors = upsert_sample(client, "get", models.Distance.DOT, count=3)
    records = client.retrieve("get", ids=[3, 99, 1])
    assert ids_of(records) == [3, 1]  # missing ids are skipped
    assert records[0].vector is None

    response = http.get("/collections/get/points/2")
    assert response.status_code == 200
    assert response.json()["result"] == {
        "id": 2,
        "payload": {"group": "even"},
        "vector": as_stored(vectors[2]),
    }
    missing = http.get("/collections/get/points/42")
    assert missing.status_code == 404
    assert missing.json()["status"] == {"error": "Not found: No point with id 42 found"}


def test_payload_updates(client: QdrantClient) -> None:
    client.create_collection(
        "pay", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    client.upsert(
        "pay",
        points=[
            models.PointStruct(id=i, vector=[1.0, float(i)], payload={"meta": {"lang": "de"}})
            for i in (1, 2, 3)
        ],
    )
    client.set_payload("pay", payload={"extra": 1}, points=[1])
    client.set_payload("pay", payload={"lang": "en"}, points=[1], key="meta")
    client.overwrite_payload("pay", payload={"only": True}, points=[2])
    client.clear_payload("pay", points_selector=models.PointIdsList(points=[3]))
    by_id = {r.id: r.payload for r in client.retrieve("pay", ids=[1, 2, 3])}
    assert by_id == {1: {"meta": {"lang": "en"}, "extra": 1}, 2: {"only": True}, 3: {}}

    client.delete_payload("pay", keys=["extra", "meta.lang"], points=[1])
    assert client.retrieve("pay", ids=[1])[0].payload == {"meta": {}}

    with pytest.raises(UnexpectedResponse) as missing:
        client.set_payload("pay", payload={"x": 1}, points=[404])
    assert missing.value.status_code == 404


def test_delete_points_by_ids_and_by_filter(client: QdrantClient) -> None:
    upsert_sample(client, "del", models.Distance.DOT, count=10)
    result = client.delete("del", points_selector=models.PointIdsList(points=[1, 2, 999]))
    assert result.status == models.UpdateStatus.COMPLETED
    assert client.count("del").count == 8
    client.delete(
        "del",
        points_selector=models.FilterSelector(
            filter=models.Filter(
                must=[models.FieldCondition(key="group", match=models.MatchValue(value="odd"))]
            )
        ),
    )
    records, _ = client.scroll("del")
    assert ids_of(records) == [4, 6, 8, 10]


def test_wait_false_is_acknowledged_and_applied(client: QdrantClient) -> None:
    client.create_collection(
        "async", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    result = client.upsert("async", points=[models.PointStruct(id=1, vector=[1, 0])], wait=False)
    assert result.status == models.UpdateStatus.ACKNOWLEDGED
    assert client.count("async").count == 1


# ---------------------------------------------------------------- filters

FILTER_PAYLOADS: dict[int, dict[str, Any]] = {
    1: {"city": "Berlin", "tags": ["a", "b"], "n": 1, "meta": {"lang": "de"}, "maybe": None},
    2: {"city": "Paris", "tags": [], "n": 2.5, "meta": {"lang": "fr"}},
    3: {"city": "Rome", "n": 3, "meta": {"lang": "it"}, "items": [{"k": 1}, {"k": 5}]},
    4: {"city": "Berlin", "n": 10, "maybe": "x"},
    5: {},
}


def _field(key: str, **condition: Any) -> models.FieldCondition:
    return models.FieldCondition(key=key, **condition)


BERLIN = _field("city", match=models.MatchValue(value="Berlin"))

FILTER_CASES: list[tuple[str, models.Filter, set[int]]] = [
    ("match value", models.Filter(must=[BERLIN]), {1, 4}),
    (
        "match in array",
        models.Filter(must=[_field("tags", match=models.MatchValue(value="a"))]),
        {1},
    ),
    (
        "match any",
        models.Filter(must=[_field("city", match=models.MatchAny(any=["Paris", "Rome"]))]),
        {2, 3},
    ),
    (
        "match except skips missing fields",
        models.Filter(must=[_field("city", match=models.MatchExcept(**{"except": ["Berlin"]}))]),
        {2, 3},
    ),
    ("range", models.Filter(must=[_field("n", range=models.Range(gte=2.5, lt=10))]), {2, 3}),
    (
        "dotted key",
        models.Filter(must=[_field("meta.lang", match=models.MatchValue(value="fr"))]),
        {2},
    ),
    ("has_id", models.Filter(must=[models.HasIdCondition(has_id=[1, 3])]), {1, 3}),
    (
        "is_empty",
        models.Filter(must=[models.IsEmptyCondition(is_empty=models.PayloadField(key="tags"))]),
        {2, 3, 4, 5},
    ),
    (
        "is_null",
        models.Filter(must=[models.IsNullCondition(is_null=models.PayloadField(key="maybe"))]),
        {1},
    ),
    ("must_not", models.Filter(must_not=[BERLIN]), {2, 3, 5}),
    (
        "should",
        models.Filter(
            should=[
                _field("city", match=models.MatchValue(value="Paris")),
                _field("n", range=models.Range(gt=5)),
            ]
        ),
        {2, 4},
    ),
    (
        "min_should",
        models.Filter(
            min_should=models.MinShould(
                conditions=[
                    BERLIN,
                    _field("n", range=models.Range(gte=10)),
                    models.HasIdCondition(has_id=[1]),
                ],
                min_count=2,
            )
        ),
        {1, 4},
    ),
    (
        "nested",
        models.Filter(
            must=[
                models.NestedCondition(
                    nested=models.Nested(
                        key="items",
                        filter=models.Filter(must=[_field("k", range=models.Range(gte=5))]),
                    )
                )
            ]
        ),
        {3},
    ),
    (
        "values_count",
        models.Filter(must=[_field("tags", values_count=models.ValuesCount(gte=2))]),
        {1},
    ),
    (
        "nested filter in must",
        models.Filter(must=[models.Filter(should=[BERLIN]), models.Filter(must_not=[BERLIN])]),
        set(),
    ),
]


def test_filters(client: QdrantClient) -> None:
    client.create_collection(
        "filters", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    client.upsert(
        "filters",
        points=[
            models.PointStruct(id=pid, vector=[1.0, 0.0], payload=payload)
            for pid, payload in FILTER_PAYLOADS.items()
        ],
    )
    failures = []
    for label, query_filter, expected in FILTER_CASES:
        records, _ = client.scroll("filters", scroll_filter=query_filter, limit=100)
        counted = client.count("filters", count_filter=query_filter).count
        if set(ids_of(records)) != expected or counted != len(expected):
            failures.append(f"{label}: got {ids_of(records)} (count {counted}), want {expected}")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- scores


@pytest.mark.parametrize(
    "distance", [models.Distance.COSINE, models.Distance.DOT, models.Distance.EUCLID]
)
def test_query_points_scores_and_order(client: QdrantClient, distance: models.Distance) -> None:
    name = f"scores-{distance.value}"
    vectors = upsert_sample(client, name, distance)
    query = [0.3, -0.2, 0.9, 0.1]
    ranking = expected_ranking(distance, query, vectors)

    found = client.query_points(name, query=query, limit=5, with_payload=True).points
    assert ids_of(found) == [pid for pid, _ in ranking[:5]]
    assert [p.score for p in found] == f32_approx([s for _, s in ranking[:5]])
    best_id = ranking[0][0]
    assert found[0].payload == {"group": "odd" if best_id % 2 else "even"}

    odd = models.Filter(
        must=[models.FieldCondition(key="group", match=models.MatchValue(value="odd"))]
    )
    odd_ranking = [(pid, s) for pid, s in ranking if pid % 2 == 1]
    filtered = client.query_points(name, query=query, query_filter=odd, limit=3, offset=1)
    assert ids_of(filtered.points) == [pid for pid, _ in odd_ranking[1:4]]

    # A threshold between the 3rd and 4th best keeps exactly three, for either ordering.
    threshold = (ranking[2][1] + ranking[3][1]) / 2
    kept = client.query_points(name, query=query, score_threshold=threshold, limit=10)
    assert ids_of(kept.points) == [pid for pid, _ in ranking[:3]]


def test_classic_search_endpoint_with_manhattan(client: QdrantClient, http: httpx.Client) -> None:
    # qdrant-client 1.20 dropped `search()`; older clients and apps still POST /points/search.
    vectors = upsert_sample(client, "l1", models.Distance.MANHATTAN)
    query = [0.5, 0.5, -0.5, 0.0]
    ranking = expected_ranking(models.Distance.MANHATTAN, query, vectors)
    response = http.post(
        "/collections/l1/points/search",
        json={"vector": query, "limit": 4, "offset": 1, "with_vector": True},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert isinstance(body["time"], float)
    hits = body["result"]
    assert [h["id"] for h in hits] == [pid for pid, _ in ranking[1:5]]
    expected = [s for _, s in ranking[1:5]]
    assert [h["score"] for h in hits] == f32_approx(expected)
    assert "payload" not in hits[0]  # search defaults to with_payload=false
    assert hits[0]["vector"] == as_stored(vectors[hits[0]["id"]])


def test_query_by_point_id_excludes_that_point(client: QdrantClient) -> None:
    vectors = upsert_sample(client, "byid", models.Distance.COSINE)
    ranking = expected_ranking(models.Distance.COSINE, vectors[5], vectors)
    found = client.query_points("byid", query=5, limit=3).points
    assert ids_of(found) == [pid for pid, _ in ranking if pid != 5][:3]


def test_prefetch_with_rrf_fusion(client: QdrantClient) -> None:
    client.create_collection(
        "hybrid",
        vectors_config={
            "a": models.VectorParams(size=DIM, distance=models.Distance.DOT),
            "b": models.VectorParams(size=DIM, distance=models.Distance.EUCLID),
        },
    )
    a_vectors, b_vectors = sample_vectors(10, seed=1), sample_vectors(10, seed=2)
    client.upsert(
        "hybrid",
        points=[
            models.PointStruct(id=pid, vector={"a": a_vectors[pid], "b": b_vectors[pid]})
            for pid in a_vectors
        ],
    )
    query = [0.1, 0.7, -0.3, 0.4]
    a_top = [pid for pid, _ in expected_ranking(models.Distance.DOT, query, a_vectors)[:4]]
    b_top = [pid for pid, _ in expected_ranking(models.Distance.EUCLID, query, b_vectors)[:4]]
    fused: dict[int, float] = {}
    for ranked in (a_top, b_top):
        for position, pid in enumerate(ranked):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (position + 2)  # Qdrant's RRF, k = 2

    found = client.query_points(
        "hybrid",
        prefetch=[
            models.Prefetch(query=query, using="a", limit=4),
            models.Prefetch(query=query, using="b", limit=4),
        ],
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        limit=10,
    ).points
    assert {p.id: p.score for p in found} == f32_approx(fused)
    scores = [p.score for p in found]
    assert scores == f32_approx(sorted(fused.values(), reverse=True))


def test_concurrent_writers_and_readers(client: QdrantClient) -> None:
    client.create_collection(
        "busy", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )

    def write(pid: int) -> None:
        client.upsert("busy", points=[models.PointStruct(id=pid, vector=[1.0, pid])])
        client.set_payload("busy", payload={"n": pid}, points=[pid])
        client.query_points("busy", query=[1.0, 0.0], limit=5, with_payload=True)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(1, 41)))  # re-raises any failed request
    records, _ = client.scroll("busy", limit=100)
    assert [(r.id, r.payload) for r in records] == [(i, {"n": i}) for i in range(1, 41)]


def test_chunked_request_body(client: QdrantClient, http: httpx.Client) -> None:
    # curl -T and streaming clients send bodies chunked, without Content-Length.
    client.create_collection(
        "chunked", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    body = b'{"points": [{"id": 1, "vector": [0.5, 0.5]}]}'
    parts = iter([body[:10], body[10:]])
    response = http.put("/collections/chunked/points", content=parts)
    assert response.status_code == 200, response.text
    assert client.count("chunked").count == 1


# ---------------------------------------------------------------- indexes, snapshots


def test_payload_index_is_recorded_in_payload_schema(client: QdrantClient) -> None:
    upsert_sample(client, "indexed", models.Distance.DOT, count=5)
    client.create_payload_index("indexed", "group", models.PayloadSchemaType.KEYWORD)
    schema = client.get_collection("indexed").payload_schema
    assert schema["group"].data_type == models.PayloadSchemaType.KEYWORD
    assert schema["group"].points == 5
    client.delete_payload_index("indexed", "group")
    assert client.get_collection("indexed").payload_schema == {}


def test_snapshots(client: QdrantClient) -> None:
    upsert_sample(client, "snap", models.Distance.DOT, count=3)
    created = client.create_snapshot("snap")
    assert created is not None
    assert created.name.endswith(".snapshot")
    assert created.size > 0
    listed = client.list_snapshots("snap")
    assert [s.name for s in listed] == [created.name]
    assert listed[0].checksum == created.checksum


# ---------------------------------------------------------------- aliases


def _create_alias(collection: str, alias: str) -> models.CreateAliasOperation:
    return models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
    )


def _aliases(client: QdrantClient) -> set[tuple[str, str]]:
    return {(a.alias_name, a.collection_name) for a in client.get_aliases().aliases}


def test_aliases_are_created_listed_followed_renamed_and_deleted(client: QdrantClient) -> None:
    upsert_sample(client, "aliased_a", models.Distance.DOT, count=3)
    upsert_sample(client, "aliased_b", models.Distance.DOT, count=5)
    assert client.update_collection_aliases(
        change_aliases_operations=[
            _create_alias("aliased_a", "current"),
            _create_alias("aliased_a", "also_a"),
        ]
    )
    assert {("current", "aliased_a"), ("also_a", "aliased_a")} <= _aliases(client)
    listed = client.get_collection_aliases("aliased_a").aliases
    assert sorted(a.alias_name for a in listed) == ["also_a", "current"]
    assert {a.collection_name for a in listed} == {"aliased_a"}
    assert client.get_collection_aliases("aliased_b").aliases == []
    assert client.get_collection_aliases("no_such_collection").aliases == []  # as Qdrant

    # An alias stands for its collection wherever a collection name goes.
    assert client.count("current").count == 3
    assert client.get_collection("current").points_count == 3
    assert client.collection_exists("current")
    assert len(client.query_points("current", query=[1.0] * DIM, limit=10).points) == 3
    client.upsert("current", points=[models.PointStruct(id=99, vector=[0.5] * DIM)])
    assert client.count("aliased_a").count == 4

    # Switching an alias to another collection: one call, as blue-green deploys do.
    client.update_collection_aliases(
        change_aliases_operations=[
            models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="current")),
            _create_alias("aliased_b", "current"),
            models.RenameAliasOperation(
                rename_alias=models.RenameAlias(old_alias_name="also_a", new_alias_name="a_too")
            ),
        ]
    )
    assert client.count("current").count == 5
    assert {("current", "aliased_b"), ("a_too", "aliased_a")} <= _aliases(client)
    assert "also_a" not in {alias for alias, _ in _aliases(client)}

    # Deleting through an alias deletes nothing; deleting the collection drops its aliases.
    assert not client.delete_collection("a_too")
    assert client.collection_exists("aliased_a")
    assert client.delete_collection("aliased_a")
    assert "a_too" not in {alias for alias, _ in _aliases(client)}
    assert not client.collection_exists("a_too")


def test_alias_errors_are_qdrant_s(client: QdrantClient, http: httpx.Client) -> None:
    upsert_sample(client, "alias_errs", models.Distance.DOT, count=2)
    upsert_sample(client, "alias_other", models.Distance.DOT, count=2)
    with pytest.raises(UnexpectedResponse) as missing:
        client.update_collection_aliases(
            change_aliases_operations=[_create_alias("alias_absent", "x")]
        )
    assert missing.value.status_code == 404
    assert missing.value.structured()["status"] == {
        "error": "Not found: Collection `alias_absent` doesn't exist!"
    }
    with pytest.raises(UnexpectedResponse) as taken:
        client.update_collection_aliases(
            change_aliases_operations=[_create_alias("alias_errs", "alias_other")]
        )
    assert taken.value.status_code == 409
    with pytest.raises(UnexpectedResponse) as rename:
        client.update_collection_aliases(
            change_aliases_operations=[
                models.RenameAliasOperation(
                    rename_alias=models.RenameAlias(old_alias_name="ghost", new_alias_name="y")
                )
            ]
        )
    assert rename.value.status_code == 404
    assert "Alias ghost does not exists!" in rename.value.content.decode()

    # An action that fails keeps the ones before it; a body that does not parse, nothing.
    with pytest.raises(UnexpectedResponse):
        client.update_collection_aliases(
            change_aliases_operations=[
                _create_alias("alias_errs", "kept_alias"),
                _create_alias("alias_absent", "never"),
            ]
        )
    assert ("kept_alias", "alias_errs") in _aliases(client)
    bad = http.post(
        "/collections/aliases",
        json={"actions": [{"delete_alias": {"alias_name": "kept_alias"}}, {"nonsense": {}}]},
    )
    assert bad.status_code == 400
    assert ("kept_alias", "alias_errs") in _aliases(client)

    # A collection may not take an alias's name.
    with pytest.raises(UnexpectedResponse) as clash:
        client.create_collection(
            "kept_alias", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
        )
    assert clash.value.status_code == 400
    assert "Alias with the same name already exists" in clash.value.content.decode()
    # Deleting an alias that is not there is not an error in Qdrant either.
    assert client.update_collection_aliases(
        change_aliases_operations=[
            models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="ghost"))
        ]
    )


def test_cosine_vectors_read_back_and_written_again_do_not_change(client: QdrantClient) -> None:
    client.create_collection(
        "renorm", vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE)
    )
    rng = random.Random(3)
    raw = {pid: [rng.uniform(-5.0, 5.0) for _ in range(3)] for pid in range(1, 51)}
    client.upsert("renorm", points=[models.PointStruct(id=k, vector=v) for k, v in raw.items()])
    first = {p.id: p.vector for p in client.scroll("renorm", limit=100, with_vectors=True)[0]}
    for pid, vector in first.items():
        assert isinstance(pid, int)
        assert isinstance(vector, list)
        assert vector == pytest.approx(_normalised(raw[pid]))  # normalised when stored
    client.upsert("renorm", points=[models.PointStruct(id=k, vector=v) for k, v in first.items()])
    again = {p.id: p.vector for p in client.scroll("renorm", limit=100, with_vectors=True)[0]}
    assert again == first  # bit for bit: a normalised vector is kept as it is, as in Qdrant


def test_kept_alive_requests_answer_without_a_delayed_ack_wait(http: httpx.Client) -> None:
    # Headers and body are two writes; with Nagle's algorithm on, every answer on a
    # kept-alive connection waited ~40 ms for the client's delayed ACK.
    http.get("/collections")
    took = []
    for _ in range(15):
        started = time.perf_counter()
        assert http.get("/collections").status_code == 200
        took.append(time.perf_counter() - started)
    took.sort()
    assert took[len(took) // 2] < 0.030, took


def test_aliases_survive_a_restart(tmp_path: Path) -> None:
    storage, log = tmp_path / "storage", tmp_path / "standin.log"
    first = start_standin(storage, log)
    try:
        qdrant = connect(first)
        upsert_sample(qdrant, "target", models.Distance.DOT, count=2)
        upsert_sample(qdrant, "gone", models.Distance.DOT, count=2)
        qdrant.update_collection_aliases(
            change_aliases_operations=[_create_alias("target", "live"), _create_alias("gone", "g")]
        )
        qdrant.delete_collection("gone")
        qdrant.close()
    finally:
        stop_standin(first)
    second = start_standin(storage, log)
    try:
        qdrant = connect(second)
        assert _aliases(qdrant) == {("live", "target")}
        assert qdrant.count("live").count == 2
        qdrant.close()
    finally:
        stop_standin(second)


# ---------------------------------------------------------------- persistence


def test_data_survives_a_restart(tmp_path: Path) -> None:
    storage, log = tmp_path / "storage", tmp_path / "standin.log"
    first = start_standin(storage, log)
    try:
        qdrant = connect(first)
        vectors = upsert_sample(qdrant, "kept", models.Distance.EUCLID)
        qdrant.set_payload("kept", payload={"note": "edited"}, points=[3])
        qdrant.delete("kept", points_selector=models.PointIdsList(points=[12]))
        upsert_sample(qdrant, "dropped", models.Distance.DOT, count=2)
        qdrant.delete_collection("dropped")
        qdrant.close()
    finally:
        stop_standin(first)
    assert list(storage.rglob("collection.json")), "expected each collection's files"

    second = start_standin(storage, log)
    try:
        qdrant = connect(second)
        assert [c.name for c in qdrant.get_collections().collections] == ["kept"]
        info = qdrant.get_collection("kept")
        assert info.points_count == 11
        assert info.config.params.vectors == models.VectorParams(
            size=DIM, distance=models.Distance.EUCLID
        )
        assert qdrant.retrieve("kept", ids=[3])[0].payload == {"group": "odd", "note": "edited"}
        del vectors[12]
        ranking = expected_ranking(models.Distance.EUCLID, [0.0] * DIM, vectors)
        found = qdrant.query_points("kept", query=[0.0] * DIM, limit=3).points
        assert ids_of(found) == [pid for pid, _ in ranking[:3]]
        qdrant.close()
    finally:
        stop_standin(second)


def test_collections_of_the_json_stand_in_move_into_shards(tmp_path: Path) -> None:
    # Volumes written by the stand-in before it ran on Qdrant's engine keep their data.
    storage, log = tmp_path / "storage", tmp_path / "standin.log"
    legacy = storage / "standin" / "collections" / "old-0123456789abcdef.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text(
        json.dumps(
            {
                "format": "envdeck-qdrant-standin/1",
                "name": "old",
                "named": False,
                "vectors": {"": {"size": 2, "distance": "Dot"}},
                "config": {  # as the JSON stand-in wrote it: defaults merged in
                    "params": {"shard_number": 1, "on_disk_payload": True},
                    "hnsw_config": {"m": 32, "ef_construct": 100, "full_scan_threshold": 10},
                    "optimizer_config": {
                        "deleted_threshold": 0.2,
                        "vacuum_min_vector_number": 1000,
                        "default_segment_number": 0,
                        "flush_interval_sec": 5,
                    },
                    "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0},
                    "quantization_config": {"scalar": {"type": "int8"}},
                },
                "payload_schema": {"tag": {"data_type": "keyword"}},
                "next_operation_id": 3,
                "points": [
                    {"id": 2, "version": 1, "vectors": {"": [0.5, 1.5]}, "payload": {"tag": "b"}},
                    {"id": 1, "version": 0, "vectors": {"": [1.0, 0.0]}, "payload": {}},
                ],
            }
        )
    )
    for _ in range(2):  # moved once, then served from the shard
        standin = start_standin(storage, log)
        try:
            qdrant = connect(standin)
            records, _ = qdrant.scroll("old", with_vectors=True)
            assert [(r.id, r.vector, r.payload) for r in records] == [
                (1, [1.0, 0.0], {}),
                (2, [0.5, 1.5], {"tag": "b"}),
            ]
            info = qdrant.get_collection("old")
            assert info.config.hnsw_config.m == 32
            assert info.config.quantization_config is not None
            qdrant.close()
        finally:
            stop_standin(standin)
        assert not legacy.exists()


def test_what_the_engine_adds_answers_as_qdrant(client: QdrantClient) -> None:
    # order_by, facets, geo and has_vector conditions: the hand-written stand-in refused
    # them; Qdrant's engine answers them, payload-index rules included.
    client.create_collection(
        "engine",
        vectors_config={"v": models.VectorParams(size=2, distance=models.Distance.DOT)},
    )
    places = {1: ("Berlin", 13.40, 52.52), 2: ("Paris", 2.35, 48.86), 3: ("Berlin", 13.38, 52.50)}
    client.upsert(
        "engine",
        points=[
            models.PointStruct(
                id=pid,
                vector={"v": [1.0, float(pid)]} if pid != 2 else {},
                payload={"city": city, "price": 10 * pid, "at": {"lon": lon, "lat": lat}},
            )
            for pid, (city, lon, lat) in places.items()
        ],
    )
    client.create_payload_index("engine", "price", models.PayloadSchemaType.INTEGER)
    client.create_payload_index("engine", "city", models.PayloadSchemaType.KEYWORD)
    records, _ = client.scroll(
        "engine", order_by=models.OrderBy(key="price", direction=models.Direction.DESC)
    )
    assert ids_of(records) == [3, 2, 1]

    facets = client.facet("engine", key="city", exact=True).hits
    assert {(hit.value, hit.count) for hit in facets} == {("Berlin", 2), ("Paris", 1)}

    near_berlin = models.Filter(
        must=[
            models.FieldCondition(
                key="at",
                geo_radius=models.GeoRadius(
                    center=models.GeoPoint(lon=13.40, lat=52.52), radius=10_000.0
                ),
            )
        ]
    )
    assert client.count("engine", count_filter=near_berlin).count == 2
    with_v = models.Filter(must=[models.HasVectorCondition(has_vector="v")])
    assert client.count("engine", count_filter=with_v).count == 2


# ---------------------------------------------------------------- errors


def test_errors_have_qdrant_status_codes(
    client: QdrantClient, http: httpx.Client, standin: Standin
) -> None:
    with pytest.raises(UnexpectedResponse) as missing:
        client.get_collection("nope")
    assert missing.value.status_code == 404
    assert missing.value.structured()["status"] == {
        "error": "Not found: Collection `nope` doesn't exist!"
    }

    client.create_collection(
        "errs", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
    )
    with pytest.raises(UnexpectedResponse) as wrong_size:
        client.upsert("errs", points=[models.PointStruct(id=1, vector=[1.0, 2.0, 3.0])])
    assert wrong_size.value.status_code == 400
    assert "Vector dimension error: expected dim: 4, got 3" in wrong_size.value.content.decode()
    assert client.count("errs").count == 0  # nothing half-written

    with pytest.raises(UnexpectedResponse) as wrong_query:
        client.query_points("errs", query=[1.0, 2.0])
    assert wrong_query.value.status_code == 400

    bad_json = http.put("/collections/errs/points", content=b'{"points": [')
    assert bad_json.status_code == 400
    assert bad_json.json()["status"]["error"].startswith("Format error in JSON body:")
    bad_distance = http.put("/collections/x", json={"vectors": {"size": 2, "distance": "Cos"}})
    assert bad_distance.status_code == 400
    zero_limit = http.post("/collections/errs/points/scroll", json={"limit": 0})
    assert zero_limit.status_code == 422
    bad_id = http.post("/collections/errs/points", json={"ids": [-1]})
    assert bad_id.status_code == 400
    # The engine's bindings would read `true` as 1: refused, never answered wrong.
    bool_match = {"filter": {"must": [{"key": "flag", "match": {"value": True}}]}}
    refused = http.post("/collections/errs/points/count", json=bool_match)
    assert refused.status_code == 400
    assert "boolean" in refused.json()["status"]["error"]
    assert http.get("/no/such/route").status_code == 404

    assert http.get("/healthz").status_code == 200  # still serving
    assert "Traceback" not in standin.log()


def test_oversized_body_is_refused(tmp_path: Path) -> None:
    small = start_standin(tmp_path / "storage", tmp_path / "log", "--max-request-size-mb", "1")
    try:
        with httpx.Client(base_url=small.url, timeout=5) as raw:
            response = raw.put("/collections/big", content=b" " * (2 << 20))
            assert response.status_code == 400
            assert "larger than allowed" in response.json()["status"]["error"]
            assert raw.get("/healthz").status_code == 200
    finally:
        stop_standin(small)


def test_request_log_has_one_line_per_request(client: QdrantClient, standin: Standin) -> None:
    client.create_collection(
        "logged", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    with pytest.raises(UnexpectedResponse):
        client.get_collection("absent")
    # The server writes a request's line after its answer is sent: wait for both lines.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and '"GET /collections/absent' not in standin.log():
        time.sleep(0.02)
    lines = standin.log().splitlines()
    assert any('"PUT /collections/logged HTTP/1.1" 200' in line for line in lines)
    assert any('"GET /collections/absent HTTP/1.1" 404' in line for line in lines)
    assert not any("/healthz" in line for line in lines)  # probes stay out, as in Qdrant
