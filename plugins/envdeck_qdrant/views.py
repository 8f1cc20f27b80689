"""The Qdrant inspector's views: each makes its REST calls and answers sections."""

from __future__ import annotations

from typing import Any

from envdeck_qdrant.client import QdrantApi, QdrantHttpError, collection_path
from envdeck_qdrant.render import (
    COLLECTION_COLUMNS,
    PAYLOAD_SCHEMA_COLUMNS,
    SNAPSHOT_COLUMNS,
    VECTOR_COLUMNS,
    collection_row,
    config_items,
    decode_cursor,
    encode_cursor,
    number,
    payload_schema_rows,
    plain,
    point_row,
    snapshot_row,
    vector_rows,
)
from tui.core.text import safe_text
from tui.plugins.api import (
    InspectorError,
    KeyValues,
    Problem,
    Table,
    TextBlock,
    ViewRequest,
    ViewResult,
)

# Above this many points an exact count scans every segment; Qdrant's estimate will do.
BIG_COLLECTION = 10_000
WITH_VECTORS_FLAG = "+vectors"


def collection_names(api: QdrantApi) -> list[str]:
    listing = api.get("/collections")
    collections = listing.get("collections") if isinstance(listing, dict) else None
    return sorted(str(item.get("name")) for item in collections or () if isinstance(item, dict))


def collection_info(api: QdrantApi, name: str) -> dict[str, Any]:
    info = api.get(collection_path(name))
    if not isinstance(info, dict):
        raise InspectorError(Problem.ERROR, f"Qdrant described {safe_text(name)} oddly")
    return info


def ask_for_collection(api: QdrantApi) -> ViewResult:
    """What a query view shows before the user names a collection: the names to pick."""
    names = collection_names(api)
    listing = ", ".join(safe_text(name) for name in names) or "(none yet)"
    return ViewResult((TextBlock("Which collection?", f"Type a collection name: {listing}"),))


# ---------------------------------------------------------------- overview


def overview(api: QdrantApi, request: ViewRequest) -> ViewResult:
    server = api.request("GET", "/")
    server = server if isinstance(server, dict) else {}
    names = collection_names(api)
    shown = names[: request.limit]
    rows = []
    for name in shown:
        try:
            rows.append(collection_row(name, collection_info(api, name)))
        except QdrantHttpError as error:
            if error.status != 404:
                raise
            # Deleted between the listing and now (tests, other clients): not an error.
    note = f"first {len(shown)} of {len(names)}" if len(shown) < len(names) else ""
    items = [("url", api.base_url), ("version", plain(server.get("version")))]
    if server.get("commit"):
        items.append(("commit", plain(server.get("commit"))))
    items.append(("collections", number(len(names))))
    return ViewResult(
        (
            KeyValues("Qdrant", tuple(items)),
            Table("Collections", COLLECTION_COLUMNS, tuple(rows), note),
        )
    )


# ---------------------------------------------------------------- one collection


def count_points(api: QdrantApi, name: str, estimated_points: Any) -> tuple[str, str]:
    """(label, count): exact for small collections, Qdrant's estimate for big ones."""
    exact = not (isinstance(estimated_points, int) and estimated_points > BIG_COLLECTION)
    counted = api.post(collection_path(name, "points", "count"), {"exact": exact})
    value = counted.get("count") if isinstance(counted, dict) else None
    return ("points (exact count)" if exact else "points (approximate count)", number(value))


def collection(api: QdrantApi, request: ViewRequest) -> ViewResult:
    name = request.query.strip()
    if not name:
        return ask_for_collection(api)
    info = collection_info(api, name)
    summary = (
        ("status", plain(info.get("status"))),
        ("optimizer", plain(info.get("optimizer_status"))),
        count_points(api, name, info.get("points_count")),
        ("indexed vectors", number(info.get("indexed_vectors_count"))),
        ("segments", number(info.get("segments_count"))),
    )
    schema = payload_schema_rows(info)
    return ViewResult(
        (
            KeyValues(f"Collection {safe_text(name)}", summary),
            Table("Vectors", VECTOR_COLUMNS, vector_rows(info)),
            Table(
                "Payload schema",
                PAYLOAD_SCHEMA_COLUMNS,
                schema,
                "" if schema else "no payload indexes",
            ),
            KeyValues("Config", config_items(info)),
        )
    )


# ---------------------------------------------------------------- points


def parse_points_query(query: str) -> tuple[str, bool]:
    """`name` or `name +vectors` -> (collection, with_vector)."""
    name = query.strip()
    head, space, flag = name.rpartition(" ")
    if space and flag == WITH_VECTORS_FLAG:
        return head.strip(), True
    return name, False


def points(api: QdrantApi, request: ViewRequest) -> ViewResult:
    name, with_vector = parse_points_query(request.query)
    if not name:
        return ask_for_collection(api)
    body: dict[str, Any] = {
        "limit": request.limit,
        "with_payload": True,
        "with_vector": with_vector,
    }
    offset = decode_cursor(request.cursor)
    if offset is not None:
        body["offset"] = offset
    page = api.post(collection_path(name, "points", "scroll"), body)
    page = page if isinstance(page, dict) else {}
    found = [point for point in page.get("points") or () if isinstance(point, dict)]
    next_cursor = encode_cursor(page.get("next_page_offset"))
    columns = ("id", "payload", "vector") if with_vector else ("id", "payload")
    note = f"{len(found)} points" + ("; more follow" if next_cursor else "")
    rows = tuple(point_row(point, with_vector) for point in found)
    return ViewResult((Table(f"Points of {safe_text(name)}", columns, rows, note),), next_cursor)


# ---------------------------------------------------------------- snapshots


def snapshots(api: QdrantApi, request: ViewRequest) -> ViewResult:
    name = request.query.strip()
    if not name:
        return ask_for_collection(api)
    try:
        listing = api.get(collection_path(name, "snapshots"))
    except QdrantHttpError as error:
        # A bare 404 is a missing route; a missing collection comes with Qdrant's message.
        if error.status == 404 and error.qdrant_message is None:
            return ViewResult((TextBlock("Snapshots", "snapshots not supported by this server"),))
        raise
    rows = tuple(snapshot_row(item) for item in listing or () if isinstance(item, dict))
    note = "" if rows else "no snapshots"
    return ViewResult((Table(f"Snapshots of {safe_text(name)}", SNAPSHOT_COLUMNS, rows, note),))
