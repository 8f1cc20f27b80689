"""Following compose services' logs across restarts, recreations and engine outages.

A follower reads a service's log stream in a thread and hands batches of lines (a
`LineBlock`: a sequence of `LogLine`s kept by column) to a callback, at most ~20 times a
second. One module a job:

- `transport`: the HTTP log stream and its chunked body, read as it arrives;
- `source`: the engine's side (which container, its logs, how its run ended);
- `reader`: the state machine that follows one service from container run to run;
- `followers`: the public followers, one service or several merged;

and beside the package, `tui.core.log_options` (what to show), which the dashboard's log
pane imports before its first frame without this package (it brings docker-py).

The names below are the package's face: callers import from `tui.core.logs`.
"""

from tui.core.log_options import FollowOptions, OnLines
from tui.core.logs.followers import MergedLogFollower, ServiceLogFollower
from tui.core.logs.source import (
    ContainerRun,
    DockerLogSource,
    LogSource,
    LogsUnavailable,
    container_run_from_inspect,
)
from tui.core.logs.transport import ChunkedBody, HttpLogStream, LogStream

__all__ = [
    "ChunkedBody",
    "ContainerRun",
    "DockerLogSource",
    "FollowOptions",
    "HttpLogStream",
    "LogSource",
    "LogStream",
    "LogsUnavailable",
    "MergedLogFollower",
    "OnLines",
    "ServiceLogFollower",
    "container_run_from_inspect",
]
