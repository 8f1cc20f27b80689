"""Vector search: the classic search API and the Query API (`query_points`).

Requests are translated into the engine's SearchRequest / QueryRequest; scoring, score
thresholds, prefetch planning, fusion and ordering are Qdrant's own (qdrant-edge-py).
"""

from __future__ import annotations

from typing import Any

import qdrant_edge as edge
from standin_filters import optional_filter, parse_with_payload, parse_with_vector
from standin_points import parse_order_by, record
from standin_store import Call, Collection
from standin_wire import (
    JsonObject,
    bad_input,
    bad_request,
    body_object,
    engine_error,
    expect_list,
    expect_object,
    format_error,
    opt_float,
    opt_int,
    opt_str,
    parse_dense_vector,
    parse_point_id,
    point_missing,
    required,
    unsupported,
)

RRF_K = 2  # Qdrant's reciprocal rank fusion constant for `fusion: rrf`


def scored_point(point: edge.ScoredPoint) -> JsonObject:
    return {**record(point), "version": point.version, "score": point.score}


def _run(call: Any) -> Any:
    try:
        return call()
    except Exception as error:
        raise engine_error(error) from None


# ---------------------------------------------------------------- classic search


def _dense(raw: Any, field: str) -> list[float]:
    if isinstance(raw, dict):
        raise unsupported("sparse vectors and inference documents")
    if isinstance(raw, list) and raw and isinstance(raw[0], list):
        raise unsupported("multivectors")
    return parse_dense_vector(raw, field)


def _search_request(body: JsonObject, field: str) -> edge.SearchRequest:
    raw = required(body, "vector")
    if isinstance(raw, dict) and "name" in raw:  # NamedVector {"name", "vector"}
        using = opt_str(raw, "name") or None
        vector = _dense(required(raw, "vector"), "vector.vector")
    else:
        using, vector = None, _dense(raw, "vector")
    if body.get("limit") is None:
        raise format_error("missing field `limit`")
    return edge.SearchRequest(
        edge.Query.Nearest(vector, using=using),
        limit=opt_int(body, "limit", default=10, minimum=1),
        offset=opt_int(body, "offset", default=0),
        filter=optional_filter(body, f"{field}filter"),
        with_vector=parse_with_vector(body, default=False),
        with_payload=parse_with_payload(body, default=False),
        score_threshold=opt_float(body, "score_threshold"),
    )


def search_points(call: Call) -> list[JsonObject]:
    collection = call.collection
    request = _search_request(body_object(call.body), "")
    return [scored_point(p) for p in _run(lambda: collection.engine.search(request))]


def search_batch(call: Call) -> list[list[JsonObject]]:
    collection = call.collection
    searches = expect_list(required(body_object(call.body), "searches"), "searches")
    requests = [
        _search_request(expect_object(s, f"searches[{i}]"), f"searches[{i}].")
        for i, s in enumerate(searches)
    ]
    return [
        [scored_point(p) for p in _run(lambda r=r: collection.engine.search(r))] for r in requests
    ]


# ---------------------------------------------------------------- Query API


