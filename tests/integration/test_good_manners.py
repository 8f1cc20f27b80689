"""Good manners in a user's repository (issue 11, item 6), on a project we did not write.

The project is small and real: PostgreSQL (the offline image) whose credentials come from
a file, as with a secret, so the plugin's defaults (the service's environment) do not
fit; a unique project name; a free loopback port; a git repository around it. What is
checked: the state folder stays out of `git status`; a baseline that cannot be taken is
said once, calmly, with the fix (by `envdeck up` and by the dashboard); a keymap with an
unknown id or two actions on one key is reported by `doctor` and at start-up; and
engine_timeout below a second still reaches the engine.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.notifications import Notification

from tests.conftest import REPO
from tests.integration.conftest import POSTGRES_IMAGE, free_port, remove_project, run_envdeck
from tui.config.settings import EnvdeckSettings, load_settings
from tui.core.engine import DockerGateway
from tui.reset.baseline_notice import NO_BASELINE_TITLE
from tui.reset.service import EnvironmentResets
from tui.reset.steps import Outcome
from tui.ui.app import make_app

SECRET_PASSWORD_PROJECT = """\
name: {name}
services:
  db:
    image: {image}
    # The credentials come from a file, as with a secret: nothing in the service's
    # environment tells a plugin what they are.
    entrypoint:
      - bash
      - -c
      - >-
        export POSTGRES_USER=app POSTGRES_DB=app POSTGRES_PASSWORD="$$(cat /run/db-password)";
        exec bash /envdeck/postgres-entrypoint.sh
    volumes:
      - {entrypoint_folder}:/envdeck:ro
      - ./db-password:/run/db-password:ro
    tmpfs: [/var/lib/postgresql/data]  # nothing to sync: initdb takes half the time
    ports: ["127.0.0.1:{port}:5432"]
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U app -d app"]
      interval: 200ms
      timeout: 3s
      retries: 300
