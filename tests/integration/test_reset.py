"""Reset, baseline and snapshots against the real sample environment.

Each test keeps its states in its own folder. Every test leaves the sample's data at
the state it found it in (the last step restores it), so the tests after it see the
environment they expect.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker.models.containers import Container
from docker.models.volumes import Volume

from tests.conftest import REPO, SampleEnv
from tests.integration.conftest import WatchedOutput, run_envdeck
from tests.integration.reset_data import (
    dirty_everything,
    everything,
    pg_connect,
    qdrant,
    redis_client,
    wait_until,
)
from tui.config.settings import ServiceSettings
from tui.core.engine import PROJECT_LABEL, SERVICE_LABEL
from tui.core.environment import resolve_environment
from tui.core.ownership import CONFIG_FILES_LABEL, WORKING_DIR_LABEL
from tui.core.status import build_statuses
from tui.plugins.api import StateRef
from tui.reset.hard import HardReset
from tui.reset.states import StateManager
from tui.reset.steps import Outcome, StepState


def manager_for(env: SampleEnv, state_dir: Path, **settings: Any) -> StateManager:
    changed = env.settings.replace(**{"state_dir": state_dir, **settings})
    return StateManager(changed, resolve_environment(changed, env.gateway), env.gateway)


def states(outcome: Outcome) -> dict[str, StepState]:
    return {step.title: step.state for step in outcome.steps}


def assert_ok(outcome: Outcome) -> None:
    assert outcome.ok, outcome.failure_summary


def all_ready(env: SampleEnv) -> bool:
    containers = env.gateway.project_containers(env.project)
    statuses = build_statuses(env.environment.project, containers)
    return all(status.is_ready for status in statuses)


@pytest.fixture
def manager(sample_env: SampleEnv, tmp_path: Path) -> Iterator[StateManager]:
    """A manager with a fresh baseline of the data as the test found it; restored after."""
    manager = manager_for(sample_env, tmp_path)
    assert_ok(manager.take_baseline())
    yield manager
    if all_ready(sample_env):
        assert_ok(manager.fast_reset())


def test_a_fast_reset_brings_every_service_back_to_the_baseline_exactly(
    sample_env: SampleEnv, manager: StateManager
) -> None:
    before = everything(sample_env)
    dirty_everything(sample_env, uuid.uuid4().hex[:8])
    assert everything(sample_env) != before

    outcome = manager.fast_reset()

    assert_ok(outcome)
    assert states(outcome) == {
        "read baseline": StepState.DONE,
        "check the containers are this checkout's": StepState.DONE,
        "check every part can be restored": StepState.DONE,
        "check again": StepState.DONE,
        "reset postgres": StepState.DONE,
        "reset qdrant": StepState.DONE,
        "reset redis": StepState.DONE,
        "reset mock-api": StepState.SKIPPED,
    }
    assert everything(sample_env) == before
    last = manager.store.last_reset()
    assert last is not None
    assert (last.kind, last.ok) == ("fast reset", True)
    print(f"fast reset of the sample environment: {outcome.seconds:.3f} s")


def test_a_snapshot_restores_the_state_it_saved_again_and_again(
    sample_env: SampleEnv, manager: StateManager
) -> None:
    dirty_everything(sample_env, "snap")
    saved = everything(sample_env)
    assert_ok(manager.save("failing-order"))
    listed = {record.name: record for record in manager.snapshots()}
    assert set(listed) == {"failing-order"}
    assert set(listed["failing-order"].parts) == {"postgres", "qdrant", "redis"}
    assert all(part.size_bytes > 0 for part in listed["failing-order"].parts.values())

    for round_ in range(2):
        dirty_everything(sample_env, f"after{round_}")
        assert_ok(manager.restore("failing-order"))
        assert everything(sample_env) == saved

    assert_ok(manager.delete("failing-order"))
    assert manager.snapshots() == []
    restore_deleted = manager.restore("failing-order")
    assert not restore_deleted.ok
    assert "no snapshot named 'failing-order'" in restore_deleted.failure_summary


def test_a_restore_with_a_part_gone_changes_nothing(
    sample_env: SampleEnv, manager: StateManager
) -> None:
    """Every part is checked before any is restored: a snapshot whose PostgreSQL copies
    are gone (a new volume; deleted from another checkout) must not restore Redis and
    then fail, leaving the services at two different states."""
    assert_ok(manager.save("half-gone"))
    postgres = next(
        item for item in manager.checked_services().services if item.service == "postgres"
    )
    postgres.plugin.delete_state(
        postgres.target, StateRef("half-gone", manager.store.path("half-gone") / "postgres")
    )
    marker = f"after-save:{uuid.uuid4().hex[:6]}"
    redis_client(sample_env).set(marker, "still here")
    try:
        outcome = manager.restore("half-gone")
        assert not outcome.ok
        assert states(outcome)["check every part can be restored"] is StepState.FAILED
        assert "postgres no longer has its saved data" in outcome.failure_summary
        assert "nothing was changed" in outcome.failure_summary
        assert "reset redis" not in states(outcome)
        assert redis_client(sample_env).get(marker) == b"still here"
    finally:
        redis_client(sample_env).delete(marker)
        manager.delete("half-gone")


def test_a_reset_while_a_service_is_down_says_which_and_the_next_one_recovers(
    sample_env: SampleEnv, manager: StateManager
) -> None:
    before = everything(sample_env)
    dirty_everything(sample_env, "down")
    redis_container = next(
        c
        for c in sample_env.gateway.project_containers(sample_env.project)
        if c.labels.get(SERVICE_LABEL) == "redis"
    )
    redis_container.stop(timeout=2)
    try:
        outcome = manager.fast_reset()
        assert not outcome.ok
        assert states(outcome)["reset redis"] is StepState.FAILED
        assert states(outcome)["reset postgres"] is StepState.DONE
        assert "reset redis" in outcome.failure_summary
    finally:
        redis_container.start()
        wait_until(lambda: all_ready(sample_env), 60, "redis to be healthy again")
    assert_ok(manager.fast_reset())
    assert everything(sample_env) == before


@pytest.fixture
def outsiders(sample_env: SampleEnv) -> Iterator[tuple[Container, Volume, Volume]]:
    """A container and a volume of another project, and a volume of no project."""
    client = sample_env.gateway.client
    tag = uuid.uuid4().hex[:8]
    other = f"envdeck-test-other-{tag}"
    volume = client.volumes.create(f"{other}_data", labels={PROJECT_LABEL: other})
    loose = client.volumes.create(f"envdeck-test-loose-{tag}")
    image = sample_env.environment.project.services["redis"].image
    assert image is not None
    container = client.containers.run(
        image,
        ["sleep", "600"],
        detach=True,
        labels={PROJECT_LABEL: other, SERVICE_LABEL: "redis"},
        volumes={volume.name: {"bind": "/data", "mode": "rw"}},
        name=f"{other}-redis-1",
    )
    yield container, volume, loose
    container.remove(force=True)
    volume.remove(force=True)
    loose.remove(force=True)


def test_a_hard_reset_recreates_volumes_keeps_protected_services_and_nothing_else(
    sample_env: SampleEnv,
    tmp_path: Path,
    outsiders: tuple[Container, Volume, Volume],
) -> None:
    protected = {"redis": ServiceSettings(protected=True)}
    manager = manager_for(sample_env, tmp_path, services=protected)
    client = sample_env.gateway.client
    volumes_before = {
        v.name: v.attrs["CreatedAt"]
        for v in client.volumes.list(filters={"label": f"{PROJECT_LABEL}={sample_env.project}"})
    }
    containers_before = {
        c.labels[SERVICE_LABEL]: c.id
        for c in sample_env.gateway.project_containers(sample_env.project)
    }
    with pg_connect(sample_env) as connection:
        connection.execute("CREATE TABLE hard_reset_marker (id int)")
    redis_client(sample_env).set("protected:marker", "kept")

    hard = HardReset(manager)
    plan = hard.plan()
    assert {name for _, name in plan.containers} == {
        f"{sample_env.project}-{service}-1" for service in ("mock-api", "postgres", "qdrant")
    }
    assert set(plan.volumes) == set(volumes_before)
    assert "service redis: protected in the config" in plan.kept

    outcome = hard.run(plan)

    assert_ok(outcome)
    print("hard reset steps:", [(s.title, round(s.seconds or 0, 2)) for s in outcome.steps])
    assert states(outcome)["take the baseline"] is StepState.DONE
    volumes_after = {
        v.name: v.attrs["CreatedAt"]
        for v in client.volumes.list(filters={"label": f"{PROJECT_LABEL}={sample_env.project}"})
    }
    assert set(volumes_after) == set(volumes_before)
    assert all(volumes_after[name] != created for name, created in volumes_before.items())
    containers_after = {
        c.labels[SERVICE_LABEL]: c.id
        for c in sample_env.gateway.project_containers(sample_env.project)
    }
    assert containers_after["redis"] == containers_before["redis"]
    assert containers_after["postgres"] != containers_before["postgres"]
    assert redis_client(sample_env).get("protected:marker") == b"kept"
    redis_client(sample_env).delete("protected:marker")
    with pg_connect(sample_env) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'hard_reset_marker'"
        ).fetchone()
        assert tables == (0,)
        documents = connection.execute("SELECT count(*) FROM documents").fetchone()
        assert documents == (3,), "init.sql ran again on the new volume"
    with qdrant(sample_env) as http:
        names = {c["name"] for c in http.get("/collections").json()["result"]["collections"]}
    assert "seed_articles" in names, "the seed hook ran"
    assert manager.baseline_problem() is None
    container, volume, loose = outsiders
    container.reload()
    assert container.status == "running"
    volume.reload()
    loose.reload()


def test_another_checkouts_containers_are_never_reset(
    sample_env: SampleEnv, tmp_path: Path
) -> None:
    manager = manager_for(sample_env, tmp_path)
    image = sample_env.environment.project.services["redis"].image
    assert image is not None
    elsewhere = "/elsewhere/other-checkout/compose"
    intruder = sample_env.gateway.client.containers.run(
        image,
        ["sleep", "600"],
        detach=True,
        labels={
            PROJECT_LABEL: sample_env.project,
            SERVICE_LABEL: "worker",
            "com.docker.compose.oneoff": "False",
            WORKING_DIR_LABEL: elsewhere,
            CONFIG_FILES_LABEL: f"{elsewhere}/compose.yaml",
        },
        name=f"{sample_env.project}-worker-{uuid.uuid4().hex[:6]}",
    )
    try:
        ids_before = {c.id for c in sample_env.gateway.project_containers(sample_env.project)}
        deletes = manager.delete("baseline")  # its parts live in the other's servers too
        for outcome in (manager.fast_reset(), manager.take_baseline(), manager.save("x"), deletes):
            assert not outcome.ok
            assert "is not this checkout's" in outcome.failure_summary
            assert "/elsewhere/other-checkout/compose" in outcome.failure_summary
        with pytest.raises(Exception, match="is not this checkout's"):
            HardReset(manager).plan()
        ids_after = {c.id for c in sample_env.gateway.project_containers(sample_env.project)}
        assert ids_after == ids_before
    finally:
        intruder.remove(force=True)


async def test_the_dashboard_takes_the_baseline_and_x_enter_resets_to_it(
    sample_env: SampleEnv, tmp_path: Path
) -> None:
    from textual.widgets import Static

    from tui.ui.app import make_app
    from tui.ui.screens.dashboard import DashboardHeader
    from tui.ui.screens.reset import ResetScreen

    settings = sample_env.settings.replace(**{"state_dir": tmp_path})
    app = make_app(settings, sample_env.gateway)
    manager = manager_for(sample_env, tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:

        async def until(condition: Any, what: str, timeout: float = 60) -> None:
            deadline = time.monotonic() + timeout
            while not condition():
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out waiting for {what}")
                await pilot.pause(0.05)

        # No baseline in this state folder: the dashboard takes it once all are ready.
        await until(lambda: manager.baseline() is not None, "the automatic baseline")
        before = everything(sample_env)
        dirty_everything(sample_env, "dashboard")
        await pilot.press("X")
        await until(lambda: isinstance(app.screen, ResetScreen), "the reset dialog")
        dialog = app.screen
        assert isinstance(dialog, ResetScreen)
        await until(lambda: dialog.overview is not None, "the dialog's overview")
        await pilot.press("enter")
        await until(lambda: dialog.outcome is not None, "the reset to finish")
        assert dialog.outcome is not None
        assert_ok(dialog.outcome)
        text = str(dialog.query_one("#reset-details", Static).render())
        assert "[ok  ] reset postgres" in text
        assert "fast reset: done in" in text
        await pilot.press("escape")
        header = app.screen.query_one(DashboardHeader)
        await until(lambda: "(fast reset, " in str(header.render()), "the header's last reset")
        assert "s ago (fast reset, " in str(header.render())
    assert everything(sample_env) == before


def one_shot_project(folder: Path, image: str, migrate_exit: int) -> Path:
    """A project with a service and a one-shot migration that exits `migrate_exit`."""
    compose_file = folder / "compose.yaml"
    compose_file.write_text(
        f"""
