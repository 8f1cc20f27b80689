from __future__ import annotations

from pathlib import Path

import pytest

from tui.config.settings import ConfigError, find_config_file, load_settings


def test_pyproject_table_is_read_and_paths_anchor_to_its_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.envdeck]\ncompose_files = ["stack/compose.yaml"]\n'
        'project_name = "demo"\n'
    )
    nested = tmp_path / "src" / "pkg"
    nested.mkdir(parents=True)
    settings = load_settings(nested)
    assert settings.compose_files == [tmp_path / "stack" / "compose.yaml"]
    assert settings.project_name == "demo"
    assert settings.config_dir == tmp_path


def test_a_pyproject_found_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by its table, then read: one parse (a long pyproject is ms of the first frame)."""
    import tomllib

    parsed: list[str] = []
    loads = tomllib.loads

    def counting_loads(text: str) -> dict[str, object]:
        parsed.append(text)
        return loads(text)

    monkeypatch.setattr(tomllib, "loads", counting_loads)
    (tmp_path / "pyproject.toml").write_text('[tool.envdeck]\nproject_name = "once"\n')
    assert load_settings(tmp_path).project_name == "once"
    assert len(parsed) == 1


def test_envdeck_toml_wins_over_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.envdeck]\nproject_name = "from-pyproject"\n')
    (tmp_path / "envdeck.toml").write_text('project_name = "from-envdeck-toml"\n')
    assert load_settings(tmp_path).project_name == "from-envdeck-toml"


def test_pyproject_without_envdeck_table_is_not_a_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config_file(tmp_path) is None
    assert load_settings(tmp_path).compose_files == []


def test_environment_overrides_file_and_command_line_overrides_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "envdeck.toml").write_text('project_name = "file"\nup_timeout = 30\n')
    monkeypatch.setenv("ENVDECK_PROJECT_NAME", "env")
    monkeypatch.setenv("ENVDECK_OFFLINE", "1")
    settings = load_settings(tmp_path)
    assert (settings.project_name, settings.offline, settings.up_timeout) == ("env", True, 30)
    assert load_settings(tmp_path, project_name="cli").project_name == "cli"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("up_timeout = -1\n", "up_timeout"),
        ('compose_file = "typo.yaml"\n', "compose_file"),
        ('offline = "perhaps"\n', "offline"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "envdeck.toml").write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path)


def test_no_words_are_what_the_parser_makes_of_none() -> None:
    """Plain `envdeck` skips building the parser: its answer must stay the parser's."""
    from tui.cli import build_parser, parse

    assert vars(parse([])) == vars(build_parser().parse_args([]))
    assert parse([]).files is not parse([]).files  # never one list shared between calls


def test_pytest_options_pass_through_the_test_command() -> None:
    from tui.cli import parse

    args = parse(["-p", "test", "test", "--watch", "-k", "add", "tests/x.py", "-q"])
    assert (args.project_name, args.command, args.watch) == ("test", "test", True)
    assert args.pytest_args == ["-k", "add", "tests/x.py", "-q"]
    assert parse(["status", "--json"]).command == "status"
