"""Which services run once and finish (migrations, seeders), and when a container of one
that exited counts as done.

`envdeck status` exits 0 only when every service is ready: running and healthy, or done.
A CI gate trusts that, so "done" must never hide a server that is down. It takes two
things: the project declares the service a one-shot, and its container ended on its own.

What the project declares. A service is a one-shot when, by the first rule that applies:

1. `one_shot = true` in `[tool.envdeck.services.NAME]` (`false`: a server, never done).
   The user's word wins over the two guesses below.
2. Another service depends on it with `condition: service_completed_successfully`:
   compose itself treats it as a job that must finish before that service starts.
3. It has a job's shape: no healthcheck (neither the compose file's nor the image's), no
   published port, and a restart policy that leaves a clean exit alone (unset, "no",
   "on-failure"). A server is watched (a healthcheck), reached (a port) or kept up
   ("always", "unless-stopped"). A plain worker with none of these that exits 0 on its
   own looks exactly like a seeder and counts as done: its own process chose to finish,
   and nothing in the files tells the two apart. `one_shot = false` says otherwise.

A service no longer in the compose files (an orphan) is a server unless the setting says
otherwise: nothing declares it any more.

How the container ended. Done means it exited (not `dead`) with code 0, on its own.
Docker records no "stopped by a user" flag: a `docker stop` of a server that handles
SIGTERM (Redis, PostgreSQL) ends with 0, exactly like a finished job. But every stop or
kill — `docker stop`/`kill`, `compose stop`/`down`, envdeck's own actions — goes through
the engine's kill, which emits a `kill` event; a job that finished on its own has none.
So a `kill` event for the container since its last start means someone stopped it: not
done, however it exited (the engine refuses to kill a stopped container, so no later
kill can be mistaken for one). The lookup asks Docker's event history, which the events
stream reads from too, so the dashboard and `envdeck status` judge the same (about 1 ms
per exited container, measured on Docker 20.10). The engine keeps only its last 256
events in memory: a stop older than that is out of sight. That never makes a server
"done" (a server never is, whatever the events say), only a service the project calls a
one-shot: one stopped before it finished (such a stop usually ends with 143 or 137, and
a non-zero exit is never done), or a job-shaped worker stopped long ago, which
`one_shot = false` settles.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from tui.config.settings import EnvdeckSettings
from tui.core.compose_model import ComposeProject, ServiceSpec
from tui.core.engine_facts import EngineUnavailable

COMPLETED = "service_completed_successfully"
# Restart policies under which a container that exited 0 stays exited.
RESTARTS_LEAVING_A_CLEAN_EXIT = (None, "", "no", "on-failure")
# The engine logs `kill` after sending the signal: a process that exits at once may be
# recorded as finished a moment before its kill event.
KILL_LOGGED_WITHIN_SECONDS = 2


def with_one_shot_settings(project: ComposeProject, settings: EnvdeckSettings) -> ComposeProject:
    """`project` with the `one_shot` settings of its services: every listing of it, the
    dashboard's, `status`'s and a hard reset's wait, then judges by the same rule."""
    chosen = {
        name: service.one_shot
        for name, service in settings.services.items()
        if service.one_shot is not None
    }
    return replace(project, one_shot_settings=chosen)


def is_one_shot(
    project: ComposeProject, service: str, container_attrs: Mapping[str, Any] | None = None
) -> bool:
    """Does the project declare `service` a one-shot? `container_attrs` (its container's
    inspect document) adds the image's own healthcheck, which the compose file omits."""
    setting = project.one_shot_settings.get(service)
    if setting is not None:
        return setting
    spec = project.services.get(service)
    if spec is None:
        return False
    if any(
        dependent.depends_on_conditions.get(service) == COMPLETED
        for dependent in project.services.values()
    ):
        return True
    return _has_a_jobs_shape(spec) and not _image_healthcheck(container_attrs or {})


