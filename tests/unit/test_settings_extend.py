"""`extend = "other.toml"`: a config file built on another one's table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.config.settings import ConfigError, ServiceSettings, load_settings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_extending_table_overrides_key_by_key_and_replaces_lists(tmp_path: Path) -> None:
    write(
        tmp_path / "shared" / "base.toml",
        'project_name = "base"\nup_timeout = 30\npytest_args = ["-x", "-q"]\n'
        '[services.db]\nplugin = "postgres"\nport = 5432\n'
        '[keymap]\n"dashboard.restart" = "R"\n',
    )
    write(
        tmp_path / "envdeck.toml",
        'extend = "shared/base.toml"\nproject_name = "mine"\npytest_args = ["-v"]\n'
        "[services.db]\nport = 15432\n",
    )
    settings = load_settings(tmp_path)
    assert (settings.project_name, settings.up_timeout) == ("mine", 30.0)
    assert settings.pytest_args == ["-v"]
    assert settings.services == {"db": ServiceSettings(plugin="postgres", port=15432)}
    assert settings.keymap == {"dashboard.restart": "R"}


def test_paths_are_taken_from_the_folder_of_the_file_that_gives_them(tmp_path: Path) -> None:
    write(
        tmp_path / "shared" / "base.toml",
        'compose_files = ["stack/compose.yaml"]\nstate_dir = "state"\n'
        '[[seed]]\nservice = "db"\nfile = "seed/data.sql"\n',
    )
    write(
        tmp_path / "envdeck.toml",
        'extend = "shared/base.toml"\noffline_compose_files = ["offline.yaml"]\n',
    )
    settings = load_settings(tmp_path)
    shared = tmp_path / "shared"
    assert settings.compose_files == [shared / "stack" / "compose.yaml"]
    assert settings.state_dir == shared / "state"
    assert settings.seed[0].file == shared / "seed" / "data.sql"
    assert settings.offline_compose_files == [tmp_path / "offline.yaml"]
    # Commands still run from the extending file's folder.
    assert settings.config_dir == tmp_path


def test_an_extended_files_commands_find_their_scripts_beside_it(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    write(shared / "seed.py", "from pathlib import Path\nPath('seeded').write_text('yes')\n")
    write(
        shared / "base.toml",
        f'offline_setup = ["bash", "./build.sh", "--quiet"]\n'
        f'[[seed]]\ncommand = ["{sys.executable}", "./seed.py"]\n'
        '[[seed]]\nservice = "redis"\nexec = ["redis-cli", "SET", "./not-a-path", "1"]\n',
    )
    write(tmp_path / "envdeck.toml", 'extend = "shared/base.toml"\n')
    settings = load_settings(tmp_path)
    assert settings.offline_setup == ["bash", "shared/build.sh", "--quiet"]
    # Run as envdeck runs a seed command: from the config's folder.
    subprocess.run(settings.seed[0].command, cwd=settings.config_dir, check=True, timeout=60)
    assert (tmp_path / "seeded").read_text() == "yes"
    assert settings.seed[1].exec == ["redis-cli", "SET", "./not-a-path", "1"]


def test_a_chain_of_extends_anchors_each_file_to_its_own_folder(tmp_path: Path) -> None:
    write(tmp_path / "a" / "b" / "root.toml", 'compose_files = ["c.yaml"]\nup_timeout = 5\n')
    write(tmp_path / "a" / "middle.toml", 'extend = "b/root.toml"\nstate_dir = "st"\n')
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n[tool.envdeck]\nextend = "a/middle.toml"\nup_timeout = 9\n',
    )
    settings = load_settings(tmp_path)
    assert settings.compose_files == [tmp_path / "a" / "b" / "c.yaml"]
    assert settings.state_dir == tmp_path / "a" / "st"
    assert settings.up_timeout == 9.0


def test_environment_variables_override_what_an_extended_file_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "base.toml", 'project_name = "base"\n')
    write(tmp_path / "envdeck.toml", 'extend = "base.toml"\n')
    monkeypatch.setenv("ENVDECK_PROJECT_NAME", "env")
    assert load_settings(tmp_path).project_name == "env"


@pytest.mark.parametrize(
    "files",
    [
        {"envdeck.toml": 'extend = "envdeck.toml"\n'},
        {"envdeck.toml": 'extend = "one.toml"\n', "one.toml": 'extend = "envdeck.toml"\n'},
    ],
)
def test_a_cycle_of_extends_is_refused(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    with pytest.raises(ConfigError, match="cycle") as raised:
        load_settings(tmp_path)
    for name in files:
        assert str(tmp_path / name) in str(raised.value)


def test_a_missing_extended_file_names_both_files(tmp_path: Path) -> None:
    write(tmp_path / "envdeck.toml", 'extend = "shared/gone.toml"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    message = str(raised.value)
    assert str(tmp_path / "envdeck.toml") in message
    assert str(tmp_path / "shared" / "gone.toml") in message
    assert "does not exist" in message


def test_a_broken_extended_file_names_both_files(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", "compose_files = [\n")
    write(tmp_path / "envdeck.toml", 'extend = "base.toml"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    message = str(raised.value)
    assert f"{tmp_path / 'envdeck.toml'} extends {tmp_path / 'base.toml'}" in message
    assert "cannot read" in message


def test_a_bad_value_in_an_extended_file_is_said_in_its_words(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", "[services.db]\nprotect = true\n")
    write(
        tmp_path / "pyproject.toml",
        '[tool.envdeck]\nextend = "base.toml"\n[tool.envdeck.services.db]\nport = 1\n',
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    message = str(raised.value)
    assert f"({tmp_path / 'base.toml'}, extended by {tmp_path / 'pyproject.toml'})" in message
    # The extended file's table is at its top level, not under [tool.envdeck].
    assert "[services.db] has no key `protect`: did you mean `protected`?" in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("extend = 3\n", "`extend` takes the path of another config file, not 3"),
        ('extends = "base.toml"\n', "did you mean `extend`?"),
    ],
)
def test_a_wrong_extend_key_is_explained(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "base.toml", "up_timeout = 5\n")
    write(tmp_path / "envdeck.toml", text)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path)


def test_an_extended_pyproject_needs_an_envdeck_table(tmp_path: Path) -> None:
    write(tmp_path / "other" / "pyproject.toml", '[project]\nname = "other"\n')
    write(tmp_path / "envdeck.toml", 'extend = "other/pyproject.toml"\n')
    with pytest.raises(ConfigError, match=r"has no \[tool.envdeck\] table"):
        load_settings(tmp_path)
