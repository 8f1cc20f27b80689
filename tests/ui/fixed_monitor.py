"""A monitor with fixed data: snapshots need the same screen on every machine."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from tui.core.actions import ActionResult
from tui.core.details import ServiceDetails, details_from_inspect
from tui.core.engine import EngineInfo
from tui.core.guard import DestructivePlan, Operation
from tui.core.log_buffer import LogLine
from tui.core.logs import FollowOptions
from tui.core.plugin_session import Inspector, NoInspector
from tui.core.status import EnvironmentStatus, PortBinding, ServiceStatus
from tui.core.text import safe_text
from tui.plugins.api import (
    Action,
    InspectorError,
    KeyValues,
    Match,
    Problem,
    ServiceTarget,
    Table,
    View,
    ViewRequest,
    ViewResult,
)

ENGINE = EngineInfo(True, "20.10.24", "1.41")


def port(number: int) -> tuple[PortBinding, ...]:
    return (PortBinding("127.0.0.1", number, number, "tcp"),)


SERVICES = (
    # A one-shot that finished: the real monitor knows it from the compose file.
    ServiceStatus(
        "migrate", "shop-migrate-1", "exited", "none", 0, 0, None, "app", (), one_shot=True
    ),
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


class PagedKeysPlugin:
    """Fixed inspector data: an overview and a key browser of two pages."""

    name: ClassVar[str] = "fake"
    title: ClassVar[str] = "Fake KV store"
    requests: ClassVar[list[ViewRequest]] = []

    def matches(self, target: ServiceTarget) -> Match:
        return Match.IMAGE

    def views(self, target: ServiceTarget) -> Sequence[View]:
        return (View("overview", "Overview"), View("keys", "Keys", True, "glob pattern"))

    def show(self, target: ServiceTarget, request: ViewRequest) -> ViewResult:
        self.requests.append(request)
        if request.view == "overview":
            return ViewResult((KeyValues("Server", (("version", "7.0.15"), ("clients", "3"))),))
        page = int(request.cursor or 0)
        rows = tuple((f"{request.query or '*'}:{page * 3 + i}", "string", "-") for i in range(3))
        if page == 0:
            rows += (("evil\x1b]0;pwned\x07[bold]", "string", "60"),)
        return ViewResult(
            (Table("Keys", ("key", "type", "ttl"), rows, note="2 pages"),),
            next_cursor="1" if page == 0 else None,
        )

    def actions(self, target: ServiceTarget) -> Sequence[Action]:
        return (Action("flush", "Flush", destructive=True),)

    def run_action(self, target: ServiceTarget, action: str, params: Mapping[str, str]) -> str:
        raise InspectorError(Problem.ERROR, "read-only fake")


class AllowEveryAction:
    """The guard's stand-in for fixed data with no engine (the guard itself is tested
    against the real engine in tests/integration/test_guard.py)."""

    def check_plugin_action(self, service: str) -> None:
        return None


class FixedActions:
    """The dashboard's service actions on fixed data: the guard's plans as it would make
    them for SERVICES (the guard itself is tested against the real engine in
    tests/integration/test_guard.py), and a record of what ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def plan_down(self, *, volumes: bool) -> DestructivePlan:
        containers = tuple(
            (f"id-{status.container}", status.container)
            for status in SERVICES
            if status.container is not None
        )
        return DestructivePlan(
            project="shop",
            containers=containers,
            volumes=("shop_pg-data",) if volumes else (),
            kept=("volume shared-models: external, never removed",),
            operation=Operation.DOWN_VOLUMES if volumes else Operation.DOWN,
        )

    def down(self, confirmed: DestructivePlan) -> ActionResult:
        self.ran.append(confirmed.operation.value)
        return ActionResult("shop", confirmed.operation.value, ())


def log_lines(services: Sequence[str]) -> list[LogLine]:
    lines = []
    for second in range(6):
        for service in services:
            stamp = f"2026-11-22T03:00:{second:02d}.000000000Z"
            text = safe_text(
                f"{service} line {second}" + (" ERROR \x1b[31mboom" if second == 4 else "")
            )
            lines.append(LogLine(service, "c1", stamp, text, "stdout"))
    return lines


class FixedFollower:
    def __init__(self, services: Sequence[str], on_lines: Callable[[list[LogLine]], None]):
        self.services, self.on_lines = list(services), on_lines
        self.stopped = False

    def start(self) -> None:
        self.on_lines(log_lines(self.services))

    def stop(self, timeout: float = 3.0) -> bool:
        self.stopped = True
        return True


class IdleWatcher:
    """Fixed data never changes: nothing to watch."""

    def start(self) -> None:
        return None

    def stop(self, timeout: float = 1.0) -> None:
        return None


class FixedMonitor:
    def __init__(self, status: EnvironmentStatus | None = None) -> None:
        self.status = status or EnvironmentStatus("shop", ENGINE, SERVICES)
        self.followed: list[tuple[list[str], FollowOptions]] = []

    def snapshot(self, *, stats: bool = False) -> EnvironmentStatus:
        return self.status

    def snapshot_if_ready(self) -> EnvironmentStatus | None:
        return None  # the screens take theirs from snapshot(), in a worker

    def details(self, status: ServiceStatus) -> ServiceDetails | None:
        if status.container is None:
            return None
        return details_from_inspect(status.name, DETAILS_ATTRS | {"Name": status.container})

    def follow_logs(
        self,
        services: Sequence[str],
        on_lines: Callable[[list[LogLine]], None],
        options: FollowOptions,
    ) -> FixedFollower:
        self.followed.append((list(services), options))
        return FixedFollower(services, on_lines)

    def watch(
        self,
        on_change: Callable[[Any], None],
        on_resync: Callable[[Any], None],
        on_engine: Callable[[Any], None],
    ) -> IdleWatcher:
        return IdleWatcher()

    def resource_usage(
        self, statuses: Sequence[ServiceStatus], cancelled: Callable[[], bool]
    ) -> tuple[ServiceStatus, ...]:
        return tuple(statuses)

    def inspector(self, status: ServiceStatus) -> Inspector:
        if status.name != "redis":
            raise NoInspector(f"no plugin serves {status.name!r}")
        target = ServiceTarget("redis", "redis:7", "127.0.0.1", {6379: 6379}, {})
        return Inspector(PagedKeysPlugin(), target, AllowEveryAction())
