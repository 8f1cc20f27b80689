-- Sample schema for the demo integration tests: crawled documents.
-- Runs once, when the data volume is first initialised.
CREATE TABLE IF NOT EXISTS documents (
    id           BIGSERIAL PRIMARY KEY,
    url          TEXT        NOT NULL UNIQUE,
    title        TEXT,
    content      TEXT,
    content_hash TEXT        NOT NULL,
    metadata     JSONB       NOT NULL DEFAULT '{}'::jsonb,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS documents_metadata_idx ON documents USING GIN (metadata);

INSERT INTO documents (url, title, content, content_hash, metadata) VALUES
    ('https://example.com/',
     'Example Domain',
     'This domain is for use in illustrative examples in documents.',
     md5('This domain is for use in illustrative examples in documents.'),
     '{"source": "seed", "lang": "en", "tags": ["example"]}'),
    ('https://example.org/docs/getting-started',
     'Getting started',
     'Install the package, then run the crawler against a start URL.',
     md5('Install the package, then run the crawler against a start URL.'),
     '{"source": "seed", "lang": "en", "tags": ["docs", "guide"]}'),
    ('https://example.net/blog/vectors',
     'Vectors and search',
     'Embeddings turn text into vectors that a vector store can search by similarity.',
     md5('Embeddings turn text into vectors that a vector store can search by similarity.'),
     '{"source": "seed", "lang": "en", "tags": ["blog", "search"]}')
ON CONFLICT (url) DO NOTHING;
