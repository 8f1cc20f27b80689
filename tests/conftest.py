"""Test layers: unit tests (no engine) run first; `docker` tests share one sample stack."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tui.config.settings import EnvdeckSettings, load_settings
from tui.core.engine import PROJECT_LABEL, DockerGateway
from tui.core.environment import Environment, bring_up, resolve_environment
from tui.core.monitor import DockerEnvironmentMonitor
from tui.core.ownership import foreign_containers
from tui.core.sample_environment import sample_settings
from tui.reset.hard import prepare_new_environment

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.docker)
    # Fast feedback first: everything that needs no engine runs before the stack comes up.
    items.sort(key=lambda item: item.get_closest_marker("docker") is not None)


@pytest.fixture
def no_autoloaded_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pytest a test starts (throwaway projects run on this venv's Python, directly
    or through envdeck) loads the plugins its project names, not each one installed here
    for our own tests (textual and syrupy for snapshots, asyncio, timeout...): half a
    second of imports less per pytest, and most tests start several. The tests that are
    about autoloaded plugins (test_testrun_runner, test_testrun_warm) say so themselves."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@dataclass(frozen=True)
class SampleEnv:
    settings: EnvdeckSettings
    gateway: DockerGateway
    environment: Environment

    @property
    def project(self) -> str:
        return self.environment.project.name

    def port(self, service: str, container_port: int) -> int:
        port = self.environment.project.services[service].published_port(container_port)
        assert port is not None, f"{service} publishes no port for {container_port}"
        return port


@pytest.fixture(scope="session")
def gateway() -> DockerGateway:
    gateway = DockerGateway()
    info = gateway.info()
    if not info.connected:
        pytest.fail(
            f"these tests need a Docker engine and none answers ({info.error}); "
            "`make test` starts one",
            pytrace=False,
        )
    return gateway


@pytest.fixture(scope="session")
def sample_env(gateway: DockerGateway) -> Iterator[SampleEnv]:
    """The sample environment, healthy. Reused when it already is; otherwise brought up,
    and what this session created (containers, volumes, networks) is removed at the end."""
    settings = sample_settings(load_settings(REPO))
    monitor = DockerEnvironmentMonitor(settings, gateway)
    environment = monitor.environment(engine_connected=True)
    _remove_other_clones_containers(settings, gateway, environment)
    if monitor.snapshot().exit_code == 0:
        environment = resolve_environment(settings, gateway)
        _baseline(settings, gateway, environment)
        yield SampleEnv(settings, gateway, environment)
        return
    project = environment.project.name
    before = _project_resources(gateway, project)
    environment = bring_up(settings, gateway, attached=False)
    _baseline(settings, gateway, environment)
    try:
        yield SampleEnv(settings, gateway, environment)
    finally:
        _remove_created(gateway, project, before)


def _remove_other_clones_containers(
    settings: EnvdeckSettings, gateway: DockerGateway, environment: Environment
) -> None:
    """The sample project's name is the same in every clone of this repository, so a
    stopped sample stack another clone left behind (CI runs in a fresh clone) makes
    envdeck refuse `up` as another checkout's. The tests own this project name: such
    containers go, their volumes stay (the baseline notices them as recreated)."""
    containers = gateway.project_containers(environment.project.name)
    names = {name for name, _ in foreign_containers(containers, settings, environment.compose)}
    for container in containers:
        if container.name in names:
            container.remove(force=True)


def _baseline(settings: EnvdeckSettings, gateway: DockerGateway, environment: Environment) -> None:
    """As `envdeck up` does: the baseline, when there is no usable one. Taken here so no
    dashboard test has the dashboard take it in the background while it measures."""
    outcome = prepare_new_environment(settings, environment, gateway, fresh=False)
    assert outcome.ok, outcome.failure_summary


def _project_resources(gateway: DockerGateway, project: str) -> set[str]:
    label: dict[str, str | list[str] | bool] = {"label": f"{PROJECT_LABEL}={project}"}
    client = gateway.client
    return (
        {f"container:{c.id}" for c in client.containers.list(all=True, filters=label)}
        | {f"volume:{v.name}" for v in client.volumes.list(filters=label)}
        | {f"network:{n.id}" for n in client.networks.list(filters=label)}
    )


def _remove_created(gateway: DockerGateway, project: str, before: set[str]) -> None:
    label: dict[str, str | list[str] | bool] = {"label": f"{PROJECT_LABEL}={project}"}
    client = gateway.client
    for container in client.containers.list(all=True, filters=label):
        if f"container:{container.id}" not in before:
            container.remove(force=True, v=False)
    for volume in client.volumes.list(filters=label):
        if f"volume:{volume.name}" not in before:
            volume.remove(force=True)
    for network in client.networks.list(filters=label):
        if f"network:{network.id}" not in before:
            network.remove()
