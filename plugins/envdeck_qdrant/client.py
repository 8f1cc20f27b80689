"""Qdrant's REST API over httpx, with every failure turned into an `InspectorError`.

One `QdrantApi` serves one plugin call: its requests share a keep-alive connection and
one deadline, so a call that makes several requests still ends within `target.timeout`.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from tui.core.text import safe_text
from tui.plugins.api import InspectorError, Problem, ServiceTarget

QDRANT_PORT = 6333
API_KEY_ENV = ("QDRANT__SERVICE__API_KEY", "QDRANT_API_KEY")


class QdrantHttpError(InspectorError):
    """Qdrant answered with an error status. `qdrant_message` is None when the body was not
    Qdrant's `{"status": {"error": ...}}`, e.g. the bare 404 of a route it does not have."""

    def __init__(self, status: int, qdrant_message: str | None, message: str) -> None:
        super().__init__(Problem.ERROR, message)
        self.status = status
        self.qdrant_message = qdrant_message


def collection_path(name: str, *rest: str) -> str:
    """`/collections/{name}/...` with the name escaped: names may hold spaces or `%`."""
    return "/".join(("/collections", quote(name, safe=""), *rest))


class QdrantApi:
    def __init__(self, target: ServiceTarget) -> None:
        self.base_url = f"http://{target.host}:{target.published_port(QDRANT_PORT)}"
        self._target = target
        self._api_key = target.setting("api_key", *API_KEY_ENV)
        headers = {"api-key": self._api_key} if self._api_key else {}
        # trust_env=False: a proxy from the user's shell must not sit between us and a
        # container on loopback.
        self._client = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=target.timeout, trust_env=False
        )
        self._deadline = time.monotonic() + target.timeout

    def __enter__(self) -> QdrantApi:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._client.close()

    # ------------------------------------------------------------ requests

    def get(self, path: str) -> Any:
        return self._result(self.request("GET", path))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._result(self.request("POST", path, body))

    def delete(self, path: str) -> Any:
        return self._result(self.request("DELETE", path))

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The decoded JSON document of a successful answer."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._timed_out()
        try:
            response = self._client.request(method, path, json=body, timeout=remaining)
        except httpx.TimeoutException:
            raise self._timed_out() from None
        except httpx.ConnectError as error:
            raise InspectorError(
                Problem.DOWN, f"nothing answers at {self.base_url}: {error}"
            ) from None
        except httpx.HTTPError as error:  # reset connections, a non-HTTP peer
            raise InspectorError(
                Problem.REFUSED, f"{self.base_url} broke off the request: {error}"
            ) from None
        if response.status_code >= 400:
            raise self._http_error(response)
        try:
            return response.json()
        except ValueError:
            raise InspectorError(
                Problem.ERROR, f"{self.base_url}{path} answered no JSON: is this Qdrant?"
            ) from None

    def _result(self, document: Any) -> Any:
        if not isinstance(document, dict) or "result" not in document:
            raise InspectorError(Problem.ERROR, "Qdrant answered without a `result`")
        return document["result"]

    # ------------------------------------------------------------ failures

    def _timed_out(self) -> InspectorError:
        return InspectorError(
            Problem.TIMEOUT,
            f"Qdrant at {self.base_url} did not answer within {self._target.timeout:g} s",
        )

    def _http_error(self, response: httpx.Response) -> InspectorError:
        status = response.status_code
        section = f"[tool.envdeck.services.{self._target.service}]"
        if status in (401, 403):
            if self._api_key:
                return InspectorError(
                    Problem.AUTH,
                    f"Qdrant refused the API key ({status}): check api_key in {section}",
                )
            return InspectorError(
                Problem.AUTH, f"Qdrant wants an API key: set api_key in {section}"
            )
        qdrant_message = _status_error(response)
        text = qdrant_message or f"{response.reason_phrase or 'error'} for {response.url.path}"
        return QdrantHttpError(status, qdrant_message, f"Qdrant: HTTP {status}: {safe_text(text)}")


def _status_error(response: httpx.Response) -> str | None:
    """Qdrant's own message from `{"status": {"error": "..."}}`, if the body is that."""
    try:
        document = response.json()
    except ValueError:
        return None
    status = document.get("status") if isinstance(document, dict) else None
    error = status.get("error") if isinstance(status, dict) else None
    return str(error) if error else None
