"""The health gate: no test run starts while a service of the environment is not ready.

Not ready is `ServiceStatus.is_ready`'s answer, the one rule `envdeck status`, the table
and the header use: starting, unhealthy, stopped, exited or never created all hold a run
(a one-shot service that finished is ready). `EnvironmentStatus.gating_services` asks it;
the tests screen, the watch loop and `envdeck test` (which refuses, or waits with --wait)
all go through it.
"""

from __future__ import annotations

from tui.core.status import EnvironmentStatus, ServiceStatus


def services_holding_runs(status: EnvironmentStatus) -> tuple[ServiceStatus, ...]:
    """The services a test run waits for: every one that is not ready."""
    return status.gating_services


def why_not_ready(service: ServiceStatus) -> str:
    """Why a service holds the tests, in a few words: "starting", "unhealthy",
    "exited (exit code 137)", "stopped (killed)", "not created"."""
    if service.state == "running":
        return service.health
    if service.state == "missing":
        return "not created"
    if service.state == "exited":
        how = "stopped" if service.stop_requested else "exited"
        code = f" (exit code {service.exit_code})" if service.exit_code is not None else ""
        return how + code
    return service.state
