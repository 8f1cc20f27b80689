"""State → words, symbols and CSS classes, shared by the dashboard and the CLI.

No Textual here: the same functions label a table cell and a line of `envdeck status`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tui.core.status import EnvironmentStatus, PortBinding, ServiceStatus
from tui.core.text import safe_text


def state_label(status: ServiceStatus) -> str:
    """`done` only for a one-shot that finished (ServiceStatus.is_done); a server that
    was stopped, or exited 0 by itself, says `exited (0)`."""
    if status.is_done:
        return "done"
    if status.state == "exited" and status.exit_code is not None:
        return f"exited ({status.exit_code})"
    return status.state


def state_class(status: ServiceStatus) -> str:
    """A `-state` CSS class: the theme decides the colour."""
    if status.is_done:
        return "-done"
    if status.is_ready:
        return "-ok"
    if status.state in ("restarting", "created") or status.health == "starting":
        return "-pending"
    if status.state == "paused":
        return "-paused"
    return "-bad"


def health_label(status: ServiceStatus) -> str:
    if status.state != "running":
        return "-"
    return health_word(status.health)


def health_word(health: str) -> str:
    return {"healthy": "✔ healthy", "unhealthy": "✘ unhealthy", "starting": "… starting"}.get(
        health, "no check"
    )


def uptime_label(started_at: str | None, now: datetime | None = None) -> str:
    if not started_at or started_at.startswith("0001-"):
        return "-"
    try:
        # Docker writes nanoseconds; Python parses up to microseconds.
        head, _, tail = started_at.rstrip("Z").partition(".")
        started = datetime.fromisoformat(head + ("." + tail[:6] if tail else "")).replace(
            tzinfo=UTC
        )
    except ValueError:
        return "-"
    seconds = int(((now or datetime.now(UTC)) - started).total_seconds())
    return duration_label(max(seconds, 0))


def duration_label(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def ports_label(ports: tuple[PortBinding, ...]) -> str:
    shown = sorted({f"{p.host_port}→{p.container_port}" for p in ports if p.host_port})
    return " ".join(shown) or "-"


def cpu_label(percent: float | None) -> str:
    return "-" if percent is None else f"{percent:.1f}%"


def bytes_label(count: int | None) -> str:
    if count is None:
        return "-"
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def status_table(status: EnvironmentStatus, *, resources: bool = True) -> str:
    """`envdeck status` as aligned plain text; CPU and MEMORY columns with `resources`
    (`status --stats`: measuring them takes Docker a second or two)."""
    if status.problem is not None:
        return f"{safe_text(status.project)}: {safe_text(status.problem)}"
    if not status.engine.connected:
        return f"{status.project}: {status.engine.error or 'no Docker engine answers'}"
    header: tuple[str, ...] = ("SERVICE", "STATE", "HEALTH", "UPTIME", "CPU", "MEMORY", "PORTS")
    rows: list[tuple[str, ...]] = [
        (
            safe_text(service.name),
            state_label(service),
            health_label(service),
            uptime_label(service.started_at),
            cpu_label(service.cpu_percent),
            bytes_label(service.mem_bytes),
            ports_label(service.ports),
        )
        for service in status.services
    ]
    if not resources:
        header, rows = _without_resources(header), [_without_resources(row) for row in rows]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in (header, *rows)
    ]
    ready = sum(service.is_ready for service in status.services)
    lines.append(
        f"{status.project}: {ready}/{len(status.services)} ready (Docker {status.engine.version})"
    )
    return "\n".join(lines)


def _without_resources(row: tuple[str, ...]) -> tuple[str, ...]:
    return (*row[:4], *row[6:])  # without CPU and MEMORY
