"""The settings reader that start-up uses (no pydantic) gives exactly what pydantic gives,
and leaves to pydantic every value it is not sure of, so every message stays pydantic's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui.config.reading import NotSure, read_settings
from tui.config.settings import (
    TOOL_HEADER,
    ConfigError,
    ConfigTable,
    EnvdeckSettings,
    SeedHook,
    ServiceSettings,
    load_settings,
)
from tui.config.validation import validate_settings

ACCEPTED: list[dict[str, Any]] = [
    {},
    {
        "compose_files": ["a.yaml", "b/c.yaml"],
        "project_name": "shop",
        "project_dir": "stack",
        "offline": False,
        "offline_compose_files": ["off.yaml"],
        "offline_setup": ["bash", "build.sh"],
        "compose_binary": "/usr/bin/compose",
        "up_timeout": 30,
        "keymap": {"dashboard.restart": "R"},
        "test_python": ".venv/bin/python",
        "test_service": "tests",
        "test_service_dir": "/app",
        "test_service_python": "python3.11",
        "pytest_args": ["-q"],
        "log_lines_per_service": 100,
        "engine_timeout": 0.5,
        "state_dir": ".state",
        "reset_before_watch_runs": True,
        "test_warm_start": False,
    },
    {
        "services": {
            "db": {
                "plugin": "postgres",
                "port": 15432,
                "timeout": 2,
                "protected": True,
                "one_shot": False,
                "username": "app",
                "password": "pw",
                "dbname": "appdb",
            },
            "cache": {"user": "reader", "database": "x", "db": 0, "api_key": "k"},
            "web": {"health_path": "/healthz", "options": {"a": [1, {"b": None}]}},
        },
        "seed": [
            {"service": "redis", "exec": ["redis-cli", "ping"]},
            {"command": ["true"], "timeout": 1.5},
            {"service": "db", "file": "seed.sql"},
        ],
    },
    {"up_timeout": float("inf"), "offline": None},
]


@pytest.mark.parametrize("values", ACCEPTED)
def test_what_the_reader_accepts_is_what_pydantic_makes_of_it(values: dict[str, Any]) -> None:
    read = read_settings({}, values)
    assert read == validate_settings({}, ConfigTable(values, TOOL_HEADER), "test")
    assert repr(read) == repr(validate_settings({}, ConfigTable(values, TOOL_HEADER), "test"))


REFUSED_OR_UNSURE: list[dict[str, Any]] = [
    {"up_timeout": 0},
    {"up_timeout": "soon"},
    {"up_timeout": True},
    {"offline": "perhaps"},
    {"offline": 1},
    {"compose_file": "typo.yaml"},
    {"compose_files": "a.yaml"},
    {"compose_files": [1]},
    {"log_lines_per_service": 99},
    {"log_lines_per_service": 100.0},
    {"test_service_dir": "relative"},
    {"keymap": {"a": 1}},
    {"services": {"db": {"protect": True}}},
    {"services": {"db": {"user": "a", "username": "b"}}},
    {"services": {"db": {"port": 70000}}},
    {"services": {"db": {"port": "x"}}},
    {"services": {"db": {"db": -1}}},
    {"services": {"db": []}},
    {"seed": [{"command": ["a"], "exec": ["b"], "service": "s"}]},
    {"seed": [{"exec": ["b"]}]},
    {"seed": [{"command": ["a"], "timeout": 0}]},
    {"seed": [{"command": ["a"], "shell": True}]},
]


@pytest.mark.parametrize("values", REFUSED_OR_UNSURE)
def test_what_the_reader_is_not_sure_of_goes_to_pydantic(values: dict[str, Any]) -> None:
    with pytest.raises(NotSure):
        read_settings({}, values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"up_timeout": 0}, "up_timeout: Input should be greater than 0"),
        ({"seed": [{"exec": ["b"]}]}, "seed.0: Value error, a seed hook with exec needs a service"),
        ({"services": {"db": {"port": 70000}}}, "services.db.port: Input should be less than"),
        ({"services": {"db": {"protect": True}}}, "did you mean `protected`?"),
        ({"keymap": {"a": 1}}, "keymap.a: Input should be a valid string"),
    ],
)
def test_pydantic_says_what_is_wrong_in_the_files_words(
    tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_settings({}, ConfigTable(values, TOOL_HEADER), tmp_path / "pyproject.toml")
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"invalid envdeck configuration ({tmp_path}")


def test_pydantic_accepts_what_the_reader_was_only_unsure_of(tmp_path: Path) -> None:
    """A string of digits with spaces, a float for an int: lax values pydantic takes."""
    (tmp_path / "envdeck.toml").write_text("log_lines_per_service = 200.0\n")
    assert load_settings(tmp_path).log_lines_per_service == 200


def test_the_environment_is_read_as_pydantic_settings_read_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("envdeck_project_name", "lower-case name")
    monkeypatch.setenv("ENVDECK_OFFLINE", "Yes")
    monkeypatch.setenv("ENVDECK_UP_TIMEOUT", "5")
    monkeypatch.setenv("ENVDECK_COMPOSE_FILES", '["a.yaml"]')
    monkeypatch.setenv("ENVDECK_SERVICES", '{"db": {"port": 15432}, "web": {}}')
    monkeypatch.setenv("ENVDECK_NOT_A_SETTING", "ignored, as before")
    table = ConfigTable({"services": {"db": {"protected": True}}}, TOOL_HEADER)
    read = read_settings({"project_name": "cli"}, table.values)
    assert read == validate_settings({"project_name": "cli"}, table, "test")
    assert read.project_name == "cli"
    assert (read.offline, read.up_timeout, read.compose_files) == (True, 5.0, [Path("a.yaml")])
    # Tables from the file and the environment merge key by key.
    assert read.services == {
        "db": ServiceSettings(protected=True, port=15432),
        "web": ServiceSettings(),
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [("ENVDECK_OFFLINE", ""), ("ENVDECK_UP_TIMEOUT", " 5"), ("ENVDECK_COMPOSE_FILES", "a.yaml")],
)
def test_unsure_environment_values_go_to_pydantic(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(NotSure):
        read_settings({}, {})


def test_typed_values_pass_as_they_are() -> None:
    hook = SeedHook(command=["true"])
    services = {"db": ServiceSettings(protected=True)}
    read = read_settings({"compose_files": [Path("/x/c.yaml")]}, {"seed": [hook]})
    assert read.seed == [hook]
    assert read.compose_files == [Path("/x/c.yaml")]
    assert read_settings({"services": services}, {}).services == services


def test_every_field_has_its_documentation() -> None:
    import dataclasses

    for cls in (EnvdeckSettings, ServiceSettings, SeedHook):
        for item in dataclasses.fields(cls):
            assert item.metadata["doc"], f"{cls.__name__}.{item.name}"


def test_start_up_reads_the_settings_without_pydantic(tmp_path: Path) -> None:
    (tmp_path / "envdeck.toml").write_text(
        'compose_files = ["c.yaml"]\n[services.db]\nprotected = true\n'
        '[[seed]]\ncommand = ["true"]\n'
    )
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tui.config.settings import load_settings\n"
        f"settings = load_settings(Path({str(tmp_path)!r}))\n"
        "assert settings.service('db').protected\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('pydantic')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
