"""Redis as a crawler's page cache: cached pages expire, crawl metadata lives in hashes."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    import redis

    WaitUntil = Callable[..., float]


def page_key(prefix: str, url: str) -> str:
    return f"{prefix}page:{hashlib.sha256(url.encode()).hexdigest()[:16]}"


class TestPageCache:
    def test_cached_page_counts_down_its_ttl(
        self, redis_client: redis.Redis, redis_prefix: str, wait_until: WaitUntil
    ) -> None:
        key = page_key(redis_prefix, "https://example.com/")
        redis_client.set(key, "<html>Example Domain</html>", ex=30)

        first = redis_client.pttl(key)
        assert 29_000 < first <= 30_000
        wait_until(lambda: redis_client.pttl(key) < first - 100, timeout=3, what="the TTL to drop")
        assert 0 < redis_client.pttl(key) < first
        assert redis_client.get(key) == "<html>Example Domain</html>"

    def test_cached_page_expires(
        self, redis_client: redis.Redis, redis_prefix: str, wait_until: WaitUntil
    ) -> None:
        key = page_key(redis_prefix, "https://example.org/docs/getting-started")
        redis_client.set(key, "<html>Getting started</html>", ex=1)
        assert redis_client.exists(key) == 1

        took = wait_until(lambda: redis_client.exists(key) == 0, timeout=5, what="expiry")
        assert took > 0.5, "expired long before its one-second TTL"
        assert redis_client.get(key) is None

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param("<html><body>plain ascii</body></html>", id="ascii"),
            pytest.param("<p>Grüße, 東京, emoji 🕷️</p>", id="unicode"),
            pytest.param("", id="empty"),
            pytest.param("<div>" + "x" * 200_000 + "</div>", id="200kB"),
        ],
    )
    def test_page_body_roundtrips(
        self, redis_client: redis.Redis, redis_prefix: str, body: str
    ) -> None:
        key = page_key(redis_prefix, f"https://example.com/{len(body)}")
        redis_client.set(key, body, ex=60)
        assert redis_client.get(key) == body
        assert redis_client.strlen(key) == len(body.encode())


class TestCrawlMetadata:
    def test_crawl_metadata_hash(self, redis_client: redis.Redis, redis_prefix: str) -> None:
        key = f"{redis_prefix}crawl:example.com"
        redis_client.hset(
            key,
            mapping={
                "status": "200",
                "content_type": "text/html",
                "links": json.dumps(["https://www.iana.org/domains/example"]),
                "pages_crawled": 0,
            },
        )
        redis_client.hincrby(key, "pages_crawled", 1)
        redis_client.hincrby(key, "pages_crawled", 1)
        redis_client.expire(key, 300)

        meta = redis_client.hgetall(key)
        assert meta["status"] == "200"
        assert meta["pages_crawled"] == "2"
        assert json.loads(meta["links"]) == ["https://www.iana.org/domains/example"]
        assert redis_client.hexists(key, "content_type")
        assert not redis_client.hexists(key, "error")
        assert 0 < redis_client.ttl(key) <= 300


def test_cache_is_configured_as_an_lru(redis_client: redis.Redis) -> None:
    """compose.yaml caps the cache at 256 MB and evicts the least recently used keys."""
    config = redis_client.config_get("maxmemory*")
    assert config["maxmemory"] == str(256 * 1024 * 1024)
    assert config["maxmemory-policy"] == "allkeys-lru"
