"""`envdeck status` answers without waiting for Docker's stats collector: CPU and memory
come only with --stats, in the same fields of the same JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import REPO, SampleEnv
from tests.unit.test_status import CONTRACT_FIELDS


def status(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", "status", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_status_without_stats_keeps_every_field_and_measures_nothing(
    sample_env: SampleEnv,
) -> None:
    result = status("--json")
    assert result.returncode == 0, result.stderr + result.stdout
    document: dict[str, Any] = json.loads(result.stdout)
    assert set(document) == {"project", "engine", "services"}
    for service in document["services"]:
        assert set(service) == CONTRACT_FIELDS, service
        assert (service["cpu_percent"], service["mem_bytes"]) == (None, None), service
        assert service["state"] == "running"


def test_stats_on_request_in_the_json_and_the_table(sample_env: SampleEnv) -> None:
    document = json.loads(status("--json", "--stats").stdout)
    for service in document["services"]:
        assert service["cpu_percent"] is not None, service
        assert service["mem_bytes"] > 0, service
    table = status("--stats").stdout
    assert table.splitlines()[0].split() == [
        "SERVICE",
        "STATE",
        "HEALTH",
        "UPTIME",
        "CPU",
        "MEMORY",
        "PORTS",
    ]
    plain = status().stdout
    assert plain.splitlines()[0].split() == ["SERVICE", "STATE", "HEALTH", "UPTIME", "PORTS"]
    assert "4/4 ready" in plain
