"""For plugins that speak HTTP to their service (envdeck's HTTP and Qdrant inspectors): the
requests of one plugin call share an httpx client and one deadline, so a call that makes
several still ends within `target.timeout`, and a request that fails on the way (no
answer in time, nothing listening, a connection broken off) fails as an `InspectorError`.

A third-party plugin may subclass `HttpCall` or speak HTTP its own way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

import httpx

from tui.plugins.api import InspectorError, Problem, ServiceTarget


class HttpCall:
    """The requests of one plugin call to `base_url`: one connection pool, one deadline."""

    def __init__(self, target: ServiceTarget, base_url: str, **client_options: Any) -> None:
        self.base_url = base_url
        self._target = target
        # trust_env=False: a proxy from the user's shell must not sit between us and a
        # container on loopback.
        self._client = httpx.Client(
            base_url=base_url, timeout=target.timeout, trust_env=False, **client_options
        )
        self.restart_deadline()

    def restart_deadline(self) -> None:
        """The whole of `target.timeout` from now on."""
        self._deadline = time.monotonic() + self._target.timeout

    @contextmanager
    def _transport(self, url: str) -> Iterator[float]:
        """For one request to `url`: the time left (TIMEOUT if none), and its failures on
        the way (not its status) as `InspectorError`s."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._timed_out(url)
        try:
            yield remaining
        except httpx.TimeoutException:
            raise self._timed_out(url) from None
        except httpx.ConnectError as error:
            raise InspectorError(Problem.DOWN, f"nothing answers at {url}: {error}") from None
        except httpx.HTTPError as error:  # reset or closed connections, a non-HTTP peer
            raise InspectorError(Problem.REFUSED, f"{url} broke off: {error}") from None

    def _timed_out(self, url: str) -> InspectorError:
        return InspectorError(
            Problem.TIMEOUT, f"{url} did not answer within {self._target.timeout:g} s"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._client.close()
