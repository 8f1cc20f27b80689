"""Seed hook of the sample environment: a small Qdrant collection the demo starts with.

Run by envdeck on this machine after a hard reset (and after the first `up`), with
ENVDECK_QDRANT_HOST and ENVDECK_QDRANT_PORT_6333 set to where the published port is
reached (a tunnel's, for a remote engine). Standard library only.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

HOST = os.environ.get("ENVDECK_QDRANT_HOST", "127.0.0.1")
BASE = f"http://{HOST}:{os.environ.get('ENVDECK_QDRANT_PORT_6333', '6333')}"
COLLECTION = "seed_articles"
POINTS = [
    {"id": 1, "vector": [0.9, 0.1, 0.0, 0.0], "payload": {"title": "Example Domain"}},
    {"id": 2, "vector": [0.1, 0.9, 0.0, 0.0], "payload": {"title": "Getting started"}},
    {"id": 3, "vector": [0.0, 0.1, 0.9, 0.0], "payload": {"title": "Vectors and search"}},
]


def call(method: str, path: str, body: object) -> object:
    request = urllib.request.Request(  # noqa: S310 - http to our own loopback port
        BASE + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def main() -> None:
    try:
        call("PUT", f"/collections/{COLLECTION}", {"vectors": {"size": 4, "distance": "Cosine"}})
    except urllib.error.HTTPError as error:
        # 409: it exists (an `up` after a `down` that kept the volumes): its points are
        # written again below, so a seed can run any number of times.
        if error.code != 409:
            raise
    call("PUT", f"/collections/{COLLECTION}/points?wait=true", {"points": POINTS})
    print(f"seeded {COLLECTION} with {len(POINTS)} points")


if __name__ == "__main__":
    main()