class _Level:
    """One level of a query (the request or a prefetch) in the engine's terms."""

    def __init__(self, collection: Collection, request: JsonObject, field: str) -> None:
        if request.get("lookup_from") is not None:
            raise unsupported("lookup_from")
        self.filter = optional_filter(request, f"{field}filter")
        self.threshold = opt_float(request, "score_threshold")
        raw_prefetch = request.get("prefetch")
        prefetches = [] if raw_prefetch is None else raw_prefetch
        if not isinstance(prefetches, list):
            prefetches = [prefetches]
        self.prefetches = [
            _prefetch(
                collection, expect_object(raw, f"{field}prefetch[{i}]"), f"{field}prefetch[{i}]."
            )
            for i, raw in enumerate(prefetches)
        ]
        using = opt_str(request, "using") or None
        self.query = self._query(collection, request.get("query"), using)

    def _query(self, collection: Collection, raw: Any, using: str | None) -> Any:
        if raw is None:
            if self.prefetches:
                raise bad_request(
                    "A query is needed to merge the prefetches. "
                    "Can't have prefetches without defining a query."
                )
            if self.threshold is not None:
                raise bad_request(
                    "A query is needed to use the score_threshold. "
                    "Can't have score_threshold without defining a query."
                )
            return None
        if not isinstance(raw, dict) or "indices" in raw:
            return self._nearest(collection, raw, using)  # a bare vector or point id
        if "nearest" in raw:
            return self._nearest(collection, raw["nearest"], using)
        if "fusion" in raw or "rrf" in raw:
            if using:
                raise bad_request("Fusion queries cannot be combined with the 'using' field.")
            return _fusion(raw)
        if "sample" in raw:
            if raw["sample"] != "random":
                raise format_error(f"unknown variant `{raw['sample']}`, expected `random`")
            return edge.Sample.Random
        if "order_by" in raw:
            return parse_order_by(raw["order_by"])
        for variant in ("recommend", "discover", "context", "formula", "mmr"):
            if variant in raw:
                raise unsupported(f"the `{variant}` query")
        raise unsupported("inference documents and this query shape")

    def _nearest(self, collection: Collection, raw: Any, using: str | None) -> edge.Query:
        if isinstance(raw, list | dict):
            return edge.Query.Nearest(_dense(raw, "query"), using=using)
        # A point id: its vector is the query, and the point itself is left out (as Qdrant).
        point_id = parse_point_id(raw)
        found = _run(lambda: collection.engine.retrieve([point_id], False, True))
        if not found:
            raise point_missing(point_id)
        name = using or ""
        if name not in collection.vectors:
            raise bad_input(f"Not existing vector name error: {name}")
        vectors = found[0].vector
        vector = vectors.get(name) if isinstance(vectors, dict) else vectors
        if vector is None:
            raise bad_input(f"Vector `{name}` is not present in point {point_id}")
        exclude = edge.HasIdCondition({point_id})
        self.filter = edge.Filter(
            must=None if self.filter is None else [self.filter], must_not=[exclude]
        )
        return edge.Query.Nearest(vector, using=using)


def _fusion(raw: JsonObject) -> Any:
    method = raw.get("fusion")
    if method == "rrf":
        return edge.Fusion.Rrf(k=RRF_K)
    if method == "dbsf":
        return edge.Fusion.Dbsf()
    if "rrf" in raw:  # {"rrf": {"k": N, "weights": [...]}}
        spec = expect_object(raw["rrf"], "query.rrf")
        weights = spec.get("weights")
        return edge.Fusion.Rrf(k=opt_int(spec, "k", default=RRF_K, minimum=1), weights=weights)
    raise format_error(f"unknown variant `{method}`, expected one of `rrf`, `dbsf`")


def _prefetch(collection: Collection, request: JsonObject, field: str) -> edge.Prefetch:
    level = _Level(collection, request, field)
    return edge.Prefetch(
        limit=opt_int(request, "limit", default=10, minimum=1),
        query=level.query,
        prefetches=level.prefetches or None,
        filter=level.filter,
        score_threshold=level.threshold,
    )


def _query_request(collection: Collection, request: JsonObject, field: str) -> edge.QueryRequest:
    level = _Level(collection, request, field)
    return edge.QueryRequest(
        limit=opt_int(request, "limit", default=10, minimum=1),
        offset=opt_int(request, "offset", default=0),
        query=level.query,
        prefetches=level.prefetches or None,
        with_vector=parse_with_vector(request, default=False),
        with_payload=parse_with_payload(request, default=False),
        filter=level.filter,
        score_threshold=level.threshold,
    )


def _query(collection: Collection, request: edge.QueryRequest) -> JsonObject:
    points = _run(lambda: collection.engine.query(request))
    return {"points": [scored_point(point) for point in points]}


def query_points(call: Call) -> JsonObject:
    collection = call.collection
    body = expect_object(call.body if call.body is not None else {}, "body")
    return _query(collection, _query_request(collection, body, ""))


def query_batch(call: Call) -> list[JsonObject]:
    collection = call.collection
    searches = expect_list(required(body_object(call.body), "searches"), "searches")
    requests = [
        _query_request(collection, expect_object(s, f"searches[{i}]"), f"searches[{i}].")
        for i, s in enumerate(searches)
    ]
    return [_query(collection, request) for request in requests]
