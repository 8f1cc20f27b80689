"""A bundle's files and names: one place for the writer, the README and the reader.

<DIR>/README.md                     (written by write_bundles: one line per failure)
<DIR>/<test-slug>-<hash>/
    README.md            what failed, where to look first, the services, the versions
    bundle.json          machine-readable: schema, the failure, the file names
    report.txt           pytest's traceback and assertion diff, then what it captured
    logs.txt             every service's log lines of the test's window, merged, with marks
    logs.jsonl           the same lines, one JSON object each (what the reader reads)
    logs/<service>.log   each service's lines of the window
    status.json          `envdeck status --json` at the time
    compose-config.json  the effective compose config, secrets masked
    versions.json        envdeck, Docker, Compose, each service's image (tag, id, digests)
    data-diff.txt|.json  the data diff, when one was taken
"""

from __future__ import annotations

import hashlib
import re

SCHEMA = 1  # bundle.json's "schema": a reader refuses a newer one
KIND = "envdeck-failure-bundle"
README = "README.md"
MANIFEST = "bundle.json"
REPORT = "report.txt"
LOGS = "logs.txt"
LOG_LINES = "logs.jsonl"
SERVICE_LOGS = "logs"
STATUS = "status.json"
COMPOSE_CONFIG = "compose-config.json"
VERSIONS = "versions.json"
DATA_DIFF_TEXT = "data-diff.txt"
DATA_DIFF_JSON = "data-diff.json"

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
SLUG_CHARS = 60


def slug(name: str, limit: int = SLUG_CHARS) -> str:
    """`name` as one safe path component: no separators, no leading dot, bounded; a hash
    of the whole name keeps two names that slug alike apart."""
    cleaned = _UNSAFE.sub("-", name).strip("-.")[:limit].strip("-.") or "x"
    digest = hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:8]
    return f"{cleaned}-{digest}"
