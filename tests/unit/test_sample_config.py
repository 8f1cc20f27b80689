"""The sample environment's settings are written once: `envdeck demo` and a command run in
the checkout's root read the same compose files and seed hooks."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tui.config.settings import EnvdeckSettings, SeedHook, load_settings
from tui.core.sample_environment import sample_environment_dir, sample_settings


def as_run(argv: list[str], folder: Path | None) -> list[str]:
    """`argv` as run from `folder`: an argument naming a file there, by its absolute path."""
    assert folder is not None
    return [
        str((folder / argument).resolve())
        if "/" in argument and (folder / argument).exists()
        else argument
        for argument in argv
    ]


def seed_as_run(settings: EnvdeckSettings) -> list[SeedHook]:
    return [
        dataclasses.replace(hook, command=as_run(hook.command, settings.config_dir))
        for hook in settings.seed
    ]


@pytest.mark.parametrize("base", ["the checkout's root", "no config"])
def test_the_demo_and_the_checkouts_root_run_the_same_sample(base: str) -> None:
    root = load_settings(REPO)
    demo = sample_settings(root if base == "the checkout's root" else EnvdeckSettings())
    assert root.compose_files == demo.compose_files == [REPO / "compose" / "compose.yaml"]
    assert root.offline_compose_files == demo.offline_compose_files
    assert as_run(root.offline_setup, root.config_dir) == as_run(
        demo.offline_setup, demo.config_dir
    )
    assert seed_as_run(root) == seed_as_run(demo)
    assert [hook.service for hook in demo.seed] == ["redis", None]
    assert demo.seed[1].command == ["python3", str(REPO / "compose" / "seed" / "qdrant_seed.py")]
    # Every script a command names is there.
    for argv in (demo.offline_setup, demo.seed[1].command):
        assert Path(argv[-1]).is_file(), argv


def test_the_demo_runs_from_the_sample_folder_with_compose_naming_the_project() -> None:
    settings = sample_settings(EnvdeckSettings(project_name="elsewhere", project_dir=Path("/x")))
    assert settings.config_dir == sample_environment_dir() == REPO / "compose"
    assert (settings.project_name, settings.project_dir) == (None, None)


def test_an_installed_wheel_runs_the_demo_on_its_own_copy_of_the_sample(tmp_path: Path) -> None:
    """The wheel carries compose/ as tui/sample_env, envdeck.toml included."""
    uv = shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")
    if not Path(uv).is_file():
        pytest.skip("needs uv to build the wheel (`make setup`)")
    # The demo's state folder (baseline, snapshots: this machine's data) must stay out.
    state = REPO / "compose" / ".envdeck"
    existed = state.exists()
    state.mkdir(exist_ok=True)
    probe_file = state / f"wheel-probe-{os.getpid()}"
    probe_file.write_text("local state\n")
    try:
        built = subprocess.run(
            [uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(REPO)],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        probe_file.unlink()
        if not existed:
            state.rmdir()
    assert built.returncode == 0, built.stderr
    site = tmp_path / "site"
    with zipfile.ZipFile(next((tmp_path / "dist").glob("envdeck-*.whl"))) as wheel:
        names = set(wheel.namelist())
        wheel.extractall(site)
    assert not [name for name in names if "/.envdeck/" in name]
    tracked = subprocess.run(
        ["git", "ls-files", "compose"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked
    # Every file of the sample is in the wheel (its folders are named one by one).
    assert [f for f in tracked if "tui/sample_env/" + f.removeprefix("compose/") not in names] == []
    probe = (
        "import json\n"
        "from tui.config.settings import load_settings\n"
        "from tui.core.sample_environment import sample_settings\n"
        "s = sample_settings(load_settings())\n"
        "print(json.dumps([str(s.config_dir), [str(p) for p in s.compose_files],"
        " s.offline_setup, [h.command for h in s.seed]]))\n"
    )
    # The wheel's tui comes before this checkout's (installed editable) on the path.
    ran = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    config_dir, compose_files, offline_setup, commands = json.loads(ran.stdout)
    bundled = site / "tui" / "sample_env"
    assert config_dir == str(bundled)
    assert compose_files == [str(bundled / "compose.yaml")]
    assert offline_setup == ["bash", str(bundled / "images" / "build-base.sh")]
    assert commands == [[], ["python3", str(bundled / "seed" / "qdrant_seed.py")]]
    assert all(Path(argv[-1]).is_file() for argv in (offline_setup, commands[1]))
