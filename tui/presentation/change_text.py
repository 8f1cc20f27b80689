"""Which container changes deserve a toast, and what it says (pure: no Textual)."""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.container_events import ContainerChange
from tui.core.status import ServiceStatus
from tui.core.text import safe_text


@dataclass(frozen=True)
class Toast:
    message: str
    severity: str  # "information" | "warning" | "error", as Textual's notify takes it


def change_toast(change: ContainerChange, previous: ServiceStatus | None) -> Toast | None:
    service = safe_text(change.service)
    if change.kind == "oom":
        return Toast(f"{service} ran out of memory and was killed", "error")
    if change.kind == "died":
        return _ended(service, change.exit_code, change.status)
    if change.kind == "health" and change.status is not None:
        health = change.status.health
        if health == "unhealthy":
            why = change.health_log[-1].output if change.health_log else ""
            detail = f": {why.splitlines()[0][:120]}" if why.strip() else ""
            return Toast(f"{service} is unhealthy{detail}", "warning")
        if health == "healthy" and previous is not None and previous.health == "unhealthy":
            return Toast(f"{service} is healthy again", "information")
    if (
        change.kind == "started"
        and previous is not None
        and previous.state
        in (
            "exited",
            "dead",
        )
    ):
        return Toast(f"{service} is running again", "information")
    return None


def _ended(service: str, code: int | None, status: ServiceStatus | None) -> Toast | None:
    """A container's process ended. "finished" only when ServiceStatus.is_done says so:
    the same rule as the table's `done` and `envdeck status`."""
    if status is not None and status.is_done:
        return Toast(f"{service} finished (exit 0)", "information")
    if status is not None and status.stop_requested:
        return Toast(f"{service} was stopped (exit code {code})", "information")
    if code == 0:
        if status is not None and status.state == "running":
            return None  # already back (a restart): nothing ended for good
        return Toast(f"{service} exited by itself (exit code 0)", "warning")
    return Toast(f"{service} died (exit code {code})", "error")
