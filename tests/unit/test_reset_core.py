"""The reset core's pure parts: the state store, steps, plans, seed hooks, their text."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tui.config.settings import EnvdeckSettings, SeedHook
from tui.core.compose_cli import ComposeCommand
from tui.core.compose_model import parse_project
from tui.core.environment import Environment
from tui.core.plugin_registry import PluginRegistry
from tui.presentation.reset_text import describe_record, last_reset_text, step_line
from tui.reset.hard import HardResetPlan
from tui.reset.seed import port_variables, run_seed
from tui.reset.steps import StepEvent, StepFailed, StepRunner, StepState
from tui.reset.store import (
    BASELINE,
    LastReset,
    SavedPart,
    StateRecord,
    StateStore,
    StateStoreError,
    VolumeMark,
    check_name,
)


def record(name: str, *, created_at: float = 1_700_000_000.0) -> StateRecord:
    return StateRecord(
        name=name,
        project="shop",
        created_at=created_at,
        parts={"cache": SavedPart("redis", "redis.dump", 2048, "3 keys in 1 db", "f1")},
        skipped={"api": "the http plugin keeps no data to reset"},
        volumes={"shop_db-data": VolumeMark("2026-11-22T06:00:00Z", ("c0ffee",))},
    )


# ---------------------------------------------------------------- store


def test_a_committed_state_reads_back_as_saved(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "shop")
    staging = store.begin("before-migration")
    (staging / "cache").mkdir()
    (staging / "cache" / "redis.dump").write_bytes(b"data")
    store.commit(staging, record("before-migration"))

    assert store.read("before-migration") == record("before-migration")
    assert (store.path("before-migration") / "cache" / "redis.dump").read_bytes() == b"data"
    assert store.names() == ["before-migration"]
    assert not staging.exists()


def test_saving_a_name_again_replaces_the_old_state_whole(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "shop")
    first = store.begin("s1")
    (first / "old-file").write_text("old")
    store.commit(first, record("s1", created_at=1.0))
    second = store.begin("s1")
    store.commit(second, record("s1", created_at=2.0))

    saved = store.read("s1")
    assert saved is not None
    assert saved.created_at == 2.0
    assert not (store.path("s1") / "old-file").exists()
    assert [entry.name for entry in store.folder.iterdir()] == ["s1"]  # nothing retired left


def test_an_abandoned_or_unfinished_save_is_not_listed(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "shop")
    staging = store.begin("half")
    assert store.names() == []
    assert store.read("half") is None
    store.abandon(staging)
    assert not staging.exists()


def test_a_damaged_manifest_is_reported_not_used(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "shop")
    store.commit(store.begin("s1"), record("s1"))
    (store.path("s1") / "manifest.json").write_text("{not json")
    with pytest.raises(StateStoreError, match="unreadable"):
        store.read("s1")
    assert store.records() == []


@pytest.mark.parametrize("name", ["", "../up", ".hidden", "a b", "x" * 65, "name/part", "é"])
def test_names_that_could_escape_or_confuse_are_refused(name: str) -> None:
    with pytest.raises(StateStoreError, match="cannot name a snapshot"):
        check_name(name)


def test_the_last_reset_round_trips(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "shop")
    assert store.last_reset() is None
    last = LastReset("fast reset", 1_700_000_100.0, 0.42, True)
    store.record_reset(last)
    assert store.last_reset() == last


def test_manifest_is_plain_json(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "shop")
    store.commit(store.begin(BASELINE), record(BASELINE))
    raw = json.loads((store.path(BASELINE) / "manifest.json").read_text())
    assert raw["parts"]["cache"]["fingerprint"] == "f1"


# ---------------------------------------------------------------- steps


def test_steps_report_start_and_end_and_keep_failures() -> None:
    events: list[StepEvent] = []
    steps = StepRunner("fast reset", events.append)

    def broken() -> str:
        raise StepFailed("redis is down")

    assert steps.run("reset db", lambda: "restored")
    assert not steps.run("reset cache", broken)
    steps.skip("reset api", "keeps no data")

    assert [(e.title, e.state) for e in events] == [
        ("reset db", StepState.RUNNING),
        ("reset db", StepState.DONE),
        ("reset cache", StepState.RUNNING),
        ("reset cache", StepState.FAILED),
        ("reset api", StepState.SKIPPED),
    ]
    outcome = steps.outcome()
    assert not outcome.ok
    assert outcome.failure_summary == "reset cache: redis is down"


def test_any_exception_of_a_step_becomes_its_failure() -> None:
    steps = StepRunner("hard reset")

    def plugin_bug() -> str:
        raise KeyError("x")

    assert not steps.run("save db", plugin_bug)
    assert steps.outcome().failed[0].detail == "'x'"


# ---------------------------------------------------------------- plan


def plan(containers: tuple[tuple[str, str], ...], volumes: tuple[str, ...]) -> HardResetPlan:
    return HardResetPlan("shop", containers, volumes, ("volume ext: external",), ("seed",), ())


def test_a_plan_lists_exactly_what_goes_and_what_stays() -> None:
    lines = plan((("id1", "shop-db-1"),), ("shop_db-data",)).lines()
    assert lines == [
        "containers removed: 1",
        "  shop-db-1",
        "volumes removed (their data is lost): 1",
        "  shop_db-data",
        "kept:",
        "  volume ext: external",
        "then: compose up, wait until healthy, seed, take the baseline",
    ]


def test_what_appeared_after_the_plan_was_shown_is_named() -> None:
    shown = plan((("id1", "shop-db-1"),), ("shop_db-data",))
    later = plan((("id1", "shop-db-1"), ("id2", "shop-db-2")), ("shop_db-data", "shop_new"))
    assert shown.appeared_since(later) == ["container shop-db-2", "volume shop_new"]
    assert later.appeared_since(shown) == []  # fewer is fine


def test_a_recreated_container_counts_as_new() -> None:
    shown = plan((("id1", "shop-db-1"),), ())
    assert shown.appeared_since(plan((("id9", "shop-db-1"),), ())) == ["container shop-db-1"]


# ---------------------------------------------------------------- seed hooks


def test_a_seed_hook_has_exactly_one_kind() -> None:
    with pytest.raises(ValueError, match="exactly one of"):
        SeedHook(command=["true"], exec=["true"], service="db")
    with pytest.raises(ValueError, match="needs a service"):
        SeedHook(exec=["redis-cli", "ping"])
    assert SeedHook(service="db", file=Path("seed.sql")).title == "seed db from seed.sql"


def environment_with_ports() -> Environment:
    project = parse_project(
        {
            "name": "shop",
            "services": {
                "my-db": {"image": "postgres", "ports": [{"target": 5432, "published": "15432"}]}
            },
            "volumes": {
                "data": {"name": "shop_data"},
                "shared": {"name": "shared", "external": True},
            },
        }
    )
    return Environment(ComposeCommand(("docker", "compose")), project, offline=False)


def test_the_model_knows_which_volumes_are_external() -> None:
    specs = environment_with_ports().project.volume_specs
    assert specs["data"].name == "shop_data"
    assert not specs["data"].external
    assert specs["shared"].external


def test_seed_commands_get_the_published_ports() -> None:
    assert port_variables(environment_with_ports()) == {
        "ENVDECK_MY_DB_HOST": "127.0.0.1",
        "ENVDECK_MY_DB_PORT_5432": "15432",
    }


def test_a_seed_command_runs_with_the_ports_and_reports_its_last_line(tmp_path: Path) -> None:
    script = "import os; print('first'); print('port', os.environ['ENVDECK_MY_DB_PORT_5432'])"
    hook = SeedHook(command=[sys.executable, "-c", script])
    settings = EnvdeckSettings(config_dir=tmp_path)
    message = run_seed(hook, settings, environment_with_ports(), PluginRegistry([]))
    assert message == "port 15432"


def test_a_failing_seed_command_says_its_exit_code_and_output(tmp_path: Path) -> None:
    hook = SeedHook(command=[sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"])
    settings = EnvdeckSettings(config_dir=tmp_path)
    with pytest.raises(StepFailed, match="exit 3: boom"):
        run_seed(hook, settings, environment_with_ports(), PluginRegistry([]))


def test_a_seed_command_that_hangs_is_stopped(tmp_path: Path) -> None:
    hook = SeedHook(command=[sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    settings = EnvdeckSettings(config_dir=tmp_path)
    with pytest.raises(StepFailed, match="longer than"):
        run_seed(hook, settings, environment_with_ports(), PluginRegistry([]))


# ---------------------------------------------------------------- text


def test_step_lines_show_time_only_once_ended_and_no_control_bytes() -> None:
    assert step_line(StepEvent("reset db", StepState.RUNNING)) == "[....] reset db"
    line = step_line(StepEvent("reset db", StepState.FAILED, "bad\x1b]52;c;x\x07", 0.5))
    assert line.startswith("[FAIL] reset db  0.50 s  bad")
    assert "\x1b" not in line
    assert "\x07" not in line


def test_a_record_lists_each_part_and_what_was_not_saved() -> None:
    text = describe_record(record("s1"), now=1_700_000_120.0)
    assert "s1" in text
    assert "(2 min ago)" in text
    assert "cache" in text
    assert "3 keys in 1 db" in text
    assert "api          not saved: the http plugin keeps no data to reset" in text


def test_the_header_text_of_the_last_reset() -> None:
    assert last_reset_text(None) == "no reset yet"
    last = LastReset("fast reset", 1000.0, 0.4123, True)
    assert last_reset_text(last, now=1000.0 + 125) == "reset 2 min ago (fast reset, 0.41 s)"
    failed = LastReset("hard reset", 1000.0, 9.0, False, "seed: exit 1")
    assert last_reset_text(failed, now=1010.0).endswith("(hard reset, 9.00 s, failed)")