name: envdeck-test-oneshot-{uuid.uuid4().hex[:8]}
services:
  app:
    image: {image}
    command: ["sleep", "600"]
    stop_signal: SIGKILL  # sleep as pid 1 ignores SIGTERM: no 10 s wait at each down
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  migrate:
    image: {image}
    command: ["sh", "-c", "echo migrated; exit {migrate_exit}"]
    volumes:
      - data:/data
volumes:
  data:
"""
    )
    return compose_file


@pytest.mark.parametrize("migrate_exit", [0, 3])
def test_a_hard_reset_counts_a_one_shot_that_exits_0_as_done(
    sample_env: SampleEnv, tmp_path: Path, migrate_exit: int
) -> None:
    image = sample_env.environment.project.services["redis"].image
    assert image is not None
    compose_file = one_shot_project(tmp_path, image, migrate_exit)
    settings = sample_env.settings.replace(
        **{
            "compose_files": [compose_file],
            "offline_compose_files": [],
            "config_dir": tmp_path,
            "state_dir": tmp_path / "state",
            "seed": [],
            "up_timeout": 60.0,
        }
    )
    environment = resolve_environment(settings, sample_env.gateway)
    try:
        environment.compose.run("up", "-d", timeout=120)
        hard = HardReset(StateManager(settings, environment, sample_env.gateway))
        outcome = hard.run(hard.plan())
        wait = next(s for s in outcome.steps if s.title == "wait until every service is ready")
        if migrate_exit == 0:
            assert_ok(outcome)
            assert wait.detail == "2 ready (1 one-shot done)"
        else:
            assert wait.state is StepState.FAILED
            assert wait.detail == "migrate exited 3"
            assert "take the baseline" not in states(outcome)
    finally:
        environment.compose.run("down", "-v", "--remove-orphans", timeout=120)


def test_reset_and_snapshot_commands(sample_env: SampleEnv, tmp_path: Path) -> None:
    def envdeck(*args: str) -> subprocess.CompletedProcess[str]:
        return run_envdeck(REPO, *args, env={"ENVDECK_STATE_DIR": str(tmp_path)})

    nothing = envdeck("reset")
    assert nothing.returncode == 1
    assert "no baseline has been taken" in nothing.stderr
    assert envdeck("snapshot", "baseline").returncode == 0
    asks = envdeck("reset")
    assert asks.returncode == 2, "no terminal to ask and no --yes: refused"
    assert "add --yes" in asks.stderr
    before = everything(sample_env)
    dirty_everything(sample_env, "cli")
    reset = envdeck("reset", "--yes")
    assert reset.returncode == 0, reset.stderr
    assert "[ok  ] reset postgres" in reset.stdout
    assert everything(sample_env) == before

    saved = envdeck("snapshot", "save", "cli-snap")
    assert saved.returncode == 0, saved.stderr
    listed = envdeck("snapshot", "list", "--json")
    names = [record["name"] for record in json.loads(listed.stdout)]
    assert sorted(names) == ["baseline", "cli-snap"]
    assert envdeck("snapshot", "restore", "cli-snap", "--yes").returncode == 0
    assert envdeck("snapshot", "delete", "cli-snap", "--yes").returncode == 0
    missing = envdeck("snapshot", "restore", "cli-snap", "--yes")
    assert missing.returncode == 1
    assert "no snapshot named 'cli-snap'" in missing.stderr
    bad = envdeck("snapshot", "save", "../escape")
    assert bad.returncode == 2
    assert "cannot name a snapshot" in bad.stderr


@pytest.mark.usefixtures("no_autoloaded_plugins")
def test_envdeck_test_watch_resets_before_each_run_when_configured(
    sample_env: SampleEnv, tmp_path: Path
) -> None:
    compose = REPO / "compose"
    project = tmp_path / "project"
    project.mkdir()
    (project / "envdeck.toml").write_text(
        f'compose_files = ["{compose / "compose.yaml"}"]\n'
        f'offline_compose_files = ["{compose / "compose.offline.yaml"}"]\n'
        "reset_before_watch_runs = true\n"
        f'state_dir = "{tmp_path / "state"}"\n'
    )
    assert_ok(manager_for(sample_env, tmp_path / "state").take_baseline())
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_one.py").write_text("def test_one():\n    assert True\n")
    before = everything(sample_env)
    dirty_everything(sample_env, "watch")
    watch = WatchedOutput(project)
    try:
        watch.wait_for("1 passed", timeout=90)  # the first run
        output = "".join(watch.seen)
        assert "reset the environment to its baseline in" in output
        assert output.index("reset the environment") < output.index("1 passed")
    finally:
        watch.process.terminate()
        watch.process.wait(timeout=10)
    assert everything(sample_env) == before
