from __future__ import annotations

import threading
from typing import Any

import pytest

from tui.core.engine import EngineInfo
from tui.core.status import (
    EnvironmentStatus,
    ServiceStatus,
    cpu_percent,
    memory_bytes,
    missing_service,
    service_status_from_inspect,
)

ENGINE = EngineInfo(True, "20.10.24", "1.41")
# A service's fields in `envdeck status --json` (the integration test holds the command to
# them too).
CONTRACT_FIELDS = {
    "name",
    "container",
    "state",
    "health",
    "exit_code",
    "restarts",
    "started_at",
    "image",
    "ports",
    "cpu_percent",
    "mem_bytes",
}


def inspect_doc(
    status: str, health: str | None = None, exit_code: int = 0, restarts: int = 0
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Status": status,
        "ExitCode": exit_code,
        "StartedAt": "2026-11-22T03:07:37.355949644Z",
    }
    if health:
        state["Health"] = {"Status": health, "Log": []}
    return {
        "Name": "/shop-db-1",
        "State": state,
        "RestartCount": restarts,
        "Config": {"Image": "postgres:15"},
        "NetworkSettings": {
            "Ports": {
                "5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": "15432"}],
                "9999/udp": None,
            }
        },
    }


def test_a_running_healthy_container() -> None:
    status = service_status_from_inspect("db", inspect_doc("running", "healthy"))
    assert (status.container, status.state, status.health) == ("shop-db-1", "running", "healthy")
    assert status.exit_code is None
    assert status.started_at == "2026-11-22T03:07:37.355949644Z"
    assert [(p.host_ip, p.host_port, p.container_port, p.protocol) for p in status.ports] == [
        ("127.0.0.1", 15432, 5432, "tcp")
    ]
    assert status.is_ready


def test_a_stopped_container_reports_its_exit_code_and_no_stale_health() -> None:
    status = service_status_from_inspect("db", inspect_doc("exited", "unhealthy", exit_code=137))
    assert (status.state, status.health, status.exit_code) == ("exited", "none", 137)
    assert status.started_at is None
    assert not status.is_ready


@pytest.mark.parametrize(
    ("doc", "ready"),
    [
        (inspect_doc("running", "starting"), False),
        (inspect_doc("running", "unhealthy"), False),
        (inspect_doc("running"), True),  # no healthcheck: running is all we can know
        # Exited 0 alone says nothing: a stopped Redis ends so too (tests/unit/test_one_shot.py)
        (inspect_doc("exited", exit_code=0), False),
        (inspect_doc("restarting"), False),
    ],
)
def test_readiness(doc: dict[str, Any], ready: bool) -> None:
    assert service_status_from_inspect("db", doc).is_ready is ready


def test_exit_codes_follow_the_contract() -> None:
    healthy = service_status_from_inspect("db", inspect_doc("running", "healthy"))
    assert EnvironmentStatus("p", ENGINE, (healthy,)).exit_code == 0
    assert EnvironmentStatus("p", ENGINE, (healthy, missing_service("x", None))).exit_code == 1
    assert EnvironmentStatus("p", ENGINE, ()).exit_code == 1
    offline = EngineInfo(False, None, None, "no engine")
    assert EnvironmentStatus("p", offline, ()).exit_code == 2


def test_json_has_exactly_the_contract_fields() -> None:
    status = service_status_from_inspect("db", inspect_doc("running", "healthy"))
    document = EnvironmentStatus("p", ENGINE, (status,)).to_json()
    assert set(document) == {"project", "engine", "services"}
    assert document["engine"] == {"connected": True, "version": "20.10.24"}
    assert set(document["services"][0]) == CONTRACT_FIELDS
    assert set(document["services"][0]["ports"][0]) == {
        "host_ip",
        "host_port",
        "container_port",
        "protocol",
    }


def sample(total: int, system: int) -> dict[str, Any]:
    return {
        "cpu_stats": {
            "cpu_usage": {"total_usage": total},
            "system_cpu_usage": system,
            "online_cpus": 2,
        }
    }


def test_cpu_percent_is_the_rate_between_two_samples() -> None:
    # 50 ms of CPU over 200 ms of (2-core) system time: a quarter of the machine = 50% of a core.
    assert cpu_percent(sample(0, 0), sample(50, 200)) == 50.0
    assert cpu_percent(sample(0, 100), sample(0, 100)) == 0.0
    assert cpu_percent({}, sample(1, 1)) is None


def test_memory_excludes_the_page_cache() -> None:
    assert memory_bytes({"memory_stats": {"usage": 1000, "stats": {"inactive_file": 300}}}) == 700
    assert memory_bytes({"memory_stats": {}}) is None


def test_missing_service_shape() -> None:
    assert missing_service("x", "img") == ServiceStatus(
        "x", None, "missing", "none", None, 0, None, "img", ()
    )


def test_a_compose_problem_means_cannot_tell() -> None:
    assert EnvironmentStatus("?", ENGINE, (), problem="yaml: bad").exit_code == 2


