"""A third-party envdeck plugin: reports a service's published ports and connect latency.

Serves only the services whose config names it (plugin = "uptime").
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping, Sequence
from typing import ClassVar

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


class UptimePlugin:
    name: ClassVar[str] = "uptime"
    title: ClassVar[str] = "TCP uptime (third-party test plugin)"

    def matches(self, target: ServiceTarget) -> Match:
        return Match.NO  # only where the config asks for it

    def views(self, target: ServiceTarget) -> Sequence[View]:
        return (View("overview", "Overview"),)

    def show(self, target: ServiceTarget, request: ViewRequest) -> ViewResult:
        rows = []
        for container_port, host_port in sorted(target.ports.items()):
            started = time.perf_counter()
            try:
                with socket.create_connection((target.host, host_port), target.timeout):
                    latency = f"{(time.perf_counter() - started) * 1000:.1f} ms"
            except OSError as error:
                raise InspectorError(Problem.DOWN, f"port {host_port}: {error}") from None
            rows.append((str(container_port), str(host_port), latency))
        return ViewResult(
            (
                KeyValues("Service", (("name", target.service), ("image", target.image or ""))),
                Table("Ports", ("container", "host", "connect"), tuple(rows)),
            )
        )

    def actions(self, target: ServiceTarget) -> Sequence[Action]:
        return ()

    def run_action(self, target: ServiceTarget, action: str, params: Mapping[str, str]) -> str:
        raise InspectorError(Problem.ERROR, f"unknown action {action!r}")
