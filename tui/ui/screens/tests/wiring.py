"""The test session of the project the settings describe, as the app makes it (the screen
makes one of its own only when it is given none)."""

from __future__ import annotations

import functools
from pathlib import Path

from tui.config.settings import EnvdeckSettings
from tui.core.monitor import EnvironmentMonitor
from tui.core.testrun.configured_place import environment_place
from tui.core.testrun.session import TestSession
from tui.reset.service import Resets


def new_session(
    settings: EnvdeckSettings, monitor: EnvironmentMonitor, resets: Resets | None
) -> TestSession:
    """The session of the project `settings` describe, as the app makes it."""
    from tui.core.testrun.project import project_python  # noqa: PLC0415
    from tui.core.testrun.warm import WarmStarts  # noqa: PLC0415
    from tui.reset.steps import no_progress  # noqa: PLC0415

    root = (settings.config_dir or Path.cwd()).resolve()
    reset = None
    if settings.reset_before_watch_runs and resets is not None:
        reset = functools.partial(resets.fast_reset, no_progress)
    find_place = None
    if settings.test_service:  # the tests run in a compose service: found in a worker
        find_place = functools.partial(environment_place, settings, monitor)
    return TestSession(
        root,
        project_python(root, settings.test_python),
        settings.pytest_args,
        monitor=monitor,
        warm=WarmStarts() if settings.test_warm_start else None,
        reset=reset,
        # A configured state_dir inside the project: a reset before a run writes there.
        ignored_dirs=[settings.state_dir] if settings.state_dir else [],
        find_place=find_place,
    )
