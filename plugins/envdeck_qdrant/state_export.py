"""A save's walk over a Qdrant server: every collection's config and points, then the
aliases, written to the state file as they are scrolled (never held in memory as a whole),
with the fingerprint of what was written computed on the way."""

from __future__ import annotations

from envdeck_qdrant.client import QdrantApi, QdrantHttpError
from envdeck_qdrant.state_api import (
    StateApi,
    aliases_of,
    create_body,
    page_size,
    payload_indexes,
    saved_point,
    scroll_points,
)
from envdeck_qdrant.state_file import FORMAT, VERSION, StateWriter
from envdeck_qdrant.state_fingerprint import Fingerprint
from envdeck_qdrant.views import collection_info, collection_names


def export_state(
    api: StateApi, writer: StateWriter
) -> tuple[dict[str, int], list[tuple[str, str]], str]:
    """Write every collection, its points and the aliases; the counts, aliases and the
    fingerprint of what was written (the one `fingerprint` answers for the same data)."""
    version = _server_version(api)
    names = collection_names(api)
    digest = Fingerprint()
    writer.line({"header": {"format": FORMAT, "version": VERSION, "qdrant": version}})
    counts: dict[str, int] = {}
    for name in names:
        info = collection_info(api, name)
        digest.collection(name, info)
        create = create_body(info)
        writer.line(
            {"collection": {"name": name, "create": create, "indexes": payload_indexes(info)}}
        )
        count = 0
        for record in scroll_points(api, name, page_size(info)):
            point = saved_point(record)
            writer.line({"point": point})
            digest.point(point)
            count += 1
        digest.end_collection(count)
        counts[name] = count
    aliases = aliases_of(api) or []
    digest.aliases(aliases)
    writer.line({"aliases": [{"alias_name": a, "collection_name": c} for a, c in aliases]})
    writer.end(counts)
    return counts, aliases, digest.hexdigest()


def _server_version(api: QdrantApi) -> str:
    """Qdrant's version, for the header (a later reader may want to know); the first
    request of a save, so a server that is down or silent fails it at once."""
    try:
        root = api.request("GET", "/")
    except QdrantHttpError:
        return "unknown"
    version = root.get("version") if isinstance(root, dict) else None
    return version if isinstance(version, str) else "unknown"
