"""The dashboard with its first listing given: bench.latency's decomposition of the first
frame (what the UI costs alone, without the engine and Compose work before it).

    python -P bench/listing_given.py RECORDED.pickle

RECORDED is `record(path)`'s file: the sample's first snapshot and resolved environment,
taken by the benchmark before it times anything. The dashboard then starts exactly as
`envdeck` does, except that nothing runs `compose config` or asks the engine before the
first frame: the first listing taken ahead comes from the file (unpickled in the
prefetch thread, where the real one is taken). Everything after it is the real thing.

Only for measuring: it replaces a member of our own monitor and `config_ahead`, which the
product never does.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from tui.core import monitor, project_files
from tui.core.status import EnvironmentStatus


def record(path: Path) -> None:
    """The first snapshot as the dashboard takes it, with its environment, to `path`."""
    from tui.config.settings import load_settings  # noqa: PLC0415

    watcher = monitor.DockerEnvironmentMonitor(load_settings())
    status = watcher._first_snapshot()  # what the dashboard would take first
    path.write_bytes(pickle.dumps((status, watcher._environment)))


class GivenListingMonitor(monitor.DockerEnvironmentMonitor):
    """A monitor whose first snapshot, taken ahead in its thread as the real one's is,
    is the recorded one."""

    recorded: Path

    def _first_snapshot(self) -> EnvironmentStatus:
        status, environment = pickle.loads(self.recorded.read_bytes())  # noqa: S301 - ours
        with self._environment_lock:
            self._environment = environment
        return status  # type: ignore[no-any-return]


def main() -> int:
    GivenListingMonitor.recorded = Path(sys.argv[1])
    monitor.DockerEnvironmentMonitor = GivenListingMonitor  # type: ignore[misc]
    project_files.config_ahead = lambda settings: None
    from tui.cli import main as envdeck  # noqa: PLC0415 - after the monitor is replaced

    return envdeck([])


if __name__ == "__main__":
    sys.exit(main())
