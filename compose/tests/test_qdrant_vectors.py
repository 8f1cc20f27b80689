"""Qdrant as the crawler's vector store, spoken to over its REST API."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

POINTS = [
    {"id": 1, "vector": [1.0, 0.0, 0.0, 0.0], "payload": {"url": "https://a.test/", "lang": "en"}},
    {"id": 2, "vector": [0.8, 0.6, 0.0, 0.0], "payload": {"url": "https://b.test/", "lang": "en"}},
    {"id": 3, "vector": [0.0, 1.0, 0.0, 0.0], "payload": {"url": "https://c.test/", "lang": "de"}},
    {"id": 4, "vector": [-1.0, 0.0, 0.0, 0.0], "payload": {"url": "https://d.test/", "lang": "fr"}},
]


def result(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok", body
    return body["result"]


def upsert(qdrant: httpx.Client, name: str, points: list[dict[str, Any]]) -> None:
    done = result(qdrant.put(f"/collections/{name}/points?wait=true", json={"points": points}))
    assert done["status"] == "completed"


def count(qdrant: httpx.Client, name: str) -> int:
    counted = result(qdrant.post(f"/collections/{name}/points/count", json={"exact": True}))
    return int(counted["count"])


class TestQdrantCollections:
    def test_upsert_then_count_and_scroll(
        self, qdrant: httpx.Client, collection: Callable[[int], str]
    ) -> None:
        name = collection(4)
        assert count(qdrant, name) == 0

        upsert(qdrant, name, POINTS)
        assert count(qdrant, name) == 4

        page = result(
            qdrant.post(
                f"/collections/{name}/points/scroll",
                json={"limit": 10, "with_payload": True, "with_vector": False},
            )
        )
        assert sorted(point["id"] for point in page["points"]) == [1, 2, 3, 4]
        by_id = {point["id"]: point["payload"] for point in page["points"]}
        assert by_id[3] == {"url": "https://c.test/", "lang": "de"}

    def test_search_orders_by_cosine_similarity(
        self, qdrant: httpx.Client, collection: Callable[[int], str]
    ) -> None:
        name = collection(4)
        upsert(qdrant, name, POINTS)

        hits = result(
            qdrant.post(
                f"/collections/{name}/points/search",
                json={"vector": [1.0, 0.0, 0.0, 0.0], "limit": 4, "with_payload": True},
            )
        )
        assert [hit["id"] for hit in hits] == [1, 2, 3, 4]
        expected = [1.0, 0.8, 0.0, -1.0]
        for hit, score in zip(hits, expected, strict=True):
            assert math.isclose(hit["score"], score, abs_tol=1e-4)
        assert hits[0]["payload"]["url"] == "https://a.test/"

        top = result(
            qdrant.post(
                f"/collections/{name}/points/search",
                json={"vector": [0.0, 1.0, 0.0, 0.0], "limit": 2},
            )
        )
        assert [hit["id"] for hit in top] == [3, 2]

    def test_upsert_with_an_existing_id_replaces_the_point(
        self, qdrant: httpx.Client, collection: Callable[[int], str]
    ) -> None:
        name = collection(4)
        upsert(qdrant, name, POINTS)
        moved = {"id": 4, "vector": [0.0, 0.0, 0.0, 1.0], "payload": {"url": "https://d.test/v2"}}
        upsert(qdrant, name, [moved])

        assert count(qdrant, name) == 4
        hits = result(
            qdrant.post(
                f"/collections/{name}/points/search",
                json={"vector": [0.0, 0.0, 0.0, 1.0], "limit": 1, "with_payload": True},
            )
        )
        assert hits[0]["id"] == 4
        assert hits[0]["payload"] == {"url": "https://d.test/v2"}

    def test_a_deleted_collection_is_gone(
        self, qdrant: httpx.Client, collection: Callable[[int], str]
    ) -> None:
        name = collection(4)
        assert result(qdrant.delete(f"/collections/{name}")) is True
        response = qdrant.post(f"/collections/{name}/points/count", json={"exact": True})
        assert response.status_code == 404
