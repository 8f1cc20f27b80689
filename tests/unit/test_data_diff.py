"""Pure parts of the data diff: how a Redis key, PostgreSQL rows and Qdrant points are
judged changed, bounded groups with their "more", and the headless report's text with
hostile names and values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envdeck_postgres.diff_rows import row_changes
from envdeck_qdrant.diff import point_changes
from envdeck_redis.diff import KeyState, _keyspace_key, _with_flags, classify
from tui.core.testrun.data_diff import DataDiffReport, ServiceDataDiff
from tui.core.testrun.model import Outcome
from tui.plugins.api import Change, DiffItem, ServiceDiff
from tui.plugins.diff_build import bounded_group, preview
from tui.presentation.diff_text import format_diff_report
from tui.reset.steps import Outcome as Steps

# ---------------------------------------------------------------- Redis


def test_a_redis_key_is_added_removed_or_changed_by_value_type_or_ttl() -> None:
    plain = KeyState("string", -1, b"d1")
    assert classify(None, plain, frozenset()) is Change.ADDED
    assert classify(plain, None, frozenset()) is Change.REMOVED
    assert classify(None, None, frozenset({b"set", b"del"})) is None
    assert classify(plain, KeyState("string", -1, b"d2"), frozenset({b"set"})) is Change.CHANGED
    assert classify(plain, KeyState("hash", -1, b"d1"), frozenset()) is Change.CHANGED
    assert classify(plain, KeyState("string", 5000, b"d1"), frozenset()) is Change.CHANGED


def test_a_redis_key_written_as_it_was_or_ageing_is_not_changed() -> None:
    expiring = KeyState("string", 9000, b"d")
    assert classify(expiring, KeyState("string", 8000, b"d"), frozenset({b"set"})) is None
    assert classify(expiring, KeyState("string", 8000, b"d"), frozenset({b"expire"})) is (
        Change.CHANGED
    )


def test_keyspace_channels_give_db_and_binary_key() -> None:
    assert _keyspace_key(b"__keyspace@3__:user:\xff:1") == (3, b"user:\xff:1")
    assert _keyspace_key(b"__keyspace@0__:a__:b") == (0, b"a__:b")
    assert _keyspace_key(b"__keyevent@0__:set") is None
    assert _keyspace_key(b"__keyspace@x__:k") is None


def test_notification_flags_keep_the_servers_own() -> None:
    assert _with_flags("", "KA") == "KA"
    assert _with_flags("Ex", "KA") == "ExKA"
    assert _with_flags("AKE", "KA") == "AKE"


# ---------------------------------------------------------------- PostgreSQL


def test_rows_by_primary_key_are_inserted_deleted_or_updated() -> None:
    removed = [("1", "a"), ("2", "b"), ("3", "c")]  # old versions and deleted rows
    written = [("1", "A"), ("3", "c"), ("4", "d")]  # new versions and inserted rows
    changes = row_changes(removed, written, [0])
    assert changes.inserted == [("4", "d")]
    assert changes.deleted == [("2", "b")]
    assert changes.updated == [(("1", "a"), ("1", "A"))]  # 3 was written as it was


def test_rows_without_a_key_are_whole_rows_and_duplicates_count() -> None:
    removed = [("x", None), ("x", None), ("y", "1")]
    written = [("x", None), ("y", "2")]
    changes = row_changes(removed, written, [])
    assert changes.inserted == [("y", "2")]
    assert sorted(changes.deleted, key=str) == [("x", None), ("y", "1")]
    assert changes.updated == []


# ---------------------------------------------------------------- Qdrant


def test_points_by_id_are_added_removed_or_changed_in_id_order() -> None:
    before: dict[int | str, dict[str, Any]] = {
        1: {"id": 1, "vector": [1.0], "payload": {"a": 1}},
        2: {"id": 2, "vector": [2.0], "payload": {}},
        "b-uuid": {"id": "b-uuid", "vector": [3.0], "payload": {}},
    }
    after: dict[int | str, dict[str, Any]] = {
        1: {"id": 1, "vector": [1.0], "payload": {"a": 2}},
        "b-uuid": {"id": "b-uuid", "vector": [3.5], "payload": {}},
        10: {"id": 10, "vector": [0.0], "payload": {}},
        "a-uuid": {"id": "a-uuid", "vector": [0.0], "payload": {}},
    }
    added, removed, changed = point_changes(before, after)
    assert [p["id"] for p in added] == [10, "a-uuid"]
    assert [p["id"] for p in removed] == [2]
    assert [(was["id"], now["id"]) for was, now in changed] == [(1, 1), ("b-uuid", "b-uuid")]


# ---------------------------------------------------------------- bounds and text


def test_a_group_keeps_the_first_items_and_counts_the_rest() -> None:
    items = (DiffItem(str(i)) for i in range(1_000_000))  # never all made
    group = bounded_group(Change.ADDED, "keys added", items, 1_000_000, 3)
    assert [item.label for item in group.items] == ["0", "1", "2"]
    assert group.more == 999_997
    assert bounded_group(Change.ADDED, "t", [DiffItem("a")], 1, 5).more == 0


def test_previews_escape_control_bytes_and_stay_short() -> None:
    assert preview("a\x1b[2Jb\u202ec") == "a␛[2Jb\\u202ec"
    assert len(preview("x" * 500)) == 80
    assert "\n" not in preview("line\nbreak")


def _report(diff: ServiceDiff) -> DataDiffReport:
    return DataDiffReport(
        nodeid="tests/test_x.py::test_\x1b[31mred",
        outcome=Outcome.FAILED,
        finished=None,
        session=None,
        services=(
            ServiceDataDiff("cache", "redis", diff),
            ServiceDataDiff("http", "http", None, "no diff for this service"),
        ),
        skipped={"db": "protected in the config"},
        kept=False,
        restored=True,
        steps=Steps("data diff", (), 0.0),
    )


def test_the_report_shows_changes_more_and_escapes_everything(tmp_path: Path) -> None:
    hostile = "[bold]k\x1b]0;title\x07"
    groups = (
        bounded_group(
            Change.ADDED,
            "keys added",
            [DiffItem(hostile, (), (("value", "v\x1b[2J"),))],
            3,
            1,
        ),
        bounded_group(
            Change.CHANGED,
            "keys changed",
            [
                DiffItem(
                    "h", (("type", "hash"), ("value", "a=1")), (("type", "hash"), ("value", "a=2"))
                )
            ],
            1,
            5,
        ),
    )
    text = format_diff_report(_report(ServiceDiff(groups, ("a note\x1b[0m",))))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "[bold]k␛]0;title␇" in text  # shown as it is, escaped, never read as markup
    assert "+ keys added: 3" in text
    assert "… and 2 more" in text
    assert "h  value: a=1 → a=2" in text  # only what differs
    assert "http (http): no diff for this service" in text
    assert "db: not diffed: protected in the config" in text
    assert "put back as it was before the test" in text


def test_a_service_without_changes_says_so() -> None:
    assert "cache (redis): no changes" in format_diff_report(_report(ServiceDiff(())))
