"""What the details panel shows of one container: environment, command, health history."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tui.core.engine_facts import SERVICE_LABEL
from tui.core.secrets import mask_env_value, mask_secrets, split_env
from tui.core.text import safe_text


@dataclass(frozen=True)
class HealthProbe:
    """One run of the healthcheck, with its own output: the answer to "why unhealthy"."""

    started: str
    exit_code: int
    output: str
    output_masked: str  # what is shown until the user reveals secrets


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str
    masked: str  # what is shown until the user reveals secrets

    @property
    def is_masked(self) -> bool:
        return self.masked != self.value


@dataclass(frozen=True)
class ServiceDetails:
    service: str
    container: str
    image: str
    command: str
    command_masked: str
    env: tuple[EnvVar, ...]
    health_status: str
    health_test: str
    health_test_masked: str
    failing_streak: int
    health_log: tuple[HealthProbe, ...]


def details_from_inspect(service: str, attrs: Mapping[str, Any]) -> ServiceDetails:
    """Everything made display-safe here: no control character leaves this function, and
    every text that may hold a secret has a masked twin made by the one rule."""
    config = attrs.get("Config") or {}
    state = attrs.get("State") or {}
    health = state.get("Health") or {}
    argv = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    # Masked before control characters become visible: they must still end a value.
    command = shlex.join(str(part) for part in argv)
    env = tuple(
        EnvVar(safe_text(name), safe_text(value), safe_text(mask_env_value(name, value)))
        for name, value in split_env(list(config.get("Env") or []))
    )
    test = (config.get("Healthcheck") or {}).get("Test") or []
    health_test = " ".join(str(part) for part in test[1:]) if test else ""
    return ServiceDetails(
        service=safe_text(service),
        container=safe_text(str(attrs.get("Name", "")).lstrip("/")),
        image=safe_text(str(config.get("Image", ""))),
        command=safe_text(command),
        command_masked=safe_text(mask_secrets(command)),
        env=env,
        health_status=str(health.get("Status") or "none"),
        health_test=safe_text(health_test),
        health_test_masked=safe_text(mask_secrets(health_test)),
        failing_streak=int(health.get("FailingStreak") or 0),
        # Newest first.
        health_log=tuple(_probe(entry) for entry in reversed(health.get("Log") or [])),
    )


def _probe(entry: Mapping[str, Any]) -> HealthProbe:
    output = str(entry.get("Output", "")).strip()
    return HealthProbe(
        started=str(entry.get("Start", "")),
        exit_code=int(entry.get("ExitCode", -1)),
        output=safe_text(output),
        output_masked=safe_text(mask_secrets(output)),
    )


LAST_PROBE_CHARS = 200  # of the last check's output, in one line of `status` or `up`


def unhealthy_reason(attrs: Mapping[str, Any]) -> str | None:
    """Why the container `attrs` (its inspect) describes is unhealthy, in one line: its
    check, how often it failed in a row, and the last line the last run printed (masked,
    made safe). None when it is not unhealthy. The answer users otherwise dig out of
    `docker inspect`."""
    health = (attrs.get("State") or {}).get("Health") or {}
    if health.get("Status") != "unhealthy":
        return None
    test = ((attrs.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    check = safe_text(mask_secrets(" ".join(str(part) for part in test[1:])), keep="")
    streak = int(health.get("FailingStreak") or 0)
    line = f"unhealthy: its healthcheck `{check}` failed" + (
        f" {streak} times in a row" if streak > 1 else ""
    )
    probes = health.get("Log") or []
    if not probes:
        return line
    last = probes[-1]
    printed = [text.strip() for text in str(last.get("Output", "")).splitlines()]
    said = next((text for text in reversed(printed) if text), "")
    said = safe_text(mask_secrets(said), keep="")
    if len(said) > LAST_PROBE_CHARS:
        said = said[:LAST_PROBE_CHARS] + "…"
    return f"{line}; its last run (exit {last.get('ExitCode', '?')}) said: {said or '(nothing)'}"


def unhealthy_by_service(documents: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """By compose service: why its container (of these inspect documents) is unhealthy."""
    reasons = {}
    for attrs in documents:
        service = ((attrs.get("Config") or {}).get("Labels") or {}).get(SERVICE_LABEL)
        if service and (reason := unhealthy_reason(attrs)):
            reasons[service] = reason
    return reasons
