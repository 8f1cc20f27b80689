"""Where tests run (`place.py`, `configured_place.py`, `in_service.py`): the project's folder
inside a service, the commands for a run and for pdb, and the settings that choose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tui.config.settings import ConfigError, EnvdeckSettings, load_settings
from tui.core.compose_cli import ComposeCommand
from tui.core.engine import DockerGateway
from tui.core.testrun.command import PLUGIN_MODULE, pytest_command
from tui.core.testrun.configured_place import project_dir_in_container, run_place
from tui.core.testrun.frames import EVENTS_FRAME_ENV
from tui.core.testrun.in_service import PLUGIN_SOURCE_ENV, ServiceRun, packed_plugin
from tui.core.testrun.place import ComposeService, LocalInterpreter

COMPOSE = ComposeCommand(("docker", "compose"), (Path("/p/compose.yaml"),), "proj")
SERVICE = ComposeService(COMPOSE, "tests", "/srv/app", DockerGateway())


def bind(source: str, target: str) -> dict[str, Any]:
    return {"type": "bind", "source": source, "target": target}


@pytest.mark.parametrize(
    ("mounts", "root", "expected"),
    [
        ([bind("/home/me/app", "/app")], "/home/me/app", "/app"),
        ([bind("/home/me", "/src")], "/home/me/app", "/src/app"),  # `..:/src`
        ([bind("/home/me/app/tests", "/t")], "/home/me/app", None),  # only part of it
        ([bind("/home", "/h"), bind("/home/me/app", "/app")], "/home/me/app", "/app"),
        ([bind("/home/me/app", "/app"), bind("/home", "/h")], "/home/me/app/sub", "/app/sub"),
        ([{"type": "volume", "source": "data", "target": "/app"}], "/home/me/app", None),
        ([bind("/elsewhere", "/app")], "/home/me/app", None),
        ([], "/home/me/app", None),
    ],
)
def test_the_project_folder_inside_is_under_its_nearest_bind_mount(
    mounts: list[dict[str, Any]], root: str, expected: str | None
) -> None:
    assert project_dir_in_container({"volumes": mounts}, Path(root)) == expected


def test_pdb_in_the_service_is_compose_run_with_the_terminal() -> None:
    assert SERVICE.debug_argv("tests/test_a.py::test_x[1]") == [
        *("docker", "compose", "-f", "/p/compose.yaml", "-p", "proj"),
        *("run", "--rm", "--no-deps", "--workdir", "/srv/app", "-it", "tests"),
        *("python3", "-m", "pytest", "--pdb", "-p", "no:cacheprovider"),
        "tests/test_a.py::test_x[1]",
    ]


def test_pdb_here_is_the_projects_own_python() -> None:
    assert LocalInterpreter("/v/bin/python").debug_argv("t.py::a") == [
        *("/v/bin/python", "-m", "pytest", "--pdb", "-p", "no:cacheprovider", "t.py::a")
    ]


def test_warm_starts_apply_here_only() -> None:
    assert LocalInterpreter("python").warm_starts
    assert not SERVICE.warm_starts


def test_a_run_in_the_service_names_its_container_and_passes_values_by_name() -> None:
    run = ServiceRun(SERVICE, "a" * 32)
    pytest_args = pytest_command("python3", nodeids=["t.py::x"], extra_args=["-x"])[3:]
    argv = run.command(pytest_args, {"EXTRA": "1"})
    assert argv[: argv.index("-T")] == COMPOSE.argv(
        "run", "--rm", "--no-deps", "--workdir", "/srv/app"
    )
    assert argv[argv.index("--name") + 1] == run.container_name == f"envdeck-tests-{'a' * 16}"
    service_at = argv.index("tests")
    passed = argv[argv.index("--name") + 2 : service_at]
    names = set(passed[1::2])
    assert set(passed[::2]) == {"-e"}
    assert {EVENTS_FRAME_ENV, PLUGIN_SOURCE_ENV, "EXTRA"} <= names
    assert all("=" not in name for name in names)  # values stay off the command line
    assert argv[service_at + 1 : service_at + 3] == ["python3", "-c"]
    assert argv[service_at + 4 :] == ["-p", PLUGIN_MODULE, "-x", "t.py::x"]
    environment = run.environment({"EXTRA": "1"})
    assert environment["EXTRA"] == "1"
    assert environment[EVENTS_FRAME_ENV] == "a" * 32
    assert environment[PLUGIN_SOURCE_ENV] == packed_plugin()
    assert environment["COMPOSE_ANSI"] == "never"  # compose's own settings kept


def test_every_run_has_a_container_of_its_own() -> None:
    assert (
        ServiceRun(SERVICE, "1" * 32).container_name != ServiceRun(SERVICE, "2" * 32).container_name
    )


def test_the_settings_choose_the_service(tmp_path: Path) -> None:
    (tmp_path / "envdeck.toml").write_text(
        'compose_binary = "/no/compose"\ntest_service = "tests"\n'
        'test_service_dir = "/srv/app"\ntest_service_python = "python3.12"\n'
    )
    place = run_place(load_settings(tmp_path))  # the folder is given: compose is not asked
    assert isinstance(place, ComposeService)
    assert (place.service, place.project_dir, place.python) == ("tests", "/srv/app", "python3.12")
    assert place.compose.binary == ("/no/compose",)


def test_without_a_service_the_tests_run_here(tmp_path: Path) -> None:
    place = run_place(EnvdeckSettings(config_dir=tmp_path, test_python=Path("/v/bin/python")))
    assert place == LocalInterpreter("/v/bin/python")


def test_the_folder_inside_must_be_absolute(tmp_path: Path) -> None:
    (tmp_path / "envdeck.toml").write_text('test_service = "tests"\ntest_service_dir = "app"\n')
    with pytest.raises(ConfigError, match="test_service_dir"):
        load_settings(tmp_path)
