"""The Qdrant plugin's pure logic: Qdrant JSON to display strings, cursors, queries."""

from __future__ import annotations

import pytest

from envdeck_qdrant import QdrantPlugin
from envdeck_qdrant.client import collection_path
from envdeck_qdrant.render import (
    collection_row,
    compact_json,
    config_items,
    decode_cursor,
    describe_vectors,
    encode_cursor,
    human_size,
    point_row,
)
from envdeck_qdrant.views import parse_points_query
from tui.plugins.api import InspectorError, Match, ServiceTarget


def target(image: str | None, ports: dict[int, int]) -> ServiceTarget:
    return ServiceTarget("svc", image, "127.0.0.1", ports, {})


def test_matches_by_image_then_by_port() -> None:
    plugin = QdrantPlugin()
    assert plugin.matches(target("docker.io/qdrant/qdrant:v1.12.5", {})) is Match.IMAGE
    assert plugin.matches(target("envdeck-base:bookworm", {6333: 16333})) is Match.PORT
    assert plugin.matches(target("redis:7", {6379: 6379})) is Match.NO


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"vectors": {"size": 384, "distance": "Cosine"}}, "384 Cosine"),
        (
            {
                "vectors": {
                    "text": {"size": 4, "distance": "Dot"},
                    "img": {"size": 8, "distance": "Euclid"},
                }
            },
            "img: 8 Euclid; text: 4 Dot",
        ),
        ({"vectors": {}, "sparse_vectors": {"bm25": {}}}, "bm25: sparse"),
        ({}, "—"),
    ],
)
def test_vector_shapes(params: dict[str, object], expected: str) -> None:
    assert describe_vectors(params) == expected


def test_a_collection_row_survives_missing_fields() -> None:
    assert collection_row("c", {}) == ("c", "—", "—", "—", "—", "—")
    info = {"status": "yellow", "points_count": 1234567, "segments_count": 2, "config": {}}
    assert collection_row("c", info)[:3] == ("c", "yellow", "1,234,567")


@pytest.mark.parametrize("offset", [0, 42, "8c1bba62-5c8f-4e0c-9a53-1c0b6b0c2f11", "17"])
def test_cursors_keep_int_and_string_ids_apart(offset: int | str) -> None:
    cursor = encode_cursor(offset)
    assert cursor is not None
    assert decode_cursor(cursor) == offset


def test_no_offset_means_no_more_pages_and_junk_cursors_are_refused() -> None:
    assert encode_cursor(None) is None
    assert decode_cursor(None) is None
    for junk in ("not json", "[1]", "true", "null"):
        with pytest.raises(InspectorError):
            decode_cursor(junk)


def test_payload_json_is_safe_compact_and_truncated() -> None:
    text = compact_json({"t": "\x9b31m ünï [b]", "long": "x" * 500}, 60)
    assert len(text) == 60
    assert text.endswith("…")
    assert "\x9b" not in text
    assert text.startswith('{"t":"\\u009b31m ünï [b]"')


def test_point_rows_show_vectors_only_when_asked() -> None:
    point = {"id": 7, "payload": {"a": 1}, "vector": [0.5, 0.25]}
    assert point_row(point, with_vector=False) == ("7", '{"a":1}')
    assert point_row(point, with_vector=True)[2] == "(2) [0.5,0.25]"


def test_config_is_flattened_without_the_vectors() -> None:
    info = {
        "config": {
            "params": {"vectors": {"size": 4}, "shard_number": 1},
            "hnsw_config": {"m": 16},
            "quantization_config": None,
        }
    }
    assert dict(config_items(info)) == {
        "params.shard_number": "1",
        "hnsw_config.m": "16",
        "optimizer_config": "—",
        "wal_config": "—",
        "quantization_config": "—",
    }


def test_points_query_takes_an_optional_vectors_flag() -> None:
    assert parse_points_query(" docs ") == ("docs", False)
    assert parse_points_query("my docs +vectors") == ("my docs", True)
    assert parse_points_query("+vectors") == ("+vectors", False)


def test_collection_names_are_escaped_in_paths() -> None:
    assert (
        collection_path("a b/c%", "points", "scroll") == "/collections/a%20b%2Fc%25/points/scroll"
    )


def test_sizes_are_human() -> None:
    assert [human_size(n) for n in (512, 2048, 5 * 1024**3, None)] == [
        "512 B",
        "2.0 KiB",
        "5.0 GiB",
        "—",
    ]
