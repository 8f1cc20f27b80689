"""`envdeck status` without --stats: no CPU and MEMORY columns (nothing was measured),
every other column as before."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.test_presentation import service
from tui.core.engine import EngineInfo
from tui.core.status import EnvironmentStatus
from tui.presentation.status_text import status_table


def test_the_table_leaves_out_what_was_not_measured() -> None:
    measured = replace(service(name="db"), cpu_percent=12.5, mem_bytes=3 * 1024**2)
    status = EnvironmentStatus("p", EngineInfo(True, "20.10", "1.41"), (measured,))
    full = status_table(status).splitlines()
    assert full[0].split() == ["SERVICE", "STATE", "HEALTH", "UPTIME", "CPU", "MEMORY", "PORTS"]
    assert "12.5%" in full[1]
    assert "3.0 MiB" in full[1]
    plain = status_table(status, resources=False).splitlines()
    assert plain[0].split() == ["SERVICE", "STATE", "HEALTH", "UPTIME", "PORTS"]
    assert plain[1].split() == ["db", "running", "✔", "healthy", "-", "5432→5432"]
    assert plain[2] == full[2] == "p: 1/1 ready (Docker 20.10)"
