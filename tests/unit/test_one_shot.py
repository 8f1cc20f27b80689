"""The one-shot rule (tui/core/one_shot.py): what the project declares, how a container
ended, and that the status, the table, the header's count and the toasts all agree; and
that a garbled stats answer leaves `envdeck status` without figures, not crashed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import requests.exceptions

from tui.config.settings import EnvdeckSettings, ServiceSettings
from tui.core.compose_model import ComposeProject, parse_project
from tui.core.engine import EngineInfo
from tui.core.events import ContainerChange
from tui.core.one_shot import (
    docker_time_ns,
    is_one_shot,
    must_finish,
    stop_requested,
    with_one_shot_settings,
)
from tui.core.status import (
    EnvironmentStatus,
    ServiceStatus,
    cpu_percent,
    memory_bytes,
    with_resource_usage,
)
from tui.presentation.change_text import Toast, change_toast
from tui.presentation.status_text import state_label, status_table

ENGINE = EngineInfo(True, "20.10.24", "1.41")
REDIS_CHECK = {"test": ["CMD", "redis-cli", "ping"], "interval": "1s"}


def project(**services: dict[str, Any]) -> ComposeProject:
    return parse_project({"name": "shop", "services": services})


# ---------------------------------------------------------------- what the project declares


def test_a_dependency_that_must_complete_is_a_one_shot_whatever_its_shape() -> None:
    shop = project(
        migrate={"image": "app", "ports": [{"target": 80, "published": "8080"}]},
        app={
            "image": "app",
            "depends_on": {"migrate": {"condition": "service_completed_successfully"}},
        },
    )
    assert is_one_shot(shop, "migrate")
    assert not is_one_shot(shop, "app", {"Config": {"Healthcheck": {"Test": ["CMD", "x"]}}})


@pytest.mark.parametrize(
    ("spec", "one_shot"),
    [
        ({}, True),  # restart unset, no healthcheck, no port: a job's shape
        ({"restart": "no"}, True),
        ({"restart": "on-failure:3"}, True),  # retries failures, leaves a clean exit alone
        ({"restart": "always"}, False),  # kept up: a server
        ({"restart": "unless-stopped"}, False),
        ({"healthcheck": REDIS_CHECK}, False),  # watched: a server
        ({"healthcheck": {"disable": True}}, True),
        ({"ports": [{"target": 6379, "published": "16379", "host_ip": "127.0.0.1"}]}, False),
        ({"ports": [{"target": 6379}]}, True),  # exposed to the network only, not published
    ],
)
def test_the_shape_of_a_job(spec: dict[str, Any], one_shot: bool) -> None:
    assert is_one_shot(project(job={"image": "app", **spec}), "job") is one_shot


def test_a_declared_job_is_not_ready_while_it_runs_and_a_shaped_one_is() -> None:
    """A migration a dependent waits for (or set one_shot = true) may still fail while it
    runs: not ready until it exits 0. One found by its shape alone may be a long-running
    worker: running, it is ready, as before."""
    shop = project(
        migrate={"image": "app"},
        worker={"image": "app"},  # a job's shape, nobody waits for it
        app={
            "image": "app",
            "depends_on": {"migrate": {"condition": "service_completed_successfully"}},
        },
    )
    assert must_finish(shop, "migrate")
    assert not must_finish(shop, "worker")
    declared = EnvdeckSettings(services={"worker": ServiceSettings(one_shot=True)})
    assert must_finish(with_one_shot_settings(shop, declared), "worker")
    running = replace(RUNNING, health="none", one_shot=True)
    assert not replace(running, must_finish=True).is_ready
    assert replace(running, must_finish=False).is_ready
    assert replace(ended(one_shot=True), must_finish=True).is_ready  # exited 0: done


def test_the_images_own_healthcheck_makes_it_a_server() -> None:
    shop = project(cache={"image": "redis"})
    with_check = {"Config": {"Healthcheck": {"Test": ["CMD-SHELL", "redis-cli ping"]}}}
    assert not is_one_shot(shop, "cache", with_check)
    assert is_one_shot(shop, "cache", {"Config": {"Healthcheck": {"Test": ["NONE"]}}})


def test_the_setting_wins_and_an_orphan_is_a_server() -> None:
    shop = project(
        redis={"image": "redis", "healthcheck": REDIS_CHECK},
        worker={"image": "app"},
    )
    settings = EnvdeckSettings(
        services={
            "redis": ServiceSettings(one_shot=True),
            "worker": ServiceSettings(one_shot=False),
            "db": ServiceSettings(),
        }
    )
    configured = with_one_shot_settings(shop, settings)
    assert configured.one_shot_settings == {"redis": True, "worker": False}
    assert is_one_shot(configured, "redis")
    assert not is_one_shot(configured, "worker")
    assert not is_one_shot(shop, "gone")  # no longer in the files


# ---------------------------------------------------------------- how the container ended


def ended(code: int = 0, *, one_shot: bool, stopped: bool = False) -> ServiceStatus:
    return ServiceStatus(
        "redis", "shop-redis-1", "exited", "none", code, 0, None, "redis", (),
        one_shot=one_shot, stop_requested=stopped,
    )  # fmt: skip


RUNNING = ServiceStatus("redis", "shop-redis-1", "running", "healthy", None, 0, None, "r", ())


@pytest.mark.parametrize(
    ("status", "done"),
    [
        (ended(one_shot=True), True),  # a migration that finished
        (ended(one_shot=True, stopped=True), False),  # stopped before it finished
        (ended(1, one_shot=True), False),
        (ended(one_shot=False), False),  # `docker stop` on a Redis ends with 0 too
        (replace(ended(one_shot=True), state="dead"), False),
    ],
)
def test_done_needs_a_declared_one_shot_that_exited_0_on_its_own(
    status: ServiceStatus, done: bool
) -> None:
    assert status.is_done is done
    assert status.is_ready is done
    assert (state_label(status) == "done") is done


def test_a_stopped_server_is_not_ready_anywhere() -> None:
    stopped = ended(one_shot=False, stopped=True)
    migrate = replace(ended(one_shot=True), name="migrate", container="shop-migrate-1")
    environment = EnvironmentStatus("shop", ENGINE, (migrate, stopped))
    assert environment.exit_code == 1
    table = status_table(environment)
    assert "exited (0)" in table
    assert "shop: 1/2 ready" in table
    assert "one_shot" not in environment.to_json()["services"][0]  # the contract's fields
    died = ContainerChange("id", "redis", "died", stopped, 0, 0.0)
    assert change_toast(died, RUNNING) == Toast("redis was stopped (exit code 0)", "information")
    alone = ContainerChange("id", "redis", "died", ended(one_shot=False), 0, 0.0)
    toast = change_toast(alone, RUNNING)
    assert toast is not None
    assert "finished" not in toast.message


class FakeEventsApi:
    """Docker's event history: the `kill` events it was asked for, or an engine gone."""

    def __init__(self, kills_ns: list[int], gone: bool = False) -> None:
        self.kills_ns = kills_ns
        self.gone = gone
        self.asked: dict[str, Any] = {}

    def events(self, **query: Any) -> list[dict[str, Any]]:
        if self.gone:
            raise requests.exceptions.ConnectionError("Connection refused")
        self.asked = query
        return [{"Action": "kill", "timeNano": ns} for ns in self.kills_ns]