"""
FIX = "[tool.envdeck.services.db]"


@dataclass(frozen=True)
class Stranger:
    folder: Path
    name: str

    def envdeck(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_envdeck(cwd or self.folder, *args)

    def git(self, *args: str) -> str:
        identity = ["-c", "user.name=envdeck tests", "-c", "user.email=tests@envdeck.invalid"]
        done = subprocess.run(
            ["git", *identity, *args],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def settings(self, **overrides: Any) -> EnvdeckSettings:
        return load_settings(self.folder, **overrides)


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stranger]:
    """The project, committed to git, and up."""
    gateway = DockerGateway()
    if not gateway.image_exists(POSTGRES_IMAGE):
        pytest.skip(f"{POSTGRES_IMAGE} is built with the sample environment; run that first")
    name = f"envdeck-manners-{uuid.uuid4().hex[:6]}"
    project = Stranger(tmp_path_factory.mktemp("stranger"), name)
    (project.folder / "compose.yaml").write_text(
        SECRET_PASSWORD_PROJECT.format(
            name=name,
            image=POSTGRES_IMAGE,
            entrypoint_folder=REPO / "compose" / "postgres",
            port=free_port(),
        )
    )
    (project.folder / "db-password").write_text("not-a-default")
    (project.folder / "pyproject.toml").write_text(
        '[project]\nname = "stranger"\n\n[tool.envdeck]\ncompose_files = ["compose.yaml"]\n'
    )
    project.git("init", "-q")
    project.git("add", "compose.yaml", "db-password", "pyproject.toml")
    project.git("commit", "-q", "-m", "a project envdeck did not write")
    compose = ["docker", "compose", "-f", str(project.folder / "compose.yaml")]
    try:
        subprocess.run([*compose, "up", "-d", "--wait"], check=True, capture_output=True)
        yield project
    finally:
        # Killed, not stopped: a clean PostgreSQL shutdown costs 2 s, and the data goes.
        subprocess.run(
            [*compose, "down", "-v", "--remove-orphans", "-t", "0"],
            capture_output=True,
            check=False,
        )
        remove_project(gateway, name)


# ---------------------------------------------------------------- envdeck up, git status


def test_up_says_a_baseline_it_cannot_take_once_and_git_status_stays_clean(
    stranger: Stranger,
) -> None:
    done = stranger.envdeck("up")
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "baseline" in line.lower()]
    assert len(said) == 1, done.stderr  # not a [FAIL] line and an "up, but" line
    assert said[0].startswith("envdeck: No baseline yet"), said
    assert FIX in said[0]
    assert "protected = true" in said[0]

    state_folder = stranger.folder / ".envdeck"
    assert state_folder.is_dir()  # the failed attempt wrote there...
    assert "*" in (state_folder / ".gitignore").read_text().splitlines()
    status = stranger.git("status", "--porcelain", "--untracked-files=all", "--ignored=no")
    assert status == ""  # ...and git sees nothing of it
    ignored = stranger.git("status", "--porcelain", "--ignored")
    assert "!! .envdeck/" in ignored  # ignored by its own .gitignore, not by luck


# ---------------------------------------------------------------- the dashboard


def baseline_toasts(app: Any) -> list[Notification]:
    notifications: list[Notification] = list(app._notifications)
    return [n for n in notifications if "baseline" in f"{n.title} {n.message}".lower()]


async def test_the_dashboard_says_a_baseline_it_cannot_take_once_and_calmly(
    stranger: Stranger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = stranger.settings(state_dir=tmp_path / "state")  # its own memory of notices
    answers: list[str | None] = []
    real_notice = EnvironmentResets.baseline_notice

    def recorded_notice(self: EnvironmentResets, outcome: Outcome) -> str | None:
        answer = real_notice(self, outcome)
        answers.append(answer)
        return answer

    monkeypatch.setattr(EnvironmentResets, "baseline_notice", recorded_notice)

    for start in (1, 2):
        app = make_app(settings, DockerGateway(timeout=settings.engine_timeout))
        async with app.run_test(size=(120, 36)) as pilot:
            deadline = time.monotonic() + 60
            while len(answers) < start and time.monotonic() < deadline:
                await pilot.pause(0.05)
            assert len(answers) == start, "the automatic baseline was never tried"
            await pilot.pause(0.3)  # a toast posted from the worker thread lands
            toasts = baseline_toasts(app)
        if start == 1:
            assert len(toasts) == 1, [t.message for t in toasts]
            (toast,) = toasts
            assert toast.severity == "information"  # calm: not a warning, not an error
            assert toast.title == NO_BASELINE_TITLE
            assert FIX in toast.message
            assert "protected = true" in toast.message
        else:  # the same reason on the next start: nothing said
            assert answers[-1] is None
            assert toasts == []


# ---------------------------------------------------------------- keymap

BAD_KEYMAP = '[keymap]\n"dashboard.restrat" = "x"\n"dashboard.restart" = "s"\n'


def test_doctor_reports_an_unknown_keymap_id_and_a_key_with_two_actions(
    stranger: Stranger, tmp_path: Path
) -> None:
    (tmp_path / "envdeck.toml").write_text(
        f'compose_files = ["{stranger.folder / "compose.yaml"}"]\n{BAD_KEYMAP}'
    )
    done = stranger.envdeck("doctor", cwd=tmp_path)
    assert "[warn] keymap: no key has the id `dashboard.restrat`" in done.stdout, done.stdout
    assert "fix: did you mean `dashboard.restart`?" in done.stdout
    assert "[warn] keymap: `s` in DashboardScreen would be both" in done.stdout
    assert "Restart (dashboard.restart)" in done.stdout
    assert "Stop (dashboard.stop)" in done.stdout


async def test_the_dashboard_reports_a_bad_keymap_at_start(stranger: Stranger) -> None:
    settings = stranger.settings(keymap={"dashboard.restrat": "x", "dashboard.restart": "s"})
    app = make_app(settings, DockerGateway(timeout=settings.engine_timeout))
    async with app.run_test(size=(120, 36)) as pilot:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            keymap_toasts = [n for n in app._notifications if n.title == "Keymap"]
            if keymap_toasts:
                break
            await pilot.pause(0.05)
        assert len(keymap_toasts) == 1
        (toast,) = keymap_toasts
        assert toast.severity == "warning"
        assert "`dashboard.restrat`" in toast.message
        assert "did you mean `dashboard.restart`?" in toast.message
        assert "`s` in DashboardScreen would be both" in toast.message


# ---------------------------------------------------------------- engine_timeout


def test_an_engine_timeout_below_one_second_still_reaches_the_engine(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, engine_timeout=0.5)
    gateway = DockerGateway(timeout=settings.engine_timeout)
    assert gateway.client.ping() is True
    info = gateway.info()
    assert info.connected, info.error
    assert gateway.client.api.timeout == 0.5  # not int()ed to 0, which times out at once
