"""Mock HTTP API of the envdeck sample environment: embeddings and web search.

Standard library only (the offline image has nothing else), Python 3.11+.

Endpoints
---------
``GET /health``
    ``{"status": "ok"}``.
``POST /v1/embeddings``
    OpenAI-shaped: body ``{"model": str, "input": str | list[str], "dimensions"?: int,
    "encoding_format"?: "float" | "base64"}``. Vectors are deterministic and unit-length:
    every word of the text adds a pseudo-random vector seeded by its SHA-256, so the same
    text always gives the same vector and texts sharing words point the same way (word
    pairs count too, so word order matters a little).
``GET /search?q=...&limit=...``
    ``{"query": q, "results": [{"title", "url", "snippet", "score"}, ...]}``, deterministic
    per query, best score first.

Errors are JSON, OpenAI-shaped: ``{"error": {"message": ..., "type": ...}}`` with 400
(bad body or query), 404 (unknown path), 405 (wrong method), 413 (body too large).

One line per request goes to stdout, except successful ``/health`` probes from loopback:
those are the container's own healthcheck, once a second, and would drown the rest.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import re
import signal
import struct
import sys
import time
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from types import FrameType

DEFAULT_DIMENSIONS = 384
MAX_DIMENSIONS = 4096
MAX_INPUTS = 2048
MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_SEARCH_LIMIT = 5
MAX_SEARCH_LIMIT = 50

_WORD = re.compile(r"\w+", re.UNICODE)


class ApiError(Exception):
    """An error answered to the client as JSON."""

    def __init__(self, status: HTTPStatus, message: str, kind: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


def bad_request(message: str) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, message, "invalid_request_error")


# ---------------------------------------------------------------- embeddings


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@lru_cache(maxsize=8192)
def _feature_vector(feature: str, dimensions: int) -> tuple[float, ...]:
    """Components in [-1, 1), drawn from SHA-256 blocks of the feature: stable forever."""
    values: list[float] = []
    block = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{block}:{feature}".encode()).digest()
        values.extend((word - 32768) / 32768 for (word,) in struct.iter_unpack(">H", digest))
        block += 1
    return tuple(values[:dimensions])


def embed(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector: the normalised sum of the text's word (pair) vectors."""
    words = _words(text)
    # Words make texts that share vocabulary similar; word pairs keep order from being moot.
    pairs = [f"{first} {second}" for first, second in pairwise(words)]
    features = words + pairs or [f"\x00text:{text}"]
    total = [0.0] * dimensions
    for feature in features:
        for i, value in enumerate(_feature_vector(feature, dimensions)):
            total[i] += value
    norm = math.sqrt(sum(value * value for value in total))
    if norm == 0.0:  # word vectors cancelling out exactly: still answer a unit vector
        total = list(_feature_vector(f"\x00text:{text}", dimensions))
        norm = math.sqrt(sum(value * value for value in total)) or 1.0
    return [round(value / norm, 7) for value in total]


def count_tokens(text: str) -> int:
    return len(_words(text))


def _parse_inputs(raw: object) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        if not raw:
            raise bad_request("'input' must not be an empty list")
        if len(raw) > MAX_INPUTS:
            raise bad_request(f"'input' holds at most {MAX_INPUTS} items")
        if not all(isinstance(item, str) for item in raw):
            raise bad_request("'input' must be a string or a list of strings")
        return [str(item) for item in raw]
    raise bad_request("'input' must be a string or a list of strings")


def _parse_dimensions(raw: object) -> int:
    if raw is None:
        return DEFAULT_DIMENSIONS
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise bad_request("'dimensions' must be an integer")
    if not 1 <= raw <= MAX_DIMENSIONS:
        raise bad_request(f"'dimensions' must be between 1 and {MAX_DIMENSIONS}")
    return raw


