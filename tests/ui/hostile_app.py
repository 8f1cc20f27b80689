"""Runs the dashboard on hostile data, for test_terminal_output (in a pseudo-terminal).

The data goes through the real ingestion: Docker log frames through the core's parser,
container inspect documents through the core's details reader.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.ui.fixed_monitor import DETAILS_ATTRS, FixedFollower
from tests.ui.hostile_plugin import HostileInspectorMonitor
from tui.config.settings import load_settings
from tui.core.details import ServiceDetails, details_from_inspect
from tui.core.engine import DockerGateway
from tui.core.log_buffer import LogLine, MultiplexedLogParser, to_log_line
from tui.core.logs import FollowOptions
from tui.core.status import ServiceStatus
from tui.ui.app import make_app

HOSTILE = [
    b"\x1b]0;pwned-title\x07",  # OSC 0: set the window title
    b"\x1b]52;c;cGF5bG9hZA==\x07",  # OSC 52: write the clipboard
    "\u009b31mC1-CSI".encode(),  # a C1 control, as UTF-8
    b"\x9b32mraw-C1",  # a raw C1 byte (invalid UTF-8)
    b"bell\x07bell \x7fdel \x00nul [bold]markup[/] [@click=app.quit]click[/]",
    b"\x1b[2J\x1b[Hclear-screen",
]


def frame(line: bytes) -> bytes:
    payload = b"2026-11-22T03:00:00.000000000Z " + line + b"\n"
    return struct.pack(">BxxxL", 1, len(payload)) + payload


def hostile_lines(service: str) -> list[LogLine]:
    parser = MultiplexedLogParser()
    raw = parser.feed(b"".join(frame(line) for line in HOSTILE))
    return [to_log_line(line, service, "c1") for line in raw]


class HostileFollower(FixedFollower):
    def start(self) -> None:
        self.on_lines([line for s in self.services for line in hostile_lines(s)])


class HostileMonitor(HostileInspectorMonitor):  # every plugin string hostile too
    def follow_logs(
        self,
        services: Sequence[str],
        on_lines: Callable[[list[LogLine]], None],
        options: FollowOptions,
    ) -> HostileFollower:
        return HostileFollower(services, on_lines)

    def details(self, status: ServiceStatus) -> ServiceDetails | None:
        env = [f"EVIL{i}={line.decode('utf-8', 'replace')}" for i, line in enumerate(HOSTILE)]
        attrs = {**DETAILS_ATTRS, "Config": {**DETAILS_ATTRS["Config"], "Env": env}}
        return details_from_inspect(status.name, attrs)


if __name__ == "__main__":
    app = make_app(
        load_settings(Path(__file__).parent), DockerGateway("unix:///nonexistent"), HostileMonitor()
    )
    sys.exit(app.run_for_exit_code())
