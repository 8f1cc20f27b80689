"""Which Docker engine envdeck talks to, chosen exactly as the Docker CLI chooses it.

The CLI's order: `--context NAME`; else `DOCKER_HOST` (the "default" context, with
`DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`); else `DOCKER_CONTEXT`; else the context
`docker context use` made current (`currentContext` in `$DOCKER_CONFIG/config.json`); else
the local socket. docker-py reads the environment, the config file and the context store
(`docker.utils.kwargs_from_env`, `docker.context.ContextAPI`); this module only keeps the
order and says how the choice was made.

`select_engine` makes one choice the process's: every Docker client envdeck makes uses it,
and the environment its subprocesses inherit (Compose, `docker exec` for a shell) names
the same engine, so Compose is never pointed elsewhere than the dashboard.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from tui.core.engine import TLSConfig

# docker-py (its context store, its reading of the environment) is imported in the
# branches that read them: importing it costs a command ~0.1 s (issue 17). Through
# tui.core.engine, as everywhere: docker-py has import cycles, and two threads entering
# them at two of its modules at once can leave one a half-made module (df7fc33).
# ruff: noqa: PLC0415

LOCAL_SOCKET = "unix:///var/run/docker.sock"
ENGINE_VARIABLES = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT")


class EngineChoiceError(Exception):
    """The engine asked for cannot be chosen (no such context, a broken DOCKER_HOST)."""


class ChosenBy(Enum):
    FLAG = "--context"
    DOCKER_HOST = "DOCKER_HOST"
    DOCKER_CONTEXT = "DOCKER_CONTEXT"
    CURRENT_CONTEXT = "docker context use"
    DEFAULT = "default"  # nothing set: the local socket


@dataclass(frozen=True)
class EngineChoice:
    host: str  # as Docker writes it: unix:///…, tcp://host:port, ssh://[user@]host[:port]
    context: str  # "default" unless a named context was chosen
    chosen_by: ChosenBy
    tls: TLSConfig | None = field(default=None, compare=False)

    @property
    def kind(self) -> str:
        """`unix`, `tcp`, `ssh` (or `npipe`): how the engine is reached."""
        scheme = urlsplit(self.host).scheme
        return {"http": "tcp", "https": "tcp", "": "unix"}.get(scheme, scheme)

    @property
    def remote(self) -> bool:
        """Published ports are on another machine's addresses, not this one's 127.0.0.1."""
        return self.kind in ("tcp", "ssh") and not (
            self.kind == "tcp" and self.address in ("127.0.0.1", "localhost", "::1")
        )

    @property
    def address(self) -> str:
        """The engine's host name or address (tcp, ssh); empty for a local socket."""
        return urlsplit(self.host).hostname or ""

    @property
    def secure(self) -> bool:
        return self.tls is not None or urlsplit(self.host).scheme == "https"

    def describe(self) -> str:
        """`ssh://root@box (context box, chosen by DOCKER_CONTEXT)`."""
        where = self.host + (" with TLS" if self.kind == "tcp" and self.secure else "")
        context = "" if self.context == "default" else f"context {self.context}, "
        return f"{where} ({context}chosen by {self.chosen_by.value})"

    def header_text(self) -> str:
        """A short form for the dashboard header: `ssh://box · context box (DOCKER_CONTEXT)`;
        empty for the local socket chosen by default (nothing to say)."""
        if self.chosen_by is ChosenBy.DEFAULT:
            return ""
        context = "" if self.context == "default" else f" · context {self.context}"
        return f"{self.host}{context} ({self.chosen_by.value})"

    def to_json(self) -> dict[str, str]:
        return {
            "host": self.host,
            "context": self.context,
            "chosen_by": self.chosen_by.value,
            "kind": self.kind,
        }

    def client_arguments(self) -> dict[str, Any]:
        """`docker.DockerClient` arguments for this engine (an ssh engine is reached
        through `tui.core.ssh_bridge`, not here)."""
        arguments: dict[str, Any] = {"base_url": self.host}
        if self.tls is not None:
            arguments["tls"] = self.tls
        return arguments

    def subprocess_environment(self, environ: MutableMapping[str, str]) -> None:
        """Make `environ` name this engine for the Docker CLI and Compose."""
        if self.chosen_by is ChosenBy.FLAG:
            for name in ENGINE_VARIABLES:
                environ.pop(name, None)
            environ["DOCKER_CONTEXT"] = self.context
        # Otherwise the environment already says it: the children choose as we did.


