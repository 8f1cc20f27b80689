"""One test run in a new container of a compose service: its command, and ending it.

pytest runs under `compose run --rm --no-deps -T --name NAME SERVICE`, with our plugin
made importable and its events framed on stdout (`frames.py`):

- The plugin travels in the environment (zlib and base64, ~6 KB), and a few lines of
  Python given to `python -c` write it into a temporary folder of the container, put that
  on sys.path and PYTHONPATH (xdist's workers import it too), then run pytest as
  `python -m pytest` does. Nothing on the engine's host is needed: a bind mount of the
  plugin would need a host path the engine can see, which a remote engine, Docker
  Desktop's file sharing and SELinux labels all can refuse.
- Our variables reach the container as `-e NAME` (the value from compose's environment),
  so the plugin's source is not on the command line.
- The container has a name of its own, so a cancel reaches it through the engine: SIGINT
  (pytest ends its session as on Ctrl-C: the running test is reported interrupted), then
  SIGKILL after the grace period, then removal. Signalling the `compose run` process
  would not do: compose stops the container without passing the signal on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import threading
import zlib
from collections.abc import Mapping
from importlib import resources

from tui.core.engine import ENGINE_GONE, EngineUnavailable
from tui.core.testrun.command import PLUGIN_MODULE, RUN_ID_ENV
from tui.core.testrun.frames import EVENTS_FRAME_ENV, frame_prefix
from tui.core.testrun.place import ComposeService

PLUGIN_SOURCE_ENV = "ENVDECK_PLUGIN_SOURCE"
FAILURE_LINES = 5  # of compose's output, when a run failed before pytest began

# Python 3.8 and up, standard library only: it runs in the service's interpreter.
BOOTSTRAP = f"""\
import base64, os, runpy, sys, tempfile, zlib
folder = tempfile.mkdtemp(prefix="envdeck-plugin-")
source = zlib.decompress(base64.b64decode(os.environ.pop("{PLUGIN_SOURCE_ENV}")))
with open(os.path.join(folder, "{PLUGIN_MODULE}.py"), "wb") as plugin:
    plugin.write(source)
sys.path.insert(1, folder)
paths = [folder, os.environ.get("PYTHONPATH", "")]
os.environ["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
runpy.run_module("pytest", run_name="__main__", alter_sys=True)
"""


@functools.cache
def packed_plugin() -> str:
    """pytest_plugin.py, compressed, as an environment variable's value."""
    source = resources.files("tui.core.testrun").joinpath("pytest_plugin.py").read_bytes()
    return base64.b64encode(zlib.compress(source, 9)).decode("ascii")


class ServiceRun:
    """The command, environment and container of one run in `place`'s service."""

    def __init__(self, place: ComposeService, run_id: str) -> None:
        self.place = place
        self.run_id = run_id
        self.container_name = f"envdeck-{place.service}-{run_id[:16]}"
        self.frame_prefix = frame_prefix(run_id)

    def command(self, pytest_args: list[str], extra_env: Mapping[str, str]) -> list[str]:
        """`compose run` of pytest with `pytest_args` (those after `python -m pytest`),
        `extra_env` set in the container as well as our own variables."""
        passed = [flag for name in self._container_env(extra_env) for flag in ("-e", name)]
        return self.place.run_argv(
            "-T",
            "--name",
            self.container_name,
            *passed,
            self.place.service,
            self.place.python,
            "-c",
            BOOTSTRAP,
            *pytest_args,
        )

    def environment(self, extra_env: Mapping[str, str]) -> dict[str, str]:
        """compose's environment: its own, the run's marker, and the container's values."""
        return {
            **self.place.compose.environment(),
            RUN_ID_ENV: self.run_id,
            **self._container_env(extra_env),
        }

    def _container_env(self, extra_env: Mapping[str, str]) -> dict[str, str]:
        return {
            **extra_env,
            PLUGIN_SOURCE_ENV: packed_plugin(),
            EVENTS_FRAME_ENV: self.run_id,
            RUN_ID_ENV: self.run_id,
            "PYTHONUNBUFFERED": "1",  # the console view is live, not a block at a time
        }

    def failure_words(self, exit_code: int, output: str) -> str:
        """Why a run that never reached our plugin ended: compose's (or the container's)
        last lines, e.g. no such service, no image, no pytest in the container."""
        lines = [line for line in output.splitlines() if line.strip()][-FAILURE_LINES:]
        said = "\n".join(lines) or "no output"
        return f"`compose run {self.place.service}` exited {exit_code} before pytest began: {said}"

    # ---------------------------------------------------------------- the container

    async def interrupt(self) -> None:
        """SIGINT to pytest (the container's first process): it ends like on Ctrl-C."""
        await asyncio.to_thread(self._signal, "SIGINT")

    async def kill(self) -> None:
        await asyncio.to_thread(self._signal, "SIGKILL")

    async def remove(self) -> None:
        """Gone, whatever `compose run --rm` managed (it cannot when it was killed)."""
        await asyncio.to_thread(self.remove_now)

    def remove_soon(self) -> None:
        """`remove` without waiting, for shutdown paths that cannot await."""
        threading.Thread(target=self.remove_now, name="envdeck-remove-test-container").start()

    def remove_now(self) -> None:
        with contextlib.suppress(EngineUnavailable, *ENGINE_GONE):  # NotFound: gone already
            self.place.engine.client.api.remove_container(self.container_name, force=True)

    def _signal(self, signal: str) -> None:
        # NotFound: not created yet, or gone; Conflict (409): not running any more.
        with contextlib.suppress(EngineUnavailable, *ENGINE_GONE):
            self.place.engine.client.api.kill(self.container_name, signal=signal)
