"""Qdrant's REST API over httpx, with every failure turned into an `InspectorError`.

One `QdrantApi` serves one plugin call: its requests share a keep-alive connection and
one deadline (`HttpCall`), so a call that makes several still ends within `target.timeout`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tui.core.text import safe_text
from tui.plugins.api import InspectorError, Problem, ServiceTarget
from tui.plugins.http_call import HttpCall

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


class QdrantApi(HttpCall):
    def __init__(self, target: ServiceTarget) -> None:
        self._api_key = target.setting("api_key", *API_KEY_ENV)
        super().__init__(
            target,
            f"http://{target.host}:{target.published_port(QDRANT_PORT)}",
            headers={"api-key": self._api_key} if self._api_key else {},
        )

    # ------------------------------------------------------------ requests

    def get(self, path: str) -> Any:
        return self._result(self.request("GET", path))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._result(self.request("POST", path, body))

    def delete(self, path: str) -> Any:
        return self._result(self.request("DELETE", path))

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The decoded JSON document of a successful answer."""
        with self._transport(self.base_url + path) as remaining:
            response = self._client.request(method, path, json=body, timeout=remaining)
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