def embeddings_response(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("'model' is required and must be a non-empty string")
    if "input" not in body:
        raise bad_request("'input' is required")
    inputs = _parse_inputs(body["input"])
    dimensions = _parse_dimensions(body.get("dimensions"))
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise bad_request("'encoding_format' must be 'float' or 'base64'")

    data: list[dict[str, Any]] = []
    for index, text in enumerate(inputs):
        vector = embed(text, dimensions)
        embedding: list[float] | str = vector
        if encoding == "base64":  # what the official OpenAI client asks for by default
            packed = struct.pack(f"<{len(vector)}f", *vector)
            embedding = base64.b64encode(packed).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(count_tokens(text) for text in inputs)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# ---------------------------------------------------------------- search


def _slug(text: str) -> str:
    return "-".join(_words(text))[:60] or "query"


def search_response(query: str, limit: int) -> dict[str, Any]:
    """Made-up but stable results: the same query always answers the same pages."""
    digest = hashlib.sha256(query.encode()).hexdigest()
    slug = _slug(query)
    results: list[dict[str, Any]] = []
    score = 1.0
    for rank in range(1, limit + 1):
        step = int(hashlib.sha256(f"{rank}:{query}".encode()).hexdigest()[:4], 16) / 0xFFFF
        score = round(score * (0.80 + 0.15 * step), 4)  # strictly decreasing, in (0, 1)
        results.append(
            {
                "title": f"{query.strip()} - result {rank}",
                "url": f"https://mock-search.example/{digest[:12]}/{slug}/{rank}",
                "snippet": (
                    f"Result {rank} for '{query.strip()}': a mock page about "
                    f"{query.strip()}, served by the envdeck sample mock API."
                ),
                "score": score,
            }
        )
    return {"query": query, "results": results}


def _parse_search(raw_query: str) -> tuple[str, int]:
    params = parse_qs(raw_query, keep_blank_values=True)
    values = params.get("q")
    if not values or not values[0].strip():
        raise bad_request("query parameter 'q' is required and must not be blank")
    limit_values = params.get("limit")
    limit = DEFAULT_SEARCH_LIMIT
    if limit_values:
        try:
            limit = int(limit_values[0])
        except ValueError:
            raise bad_request("'limit' must be an integer") from None
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise bad_request(f"'limit' must be between 1 and {MAX_SEARCH_LIMIT}")
    return values[0], limit


# ---------------------------------------------------------------- HTTP


ROUTES: dict[str, tuple[str, ...]] = {
    "/health": ("GET",),
    "/search": ("GET",),
    "/v1/embeddings": ("POST",),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "envdeck-mock-api/1.0"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def parse_request(self) -> bool:
        self._started = time.perf_counter()
        return super().parse_request()

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        try:
            body = self._read_body()
            allowed = ROUTES.get(path)
            if allowed is None:
                raise ApiError(HTTPStatus.NOT_FOUND, f"no route for {path}", "not_found")
            if method not in allowed:
                raise ApiError(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"{method} is not allowed on {path}; use {', '.join(allowed)}",
                    "method_not_allowed",
                )
            if path == "/health":
                self._send_json(HTTPStatus.OK, {"status": "ok"})
            elif path == "/search":
                query, limit = _parse_search(url.query)
                self._send_json(HTTPStatus.OK, search_response(query, limit))
            else:
                self._send_json(HTTPStatus.OK, embeddings_response(self._parse_json(body)))
        except ApiError as error:
            headers = {"Allow": ", ".join(ROUTES[path])} if path in ROUTES else {}
            self._send_json(
                error.status,
                {"error": {"message": error.message, "type": error.kind}},
                headers,
            )

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise ApiError(
                HTTPStatus.LENGTH_REQUIRED, "send a Content-Length", "invalid_request_error"
            )
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self.close_connection = True
            raise bad_request("invalid Content-Length") from None
        if length < 0:
            self.close_connection = True
            raise bad_request("invalid Content-Length")
        if length > MAX_BODY_BYTES:
            # The body stays unread: this connection cannot carry another request.
            self.close_connection = True
            raise ApiError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body exceeds {MAX_BODY_BYTES} bytes",
                "invalid_request_error",
            )
        return self.rfile.read(length) if length else b""

    @staticmethod
    def _parse_json(body: bytes) -> object:
        if not body:
            raise bad_request("the request body must be a JSON object")
        try:
            parsed: object = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise bad_request(f"the request body is not valid JSON: {exc}") from None
        return parsed

    def _send_json(
        self, status: HTTPStatus, payload: object, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    # ------------------------------------------------------------ logging

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if isinstance(code, int) and self._is_healthcheck_probe(code):
            return
        started = getattr(self, "_started", None)
        elapsed = f"{(time.perf_counter() - started) * 1000:.1f}ms" if started else "-"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        request = self.requestline or "-"
        print(f'{stamp}Z {self.client_address[0]} "{request}" {code} {elapsed}', flush=True)

    def log_error(self, format: str, *args: Any) -> None:
        """Silent: every request, failed ones included, already gets its line from log_request."""

    def _is_healthcheck_probe(self, status: int) -> bool:
        if status != HTTPStatus.OK or urlsplit(self.path).path.rstrip("/") != "/health":
            return False
        try:
            return ip_address(self.client_address[0]).is_loopback
        except ValueError:
            return False


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    return parser.parse_args(argv)


def _stop(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # As PID 1 in a container SIGTERM has no default action: without this, `docker stop`
    # waits its full timeout and kills.
    signal.signal(signal.SIGTERM, _stop)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"mock-api listening on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("mock-api stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
