"""The one destructive guard, against the real engine, on projects that are not ours.

Each test makes small compose projects of its own (unique names, the offline image, free
loopback ports) in the shapes users have: two checkouts with one project name, a
protected service, an image that cannot be had. Nothing of the sample stack is touched.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from tests.integration.conftest import free_port, remove_project, run_envdeck
from tui.config.settings import load_settings
from tui.core.engine import PROJECT_LABEL, DockerGateway
from tui.core.environment import resolve_environment
from tui.core.guard import DestructiveGuard, GuardRefused, Operation
from tui.reset.hard import HardReset
from tui.reset.states import StateManager
from tui.reset.steps import StepState
from tui.ui.app import EnvdeckApp, make_app
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.widgets.services_table import ServicesTable

TWO_SERVICES = """\
name: {name}
services:
  cache:
    image: {image}
    command: ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", ""]
    ports: ["127.0.0.1:{port}:6379"]
    volumes: ["cache-data:/data"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 200ms  # `up --wait` returns a fifth of a second after redis answers
      timeout: 3s
      retries: 150
  store:
    image: {image}
    command: ["sleep", "infinity"]
    init: true  # sleep as pid 1 ignores SIGTERM: every stop would wait 10 s for SIGKILL
    volumes: ["store-data:/data"]
volumes:
  cache-data:
  store-data:
"""


@dataclass(frozen=True)
class Checkout:
    folder: Path
    name: str

    def envdeck(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_envdeck(self.folder, *args)

    def compose(self, *args: str) -> None:
        subprocess.run(
            ["docker", "compose", "-f", str(self.folder / "compose.yaml"), *args],
            cwd=self.folder,
            check=True,
            capture_output=True,
            timeout=180,
        )


def write_checkout(folder: Path, name: str, image: str, config: str = "") -> Checkout:
    folder.mkdir(parents=True)
    (folder / "compose.yaml").write_text(
        TWO_SERVICES.format(name=name, image=image, port=free_port())
    )
    (folder / "pyproject.toml").write_text(
        f"[tool.envdeck]\ncompose_files = ['compose.yaml']\n{config}"
    )
    return Checkout(folder, name)


def containers(gateway: DockerGateway, project: str) -> set[str]:
    return {c.name or "" for c in gateway.project_containers(project)}


def volumes(gateway: DockerGateway, project: str) -> set[str]:
    label = {"label": f"{PROJECT_LABEL}={project}"}
    return {v.name for v in gateway.client.volumes.list(filters=label)}


@pytest.fixture
def twins(
    tmp_path: Path, gateway: DockerGateway, image: str
) -> Iterator[tuple[Checkout, Checkout]]:
    """Two checkouts of one project name; the first one is up."""
    name = f"guard-twin-{uuid.uuid4().hex[:6]}"
    first = write_checkout(tmp_path / "first" / "app", name, image)
    second = write_checkout(tmp_path / "second" / "app", name, image)
    first.compose("up", "-d", "--wait")
    try:
        yield first, second
    finally:
        remove_project(gateway, name)


def test_another_checkouts_project_is_never_taken_down(
    twins: tuple[Checkout, Checkout], gateway: DockerGateway
) -> None:
    first, second = twins
    before_containers = containers(gateway, first.name)
    before_volumes = volumes(gateway, first.name)
    assert len(before_containers) == 2
    assert len(before_volumes) == 2

    for args in (("down",), ("down", "-v", "--yes"), ("reset", "--hard", "--yes")):
        result = second.envdeck(*args)
        assert result.returncode != 0, (args, result.stdout, result.stderr)
        assert "is not this checkout's" in result.stderr, (args, result.stderr)
        assert str(first.folder) in result.stderr
        assert containers(gateway, first.name) == before_containers, args
        assert volumes(gateway, first.name) == before_volumes, args

    flush = second.envdeck("inspect", "cache", "--action", "flush_db", "--yes")
    assert flush.returncode == 1
    assert "is not this checkout's" in flush.stderr

    status = second.envdeck("status")
    assert status.returncode == 1, "a gate in the second checkout must not pass on the first's"
    assert "not this checkout's environment" in status.stderr
    fast = second.envdeck("reset", "--yes")
    assert fast.returncode == 1
    assert "nothing was reset: project" in fast.stderr  # said first, not "no baseline"

    # up would recreate the first checkout's containers from the second's file.
    ids = {c.id for c in gateway.project_containers(first.name)}
    up = second.envdeck("up")
    assert up.returncode != 0
    assert "nothing was started" in up.stderr
    assert "is not this checkout's" in up.stderr
    assert {c.id for c in gateway.project_containers(first.name)} == ids

    # The first checkout itself may: its own down -v removes exactly what it listed.
    own = first.envdeck("down", "-v", "--yes")
    assert own.returncode == 0, own.stderr
    for name in before_containers | before_volumes:
        assert name in own.stdout
    assert containers(gateway, first.name) == set()
    assert volumes(gateway, first.name) == set()


def test_down_v_asks_and_refuses_without_a_terminal(
    twins: tuple[Checkout, Checkout], gateway: DockerGateway
) -> None:
    first, _ = twins
    refused = first.envdeck("down", "-v")
    assert refused.returncode == 2
    assert "add --yes" in refused.stderr
    assert len(volumes(gateway, first.name)) == 2
    assert len(containers(gateway, first.name)) == 2


def test_protected_services_survive_down_and_down_v(
    tmp_path: Path, gateway: DockerGateway, image: str
) -> None:
    name = f"guard-protected-{uuid.uuid4().hex[:6]}"
    checkout = write_checkout(
        tmp_path / "app", name, image, "[tool.envdeck.services.cache]\nprotected = true\n"
    )
    checkout.compose("up", "-d", "--wait")
    try:
        cache_volume = f"{name}_cache-data"
        down = checkout.envdeck("down", "-v", "--yes")
        assert down.returncode == 0, down.stderr
        assert "service cache: protected in the config" in down.stdout
        assert f"volume {cache_volume}: used by a protected service" in down.stdout
        assert containers(gateway, name) == {f"{name}-cache-1"}
        assert volumes(gateway, name) == {cache_volume}
        running = gateway.client.containers.get(f"{name}-cache-1")
        assert running.status == "running"

        flush = checkout.envdeck("inspect", "cache", "--action", "flush_db", "--yes")
        assert flush.returncode == 1
        assert "cache is protected" in flush.stderr
    finally:
        remove_project(gateway, name)


@pytest.fixture
def untagged(tmp_path: Path, gateway: DockerGateway, image: str) -> Iterator[Checkout]:
    """A project up and running from an image whose tag is gone since (it cannot be
    pulled here: no registry answers), as after a `docker rmi` or a retag."""
    name = f"guard-gone-{uuid.uuid4().hex[:6]}"
    tag = f"envdeck-test-gone-{uuid.uuid4().hex[:6]}:1"
    gateway.client.images.get(image).tag(tag)
    checkout = write_checkout(tmp_path / "app", name, tag)
    try:
        checkout.compose("up", "-d", "--wait")
    finally:
        gateway.client.images.remove(tag)
    try:
        yield checkout
    finally:
        remove_project(gateway, name)


def test_nothing_is_removed_when_compose_could_not_create_it_again(
    untagged: Checkout, gateway: DockerGateway
) -> None:
    before = (containers(gateway, untagged.name), volumes(gateway, untagged.name))

    hard = untagged.envdeck("reset", "--hard", "--yes")
    assert hard.returncode == 2, hard.stderr
    assert "could not create cache, store again" in hard.stderr
    assert "no registry answers" in hard.stderr
    assert "docker load" in hard.stderr  # how to fix it
    down_v = untagged.envdeck("down", "-v", "--yes")
    assert down_v.returncode == 1
    assert "could not create" in down_v.stderr
    assert (containers(gateway, untagged.name), volumes(gateway, untagged.name)) == before

    doctor = untagged.envdeck("doctor")
    assert doctor.returncode == 1
    assert "[FAIL] image: cache:" in doctor.stdout
    assert "no registry answers" in doctor.stdout
    assert "`envdeck up` pulls them" not in doctor.stdout

    up = untagged.envdeck("up")
    assert up.returncode != 0
    assert "cannot create cache, store" in up.stderr
    assert "pull access denied" not in up.stderr  # compose's raw pull error


def test_a_hard_reset_whose_recreation_fails_says_how_to_bring_it_back(
    tmp_path: Path, gateway: DockerGateway, image: str
) -> None:
    """The image can be built (so the guard lets it go), but the build fails after the
    removal: the failure names the command that brings the project back."""
    name = f"guard-build-{uuid.uuid4().hex[:6]}"
    folder = tmp_path / "app"
    (folder / "broken").mkdir(parents=True)
    (folder / "broken" / "Dockerfile").write_text(f"FROM {image}\nRUN exit 7\n")
    tag = f"envdeck-test-built-{uuid.uuid4().hex[:6]}:1"
    (folder / "compose.yaml").write_text(
        f"name: {name}\nservices:\n  app:\n    image: {tag}\n    build: ./broken\n"
        '    command: ["sleep", "infinity"]\n    init: true\n'
    )
    (folder / "pyproject.toml").write_text("[tool.envdeck]\ncompose_files = ['compose.yaml']\n")
    gateway.client.images.get(image).tag(tag)
    try:
        settings = load_settings(folder)
        environment = resolve_environment(settings, gateway)
        environment.compose.run("up", "-d", timeout=120)
        gateway.client.images.remove(tag)  # compose must build it now, and the build fails
        hard = HardReset(StateManager(settings, environment, gateway))
        plan = hard.plan()
        assert any("app: " in line and "built from" in line for line in plan.recreate)
        outcome = hard.run(plan)
        failed = {step.title: step for step in outcome.steps}
        assert failed["remove containers and volumes"].state is StepState.DONE
        up = failed["create and start (compose up)"]
        assert up.state is StepState.FAILED
        assert "bring it back with envdeck up" in up.detail
        assert f"docker compose -p {name} -f {folder / 'compose.yaml'} up -d" in up.detail
    finally:
        remove_project(gateway, name)
        with contextlib.suppress(docker.errors.ImageNotFound):
            gateway.client.images.remove(tag)


def test_the_guard_rechecks_the_plan_just_before_acting(
    twins: tuple[Checkout, Checkout], gateway: DockerGateway
) -> None:
    first, _ = twins
    settings = load_settings(first.folder)
    environment = resolve_environment(settings, gateway)
    guard = DestructiveGuard(settings, environment, gateway)
    plan = guard.plan(Operation.DOWN_VOLUMES)
    assert {name for _, name in plan.containers} == containers(gateway, first.name)
    assert set(plan.volumes) == volumes(gateway, first.name)
    late = gateway.client.volumes.create(f"{first.name}_late", labels={PROJECT_LABEL: first.name})
    acted: list[str] = []
    with pytest.raises(GuardRefused, match=f"volume {first.name}_late"):
        guard.run(plan, lambda confirmed: acted.append("removed"))
    assert acted == []
    late.remove()


async def _listed(app: EnvdeckApp, pilot: Pilot[Any], rows: int) -> ServicesTable:
    table = app.screen.query_one(ServicesTable)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and table.row_count < rows:
        await pilot.pause(0.05)
    assert table.row_count >= rows
    return table


async def _until(pilot: Pilot[Any], check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within 60 s")
        await pilot.pause(0.1)


async def test_the_dashboards_d_refuses_another_checkouts_project(
    twins: tuple[Checkout, Checkout], gateway: DockerGateway
) -> None:
    first, second = twins
    before = (containers(gateway, first.name), volumes(gateway, first.name))
    app = make_app(load_settings(second.folder), gateway)
    async with app.run_test(size=(140, 34)) as pilot:
        await _listed(app, pilot, 2)
        header = app.screen.query_one("#summary", Static)
        await _until(
            pilot,
            lambda: f"⚠ project {first.name} is not this checkout's" in str(header.render()),
            "the header's warning",
        )
        await pilot.press("D")

        def refused() -> bool:
            return any("is not this checkout's" in n.message for n in app._notifications)

        await _until(pilot, refused, "the refusal")
        assert not isinstance(app.screen, ConfirmScreen)
    assert (containers(gateway, first.name), volumes(gateway, first.name)) == before


async def test_the_dashboards_d_lists_what_goes_and_removes_exactly_that(
    twins: tuple[Checkout, Checkout], gateway: DockerGateway
) -> None:
    first, _ = twins
    names = containers(gateway, first.name)
    volume_names = volumes(gateway, first.name)
    app = make_app(load_settings(first.folder), gateway)
    async with app.run_test(size=(140, 40)) as pilot:
        await _listed(app, pilot, 2)
        await pilot.press("D")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the dialog")
        body = str(app.screen.query_one("#dialog-body", Static).render())
        for name in names | volume_names:
            assert name in body
        await pilot.press("escape")
        assert containers(gateway, first.name) == names, "esc removed nothing"

        await pilot.press("D")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the dialog")
        await pilot.click("#down-volumes")
        await _until(
            pilot,
            lambda: not containers(gateway, first.name) and not volumes(gateway, first.name),
            "down -v",
        )


def test_status_says_why_a_service_has_no_container(
    tmp_path: Path, gateway: DockerGateway, image: str
) -> None:
    never = f"envdeck-test-never-{uuid.uuid4().hex[:6]}:1"
    checkout = write_checkout(tmp_path / "app", f"missing-{uuid.uuid4().hex[:6]}", never)
    text = checkout.envdeck("status")
    assert text.returncode == 1, text.stderr
    assert f"cache: cannot be created: {never} is not here, and no registry answers" in text.stdout
    assert "docker load" in text.stdout

    present = write_checkout(tmp_path / "other", f"missing-{uuid.uuid4().hex[:6]}", image)
    document = json.loads(present.envdeck("status", "--json").stdout)
    reasons = {service["name"]: service["reason"] for service in document["services"]}
    assert reasons["cache"].startswith(f"no container yet ({image}: present)")
    assert reasons["cache"].endswith("`envdeck up`")


def test_a_build_that_cannot_run_is_not_called_buildable(
    tmp_path: Path, gateway: DockerGateway, image: str
) -> None:
    """Compose would build these images; the proof looks at what the build needs: the
    Dockerfile, and the images it starts FROM."""
    folder = tmp_path / "app"
    (folder / "nofile").mkdir(parents=True)
    (folder / "nobase").mkdir()
    never = f"envdeck-test-never-{uuid.uuid4().hex[:6]}:1"
    (folder / "nobase" / "Dockerfile").write_text(f"FROM {never} AS base\nFROM base\n")
    (folder / "fine").mkdir()
    (folder / "fine" / "Dockerfile").write_text(f"FROM {image}\n")
    (folder / "compose.yaml").write_text(
        f"name: built-{uuid.uuid4().hex[:6]}\nservices:\n"
        "  a:\n    build: ./nofile\n  b:\n    build: ./nobase\n  c:\n    build: ./fine\n"
    )
    (folder / "pyproject.toml").write_text("[tool.envdeck]\ncompose_files = ['compose.yaml']\n")
    doctor = run_envdeck(folder, "doctor")
    assert doctor.returncode == 1
    assert f"Dockerfile {folder / 'nofile' / 'Dockerfile'} does not exist" in doctor.stdout
    assert f"starts FROM, {never}, is not here, and no registry answers" in doctor.stdout
    assert "[FAIL] image: c:" not in doctor.stdout
    assert "built by compose at `envdeck up`: " in doctor.stdout


def test_doctor_counts_services_in_words(tmp_path: Path, image: str) -> None:
    """No compose_files configured: compose finds compose.yaml itself."""
    (tmp_path / "compose.yaml").write_text(
        f"name: words-{uuid.uuid4().hex[:6]}\nservices:\n  only:\n    image: {image}\n"
    )
    doctor = run_envdeck(tmp_path, "doctor")
    assert "1 service from the compose file compose found in" in doctor.stdout, doctor.stdout
    assert "services from found by compose" not in doctor.stdout


def test_volumes_no_container_proves_ours_are_never_removed(
    twins: tuple[Checkout, Checkout], gateway: DockerGateway
) -> None:
    """After the first checkout's `down`, only volumes are left: the labels no longer
    say whose they are. Only a checkout whose baseline names them may remove them."""
    first, second = twins
    first.compose("down")
    left = volumes(gateway, first.name)
    assert len(left) == 2
    for checkout in (second, first):  # neither has a baseline naming them
        refused = checkout.envdeck("down", "-v", "--yes")
        assert refused.returncode == 1, refused.stdout
        assert "cannot tell which checkout" in refused.stderr
        assert volumes(gateway, first.name) == left

    took = first.envdeck("up")  # takes the baseline, which records the volumes
    assert took.returncode == 0, took.stderr
    first.compose("down")
    assert second.envdeck("down", "-v", "--yes").returncode == 1
    own = first.envdeck("down", "-v", "--yes")
    assert own.returncode == 0, own.stderr
    assert volumes(gateway, first.name) == set()


def test_a_volume_used_by_an_outside_container_stops_down_before_anything_goes(
    twins: tuple[Checkout, Checkout], gateway: DockerGateway, image: str
) -> None:
    first, _ = twins
    before = containers(gateway, first.name)
    outsider = gateway.client.containers.run(
        image,
        ["sleep", "600"],
        detach=True,
        volumes={f"{first.name}_store-data": {"bind": "/x", "mode": "ro"}},
        name=f"outsider-{uuid.uuid4().hex[:6]}",
    )
    try:
        refused = first.envdeck("down", "-v", "--yes")
        assert refused.returncode == 1
        assert f"{first.name}_store-data by {outsider.name}" in refused.stderr
        assert containers(gateway, first.name) == before, "nothing was removed"
    finally:
        outsider.remove(force=True)


def test_a_checkout_reached_through_a_symlink_is_still_ours(
    tmp_path: Path, gateway: DockerGateway, image: str
) -> None:
    name = f"guard-link-{uuid.uuid4().hex[:6]}"
    real = write_checkout(tmp_path / "real" / "app", name, image)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    via_link = Checkout(link / "app", name)
    via_link.compose("up", "-d")  # compose records the path it was given: the link
    try:
        down = real.envdeck("down")
        assert down.returncode == 0, down.stderr
        assert containers(gateway, name) == set()
    finally:
        remove_project(gateway, name)
