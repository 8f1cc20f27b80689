"""One crawl across the whole stack: search, embed, store, cache, index, find."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from psycopg.types.json import Jsonb

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx
    import psycopg
    import redis
    from psycopg.rows import DictRow

TOPICS = ["redis cache eviction", "postgres jsonb indexes", "qdrant vector similarity"]


def test_crawl_embed_store_cache_and_search(
    *,
    mock_api: httpx.Client,
    embed: Callable[..., list[list[float]]],
    pg: psycopg.Connection[DictRow],
    forget_documents: list[str],
    redis_client: redis.Redis,
    redis_prefix: str,
    qdrant: httpx.Client,
    collection: Callable[[int], str],
    uid: str,
) -> None:
    # 1. "Crawl": the top search hit of each topic is the page we take in.
    pages = []
    for topic in TOPICS:
        response = mock_api.get("/search", params={"q": f"{topic} {uid}", "limit": 3})
        assert response.status_code == 200, response.text
        pages.append(response.json()["results"][0])
    texts = [f"{page['title']}. {page['snippet']}" for page in pages]

    # 2. Embed every page through the OpenAI-shaped endpoint.
    vectors = embed(*texts, dimensions=384)
    assert len(vectors) == len(pages)

    # 3. Store the documents; 4. cache the pages with a TTL; 5. index their vectors.
    name = collection(384)
    points = []
    for page, text, vector in zip(pages, texts, vectors, strict=True):
        forget_documents.append(page["url"])
        row = pg.execute(
            "INSERT INTO documents (url, title, content, content_hash, metadata)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (
                page["url"],
                page["title"],
                text,
                hashlib.sha256(text.encode()).hexdigest(),
                Jsonb({"source": "envdeck-demo-e2e", "search_score": page["score"]}),
            ),
        ).fetchone()
        assert row is not None
        cache_key = f"{redis_prefix}page:{hashlib.sha256(page['url'].encode()).hexdigest()}"
        redis_client.set(cache_key, json.dumps({"url": page["url"], "body": text}), ex=300)
        points.append(
            {
                "id": row["id"],
                "vector": vector,
                "payload": {"url": page["url"], "cache_key": cache_key},
            }
        )
    upserted = qdrant.put(f"/collections/{name}/points?wait=true", json={"points": points})
    assert upserted.status_code == 200, upserted.text

    # 6. A semantic query finds the right page, and every store agrees on it.
    (query_vector,) = embed("qdrant vector similarity")
    search = qdrant.post(
        f"/collections/{name}/points/search",
        json={"vector": query_vector, "limit": 3, "with_payload": True},
    )
    assert search.status_code == 200, search.text
    hits = search.json()["result"]
    assert len(hits) == 3
    best = hits[0]
    assert best["payload"]["url"] == pages[2]["url"]
    assert best["score"] > hits[1]["score"]

    doc = pg.execute(
        "SELECT url, title, content, content_hash FROM documents WHERE id = %s", (best["id"],)
    ).fetchone()
    assert doc is not None
    assert doc["url"] == pages[2]["url"]
    assert "qdrant vector similarity" in doc["title"]

    cached = redis_client.get(best["payload"]["cache_key"])
    assert cached is not None
    body = json.loads(cached)["body"]
    assert body == doc["content"]
    assert hashlib.sha256(body.encode()).hexdigest() == doc["content_hash"]
    assert 0 < redis_client.ttl(best["payload"]["cache_key"]) <= 300
