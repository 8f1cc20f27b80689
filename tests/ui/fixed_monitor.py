"""A monitor with fixed data: snapshots need the same screen on every machine."""

from __future__ import annotations

from typing import Any

from tui.core.details import ServiceDetails, details_from_inspect
from tui.core.engine import EngineInfo
from tui.core.status import EnvironmentStatus, PortBinding, ServiceStatus

ENGINE = EngineInfo(True, "20.10.24", "1.41")


def port(number: int) -> tuple[PortBinding, ...]:
    return (PortBinding("127.0.0.1", number, number, "tcp"),)


SERVICES = (
    ServiceStatus("migrate", "shop-migrate-1", "exited", "none", 0, 0, None, "app", ()),
    ServiceStatus(
        "mock-api",
        "shop-mock-api-1",
        "running",
        "starting",
        None,
        0,
        None,
        "py",
        port(8080),
        0.4,
        18_000_000,
    ),
    ServiceStatus(
        "postgres",
        "shop-postgres-1",
        "running",
        "healthy",
        None,
        0,
        None,
        "pg",
        port(5432),
        1.5,
        42_000_000,
    ),
    ServiceStatus("qdrant", None, "missing", "none", None, 0, None, "qdrant", ()),
    ServiceStatus(
        "redis",
        "shop-redis-1",
        "running",
        "unhealthy",
        None,
        3,
        None,
        "redis",
        port(6379),
        0.2,
        3_500_000,
    ),
    ServiceStatus(
        "worker\x1b]0;pwned\x07[bold]", "shop-worker-1", "exited", "none", 137, 0, None, "app", ()
    ),
)


DETAILS_ATTRS: dict[str, Any] = {
    "Config": {
        "Image": "redis:7",
        "Cmd": ["redis-server", "--requirepass", "hunter2"],
        "Env": ["REDIS_PASSWORD=hunter2", "REDIS_URL=redis://:hunter2@cache:6379/0", "TZ=UTC"],
        "Healthcheck": {"Test": ["CMD", "redis-cli", "ping"]},
    },
    "State": {
        "Status": "running",
        "Health": {
            "Status": "unhealthy",
            "FailingStreak": 2,
            "Log": [
                {
                    "Start": "2026-11-22T03:00:00.1Z",
                    "ExitCode": 1,
                    "Output": "Could not connect to Redis at 127.0.0.1:6379: Connection refused",
                },
                {
                    "Start": "2026-11-22T03:00:01.1Z",
                    "ExitCode": 1,
                    "Output": "Could not connect to Redis at 127.0.0.1:6379: Connection refused",
                },
            ],
        },
    },
}


class FixedMonitor:
    def __init__(self, status: EnvironmentStatus | None = None) -> None:
        self.status = status or EnvironmentStatus("shop", ENGINE, SERVICES)

    def snapshot(self, *, stats: bool = False) -> EnvironmentStatus:
        return self.status

    def details(self, status: ServiceStatus) -> ServiceDetails | None:
        if status.container is None:
            return None
        return details_from_inspect(status.name, DETAILS_ATTRS | {"Name": status.container})
