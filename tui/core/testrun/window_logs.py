"""Every service's log lines of a test's time window: what the environment did meanwhile.

One function for both faces: the tests screen's failure pane and `envdeck test`'s report
of each failure ask it with the test's `start`/`stop` (wall clock, from our plugin).
Blocking (Docker's log API): call it from a thread.
"""

from __future__ import annotations

from tui.core.log_buffer import LogLine
from tui.core.logs import FollowOptions
from tui.core.monitor import EnvironmentMonitor

WINDOW_LOGS_TIMEOUT = 10.0  # seconds for all services' lines to arrive


def window_logs(
    monitor: EnvironmentMonitor, start: str, stop: str, *, timeout: float = WINDOW_LOGS_TIMEOUT
) -> list[LogLine]:
    """The lines every service with a container logged between `start` and `stop`,
    merged in time order; [] when none has a container. Raises what the engine raises."""
    status = monitor.snapshot()
    services = sorted({s.name for s in status.services if s.container})
    if not services:
        return []
    lines: list[LogLine] = []
    follower = monitor.follow_logs(
        services, lines.extend, FollowOptions(since=start, until=stop, follow=False)
    )
    follower.start()
    wait = getattr(follower, "wait", None)  # the merged follower can say when it is done
    if wait is not None:
        wait(timeout)
    follower.stop(timeout=2.0)
    return lines
