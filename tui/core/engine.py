"""Access to the Docker engine, limited to one compose project's containers.

Everything that lists or acts on containers filters by the compose project label, so
envdeck never sees or touches another project's containers.

docker-py, requests and urllib3 are imported here and nowhere else: every other module takes
them from this one (an import-linter contract says so). The dashboard imports them after its
first frame, in whichever worker needs them first; several workers entering docker-py's
import cycles by different modules at once made Python hand one a half-made module or a
_DeadlockError (2026-12-07: the log follower and the stats round both died, silently, when
the baseline check entered at `docker.models.containers` at the same moment). Entered only
through this module, the second thread waits on its import lock, holding none of docker's.
"""

from __future__ import annotations

import threading
from typing import Any

import docker
import docker.context
import docker.errors
import docker.types
import docker.utils
import docker.utils.config
import requests
import requests.exceptions
import requests.utils
import urllib3
import urllib3.exceptions
from docker.models.containers import Container
from docker.tls import TLSConfig
from docker.transport import UnixHTTPAdapter
from docker.types import CancellableStream

from tui.core.engine_choice import EngineChoice, EngineChoiceError, current_engine
from tui.core.engine_facts import (
    ONEOFF_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    EngineInfo,
    EngineUnavailable,
    describe_engine_error,
)

__all__ = [  # what callers have always imported from here
    "ENGINE_GONE",
    "ONEOFF_LABEL",
    "PROJECT_LABEL",
    "SERVICE_LABEL",
    "CancellableStream",
    "Container",
    "DockerGateway",
    "EngineInfo",
    "EngineUnavailable",
    "TLSConfig",
    "client_for",
    "describe_engine_error",
    "docker",
    "requests",
    "urllib3",
]
MINIMUM_API_VERSION = "1.24"  # docker-py's own minimum; only to ask the engine for its own

# Failures that mean "the engine is not there", as opposed to a refused request.
ENGINE_GONE = (
    docker.errors.DockerException,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ConnectionError,
    OSError,
)


def client_for(choice: EngineChoice, timeout: Any) -> docker.DockerClient:
    """A docker-py client of the chosen engine: an ssh engine through its bridge (one
    connection pool), a TLS engine verified with its own CA, any other as docker-py
    makes it."""
    if choice.kind == "ssh":
        from tui.core.ssh_bridge import bridge_for  # noqa: PLC0415 - only for ssh engines

        socket_url = bridge_for(choice.host).base_url
        client = docker.DockerClient(base_url=socket_url, version="auto", timeout=timeout)
        _one_pool(client.api, socket_url, timeout)
        return client
    arguments = choice.client_arguments()
    if "tls" in arguments:
        return _tls_client(arguments, timeout)
    return docker.DockerClient(**arguments, version="auto", timeout=timeout)


