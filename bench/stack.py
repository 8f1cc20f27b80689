"""A throwaway compose project for the benchmark: one log flooder and idle services.

The flooder prints sequence-numbered, time-stamped lines at the rate written into a
control file on a bind mount, and writes back how many it has printed so far, so the
benchmark can step the rate up without restarting the container (a restart would make
the dashboard's follower reconnect and show separators).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import docker
from docker.models.containers import Container

from tui.core.compose_cli import find_compose_binary

IMAGE = "envdeck-base:bookworm"
FLOOD_SERVICE = "flood"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"

# Runs in the container (Debian's python3). No `$`: compose would interpolate it.
FLOODER = r"""
import os, sys, time
rate, seq, due, last, check = 0.0, 0, 0.0, time.time(), 0.0
pad = "x" * 80
out = sys.stdout
while True:
    now = time.time()
    if now >= check:
        try:
            with open("/ctl/rate") as f:
                wanted = float(f.read().strip() or 0)
        except (OSError, ValueError):
            wanted = 0.0
        if wanted != rate:
            rate, due = wanted, 0.0
        with open("/ctl/seq.tmp", "w") as f:
            f.write("%d %.6f" % (seq, now))
        os.replace("/ctl/seq.tmp", "/ctl/seq")
        check = now + 0.05
    # Never more than 0.1 s of catching up: a blocked pipe lowers the rate, not bursts it.
    due = min(due + rate * (now - last), max(rate * 0.1, 1.0))
    last = now
    n = int(due)
    if n:
        due -= n
        stamp = "%.6f" % now
        out.write("".join(["L%010d T%s %s\n" % (s, stamp, pad) for s in range(seq, seq + n)]))
        out.flush()
        seq += n
    time.sleep(0.005 if rate else 0.05)
"""

LINE_PATTERN = re.compile(r"L(\d{10}) T(\d{10}\.\d{6})")


class BenchStack:
    """`flood` plus `idle-01`…`idle-NN` under the project `envdeck-bench-<pid>`."""

    def __init__(self, idle_services: int) -> None:
        self.project = f"envdeck-bench-{os.getpid()}"
        self.root = Path(tempfile.mkdtemp(prefix="envdeck-bench-"))
        self.control = self.root / "ctl"
        self.control.mkdir()
        self.compose_file = self.root / "compose.yaml"
        self.idle = [f"idle-{index:02d}" for index in range(1, idle_services + 1)]
        self.client = docker.from_env()
        self._write_compose_file()
        self.set_rate(0)

    @property
    def services(self) -> list[str]:
        return [FLOOD_SERVICE, *self.idle]

    def _write_compose_file(self) -> None:
        idle = {"image": IMAGE, "command": ["sleep", "infinity"], "network_mode": "none"}
        spec = {
            "services": {
                FLOOD_SERVICE: {
                    "image": IMAGE,
                    "command": ["python3", "-u", "-c", FLOODER],
                    "network_mode": "none",
                    "volumes": [f"{self.control}:/ctl"],
                },
                **{name: dict(idle) for name in self.idle},
            }
        }
        # JSON is YAML: no YAML library needed.
        self.compose_file.write_text(json.dumps(spec, indent=2))

    def compose(self, *args: str, timeout: float = 120.0) -> None:
        argv = [
            *find_compose_binary(),
            "-f",
            str(self.compose_file),
            "-p",
            self.project,
            *args,
        ]
        env = {**os.environ, "COMPOSE_ANSI": "never", "DOCKER_CLI_HINTS": "false"}
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"compose {' '.join(args)} failed: {result.stderr.strip()}")

    def up(self) -> None:
        self.compose("up", "-d", "--quiet-pull")
        # The dashboard's events stream starts at a whole second: let the start events
        # age past it, so the first snapshot (sorted by service) orders the table.
        time.sleep(2.0)

    def down(self) -> None:
        """Remove everything the project created; the temp dir goes too."""
        try:
            self.compose("down", "-v", "--remove-orphans", "--timeout", "0")
        finally:
            self.client.close()
            shutil.rmtree(self.root, ignore_errors=True)

    def containers(self) -> dict[str, Container]:
        """The project's containers by service name."""
        found = self.client.containers.list(
            all=True, filters={"label": f"{PROJECT_LABEL}={self.project}"}
        )
        return {c.labels[SERVICE_LABEL]: c for c in found}

    def set_rate(self, lines_per_second: float) -> None:
        target = self.control / "rate"
        scratch = self.control / "rate.tmp"
        scratch.write_text(f"{lines_per_second:g}")
        scratch.replace(target)

    def printed(self) -> tuple[int, float]:
        """(lines the flooder has printed, its clock then), as it last wrote them back."""
        try:
            count, at = (self.control / "seq").read_text().split()
        except (OSError, ValueError):
            return 0, time.time()
        return int(count), float(at)