STARTED, FINISHED = "2026-12-06T19:03:16.653412088Z", "2026-12-06T19:03:17.792152341Z"
EXITED = {"Id": "c0ffee", "State": {"StartedAt": STARTED, "FinishedAt": FINISHED}}


def test_a_kill_during_the_last_run_means_it_was_stopped() -> None:
    started, finished = docker_time_ns(STARTED), docker_time_ns(FINISHED)
    assert started is not None
    assert finished is not None
    assert finished - started == 1_138_740_253  # to the nanosecond
    api = FakeEventsApi([started + 1_000_000_000])
    assert stop_requested(api, EXITED)
    assert api.asked["filters"] == {"type": "container", "container": "c0ffee", "event": ["kill"]}
    assert api.asked["since"] <= started // 10**9
    assert api.asked["until"] > finished // 10**9
    # Logged just after the end it caused (the engine logs a kill after signalling).
    assert stop_requested(FakeEventsApi([finished + 1000]), EXITED)
    # The same second, but the previous run's (a `docker restart` kills, then starts).
    assert not stop_requested(FakeEventsApi([started - 1000]), EXITED)
    assert not stop_requested(FakeEventsApi([]), EXITED)
    gone = FakeEventsApi([started + 1], gone=True)
    assert not stop_requested(gone, EXITED)
    never_ran = {"Id": "c0ffee", "State": {"StartedAt": "0001-01-01T00:00:00Z"}}
    assert not stop_requested(FakeEventsApi([1]), never_ran)


# ---------------------------------------------------------------- stats answers


GARBLED: list[Any] = [
    {"cpu_stats": "busy", "memory_stats": "lots"},
    {"cpu_stats": {"cpu_usage": {"total_usage": "n/a"}}, "memory_stats": {"usage": "lots"}},
    {"cpu_stats": {"cpu_usage": [], "system_cpu_usage": None}, "memory_stats": {"usage": [1]}},
    {"memory_stats": {"usage": 10, "stats": {"inactive_file": "x"}}},
    {"cpu_stats": {"cpu_usage": {"total_usage": float("nan")}, "system_cpu_usage": 1}},
]


@pytest.mark.parametrize("answer", GARBLED)
def test_figures_from_a_garbled_answer_are_none(answer: dict[str, Any]) -> None:
    assert cpu_percent(answer, answer) is None
    assert memory_bytes(answer) is None


class GarbledStatsApi:
    """Docker answering stats with garbage for one container and an undecodable body
    (docker-py raises ValueError, not an engine error) for another."""

    def stats(self, name: str, *, stream: bool, one_shot: bool) -> Any:
        if name == "shop-odd-1":
            raise ValueError("Expecting value: line 1 column 1 (char 0)")
        return GARBLED[0]


class FakeGateway:
    def __init__(self) -> None:
        self.api = GarbledStatsApi()
        self.client = self


def test_status_with_stats_survives_a_garbled_answer() -> None:
    # `envdeck status` measures through with_resource_usage: the dashboard's sampler.
    odd = replace(RUNNING, name="web", container="shop-odd-1")
    statuses = (RUNNING, odd, ended(one_shot=True))
    measured = with_resource_usage(FakeGateway(), statuses, interval=0.0)  # type: ignore[arg-type]
    assert measured == statuses  # no figure, nothing invented, no crash
