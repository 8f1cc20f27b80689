"""PostgreSQL as the crawler's document store: the seeded table, inserts, upserts, JSONB."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from psycopg.types.json import Jsonb

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg
    from psycopg.rows import DictRow

    Conn = psycopg.Connection[DictRow]

SEEDED_URLS = {
    "https://example.com/",
    "https://example.org/docs/getting-started",
    "https://example.net/blog/vectors",
}

UPSERT = """
    INSERT INTO documents (url, title, content, content_hash, metadata)
    VALUES (%(url)s, %(title)s, %(content)s, %(content_hash)s, %(metadata)s)
    ON CONFLICT (url) DO UPDATE SET
        title = EXCLUDED.title,
        content = EXCLUDED.content,
        content_hash = EXCLUDED.content_hash,
        metadata = documents.metadata || EXCLUDED.metadata,
        updated_at = clock_timestamp()
    RETURNING id, created_at, updated_at, (xmax = 0) AS inserted
"""


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def upsert(pg: Conn, url: str, title: str, content: str, **metadata: object) -> DictRow:
    row = pg.execute(
        UPSERT,
        {
            "url": url,
            "title": title,
            "content": content,
            "content_hash": md5(content),
            "metadata": Jsonb({"source": "envdeck-demo-tests", **metadata}),
        },
    ).fetchone()
    assert row is not None
    return row


class TestSeededDocuments:
    def test_the_three_seed_documents_are_present(self, pg: Conn) -> None:
        rows = pg.execute(
            "SELECT url, title FROM documents WHERE metadata->>'source' = 'seed' ORDER BY id"
        ).fetchall()
        assert {row["url"] for row in rows} == SEEDED_URLS
        assert [row["title"] for row in rows] == [
            "Example Domain",
            "Getting started",
            "Vectors and search",
        ]

    def test_seed_content_hashes_match_their_content(self, pg: Conn) -> None:
        rows = pg.execute(
            "SELECT content, content_hash FROM documents WHERE url = ANY(%s)",
            (list(SEEDED_URLS),),
        ).fetchall()
        assert len(rows) == 3
        for row in rows:
            assert row["content_hash"] == md5(row["content"])


class TestDocumentWrites:
    def test_insert_then_read_back(self, pg: Conn, doc_url: Callable[[str], str]) -> None:
        url = doc_url("articles/redis-caching")
        row = upsert(pg, url, "Caching crawls", "Redis keeps crawled pages for an hour.")
        assert row["inserted"]

        doc = pg.execute("SELECT * FROM documents WHERE id = %s", (row["id"],)).fetchone()
        assert doc is not None
        assert doc["url"] == url
        assert doc["content_hash"] == md5("Redis keeps crawled pages for an hour.")
        assert doc["metadata"] == {"source": "envdeck-demo-tests"}
        assert doc["created_at"] == doc["updated_at"]

    def test_upsert_on_url_conflict_updates_in_place(
        self, pg: Conn, doc_url: Callable[[str], str]
    ) -> None:
        url = doc_url("articles/recrawled")
        first = upsert(pg, url, "Draft", "first crawl", crawl=1)
        second = upsert(pg, url, "Final", "second crawl", crawl=2, lang="en")

        assert first["inserted"]
        assert not second["inserted"]
        assert second["id"] == first["id"]
        assert second["created_at"] == first["created_at"]
        assert second["updated_at"] > first["updated_at"]

        doc = pg.execute(
            "SELECT title, content_hash, metadata FROM documents WHERE url = %s", (url,)
        ).fetchone()
        assert doc is not None
        assert doc["title"] == "Final"
        assert doc["content_hash"] == md5("second crawl")
        assert doc["metadata"] == {"source": "envdeck-demo-tests", "crawl": 2, "lang": "en"}
        count = pg.execute("SELECT count(*) AS n FROM documents WHERE url = %s", (url,)).fetchone()
        assert count is not None
        assert count["n"] == 1

    def test_jsonb_metadata_queries(self, pg: Conn, doc_url: Callable[[str], str]) -> None:
        upsert(pg, doc_url("a"), "A", "alpha", tags=["docs", "guide"], depth=1)
        upsert(pg, doc_url("b"), "B", "beta", tags=["blog"], depth=2)
        upsert(pg, doc_url("c"), "C", "gamma", tags=["docs"], depth=3)
        mine = doc_url("%")

        # Containment (@>), served by the GIN index on metadata.
        docs = pg.execute(
            "SELECT title FROM documents WHERE url LIKE %s AND metadata @> %s ORDER BY title",
            (mine, Jsonb({"tags": ["docs"]})),
        ).fetchall()
        assert [row["title"] for row in docs] == ["A", "C"]

        deep = pg.execute(
            "SELECT title FROM documents WHERE url LIKE %s AND (metadata->>'depth')::int >= 2"
            " ORDER BY title",
            (mine,),
        ).fetchall()
        assert [row["title"] for row in deep] == ["B", "C"]

        # The seeds answer the same query alongside ours.
        guides = pg.execute(
            "SELECT url FROM documents WHERE metadata->'tags' ? 'guide' ORDER BY url"
        ).fetchall()
        assert {row["url"] for row in guides} >= {
            "https://example.org/docs/getting-started",
            doc_url("a"),
        }
