"""Throwaway containers that envdeck takes for services: the base image, labelled as a
service of a compose project of the test's own (no compose file needed), and a wait for
what they do."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from docker.models.containers import Container

from tui.core.engine import PROJECT_LABEL, SERVICE_LABEL, DockerGateway

IMAGE = "envdeck-base:bookworm"


def new_project(kind: str) -> str:
    """A project name of this test's own."""
    return f"envdeck-test-{kind}-{uuid.uuid4().hex[:8]}"


def run_service(
    gateway: DockerGateway,
    project: str,
    service: str,
    command: Sequence[str],
    *,
    name: str | None = None,
    **options: Any,
) -> Container:
    """`command` running detached in IMAGE as `service` of `project`, named `name` (by
    default "project-service"). The caller removes it."""
    return gateway.client.containers.run(
        IMAGE,
        list(command),
        detach=True,
        labels={PROJECT_LABEL: project, SERVICE_LABEL: service},
        name=name or f"{project}-{service}",
        **options,
    )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.02)


HTTP_PROJECT = """\
name: {name}
services:
  {service}:
    image: {image}
    command: ["python3", "-m", "http.server", "8000"]
    ports: ["127.0.0.1:{port}:8000"]
"""


def http_project(name: str, image: str, port: int, service: str = "web", more: str = "") -> str:
    """A compose file of one service serving HTTP on `port` of loopback; `more`: YAML
    lines to add to the service, indented as its keys."""
    return HTTP_PROJECT.format(name=name, image=image, port=port, service=service) + more
