"""Vector search: the classic search API and the Query API (`query_points`).

Exact brute force over the collection: scores are what Qdrant's exact search returns,
ordered best first (highest for Cosine/Dot, smallest distance for Euclid/Manhattan).
"""

from __future__ import annotations

import random
import statistics
from typing import Any

from standin_filters import Predicate, all_of, compile_filter
from standin_points import check_vector, payload_output, vector_output
from standin_store import Call, Collection, Point, beats_threshold, larger_is_better, score
from standin_wire import (
    JsonObject,
    PayloadSelector,
    PointId,
    VectorSelector,
    bad_input,
    bad_request,
    body_object,
    expect_list,
    expect_object,
    format_error,
    id_sort_key,
    opt_float,
    opt_int,
    opt_str,
    parse_point_id,
    parse_with_payload,
    parse_with_vector,
    point_missing,
    required,
    unsupported,
)

Hit = tuple[float, Point]


def scored_point(
    collection: Collection, hit: Hit, payload: PayloadSelector, vector: VectorSelector
) -> JsonObject:
    value, point = hit
    out: JsonObject = {"id": point.id, "version": point.version, "score": value}
    shown_payload = payload_output(point, payload)
    if shown_payload is not None:
        out["payload"] = shown_payload
    shown_vector = vector_output(collection, point, vector)
    if shown_vector is not None:
        out["vector"] = shown_vector
    return out


def candidates(collection: Collection, predicates: list[Predicate]) -> list[Point]:
    check = all_of(predicates)
    points = sorted(collection.points.values(), key=lambda p: id_sort_key(p.id))
    return [p for p in points if check(p.id, p.payload)]


def nearest(
    collection: Collection,
    name: str,
    query: list[float],
    pool: list[Point],
    threshold: float | None,
) -> list[Hit]:
    distance = collection.vectors[name].distance
    hits = [(score(distance, query, p.vectors[name]), p) for p in pool if name in p.vectors]
    if threshold is not None:
        hits = [hit for hit in hits if beats_threshold(distance, hit[0], threshold)]
    sign = -1.0 if larger_is_better(distance) else 1.0
    hits.sort(key=lambda hit: (sign * hit[0], id_sort_key(hit[1].id)))
    return hits


def _filters(body: JsonObject, field: str) -> list[Predicate]:
    raw = body.get("filter")
    name = f"{field}.filter" if field else "filter"
    return [] if raw is None else [compile_filter(raw, name)]


# ---------------------------------------------------------------- classic search


def _search(collection: Collection, body: JsonObject) -> list[JsonObject]:
    raw = required(body, "vector")
    if isinstance(raw, dict) and "name" in raw:  # NamedVector {"name", "vector"}
        name = opt_str(raw, "name") or ""
        query = check_vector(collection, name, required(raw, "vector"), "vector.vector")
    else:
        name, query = "", check_vector(collection, "", raw, "vector")
    if body.get("limit") is None:
        raise format_error("missing field `limit`")
    limit = opt_int(body, "limit", default=10, minimum=1)
    offset = opt_int(body, "offset", default=0)
    pool = candidates(collection, _filters(body, ""))
    hits = nearest(collection, name, query, pool, opt_float(body, "score_threshold"))
    payload = parse_with_payload(body, default=False)
    vector = parse_with_vector(body, default=False)
    return [scored_point(collection, h, payload, vector) for h in hits[offset : offset + limit]]


def search_points(call: Call) -> list[JsonObject]:
    return _search(call.collection, body_object(call.body))


def search_batch(call: Call) -> list[list[JsonObject]]:
    collection = call.collection
    searches = expect_list(required(body_object(call.body), "searches"), "searches")
    return [_search(collection, expect_object(s, f"searches[{i}]")) for i, s in enumerate(searches)]


# ---------------------------------------------------------------- Query API


def _query_kind(raw: Any) -> tuple[str, Any]:
    """Which Query variant: ("none" | "nearest" | "fusion" | "sample", argument)."""
    if raw is None:
        return "none", None
    if not isinstance(raw, dict):
        return "nearest", raw  # a bare vector or point id means `nearest`
    for variant in ("nearest", "fusion", "sample"):
        if variant in raw:
            return variant, raw[variant]
    for variant in ("recommend", "discover", "context", "order_by", "formula"):
        if variant in raw:
            raise unsupported(f"the `{variant}` query")
    if "indices" in raw:
        raise unsupported("sparse vectors")
    raise unsupported("inference documents and this query shape")


def _query_vector(collection: Collection, using: str, raw: Any) -> tuple[list[float], set[PointId]]:
    """The query vector, and the ids it came from (Qdrant leaves those out of results)."""
    if isinstance(raw, list | dict):
        return check_vector(collection, using, raw, "query"), set()
    point_id = parse_point_id(raw)
    point = collection.points.get(point_id)
    if point is None:
        raise point_missing(point_id)
    if using not in collection.vectors:
        raise bad_input(f"Not existing vector name error: {using}")
    if using not in point.vectors:
        raise bad_input(f"Vector `{using}` is not present in point {point_id}")
    return point.vectors[using], {point_id}


