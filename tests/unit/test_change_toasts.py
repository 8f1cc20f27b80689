from __future__ import annotations

from dataclasses import replace

from tui.core.events import ContainerChange, HealthProbe
from tui.core.status import ServiceStatus
from tui.presentation.change_text import Toast, change_toast

RUNNING = ServiceStatus("redis", "p-redis-1", "running", "healthy", None, 0, None, "r", ())


def change(
    kind: str,
    status: ServiceStatus | None = RUNNING,
    exit_code: int | None = None,
    probes: tuple[HealthProbe, ...] = (),
) -> ContainerChange:
    return ContainerChange("id", "redis", kind, status, exit_code, 0.0, probes)  # type: ignore[arg-type]


def test_a_death_is_an_error_with_its_exit_code() -> None:
    exited = replace(RUNNING, state="exited", health="none", exit_code=137)
    assert change_toast(change("died", exited, 137), RUNNING) == Toast(
        "redis died (exit code 137)", "error"
    )


def test_a_one_shot_service_finishing_with_0_is_not_a_failure() -> None:
    done = replace(RUNNING, state="exited", health="none", exit_code=0, one_shot=True)
    toast = change_toast(change("died", done, 0), RUNNING)
    assert toast == Toast("redis finished (exit 0)", "information")


def test_unhealthy_says_why_from_the_checks_own_output() -> None:
    sick = replace(RUNNING, health="unhealthy")
    probes = (HealthProbe(1, "Could not connect to Redis\nsecond line"),)
    toast = change_toast(change("health", sick, probes=probes), RUNNING)
    assert toast == Toast("redis is unhealthy: Could not connect to Redis", "warning")


def test_coming_back_is_said_once_it_is_healthy_again() -> None:
    sick = replace(RUNNING, health="unhealthy")
    assert change_toast(change("health", RUNNING), sick) == Toast(
        "redis is healthy again", "information"
    )
    assert change_toast(change("health", RUNNING), RUNNING) is None  # no news, no toast


def test_restarted_after_exit_and_oom() -> None:
    exited = replace(RUNNING, state="exited", health="none", exit_code=1)
    assert change_toast(change("started"), exited) == Toast("redis is running again", "information")
    assert change_toast(change("oom"), RUNNING) == Toast(
        "redis ran out of memory and was killed", "error"
    )
