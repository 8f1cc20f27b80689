"""Where a project's tests run: its own interpreter here, or a container of a compose service.

Many projects run their integration tests in a "test-runner" service of their stack
(`docker compose run --rm tests pytest`, the project bind-mounted), so that the tests reach
the other services by their compose names (`redis:6379`). `test_service = "tests"` in
envdeck's settings says so, and every pytest envdeck starts (discovery, runs, the reading of
pytest's arguments, pdb) then runs in a new container of that service. `run_place`
(`configured_place.py`) builds the place from the settings, once; `TestRun`, `discover()`
and `read_arguments()` take it as `place=`, and its `debug_argv` is the command to hand
the terminal to.

In the container pytest runs in the project's folder as the service mounts it, so node ids,
relative paths and the rootdir are those of a local run: read from the service's bind
mounts (`compose config`), or told by `test_service_dir` when the project is not
bind-mounted (copied into the image, or mounted through a named volume).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from tui.core.compose_cli import ComposeCommand

if TYPE_CHECKING:
    from tui.core.engine import DockerGateway

DEBUG_PYTEST_ARGS = ("--pdb", "-p", "no:cacheprovider")


@dataclass(frozen=True)
class LocalInterpreter:
    """pytest in the project's own Python, on this machine."""

    python: str

    warm_starts: ClassVar[bool] = True  # warm.py can start the next run ahead

    def debug_argv(self, nodeid: str) -> list[str]:
        """pytest on `nodeid` alone, stopping in pdb at the first failure."""
        return [self.python, "-m", "pytest", *DEBUG_PYTEST_ARGS, nodeid]


@dataclass(frozen=True)
class ComposeService:
    """pytest in a new container of a compose service, one per run (`compose run --rm`)."""

    compose: ComposeCommand  # the project's own: its files, name, folder, offline overrides
    service: str
    project_dir: str  # the project's folder inside the container: pytest's working dir
    engine: DockerGateway = field(compare=False, repr=False)  # stops a cancelled run's container
    python: str = "python3"  # the interpreter in the container

    # A container is new every run: nothing can be started ahead (warm.py).
    warm_starts: ClassVar[bool] = False

    def run_argv(self, *args: str) -> list[str]:
        """`compose run` of the service: removed when done, the services it depends on
        left as they are (envdeck's health gate, not compose, decides when tests run)."""
        return self.compose.argv("run", "--rm", "--no-deps", "--workdir", self.project_dir, *args)

    def debug_argv(self, nodeid: str) -> list[str]:
        """pytest on `nodeid` alone in the service, with the terminal (-it), in pdb at the
        first failure; run it from the compose command's folder (`compose.cwd`)."""
        pytest = [self.python, "-m", "pytest", *DEBUG_PYTEST_ARGS, nodeid]
        return self.run_argv("-it", self.service, *pytest)


RunPlace = LocalInterpreter | ComposeService