def _fuse(method: Any, sources: list[list[Hit]]) -> list[Hit]:
    """Reciprocal rank fusion or distribution-based score fusion, as in Qdrant."""
    if method not in ("rrf", "dbsf"):
        raise format_error(f"unknown variant `{method}`, expected one of `rrf`, `dbsf`")
    totals: dict[PointId, float] = {}
    points: dict[PointId, Point] = {}
    for hits in sources:
        if method == "rrf":
            fused = [1.0 / (position + 2.0) for position in range(len(hits))]
        else:
            fused = _distribution_scores([value for value, _ in hits])
        for value, (_, point) in zip(fused, hits, strict=True):
            totals[point.id] = totals.get(point.id, 0.0) + value
            points[point.id] = point
    result = [(value, points[point_id]) for point_id, value in totals.items()]
    result.sort(key=lambda hit: (-hit[0], id_sort_key(hit[1].id)))
    return result


def _distribution_scores(scores: list[float]) -> list[float]:
    """DBSF: scale each list so mean +- 3 standard deviations maps onto 0..1."""
    if len(scores) < 2:
        return [0.5] * len(scores)
    mean, deviation = statistics.fmean(scores), statistics.stdev(scores)
    low, high = mean - 3 * deviation, mean + 3 * deviation
    if low == high:
        return [0.5] * len(scores)
    return [(value - low) / (high - low) for value in scores]


def _run_query(
    collection: Collection, request: JsonObject, outer: list[Predicate], field: str
) -> list[Hit]:
    """All hits of one query level, best first; prefetches feed the level above them."""
    if request.get("lookup_from") is not None:
        raise unsupported("lookup_from")
    predicates = outer + _filters(request, field)
    using = opt_str(request, "using") or ""
    threshold = opt_float(request, "score_threshold")
    raw_prefetch = request.get("prefetch")
    prefetches = [] if raw_prefetch is None else raw_prefetch
    if not isinstance(prefetches, list):
        prefetches = [prefetches]
    sources = []
    for i, raw in enumerate(prefetches):
        prefetch = expect_object(raw, f"{field}.prefetch[{i}]")
        limit = opt_int(prefetch, "limit", default=10, minimum=1)
        sub_hits = _run_query(collection, prefetch, predicates, f"{field}.prefetch[{i}]")
        sources.append(sub_hits[:limit])
    kind, argument = _query_kind(request.get("query"))
    if kind == "none":
        if sources:
            raise bad_request(
                "A query is needed to merge the prefetches. "
                "Can't have prefetches without defining a query."
            )
        if threshold is not None:
            raise bad_request(
                "A query is needed to use the score_threshold. "
                "Can't have score_threshold without defining a query."
            )
        return [(0.0, p) for p in candidates(collection, predicates)]  # by id, like scroll
    if kind == "fusion":
        if using:
            raise bad_request("Fusion queries cannot be combined with the 'using' field.")
        fused = _fuse(argument, sources)
        return [h for h in fused if threshold is None or h[0] >= threshold]
    pool = _pool(collection, predicates, sources)
    if kind == "sample":
        if argument != "random":
            raise format_error(f"unknown variant `{argument}`, expected `random`")
        return [(0.0, p) for p in random.sample(pool, len(pool))]
    vector, exclude = _query_vector(collection, using, argument)
    pool = [p for p in pool if p.id not in exclude]
    return nearest(collection, using, vector, pool, threshold)


def _pool(
    collection: Collection, predicates: list[Predicate], sources: list[list[Hit]]
) -> list[Point]:
    """The points a query level ranks: its prefetches' results, or the filtered collection."""
    if not sources:
        return candidates(collection, predicates)
    unique = {point.id: point for hits in sources for _, point in hits}
    return list(unique.values())


def _query(collection: Collection, request: JsonObject, field: str) -> JsonObject:
    limit = opt_int(request, "limit", default=10, minimum=1)
    offset = opt_int(request, "offset", default=0)
    hits = _run_query(collection, request, [], field)
    payload = parse_with_payload(request, default=False)
    vector = parse_with_vector(request, default=False)
    page = hits[offset : offset + limit]
    return {"points": [scored_point(collection, hit, payload, vector) for hit in page]}


def query_points(call: Call) -> JsonObject:
    body = call.body if call.body is not None else {}
    return _query(call.collection, expect_object(body, "body"), "")


def query_batch(call: Call) -> list[JsonObject]:
    collection = call.collection
    searches = expect_list(required(body_object(call.body), "searches"), "searches")
    return [
        _query(collection, expect_object(s, f"searches[{i}]"), f"searches[{i}]")
        for i, s in enumerate(searches)
    ]
