"""Qdrant's JSON turned into display strings: pure functions, no I/O.

Everything from the server (names, payloads, ids) is untrusted and leaves here through
`safe_text`, so no control character reaches the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tui.core.text import safe_text
from tui.plugins.api import InspectorError, Problem

NONE = "—"
PAYLOAD_PREVIEW = 160  # characters of a point's payload in one table cell
VECTOR_PREVIEW = 60

PointId = int | str


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(value: Any) -> str:
    """`1,234` for a count; a dash when the server left it out."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return NONE
    return f"{value:,}"


def compact_json(value: Any, limit: int) -> str:
    """One line of JSON, made safe and cut to `limit` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return truncate(safe_text(text), limit)


def plain(value: Any) -> str:
    """A scalar from the server as a safe string; structures as compact JSON."""
    if value is None:
        return NONE
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return compact_json(value, 200)


# ---------------------------------------------------------------- collections


def _vector_params(params: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Dense vector params by name; "" is the single unnamed vector."""
    vectors = params.get("vectors")
    if not isinstance(vectors, Mapping):
        return {}
    if "size" in vectors:
        return {"": vectors}
    return {str(name): spec for name, spec in vectors.items() if isinstance(spec, Mapping)}


def _sparse_names(params: Mapping[str, Any]) -> list[str]:
    sparse = params.get("sparse_vectors")
    return sorted(str(name) for name in sparse) if isinstance(sparse, Mapping) else []


def describe_vectors(params: Mapping[str, Any]) -> str:
    """`384 Cosine`, or `image: 512 Dot; text: 384 Cosine` for named vectors."""
    parts = []
    for name, spec in sorted(_vector_params(params).items()):
        shape = f"{plain(spec.get('size'))} {plain(spec.get('distance'))}"
        parts.append(f"{safe_text(name)}: {shape}" if name else shape)
    parts.extend(f"{safe_text(name)}: sparse" for name in _sparse_names(params))
    return "; ".join(parts) or NONE


def _params(info: Mapping[str, Any]) -> Mapping[str, Any]:
    config = info.get("config")
    params = config.get("params") if isinstance(config, Mapping) else None
    return params if isinstance(params, Mapping) else {}


COLLECTION_COLUMNS = ("name", "status", "points", "vectors", "indexed vectors", "segments")


def collection_row(name: str, info: Mapping[str, Any]) -> tuple[str, ...]:
    return (
        safe_text(name),
        plain(info.get("status")),
        number(info.get("points_count")),
        describe_vectors(_params(info)),
        number(info.get("indexed_vectors_count")),
        number(info.get("segments_count")),
    )


VECTOR_COLUMNS = ("vector", "size", "distance", "on disk", "extra")


def vector_rows(info: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    params = _params(info)
    rows = []
    for name, spec in sorted(_vector_params(params).items()):
        extra = {k: v for k, v in spec.items() if k not in ("size", "distance", "on_disk")}
        rows.append(
            (
                safe_text(name) or "(unnamed)",
                plain(spec.get("size")),
                plain(spec.get("distance")),
                plain(spec.get("on_disk", False)),
                compact_json(extra, 120) if extra else "",
            )
        )
    rows.extend((safe_text(name), "sparse", "", "", "") for name in _sparse_names(params))
    return tuple(rows)


def flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    """Nested config as `hnsw_config.m = 16` pairs."""
    if isinstance(value, Mapping) and value:
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            pairs.extend(flatten(f"{prefix}.{key}" if prefix else str(key), item))
        return pairs
    return [(safe_text(prefix), plain(value))]


CONFIG_SECTIONS = ("hnsw_config", "optimizer_config", "wal_config", "quantization_config")


def config_items(info: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The collection's settings; vectors are left out, they have their own table."""
    config = info.get("config")
    if not isinstance(config, Mapping):
        return ()
    params = {k: v for k, v in _params(info).items() if k not in ("vectors", "sparse_vectors")}
    pairs = flatten("params", params)
    for section in CONFIG_SECTIONS:
        pairs.extend(flatten(section, config.get(section)))
    return tuple(pairs)


PAYLOAD_SCHEMA_COLUMNS = ("field", "type", "points", "params")


def payload_schema_rows(info: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    schema = info.get("payload_schema")
    if not isinstance(schema, Mapping):
        return ()
    rows = []
    for field, spec in sorted(schema.items()):
        details = spec if isinstance(spec, Mapping) else {}
        params = details.get("params")
        rows.append(
            (
                safe_text(str(field)),
                plain(details.get("data_type")),
                number(details.get("points")),
                compact_json(params, 120) if params else "",
            )
        )
    return tuple(rows)


# ---------------------------------------------------------------- points


def encode_cursor(offset: Any) -> str | None:
    """Qdrant's `next_page_offset` as a cursor. JSON keeps int ids apart from UUIDs."""
    return None if offset is None else json.dumps(offset)


def decode_cursor(cursor: str | None) -> PointId | None:
    if cursor is None:
        return None
    try:
        offset = json.loads(cursor)
    except ValueError:
        offset = None
    if isinstance(offset, bool) or not isinstance(offset, int | str):
        raise InspectorError(Problem.ERROR, f"not a point id cursor: {safe_text(cursor)}")
    return offset


def vector_preview(vector: Any) -> str:
    if isinstance(vector, list):
        return f"({len(vector)}) {compact_json(vector, VECTOR_PREVIEW)}"
    return compact_json(vector, VECTOR_PREVIEW)


def point_row(point: Mapping[str, Any], with_vector: bool) -> tuple[str, ...]:
    row = (plain(point.get("id")), compact_json(point.get("payload") or {}, PAYLOAD_PREVIEW))
    return (*row, vector_preview(point.get("vector"))) if with_vector else row


# ---------------------------------------------------------------- snapshots


def human_size(size: Any) -> str:
    if isinstance(size, bool) or not isinstance(size, int):
        return NONE
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return NONE  # unreachable: the loop returns at GiB


SNAPSHOT_COLUMNS = ("name", "created", "size", "checksum")


def snapshot_row(snapshot: Mapping[str, Any]) -> tuple[str, ...]:
    checksum = snapshot.get("checksum")
    return (
        plain(snapshot.get("name")),
        plain(snapshot.get("creation_time")),
        human_size(snapshot.get("size")),
        truncate(plain(checksum), 16) if checksum else NONE,
    )
