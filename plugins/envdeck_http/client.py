"""GET requests to a service over httpx: which port, a shared deadline (`HttpCall`), capped
bodies, failures as `InspectorError`s, and every request written to the history."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from envdeck_http.history import History, HistoryEntry
from tui.core.text import safe_text
from tui.plugins.api import InspectorError, Problem, ServiceTarget
from tui.plugins.http_call import HttpCall

MAX_BODY_BYTES = 64 * 1024  # enough to preview; a huge download must not stall the UI

# Well-known ports of services that never speak HTTP: the fallback plugin leaves them to
# their own inspectors (or to nothing) instead of probing them with GETs.
NOT_HTTP_PORTS = frozenset(
    {
        1433,  # SQL Server
        2181,  # ZooKeeper
        3306,  # MySQL
        5432,  # PostgreSQL
        5672,  # AMQP
        6334,  # Qdrant gRPC
        6379,  # Redis
        9042,  # Cassandra
        9092,  # Kafka
        11211,  # memcached
        27017,  # MongoDB
    }
)


def http_port(target: ServiceTarget) -> int | None:
    """The `port` option, else the published port of the lowest container port that may
    speak HTTP."""
    if "port" in target.options:
        try:
            return int(target.options["port"])
        except (TypeError, ValueError):
            raise InspectorError(
                Problem.ERROR, f"port in [tool.envdeck.services.{target.service}] is no number"
            ) from None
    for container_port in sorted(target.ports):
        if container_port not in NOT_HTTP_PORTS:
            return target.ports[container_port]
    return None


def request_path(query: str) -> str:
    """A path on the service (`/search?q=x`, `search?q=x`); never another host."""
    path = query.strip()
    if "://" in path:
        raise InspectorError(
            Problem.REFUSED_QUERY, "give a path on this service, like /search?q=x, not a URL"
        )
    # One leading slash: `//host/x` would otherwise name another host.
    return "/" + path.lstrip("/")


@dataclass(frozen=True)
class Exchange:
    """One GET and what came back of it."""

    url: str
    path: str
    status: int
    reason: str
    latency_ms: float  # until the response headers arrived
    headers: tuple[tuple[str, str], ...]
    body: bytes  # at most MAX_BODY_BYTES
    truncated: bool

    @property
    def content_type(self) -> str:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value
        return ""


class HttpSession(HttpCall):
    """The GETs of one plugin call, each written to the history."""

    def __init__(self, target: ServiceTarget, history: History) -> None:
        port = http_port(target)
        if port is None:
            raise InspectorError(Problem.DOWN, f"{target.service} publishes no HTTP port")
        super().__init__(
            target,
            f"http://{target.host}:{port}",
            follow_redirects=False,  # a 3xx is an answer worth showing as it is
            headers={"User-Agent": "envdeck"},
        )
        self._history = history

    def get(self, path: str) -> Exchange:
        started_at = time.time()
        started = time.perf_counter()
        try:
            exchange = self._get(path, started)
        except InspectorError as error:
            self._record(HistoryEntry(started_at, "GET", path, error.problem.value, None))
            raise
        self._record(
            HistoryEntry(started_at, "GET", path, str(exchange.status), exchange.latency_ms)
        )
        return exchange

    def _record(self, entry: HistoryEntry) -> None:
        self._history.record(self._target.service, entry)

    def _get(self, path: str, started: float) -> Exchange:
        url = self.base_url + path
        try:
            with self._transport(url) as remaining:
                try:
                    with self._client.stream("GET", url, timeout=remaining) as response:
                        latency_ms = (time.perf_counter() - started) * 1000
                        body, truncated = self._read_capped(response)
                except httpx.RemoteProtocolError as error:
                    raise InspectorError(
                        Problem.ERROR, f"{self.base_url} does not speak HTTP: {error}"
                    ) from None
        except httpx.InvalidURL as error:
            raise InspectorError(Problem.REFUSED_QUERY, f"not a valid path: {error}") from None
        return Exchange(
            url=safe_text(url),
            path=path,
            status=response.status_code,
            reason=response.reason_phrase,
            latency_ms=latency_ms,
            headers=tuple(
                (safe_text(name), safe_text(value)) for name, value in response.headers.items()
            ),
            body=body,
            truncated=truncated,
        )

    def _read_capped(self, response: httpx.Response) -> tuple[bytes, bool]:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            # Stop at the cap, or at the deadline when a server drips its body slowly.
            if len(body) > MAX_BODY_BYTES or time.monotonic() > self._deadline:
                return bytes(body[:MAX_BODY_BYTES]), True
        return bytes(body), False
