"""An unhealthy service says why: `envdeck up` says so as soon as it turns unhealthy (and
waits on, as it may recover) and names it in the timeout; `envdeck status` gives the
reason line. Both with the check and what its last run printed, which users otherwise
dig out of `docker inspect`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.integration.conftest import free_port, remove_project, run_envdeck
from tests.integration.throwaway_containers import http_project
from tui.core.engine import DockerGateway

HEALTHCHECK = """\
    healthcheck:
      test: ["CMD-SHELL", "echo 'GET /health: 404 Not Found'; exit 1"]
      interval: 1s
      timeout: 3s
      retries: 2
"""
SAID = "api: unhealthy: its healthcheck `echo 'GET /health: 404 Not Found'; exit 1` failed"
LAST = "its last run (exit 1) said: GET /health: 404 Not Found"


def test_up_and_status_say_why_a_service_is_unhealthy(
    tmp_path: Path, gateway: DockerGateway, image: str
) -> None:
    name = f"sick-{uuid.uuid4().hex[:6]}"
    project = http_project(name, image, free_port(), service="api", more=HEALTHCHECK)
    (tmp_path / "compose.yaml").write_text(project)
    try:
        up = run_envdeck(tmp_path, "up", env={"ENVDECK_UP_TIMEOUT": "8"})
        assert up.returncode != 0
        said_at_once = [line for line in up.stderr.splitlines() if "still waiting" in line]
        assert len(said_at_once) == 1, up.stderr  # once, not at every poll
        assert SAID in said_at_once[0]
        assert LAST in said_at_once[0]
        timed_out = up.stderr.splitlines()[-1]
        assert "not ready after 8 s: api running/unhealthy (unhealthy: " in timed_out, up.stderr
        status = run_envdeck(tmp_path, "status")
        assert status.returncode == 1
        assert SAID in status.stdout
        assert LAST in status.stdout
        document = json.loads(run_envdeck(tmp_path, "status", "--json").stdout)
        (api,) = document["services"]
        assert api["reason"].startswith("unhealthy: its healthcheck")
    finally:
        remove_project(gateway, name)
