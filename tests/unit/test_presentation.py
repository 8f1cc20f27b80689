from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tui.core.engine import EngineInfo
from tui.core.status import EnvironmentStatus, PortBinding, ServiceStatus
from tui.presentation.status_text import (
    bytes_label,
    state_class,
    state_label,
    status_table,
    uptime_label,
)


def service(
    state: str = "running", health: str = "healthy", exit_code: int | None = None, name: str = "db"
) -> ServiceStatus:
    return ServiceStatus(
        name,
        f"p-{name}-1",
        state,
        health,
        exit_code,
        0,
        None,
        "img",
        (PortBinding("127.0.0.1", 5432, 5432, "tcp"),),
    )


@pytest.mark.parametrize(
    ("status", "label", "css"),
    [
        (service(), "running", "-ok"),
        (service(health="starting"), "running", "-pending"),
        (service(health="unhealthy"), "running", "-bad"),
        (replace(service("exited", "none", 0), one_shot=True), "done", "-done"),
        (service("exited", "none", 0), "exited (0)", "-bad"),  # a server that stopped
        (
            replace(service("exited", "none", 0), one_shot=True, stop_requested=True),
            "exited (0)",
            "-bad",
        ),
        (service("exited", "none", 137), "exited (137)", "-bad"),
        (service("missing", "none"), "missing", "-bad"),
    ],
)
def test_state_words_and_classes(status: ServiceStatus, label: str, css: str) -> None:
    assert (state_label(status), state_class(status)) == (label, css)


def test_uptime_reads_docker_nanosecond_timestamps() -> None:
    now = datetime(2026, 11, 22, 4, 8, 7, tzinfo=UTC)
    assert uptime_label("2026-11-22T03:07:37.355949644Z", now) == "1h00m"
    assert uptime_label("0001-01-01T00:00:00Z", now) == "-"
    assert uptime_label(None, now) == "-"


def test_sizes() -> None:
    assert [bytes_label(n) for n in (None, 512, 2048, 3 * 1024**3)] == [
        "-",
        "512 B",
        "2.0 KiB",
        "3.0 GiB",
    ]


def test_status_table_never_passes_control_characters_through() -> None:
    text = status_table(
        EnvironmentStatus("p", EngineInfo(True, "20.10", "1.41"), (service(name="x\x1b]0;t\x07"),))
    )
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "1/1 ready" in text
