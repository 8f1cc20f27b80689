"""What every caller of the Docker engine shares, whichever client asks: the compose
labels, what the engine said about itself, and the error that means "no engine here".

Kept apart from `tui.core.engine` (docker-py) so that the quick commands, which ask the
engine over plain HTTP (`tui.core.engine_http`), never import docker-py (issue 17).
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.engine_choice import EngineChoice, EngineChoiceError, current_engine

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"


class EngineUnavailable(Exception):
    """No Docker engine answers; the message says where envdeck looked."""


@dataclass(frozen=True)
class EngineInfo:
    connected: bool
    version: str | None
    api_version: str | None
    error: str | None = None
    choice: EngineChoice | None = None  # which engine and how it was chosen (None: given)


def describe_engine_error(error: BaseException) -> str:
    return f"{_engine_error_text(error)} [{_engine_named()}]"


def _engine_error_text(error: BaseException) -> str:
    text = str(error)
    if "FileNotFoundError" in text or "No such file" in text:
        return "no Docker engine: the socket does not exist (is dockerd running?)"
    if "Connection refused" in text:
        return "no Docker engine: the connection was refused (is dockerd running?)"
    if "Permission denied" in text:
        return "the Docker socket refused us: permission denied (are you in the docker group?)"
    if "timed out" in text.lower():
        return "the Docker engine did not answer in time (a slow or cut link?)"
    return f"no Docker engine answers: {text}"


def _engine_named() -> str:
    """Where envdeck looked: the message must say which engine did not answer."""
    try:
        return current_engine().describe()
    except EngineChoiceError as error:
        return str(error)
