"""One Docker container event, read: what changed (`ContainerChange`), the engine's state,
a healthcheck's recent runs, and the parsing of a decoded event into the part the project
watcher (`events.py`) acts on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tui.core.engine_facts import ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL
from tui.core.secrets import mask_secrets
from tui.core.status import ServiceStatus
from tui.core.text import safe_text

ChangeKind = Literal[
    "created", "started", "restarted", "died", "stopped", "killed", "oom", "destroyed",
    "paused", "unpaused", "health", "renamed",
]  # fmt: skip

# Docker's event action -> our kind. `health_status` arrives as "health_status: unhealthy".
_KINDS: dict[str, ChangeKind] = {
    "create": "created",
    "start": "started",
    "restart": "restarted",
    "die": "died",
    "stop": "stopped",
    "kill": "killed",
    "oom": "oom",
    "destroy": "destroyed",
    "pause": "paused",
    "unpause": "unpaused",
    "health_status": "health",
    "rename": "renamed",
}

HEALTH_LOG_ENTRIES = 3
HEALTH_OUTPUT_LIMIT = 1000  # characters per entry; Docker itself keeps up to 4 KiB


@dataclass(frozen=True)
class HealthProbe:
    """One run of a container's healthcheck, as Docker recorded it."""

    exit_code: int
    output: str  # made safe to display: control characters are visible escapes


@dataclass(frozen=True)
class ContainerChange:
    """Something happened to one of the project's containers."""

    container_id: str
    service: str
    kind: ChangeKind
    status: ServiceStatus | None  # None: the container is gone
    exit_code: int | None  # from the `die` event itself, else from the status
    event_time: float  # the daemon's clock, seconds since the epoch
    health_log: tuple[HealthProbe, ...] = ()  # only for kind == "health": newest last


@dataclass(frozen=True)
class EngineState:
    connected: bool
    error: str | None = None


@dataclass(frozen=True)
class ContainerEvent:
    """The part of a Docker event the watcher acts on."""

    container_id: str
    service: str
    kind: ChangeKind
    exit_code: int | None
    time: float


def change_kind(action: str) -> ChangeKind | None:
    """Our kind of change for a Docker event action, None for the ones we ignore."""
    verb, _, _ = action.partition(":")
    return _KINDS.get(verb.strip())


def parse_event(raw: Mapping[str, Any], project: str) -> ContainerEvent | None:
    """The relevant container event of `project` in a decoded event, or None."""
    if raw.get("Type", "container") != "container":
        return None
    kind = change_kind(str(raw.get("Action") or raw.get("status") or ""))
    actor = raw.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    container_id = str(actor.get("ID") or raw.get("id") or "")
    # The daemon filters by label too; checking again keeps other projects out for sure.
    if kind is None or not container_id or attributes.get(PROJECT_LABEL) != project:
        return None
    if attributes.get(ONEOFF_LABEL, "False") == "True":
        return None  # `compose run` containers are not part of the environment
    exit_code = attributes.get("exitCode")
    return ContainerEvent(
        container_id=container_id,
        service=str(attributes.get(SERVICE_LABEL, "?")),
        kind=kind,
        exit_code=int(exit_code) if exit_code is not None else None,
        time=_event_time(raw),
    )


def _event_time(raw: Mapping[str, Any]) -> float:
    if raw.get("timeNano"):
        return int(raw["timeNano"]) / 1e9
    return float(raw.get("time") or time.time())


def health_log(
    attrs: Mapping[str, Any], entries: int = HEALTH_LOG_ENTRIES
) -> tuple[HealthProbe, ...]:
    """The last `entries` healthcheck runs from an inspect document, oldest first."""
    health = (attrs.get("State") or {}).get("Health") or {}
    probes = health.get("Log") or []
    return tuple(
        HealthProbe(
            exit_code=int(probe.get("ExitCode", -1)),
            output=safe_text(
                mask_secrets(str(probe.get("Output") or "").strip()[:HEALTH_OUTPUT_LIMIT])
            ),
        )
        for probe in probes[-entries:]
    )


def watched_actions() -> list[str]:
    """The Docker event actions worth asking the daemon for (the filter of the stream)."""
    return sorted(_KINDS)