class FakeStatsApi:
    """Answers stats requests by container name with a CPU counter that advances."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.total = 0

    def stats(self, name: str, *, stream: bool, one_shot: bool) -> dict[str, Any]:
        self.calls.append(name)
        self.total += 10
        return {
            "cpu_stats": {
                "cpu_usage": {"total_usage": self.total},
                "system_cpu_usage": self.total * 10,
                "online_cpus": 1,
            },
            "memory_stats": {"usage": 2048, "stats": {"inactive_file": 1024}},
        }


class FakeGateway:
    def __init__(self) -> None:
        self.api = FakeStatsApi()
        self.client = self


def test_the_sampler_asks_once_per_container_a_round_after_the_first() -> None:
    from tui.core.status import ResourceSampler

    gateway = FakeGateway()
    sampler = ResourceSampler(gateway, interval=0.0)  # type: ignore[arg-type]
    running = ServiceStatus("db", "shop-db-1", "running", "none", None, 0, None, "pg", ())
    stopped = ServiceStatus("job", "shop-job-1", "exited", "none", 0, 0, None, "app", ())
    first = sampler.usage([running, stopped])
    assert gateway.api.calls == ["shop-db-1", "shop-db-1"]  # no earlier sample: two
    assert first[0].cpu_percent == 10.0
    assert first[0].mem_bytes == 1024
    assert first[1] == stopped
    second = sampler.usage([running, stopped])
    assert gateway.api.calls == ["shop-db-1"] * 3  # then one a round, from the last one
    assert second[0].cpu_percent == 10.0


def test_statuses_are_merged_in_table_order_with_the_services_that_have_no_container() -> None:
    from tui.core.compose_model import parse_project
    from tui.core.status import merge_statuses

    project = parse_project(
        {
            "name": "shop",
            "services": {"web": {"image": "web:1"}, "db": {"image": "pg:15"}, "cache": {}},
        }
    )
    web_2 = service_status_from_inspect("web", inspect_doc("running") | {"Name": "/shop-web-2"})
    web_1 = service_status_from_inspect("web", inspect_doc("exited") | {"Name": "/shop-web-1"})
    orphan = service_status_from_inspect("old", inspect_doc("running") | {"Name": "/shop-old-1"})

    merged = merge_statuses(project, [web_2, orphan, web_1])

    assert [(s.name, s.container, s.state) for s in merged] == [
        ("cache", None, "missing"),
        ("db", None, "missing"),
        ("old", "shop-old-1", "running"),  # an orphan is still the project's
        ("web", "shop-web-1", "exited"),
        ("web", "shop-web-2", "running"),
    ]
    assert merged[1].image == "pg:15"


class StuckStatsApi:
    """Docker's stats endpoint when its collector does not answer."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.release = threading.Event()

    def stats(self, name: str, *, stream: bool, one_shot: bool) -> dict[str, Any]:
        self.asked.set()
        self.release.wait(30)
        return {}


def test_a_cancelled_round_returns_without_waiting_for_docker() -> None:
    from tui.core.status import ResourceSampler

    gateway, api = FakeGateway(), StuckStatsApi()
    gateway.api = api  # type: ignore[assignment]
    sampler = ResourceSampler(gateway)  # type: ignore[arg-type]
    running = ServiceStatus("db", "shop-db-1", "running", "none", None, 0, None, "pg", ())
    cancelled = threading.Event()
    results: list[tuple[ServiceStatus, ...]] = []
    round_thread = threading.Thread(
        target=lambda: results.append(sampler.usage([running], cancelled.is_set))
    )
    round_thread.start()
    try:
        assert api.asked.wait(5)  # the request is out, and stuck
        cancelled.set()
        round_thread.join(5)
        assert not round_thread.is_alive(), "the round waited for Docker after cancelling"
        assert results == [(running,)]  # nothing measured, nothing invented
    finally:
        api.release.set()


class GarbledStatsApi(FakeStatsApi):
    """Docker's answer for one container cannot be decoded (docker-py's JSON error is a
    ValueError, outside the engine errors the sampler expects)."""

    def stats(self, name: str, *, stream: bool, one_shot: bool) -> dict[str, Any]:
        if name == "shop-odd-1":
            raise ValueError("Expecting value: line 1 column 1 (char 0)")
        return super().stats(name, stream=stream, one_shot=one_shot)


def test_a_container_whose_answer_fails_does_not_hold_the_round_up() -> None:
    from tui.core.status import ResourceSampler

    gateway, api = FakeGateway(), GarbledStatsApi()
    gateway.api = api
    # A round timeout far beyond the guard below: only an answer for every container
    # (the error counts as one) ends the round in time.
    sampler = ResourceSampler(gateway, interval=0.0, round_timeout=60)  # type: ignore[arg-type]
    running = ServiceStatus("db", "shop-db-1", "running", "none", None, 0, None, "pg", ())
    odd = ServiceStatus("web", "shop-odd-1", "running", "none", None, 0, None, "web", ())
    results: list[tuple[ServiceStatus, ...]] = []
    round_thread = threading.Thread(target=lambda: results.append(sampler.usage([running, odd])))
    round_thread.start()
    round_thread.join(10)
    assert not round_thread.is_alive(), "the round waited for an answer that never comes"
    [(db, web)] = results
    assert db.cpu_percent == 10.0
    assert web == odd  # no figure, nothing invented
