"""`compose config` started ahead: its answer serves the next load of the same command
once, never an old one, and its failures are compose's own."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tui.config.settings import EnvdeckSettings
from tui.core import project_files
from tui.core.compose_cli import ComposeCommand, ComposeError
from tui.core.compose_model import load_project
from tui.core.environment import resolve_environment
from tui.core.project_files import compose_config, config_ahead, forget_ahead, start_config

# A stand-in for the compose binary: counts its runs, prints a project named after the
# files it was given (or fails when told to).
FAKE_COMPOSE = """
import json, os, sys
with open(os.environ.get("COUNT_FILE", "/dev/null"), "a") as count:
    count.write("run\\n")
files = [sys.argv[i + 1] for i, word in enumerate(sys.argv) if word == "-f"]
if any("broken" in file for file in files):
    sys.exit("yaml: line 1: did not find expected key")
name = "-".join(os.path.basename(file).split(".")[0] for file in files) or "none"
print(json.dumps({"name": name, "services": {"web": {"image": "nginx"}}}))
"""


@pytest.fixture
def fake_compose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    script = tmp_path / "fake_compose"
    script.write_text(f"#!{sys.executable}\n{FAKE_COMPOSE}")
    script.chmod(0o755)
    count = tmp_path / "runs"
    count.touch()
    monkeypatch.setenv("COUNT_FILE", str(count))
    return script, count


def command(script: Path, *files: str) -> ComposeCommand:
    return ComposeCommand(binary=(str(script),), files=tuple(map(Path, files)))


def runs(count: Path) -> int:
    return len(count.read_text().splitlines())


def runs_reach(count: Path, expected: int, timeout: float = 10.0) -> int:
    """The runs counted once `expected` is reached (or `timeout` passed): a compose started
    ahead and left unused writes its count from its own thread, whenever it gets there."""
    deadline = time.monotonic() + timeout
    while runs(count) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return runs(count)


def test_an_answer_taken_ahead_serves_one_load(fake_compose: tuple[Path, Path]) -> None:
    script, count = fake_compose
    compose = command(script, "a.yaml")
    start_config(compose)
    assert load_project(compose).name == "a"
    assert runs(count) == 1  # the load took the answer started ahead
    assert load_project(compose).name == "a"
    assert runs(count) == 2  # used once: the next load asks compose again


def test_an_old_answer_is_not_used(
    fake_compose: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    script, count = fake_compose
    compose = command(script, "a.yaml")
    monkeypatch.setattr(project_files, "AHEAD_MAX_AGE_SECONDS", 0.0)
    start_config(compose)
    load_project(compose)
    # The answer started ahead runs on in its thread, unused: wait for it, bounded.
    assert runs_reach(count, 2) == 2


def test_compose_refusing_the_files_is_said_as_before(fake_compose: tuple[Path, Path]) -> None:
    script, _ = fake_compose
    compose = command(script, "broken.yaml")
    start_config(compose)
    with pytest.raises(ComposeError, match="did not find expected key"):
        compose_config(compose, timeout=30)


def test_resolving_runs_both_configs_and_leaves_no_answer_behind(
    fake_compose: tuple[Path, Path], tmp_path: Path
) -> None:
    script, count = fake_compose
    settings = EnvdeckSettings(
        compose_files=[Path("base.yaml")],
        offline_compose_files=[Path("offline.yaml")],
        offline=True,
        compose_binary=script,
        config_dir=tmp_path,
    )
    config_ahead(settings)  # as the command line does, before its imports
    environment = resolve_environment(settings, None)
    assert environment.offline
    assert environment.project.name == "base-offline"
    assert runs(count) == 2  # the plain files and the offline ones, each once
    assert project_files._ahead == {}
    # No engine to ask for images: online, and the offline answer taken ahead is dropped.
    environment = resolve_environment(settings.replace(offline=None), None)
    assert not environment.offline
    assert project_files._ahead == {}
    # The offline config started alongside runs on in its thread: wait for it, bounded.
    assert runs_reach(count, 4) == 4
    forget_ahead(settings)
