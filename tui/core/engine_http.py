"""A read-only Docker API client for the quick commands (`envdeck status`): the engine's
version and a compose project's containers, inspected.

Why not docker-py here: importing it (requests, urllib3, charset_normalizer) costs more
than everything `status` asks of the engine, ~0.1 s of CPU on every start. What `status`
needs is a few GET requests, made here with the standard library's http.client on one
kept-alive connection (~0.03 s to import). httpx, already a dependency, was measured
too: `import httpx` costs as much as `import docker` (0.13 s against 0.09 s, best of 5,
one run): it imports its command-line interface (click, rich) on import.

It reaches the engine envdeck chose (`tui.core.engine_choice`), as docker-py would: a
unix socket; tcp, with the chosen TLS client certificate and verification; an ssh engine
through the socket of its bridge (`tui.core.ssh_bridge`). Nothing here writes.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlencode, urlsplit

from tui.core.engine_facts import (
    ONEOFF_LABEL,
    PROJECT_LABEL,
    EngineUnavailable,
    describe_engine_error,
)

if TYPE_CHECKING:
    import ssl

    from tui.core.engine_choice import EngineChoice

# A kept-alive connection the engine has closed meanwhile fails on its next request:
# GETs are safe to send again once, on a new connection.
_STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class EngineRefused(OSError):
    """The engine answered, with an error status (404 for a missing image, ...). An
    OSError as docker-py's `APIError` is: callers that take either client catch both."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status


@dataclass(frozen=True)
class EngineAddress:
    """Where the engine listens: a unix socket, or a host and port (TLS or not)."""

    socket_path: str | None = None
    host: str = "localhost"
    port: int = 0
    tls: bool = False
    prefix: str = ""  # a base path in the engine's URL (tcp://host:2375/prefix)
    proxy: tuple[str, int] | None = None  # HTTP(S)_PROXY's host and port, when one applies

    @property
    def request_prefix(self) -> str:
        """What a request's path starts with: through a plain HTTP proxy, the whole URL."""
        origin = f"http://{self.host}:{self.port}" if self.proxy and not self.tls else ""
        return origin + self.prefix


def engine_address(choice: EngineChoice) -> EngineAddress:
    """The address of the chosen engine; EngineUnavailable for one envdeck cannot reach."""
    parts = urlsplit(choice.host)
    if choice.kind == "unix":
        # unix:///run/docker.sock; docker-py also takes the legacy unix://run/docker.sock.
        path = f"{parts.netloc}{parts.path}" if parts.netloc else parts.path
        return EngineAddress(socket_path=path or "/var/run/docker.sock")
    if choice.kind == "ssh":
        from tui.core.ssh_bridge import bridge_for  # noqa: PLC0415 - only for ssh engines

        return EngineAddress(socket_path=str(bridge_for(choice.host).socket_path))
    if choice.kind == "tcp":
        if not parts.port:
            raise EngineUnavailable(f"{choice.host}: the engine's port is missing")
        host = parts.hostname or "127.0.0.1"
        return EngineAddress(
            host=host,
            port=parts.port,
            tls=choice.secure,
            prefix=parts.path.rstrip("/"),
            proxy=environment_proxy(host, tls=choice.secure),
        )
    raise EngineUnavailable(f"{choice.describe()}: envdeck cannot reach {choice.kind} engines")


def environment_proxy(host: str, *, tls: bool) -> tuple[str, int] | None:
    """The proxy HTTPS_PROXY or HTTP_PROXY names for a tcp engine at `host`, unless
    NO_PROXY exempts it: as docker-py's gateway applies them (requests'
    get_environ_proxies) and the Docker CLI does."""
    from urllib.request import getproxies, proxy_bypass  # noqa: PLC0415 - tcp engines only

    proxy = getproxies().get("https" if tls else "http")
    if not proxy or proxy_bypass(host):
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or 80


