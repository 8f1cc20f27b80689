"""The engine's side of following logs: which container a service has now, its log stream,
and how its last run ended, asked over the gateway's docker-py client.

`LogSource` is what followers need; `DockerLogSource` is it over the engine's HTTP API, and
the unit tests drive followers with a scripted fake of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tui.core.engine import (
    ENGINE_GONE,
    ONEOFF_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    DockerGateway,
    EngineUnavailable,
    describe_engine_error,
    requests,
)
from tui.core.log_buffer import as_timestamp, docker_time, now_timestamp
from tui.core.logs.transport import HttpLogStream, LogStream


class LogsUnavailable(Exception):
    """The engine answered but refused the logs (a logging driver that cannot be read...)."""


@dataclass(frozen=True)
class ContainerRun:
    """A service's container as last inspected: which container, and which run of it."""

    id: str
    running: bool
    tty: bool
    created: str | None  # fixed-width timestamps, None when Docker says "never"
    started_at: str | None
    finished_at: str | None
    exit_code: int | None  # of the last run, when the container is not running

    @property
    def short_id(self) -> str:
        return self.id[:12]


def container_run_from_inspect(attrs: Mapping[str, Any]) -> ContainerRun:
    state = attrs.get("State") or {}
    running = bool(state.get("Running"))
    return ContainerRun(
        id=str(attrs["Id"]),
        running=running,
        tty=bool((attrs.get("Config") or {}).get("Tty")),
        created=_docker_timestamp(attrs.get("Created")),
        started_at=_docker_timestamp(state.get("StartedAt")),
        finished_at=_docker_timestamp(state.get("FinishedAt")),
        exit_code=None if running or "ExitCode" not in state else int(state["ExitCode"]),
    )


def _docker_timestamp(value: object) -> str | None:
    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return None
    try:
        return as_timestamp(value)
    except ValueError:
        return None


class LogSource(Protocol):
    """What followers need from the engine. Raises EngineUnavailable or LogsUnavailable."""

    def current_container(self, project: str, service: str) -> ContainerRun | None:
        """The service's container (the running one, else the newest), or None."""
        ...

    def open_logs(
        self,
        run: ContainerRun,
        *,
        since: str | None,
        until: str | None,
        tail: int | None,
        follow: bool,
    ) -> LogStream: ...

    def exit_code(self, container_id: str, since: str | None) -> int | None:
        """The exit code of the container's last death after `since`, if there was one."""
        ...


class DockerLogSource:
    """The engine's side of following logs, over the gateway's client."""

    def __init__(self, gateway: DockerGateway, timeout: float = 5.0) -> None:
        self._gateway = gateway
        self._timeout = timeout  # to connect, and to answer a question; never to stream

    def current_container(self, project: str, service: str) -> ContainerRun | None:
        labels = [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={service}"]
        listing = self._json(
            "/containers/json", {"all": 1, "filters": json.dumps({"label": labels})}
        )
        candidates = [
            item
            for item in listing
            if (item.get("Labels") or {}).get(ONEOFF_LABEL, "False") != "True"
        ]
        if not candidates:
            return None
        chosen = max(candidates, key=lambda c: (c.get("State") == "running", c.get("Created", 0)))
        response = self._get(f"/containers/{chosen['Id']}/json", {})
        if response.status_code == 404:
            return None  # removed since the listing
        return container_run_from_inspect(self._checked(response).json())

    def open_logs(
        self,
        run: ContainerRun,
        *,
        since: str | None,
        until: str | None,
        tail: int | None,
        follow: bool,
    ) -> HttpLogStream:
        params: dict[str, str | int] = {
            "stdout": 1,
            "stderr": 1,
            "timestamps": 1,
            "follow": int(follow),
            "tail": "all" if tail is None else max(tail, 0),
        }
        if since is not None:
            params["since"] = docker_time(since)
        if until is not None:
            params["until"] = docker_time(until)
        response = self._get(f"/containers/{run.id}/logs", params, stream=True)
        return HttpLogStream(self._checked(response))

    def exit_code(self, container_id: str, since: str | None) -> int | None:
        filters = {"container": [container_id], "type": ["container"], "event": ["die"]}
        params = {"until": docker_time(now_timestamp()), "filters": json.dumps(filters)}
        if since is not None:
            params["since"] = docker_time(since)
        response = self._checked(self._get("/events", params))
        codes = [
            json.loads(line).get("Actor", {}).get("Attributes", {}).get("exitCode")
            for line in response.text.splitlines()
            if line.strip()
        ]
        known = [int(code) for code in codes if isinstance(code, str) and code.isdigit()]
        return known[-1] if known else None

    def _json(self, path: str, params: Mapping[str, str | int]) -> list[dict[str, Any]]:
        result = self._checked(self._get(path, params)).json()
        return result if isinstance(result, list) else []

    def _get(
        self, path: str, params: Mapping[str, str | int], *, stream: bool = False
    ) -> requests.Response:
        try:
            api = self._gateway.client.api
            return api.get(
                f"{api.base_url}/v{api.api_version}{path}",
                params=params,
                stream=stream,
                timeout=(self._timeout, None if stream else self._timeout),
            )
        except (*ENGINE_GONE, requests.exceptions.RequestException) as error:
            raise EngineUnavailable(describe_engine_error(error)) from None

    @staticmethod
    def _checked(response: requests.Response) -> requests.Response:
        if response.status_code < 400:
            return response
        try:
            message = str(response.json().get("message") or response.reason)
        except ValueError:
            message = response.text or str(response.reason)
        response.close()
        raise LogsUnavailable(message)
