"""The compose command that reaches the project, and its `compose config` started ahead.

Resolving the project is a `compose config` process (~60-80 ms here), two when offline
files may apply. Started ahead, they run while Python is still importing (docker-py,
Textual) and while the engine answers, instead of after. Imports nothing of Docker, so
the command line can start them first thing.
"""

from __future__ import annotations

import threading
import time

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeCommand, find_compose_binary

CONFIG_ARGS = ("config", "--format", "json")
# An answer taken ahead serves a load at most this much later; past that, files or the
# environment may have changed, and compose is asked again.
AHEAD_MAX_AGE_SECONDS = 5.0

_Key = tuple[tuple[str, ...], str | None, tuple[tuple[str, str], ...]]


class _Answer:
    """One run's output, or what it raised, once it ends. Not concurrent.futures' Future:
    its import (with logging) is a tenth of `envdeck status`'s, for one wait."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._output = ""
        self._error: BaseException | None = None

    def set(self, output: str = "", error: BaseException | None = None) -> None:
        self._output, self._error = output, error
        self._done.set()

    def result(self) -> str:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._output


_ahead: dict[_Key, tuple[float, _Answer]] = {}
_ahead_lock = threading.Lock()


def compose_command(settings: EnvdeckSettings) -> ComposeCommand:
    return ComposeCommand(
        binary=tuple(find_compose_binary(settings.compose_binary)),
        files=tuple(settings.compose_files),
        project_name=settings.project_name,
        project_dir=settings.project_dir,
        cwd=settings.config_dir,
    )


def config_ahead(settings: EnvdeckSettings) -> None:
    """Start every `compose config` that resolving the environment may ask for: the
    compose files, and with the offline files layered over them unless offline is off."""
    compose = compose_command(settings)
    start_config(compose)
    if settings.offline_compose_files and settings.offline is not False:
        start_config(compose.with_files(settings.offline_compose_files))


def forget_ahead(settings: EnvdeckSettings) -> None:
    """Drop the answers taken ahead for `settings` that nobody used (the offline files'
    when the images were there): a later load asks compose again, never an old answer."""
    compose = compose_command(settings)
    with _ahead_lock:
        _ahead.pop(_key(compose), None)
        _ahead.pop(_key(compose.with_files(settings.offline_compose_files)), None)


def start_config(compose: ComposeCommand, timeout: float = 30.0) -> None:
    """`compose config` of `compose` in a thread now; `compose_config` takes its answer."""
    key = _key(compose)
    with _ahead_lock:
        if key in _ahead:
            return
        answer = _Answer()
        _ahead[key] = (time.monotonic(), answer)

    def run() -> None:
        try:
            answer.set(compose.run(*CONFIG_ARGS, timeout=timeout, quick=True))
        except BaseException as error:  # raised again to whoever takes it
            answer.set(error=error)

    threading.Thread(target=run, name="envdeck-compose-config", daemon=True).start()


def compose_config(compose: ComposeCommand, timeout: float) -> str:
    """`compose config --format json`'s output: the answer started ahead when there is a
    fresh one (each is used once), else compose asked now."""
    with _ahead_lock:
        started = _ahead.pop(_key(compose), None)
    if started is not None and time.monotonic() - started[0] <= AHEAD_MAX_AGE_SECONDS:
        return started[1].result()  # bounded: the run has its own timeout
    return compose.run(*CONFIG_ARGS, timeout=timeout, quick=True)


def _key(compose: ComposeCommand) -> _Key:
    cwd = str(compose.cwd) if compose.cwd is not None else None
    return (tuple(compose.argv(*CONFIG_ARGS)), cwd, tuple(sorted(compose.env.items())))