def tls_context(choice: EngineChoice) -> ssl.SSLContext:
    """TLS as docker-py sets it up from the same TLSConfig: the client certificate, and
    the server verified against `ca_cert` (or the system's CAs) unless `verify` is off."""
    import ssl  # noqa: PLC0415 - only for a tcp engine with TLS

    tls = choice.tls
    # No TLSConfig (an https:// host): requests' default, the system's CAs.
    if tls is None or tls.verify:
        context = ssl.create_default_context(cafile=(tls.ca_cert if tls else None) or None)
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls is not None and tls.cert:
        certificate, key = tls.cert
        context.load_cert_chain(certificate, key)
    return context


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class EngineHttp:
    """GET requests to the chosen engine on one kept-alive connection; not thread-safe
    (one command, one thread)."""

    def __init__(self, choice: EngineChoice, timeout: float = 10.0) -> None:
        self.choice = choice
        self._timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        self._where: EngineAddress | None = None

    def version(self) -> dict[str, Any]:
        """`GET /version`: the engine's `Version` and `ApiVersion`, among others."""
        answer = self.get_json("/version")
        return answer if isinstance(answer, dict) else {}

    def container_documents(self, project: str, *, one_off: bool = False) -> list[dict[str, Any]]:
        """The inspect document of every container of `project`, running or not, one-off
        `compose run` containers only with `one_off`: what `DockerGateway.project_containers`
        lists, as documents."""
        filters = json.dumps({"label": [f"{PROJECT_LABEL}={project}"]})
        listed = self.get_json("/containers/json", {"all": "1", "filters": filters})
        documents = []
        for entry in listed if isinstance(listed, list) else ():
            labels = entry.get("Labels") or {}
            if not is_project_container(labels, project, one_off=one_off):
                continue
            try:
                document = self.get_json(f"/containers/{quote(str(entry.get('Id')))}/json")
            except EngineRefused as refused:
                if refused.status == 404:
                    continue  # removed between the list and its inspect: gone, not listed
                raise
            if isinstance(document, dict):
                documents.append(document)
        return documents

    def image_exists(self, reference: str) -> bool:
        """Is the image here? As `DockerGateway.image_exists`: an invalid reference (400)
        is no such image, not a lost engine."""
        try:
            self.get_json(f"/images/{quote(reference, safe='/:@')}/json")
        except EngineRefused:
            return False
        return True

    def events(
        self, *, since: int, until: int, filters: Mapping[str, Any], decode: Literal[True] = True
    ) -> list[dict[str, Any]]:
        """The engine's event history between two times (whole seconds), as docker-py's
        `APIClient.events` with `until` given: the engine answers once `until` has passed."""
        del decode  # always decoded; the parameter keeps docker-py's call shape
        # The API takes each filter's values as a list (docker-py's `convert_filters`).
        lists = {k: v if isinstance(v, list) else [v] for k, v in filters.items()}
        query = {"since": str(since), "until": str(until), "filters": json.dumps(lists)}
        body = self._body("/events", query)
        return _json_stream(body.decode("utf-8", "replace"))

    def get_json(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        """The decoded answer to `GET path?query`; EngineRefused for an error status,
        EngineUnavailable when the engine cannot be reached or answers garbage."""
        body = self._body(path, query)
        try:
            return json.loads(body)
        except ValueError as error:
            raise EngineUnavailable(f"the engine's answer to {path} is not JSON: {error}") from None

    def _body(self, path: str, query: Mapping[str, str] | None) -> bytes:
        """The body of a successful `GET path?query`; EngineRefused, EngineUnavailable."""
        target = self._address().request_prefix + path
        target += f"?{urlencode(query)}" if query else ""
        try:
            status, body = self._get(target)
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise EngineUnavailable(describe_engine_error(error)) from None
        if status >= 400:
            raise EngineRefused(status, _error_message(body))
        return body

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _get(self, target: str) -> tuple[int, bytes]:
        reused = self._connection is not None
        try:
            return self._request(target)
        except _STALE_CONNECTION:
            if not reused:
                raise
            self.close()
            return self._request(target)

    def _request(self, target: str) -> tuple[int, bytes]:
        connection = self._connect()
        connection.request("GET", target, headers={"Accept": "application/json"})
        response = connection.getresponse()
        body = response.read()
        if response.will_close:
            self.close()
        return response.status, body

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            self._connection = self._new_connection()
        return self._connection

    def _new_connection(self) -> http.client.HTTPConnection:
        address = self._address()
        if address.socket_path is not None:
            return _UnixConnection(address.socket_path, self._timeout)
        host, port = address.proxy or (address.host, address.port)
        if not address.tls:
            return http.client.HTTPConnection(host, port, timeout=self._timeout)
        connection = http.client.HTTPSConnection(
            host, port, timeout=self._timeout, context=tls_context(self.choice)
        )
        if address.proxy is not None:
            # CONNECT through the proxy; the engine's certificate is checked for its name.
            connection.set_tunnel(address.host, address.port)
        return connection

    def _address(self) -> EngineAddress:
        if self._where is None:
            self._where = engine_address(self.choice)
        return self._where


def is_project_container(labels: Mapping[str, str], project: str, *, one_off: bool) -> bool:
    """A container of `project` by its labels; a one-off `compose run` one only if asked."""
    return labels.get(PROJECT_LABEL) == project and (
        one_off or labels.get(ONEOFF_LABEL, "False") != "True"
    )


def _error_message(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:200]
    message = answer.get("message") if isinstance(answer, dict) else None
    return str(message) if message else ""


def _json_stream(text: str) -> list[dict[str, Any]]:
    """The objects of a stream of JSON documents (the events API writes one a line)."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return found
        try:
            item, position = decoder.raw_decode(text, position)
        except ValueError:
            return found  # a cut stream: what came before it stands
        if isinstance(item, dict):
            found.append(item)
