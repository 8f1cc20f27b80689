"""How a baseline's volumes are told from volumes created again under their names, and how
records of both formats load (the engine-backed cases: test_reset_volume_identity)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tui.plugins.api import ServiceTarget, StateRef
from tui.reset.recreation import (
    created_at_is_creation,
    parts_gone,
    recreated_volumes,
    volume_marks,
)
from tui.reset.scope import StatefulService
from tui.reset.store import BASELINE, SavedPart, StateRecord, StateStore, VolumeMark

THEN = "2026-11-22T06:00:00Z"
LATER = "2026-11-22T06:05:00Z"


def judge(then: VolumeMark, now: VolumeMark | None, *, trusted: bool = False) -> list[str]:
    current = {} if now is None else {"shop_db": now}
    return recreated_volumes({"shop_db": then}, current, created_at_is_identity=trusted)


def test_marks_name_the_containers_that_mount_each_volume() -> None:
    volumes = [{"Name": "shop_db", "CreatedAt": THEN}, {"Name": "shop_cache", "CreatedAt": LATER}]
    containers: list[dict[str, Any]] = [
        {"Id": "b2", "Mounts": [{"Type": "volume", "Name": "shop_db"}]},
        {"Id": "a1", "Mounts": [{"Type": "volume", "Name": "shop_db"}, {"Type": "bind"}]},
        {"Id": "c3", "Mounts": None},
    ]
    assert volume_marks(volumes, containers) == {
        "shop_db": VolumeMark(THEN, ("a1", "b2")),
        "shop_cache": VolumeMark(LATER, ()),
    }


@pytest.mark.parametrize("trusted", [False, True])
def test_a_container_that_mounted_it_then_and_now_proves_it_is_the_same(trusted: bool) -> None:
    # A write moved CreatedAt (Docker before 23), a second container joined: same volume.
    assert judge(VolumeMark(THEN, ("a1",)), VolumeMark(LATER, ("a1", "z9")), trusted=trusted) == []


def test_an_unchanged_created_at_is_the_same_volume() -> None:
    assert judge(VolumeMark(THEN, ("a1",)), VolumeMark(THEN, ("z9",)), trusted=True) == []


def test_a_volume_gone_counts_as_recreated() -> None:
    assert judge(VolumeMark(THEN, ("a1",)), None) == ["shop_db"]


def test_new_containers_and_a_new_created_at_are_recreation_only_where_created_at_is_kept() -> None:
    then, now = VolumeMark(THEN, ("a1",)), VolumeMark(LATER, ("z9",))
    assert judge(then, now, trusted=True) == ["shop_db"]
    # Docker 20.10: `down` then `up` looks the same as `down -v` then `up`; not a verdict.
    assert judge(then, now, trusted=False) == []


@pytest.mark.parametrize(
    ("api_version", "kept"),
    [("1.41", False), ("1.42", True), ("1.47", True), ("2.0", True), (None, False), ("x", False)],
)
def test_created_at_is_the_creation_time_from_docker_23(
    api_version: str | None, kept: bool
) -> None:
    assert created_at_is_creation(api_version) is kept


def record_with(volumes: dict[str, VolumeMark]) -> StateRecord:
    part = SavedPart("postgres", "database x", 1, "1 database", "f1")
    return StateRecord(BASELINE, "shop", 1.0, {"db": part}, volumes=volumes)


def test_a_record_reads_back_with_its_marks(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "shop")
    saved = record_with({"shop_db": VolumeMark(THEN, ("a1", "b2"))})
    store.commit(store.begin(BASELINE), saved)
    assert store.read(BASELINE) == saved


def test_a_record_of_the_created_at_only_format_still_loads(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "shop")
    store.commit(store.begin(BASELINE), record_with({}))
    manifest = store.path(BASELINE) / "manifest.json"
    raw = json.loads(manifest.read_text())
    raw["volumes"] = {"shop_db": THEN}
    manifest.write_text(json.dumps(raw))
    loaded = store.read(BASELINE)
    assert loaded is not None
    assert loaded.volumes == {"shop_db": VolumeMark(THEN, ())}
    # Judged without the containers: only a new CreatedAt on a trusting engine condemns it.
    assert recreated_volumes(loaded.volumes, {"shop_db": VolumeMark(LATER, ("a1",))},
                             created_at_is_identity=False) == []  # fmt: skip


class Plugin:
    """A stateful plugin whose `state_exists` answers as told, or raises."""

    name = "fake"

    def __init__(self, answer: bool | Exception) -> None:
        self.answer = answer
        self.asked: list[StateRef] = []

    def state_exists(self, target: ServiceTarget, ref: StateRef) -> bool:
        self.asked.append(ref)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def service(name: str, plugin: Plugin) -> StatefulService:
    target = ServiceTarget(name, None, "127.0.0.1", {}, {})
    return StatefulService(name, "fake", plugin, target)  # type: ignore[arg-type]


def test_a_part_its_plugin_says_is_gone_is_named_and_a_plugin_that_cannot_tell_is_not(
    tmp_path: Path,
) -> None:
    record = record_with({})
    gone, down, other = Plugin(False), Plugin(ConnectionError("refused")), Plugin(False)
    services = [service("db", gone), service("db", down), service("not-in-it", other)]
    assert parts_gone(record, tmp_path, services) == ["db"]
    assert gone.asked == [StateRef(BASELINE, tmp_path / "db")]
    assert other.asked == []  # a service the baseline has no part of is not asked