def must_finish(project: ComposeProject, service: str) -> bool:
    """Is `service` declared a job that has to end before the environment is ready: set so
    in the config, or another service waits for it to complete? (A one-shot found by its
    shape alone may be a long-running worker: running, it is taken as ready.)"""
    if project.one_shot_settings.get(service) is True:
        return True
    return any(
        dependent.depends_on_conditions.get(service) == COMPLETED
        for dependent in project.services.values()
    )


def _has_a_jobs_shape(spec: ServiceSpec) -> bool:
    restart = (spec.restart or "").partition(":")[0]  # "on-failure:3"
    has_healthcheck = spec.healthcheck is not None and not spec.healthcheck.disabled
    published = any(port.host_port is not None for port in spec.ports)
    return restart in RESTARTS_LEAVING_A_CLEAN_EXIT and not has_healthcheck and not published


def _image_healthcheck(attrs: Mapping[str, Any]) -> bool:
    """The container runs a healthcheck (the image's, when the compose file has none)."""
    test = ((attrs.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    return bool(test) and test[0] != "NONE"


class EventHistory(Protocol):
    """The engine's event history: docker-py's `APIClient`, or `EngineHttp`."""

    def events(
        self, *, since: int, until: int, filters: dict[str, Any], decode: Literal[True]
    ) -> Iterable[Mapping[str, Any]]: ...


def stop_requested(history: EventHistory | None, attrs: Mapping[str, Any]) -> bool:
    """Did anyone kill or stop the container during its last run (see the module's
    docstring)? False when that cannot be told: no run recorded, or no answer."""
    state = attrs.get("State") or {}
    started, finished = (
        docker_time_ns(state.get("StartedAt")),
        docker_time_ns(state.get("FinishedAt")),
    )
    container_id = attrs.get("Id")
    if history is None or not container_id or started is None or finished is None:
        return False
    unanswered: tuple[type[Exception], ...] = (
        EngineUnavailable,
        OSError,
        ValueError,
        TypeError,
        *_docker_errors(),
    )
    try:
        events = history.events(
            since=started // 1_000_000_000,
            until=finished // 1_000_000_000 + KILL_LOGGED_WITHIN_SECONDS,
            filters={"type": "container", "container": str(container_id), "event": ["kill"]},
            decode=True,
        )
        try:
            # The history is by whole seconds: only kills since this run started count.
            # None can come after its end: the engine refuses to kill a stopped container.
            return any(started <= _event_ns(event) for event in events)
        finally:
            with contextlib.suppress(Exception):
                getattr(events, "close", lambda: None)()  # docker-py's is a stream
    except unanswered:
        import logging  # noqa: PLC0415 - its import is a tenth of `envdeck status`'s

        logging.getLogger(__name__).debug("no event history for %s", container_id, exc_info=True)
        return False


def _docker_errors() -> tuple[type[Exception], ...]:
    """docker-py's own errors, when it is in use: a history asked through it may raise
    them (its request errors are OSErrors already). Not imported for `EngineHttp`."""
    errors = sys.modules.get("docker.errors")
    return (errors.DockerException,) if errors is not None else ()


def _event_ns(event: Mapping[str, Any]) -> int:
    if event.get("timeNano"):
        return int(event["timeNano"])
    return int(event.get("time") or 0) * 1_000_000_000


def docker_time_ns(text: object) -> int | None:
    """Nanoseconds since the epoch of a Docker timestamp ("2026-12-06T19:03:16.653412088Z");
    None for an absent one (Docker writes year 1 for "never")."""
    if not isinstance(text, str) or not text or text.startswith("0001-"):
        return None
    head, _, rest = text.rstrip("Z").partition(".")
    digits = "".join(itertools.takewhile(str.isdigit, rest))[:9]
    try:
        seconds = datetime.fromisoformat(head).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
    return int(seconds) * 1_000_000_000 + int(digits.ljust(9, "0") or 0)
