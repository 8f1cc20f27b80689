"""The health gate's rule (issue 12.4): every service that is not ready holds a test run,
a stopped or exited server too (it used to hold only starting and unhealthy ones); a
one-shot that finished does not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tui.core.engine import EngineInfo
from tui.core.status import EnvironmentStatus, ServiceStatus
from tui.core.watch.gate import services_holding_runs, why_not_ready

RUNNING = ServiceStatus("redis", "c1", "running", "healthy", None, 0, None, "img", ())


def holding(*services: ServiceStatus) -> list[str]:
    status = EnvironmentStatus("p", EngineInfo(True, "20.10", "1.41"), services)
    return [s.name for s in services_holding_runs(status)]


@pytest.mark.parametrize(
    ("service", "why"),
    [
        (replace(RUNNING, health="starting"), "starting"),
        (replace(RUNNING, health="unhealthy"), "unhealthy"),
        (
            replace(RUNNING, state="exited", health="none", exit_code=137, stop_requested=True),
            "stopped (exit code 137)",
        ),
        (replace(RUNNING, state="exited", health="none", exit_code=0), "exited (exit code 0)"),
        (replace(RUNNING, state="missing", container=None, health="none"), "not created"),
        (replace(RUNNING, state="paused"), "paused"),
    ],
)
def test_a_service_that_is_not_ready_holds_the_run(service: ServiceStatus, why: str) -> None:
    other = replace(RUNNING, name="postgres", health="none")
    assert holding(other, service) == ["redis"]
    assert why_not_ready(service) == why


def test_ready_services_and_a_finished_one_shot_hold_nothing() -> None:
    done = replace(
        RUNNING, name="migrate", state="exited", health="none", exit_code=0, one_shot=True
    )
    assert holding(RUNNING, replace(RUNNING, name="api", health="none"), done) == []