class _OnePoolAdapter(UnixHTTPAdapter):
    """docker-py's unix-socket adapter keeps a connection pool per URL, so nearly every
    request opens a new connection: free on a local socket, but through an ssh engine's
    bridge each is a new `ssh … docker system dial-stdio` (0.3-0.8 s). One pool here."""

    def get_connection_with_tls_context(
        self, request: Any, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        return self.get_connection("http+docker://localhost", proxies)


def _one_pool(api: docker.APIClient, base_url: str, timeout: Any) -> None:
    socket_path = base_url.removeprefix("unix://")
    api.mount("http+docker://", _OnePoolAdapter(f"http+unix://{socket_path}", timeout))


def _tls_client(arguments: dict[str, Any], timeout: Any) -> docker.DockerClient:
    """A client of a TLS engine that verifies it with the context's (DOCKER_CERT_PATH's)
    CA, as the Docker CLI does. requests would let REQUESTS_CA_BUNDLE, set on many
    machines, replace that CA on every call (docker/docker-py#2433), so the environment is
    not read; its proxies are applied explicitly. `version="auto"` would ask the engine
    before that could be set: the version is asked first, by a client made for that."""
    probe = docker.APIClient(**arguments, version=MINIMUM_API_VERSION, timeout=timeout)
    _without_environment_ca(probe)
    try:
        version = str(probe.version(api_version=False)["ApiVersion"])
    finally:
        probe.close()
    client = docker.DockerClient(**arguments, version=version, timeout=timeout)
    _without_environment_ca(client.api)
    return client


def _without_environment_ca(api: docker.APIClient) -> None:
    api.trust_env = False
    api.proxies = requests.utils.get_environ_proxies(api.base_url)


class DockerGateway:
    """A lazily connected docker-py client, reconnecting after the engine comes back."""

    def __init__(self, base_url: str | None = None, timeout: float = 10.0) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._client: docker.DockerClient | None = None
        self._choice: EngineChoice | None = None  # read once: the environment is read at start
        self._lock = threading.Lock()

    @property
    def client(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> docker.DockerClient:
        # Seconds as given: docker-py hands them to requests and socket.settimeout, which
        # take fractions (its stubs say int; int(0.5) == 0 made every call time out).
        timeout: Any = self._timeout
        try:
            if self._base_url:
                client = docker.DockerClient(
                    base_url=self._base_url, version="auto", timeout=timeout
                )
            else:
                self._choice = current_engine()
                client = client_for(self._choice, timeout)
        except EngineChoiceError as error:
            raise EngineUnavailable(str(error)) from None
        except ENGINE_GONE as error:
            raise EngineUnavailable(describe_engine_error(error)) from None
        if client.api.base_url.startswith("http+docker://"):
            # A local socket (unix, npipe, ssh): no HTTP proxy applies, and requests would
            # look for one in the whole environment on every call (a third of its cost).
            client.api.trust_env = False
        return client

    def clone(self) -> DockerGateway:
        """Another gateway to the same engine: a long-lived stream's reconnects (which
        reset their client) must not cut other callers' requests in flight."""
        return DockerGateway(self._base_url, self._timeout)

    def reset(self) -> None:
        """Forget the connection, so the next call reconnects."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    @property
    def choice(self) -> EngineChoice | None:
        """The engine this gateway reaches and how it was chosen; None when a base URL was
        given (tests, benchmarks) or the choice itself fails (the error says so)."""
        if self._base_url:
            return None
        if self._choice is None:
            try:
                self._choice = current_engine()
            except EngineChoiceError:
                return None
        return self._choice

    def info(self) -> EngineInfo:
        choice = self.choice
        try:
            version = self.client.version()
        except EngineUnavailable as error:
            return EngineInfo(False, None, None, str(error), choice)
        except ENGINE_GONE as error:
            self.reset()
            return EngineInfo(False, None, None, describe_engine_error(error), choice)
        return EngineInfo(True, version.get("Version"), version.get("ApiVersion"), None, choice)

    def project_containers(self, project: str, *, one_off: bool = False) -> list[Container]:
        """Every container of `project` (running or not); one-off `compose run`
        containers only with `one_off` (compose down removes those too)."""
        try:
            # docker-py lists, then inspects each: one removed meanwhile (a `down` under
            # way) is gone, not an error (listing again could meet the next one).
            containers = self.client.containers.list(
                all=True, filters={"label": f"{PROJECT_LABEL}={project}"}, ignore_removed=True
            )
        except ENGINE_GONE as error:
            self.reset()
            raise EngineUnavailable(describe_engine_error(error)) from None
        return [
            container
            for container in containers
            if container.labels.get(PROJECT_LABEL) == project
            and (one_off or container.labels.get(ONEOFF_LABEL, "False") != "True")
        ]

    def containers_publishing(self, host_port: int, protocol: str = "tcp") -> list[Container]:
        """Running containers of any project that publish `host_port` on the engine's
        machine: read to say who holds a port a service needs, never touched."""
        try:
            return self.client.containers.list(
                filters={"publish": f"{host_port}/{protocol}"}, ignore_removed=True
            )
        except ENGINE_GONE as error:
            self.reset()
            raise EngineUnavailable(describe_engine_error(error)) from None

    def image_exists(self, reference: str) -> bool:
        try:
            self.client.images.get(reference)
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError:
            return False  # an invalid reference (400): no such image, not a lost engine
        except ENGINE_GONE as error:
            raise EngineUnavailable(describe_engine_error(error)) from None
        return True
