"""The mock HTTP API: an OpenAI-shaped embeddings endpoint and a web search endpoint."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import httpx


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def test_health(mock_api: httpx.Client) -> None:
    response = mock_api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


class TestEmbeddings:
    @pytest.mark.parametrize("dimensions", [None, 8, 1536])
    def test_response_is_openai_shaped(
        self, mock_api: httpx.Client, dimensions: int | None
    ) -> None:
        body: dict[str, object] = {"model": "text-embedding-3-small", "input": ["one", "two"]}
        if dimensions is not None:
            body["dimensions"] = dimensions
        response = mock_api.post("/v1/embeddings", json=body)

        assert response.status_code == 200, response.text
        payload = response.json()
        assert payload["object"] == "list"
        assert payload["model"] == "text-embedding-3-small"
        assert payload["usage"]["prompt_tokens"] == payload["usage"]["total_tokens"] > 0
        assert [item["index"] for item in payload["data"]] == [0, 1]
        for item in payload["data"]:
            assert item["object"] == "embedding"
            assert len(item["embedding"]) == (dimensions or 384)
            assert math.isclose(math.fsum(x * x for x in item["embedding"]), 1.0, rel_tol=1e-4)

    def test_same_text_same_vector(self, mock_api: httpx.Client) -> None:
        text = "Embeddings turn text into vectors that a vector store can search by similarity."
        single = mock_api.post("/v1/embeddings", json={"model": "m", "input": text}).json()
        batch = mock_api.post(
            "/v1/embeddings", json={"model": "m", "input": ["something else", text]}
        ).json()
        assert single["data"][0]["embedding"] == batch["data"][1]["embedding"]
        assert single["data"][0]["embedding"] != batch["data"][0]["embedding"]

    def test_related_texts_are_closer(self, mock_api: httpx.Client) -> None:
        texts = ["vector similarity search", "search vectors by similarity", "redis page cache"]
        data = mock_api.post("/v1/embeddings", json={"model": "m", "input": texts}).json()
        query, related, unrelated = (item["embedding"] for item in data["data"])
        assert cosine(query, related) > cosine(query, unrelated) + 0.2

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"input": "no model"}, id="no-model"),
            pytest.param({"model": "m"}, id="no-input"),
            pytest.param({"model": "m", "input": [1, 2]}, id="input-not-text"),
            pytest.param({"model": "m", "input": "x", "dimensions": 0}, id="bad-dimensions"),
            pytest.param(["not", "an", "object"], id="not-an-object"),
        ],
    )
    def test_bad_bodies_are_rejected(self, mock_api: httpx.Client, body: object) -> None:
        response = mock_api.post("/v1/embeddings", json=body)
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"


class TestSearch:
    def test_results_are_ranked_and_deterministic(self, mock_api: httpx.Client) -> None:
        first = mock_api.get("/search", params={"q": "async web crawler"})
        again = mock_api.get("/search", params={"q": "async web crawler"})

        assert first.status_code == 200
        assert first.json() == again.json()
        payload = first.json()
        assert payload["query"] == "async web crawler"
        results = payload["results"]
        assert results
        for result in results:
            assert set(result) == {"title", "url", "snippet", "score"}
            assert result["url"].startswith("https://")
        scores = [result["score"] for result in results]
        assert scores == sorted(scores, reverse=True)

    def test_missing_query_is_a_400(self, mock_api: httpx.Client) -> None:
        response = mock_api.get("/search")
        assert response.status_code == 400
        assert "q" in response.json()["error"]["message"]

    def test_unknown_path_is_a_json_404(self, mock_api: httpx.Client) -> None:
        response = mock_api.get("/v1/does-not-exist")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert "error" in response.json()