def choose_engine(context: str | None = None) -> EngineChoice:
    """The engine the Docker CLI would use with `--context context` (None: no flag), from
    this process's environment and the CLI's config folder."""
    env = os.environ
    if context:
        return _from_context(context, ChosenBy.FLAG)
    if env.get("DOCKER_HOST"):
        from tui.core.engine import docker

        try:
            arguments = docker.utils.kwargs_from_env(environment=dict(env))
        except docker.errors.DockerException as error:
            raise EngineChoiceError(f"DOCKER_HOST={env['DOCKER_HOST']}: {error}") from None
        host = str(arguments.get("base_url") or env["DOCKER_HOST"])
        return EngineChoice(host, "default", ChosenBy.DOCKER_HOST, arguments.get("tls"))
    if env.get("DOCKER_CONTEXT"):
        return _from_context(env["DOCKER_CONTEXT"], ChosenBy.DOCKER_CONTEXT)
    current = _current_context()
    if current != "default":
        return _from_context(current, ChosenBy.CURRENT_CONTEXT)
    return EngineChoice(LOCAL_SOCKET, "default", ChosenBy.DEFAULT)


def _current_context() -> str:
    """`currentContext` of the CLI's config file, read as docker-py's
    `get_current_context_name` reads it (the same three places), without importing it."""
    for path in _config_file_candidates():
        if path.exists():
            try:
                with path.open(encoding="utf-8") as file:
                    return str(json.load(file).get("currentContext") or "default")
            except Exception:  # docker-py's own reading: anything unreadable is "default"
                return "default"
    return "default"


def _config_file_candidates() -> list[Path]:
    """Where docker-py's `find_config_file` looks, in its order."""
    home = Path(os.path.expanduser("~"))
    folder = os.environ.get("DOCKER_CONFIG")
    found = [Path(folder) / "config.json"] if folder else []
    return [*found, home / ".docker" / "config.json", home / ".dockercfg"]


def _from_context(name: str, chosen_by: ChosenBy) -> EngineChoice:
    if name == "default":
        return EngineChoice(LOCAL_SOCKET, "default", chosen_by)
    from tui.core.engine import docker

    found: tuple[str | None, TLSConfig | None] | None
    try:
        if docker.utils.config.find_config_file() is not None:
            context = docker.context.ContextAPI.get_context(name)
            found = None if context is None else (context.Host, context.TLSConfig)
        else:
            found = _context_without_config_file(name)
    except (docker.errors.DockerException, OSError, ValueError) as error:
        raise EngineChoiceError(f"Docker context {name!r} cannot be read: {error}") from None
    if found is None or not found[0]:
        raise EngineChoiceError(
            f"no Docker context named {name!r} (chosen by {chosen_by.value}); "
            "`docker context ls` lists them"
        )
    return EngineChoice(str(found[0]), name, chosen_by, found[1])


def _context_without_config_file(name: str) -> tuple[str, TLSConfig | None] | None:
    """A context when the CLI's config.json does not exist yet (`docker context create`
    does not write it): docker-py then looks for the store relative to the working folder,
    the CLI in its config folder. Same files, read as docker-py reads them."""
    folder = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "contexts"
    import hashlib  # OpenSSL's, imported only for a context with no config.json

    key = hashlib.sha256(name.encode()).hexdigest()
    meta = folder / "meta" / key / "meta.json"
    if not meta.is_file():
        return None
    endpoint = json.loads(meta.read_text()).get("Endpoints", {}).get("docker", {})
    tls_dir = folder / "tls" / key / "docker"
    tls = None
    if all((tls_dir / f"{part}.pem").is_file() for part in ("ca", "cert", "key")):
        from tui.core.engine import TLSConfig

        tls = TLSConfig(
            client_cert=(str(tls_dir / "cert.pem"), str(tls_dir / "key.pem")),
            ca_cert=str(tls_dir / "ca.pem"),
            verify=None if endpoint.get("SkipTLSVerify") else True,
        )
    return str(endpoint.get("Host") or ""), tls


_selected: EngineChoice | None = None


def select_engine(context: str | None = None) -> EngineChoice:
    """Choose the engine once for this process and make its subprocesses use it too."""
    global _selected  # noqa: PLW0603 - one engine per envdeck process, chosen at start
    choice = choose_engine(context)
    choice.subprocess_environment(os.environ)
    _selected = choice
    return choice


def current_engine() -> EngineChoice:
    """The selected engine, or the one the environment names now."""
    return _selected if _selected is not None else choose_engine()
