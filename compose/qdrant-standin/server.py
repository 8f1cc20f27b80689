#!/usr/bin/env python3
"""A Qdrant-compatible REST server for machines where no container registry answers.

    python3 -u server.py --host 0.0.0.0 --port 6333 --storage /qdrant/storage

It speaks the REST API of Qdrant 1.12 closely enough for the official qdrant-client: the
same routes, response envelopes, error texts and status codes. Underneath, each collection
is a shard of Qdrant's own engine (qdrant-edge-py), so storage, filters, scoring, scroll
order and counts are Qdrant's. This file is the HTTP side: routing, body limits, the
request log and the process lifecycle; the endpoints live in the standin_*.py modules.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

try:
    import standin_collections as collections
    import standin_points as points
    import standin_search as search
    from standin_store import Call, Store
    from standin_wire import ApiError, RawReply, format_error
except ModuleNotFoundError as missing:  # an image without the engine: say which to build
    if missing.name != "qdrant_edge":
        raise
    sys.exit(
        "qdrant_standin: the Qdrant engine (qdrant-edge-py) is not installed here. The "
        "offline compose file runs this in envdeck-qdrant-standin:bookworm, which "
        "compose/images/build-base.sh builds; locally: pip install -r requirements.txt"
    )

QDRANT_VERSION = "1.12.5"  # the image compose.yaml runs when a registry answers
DEFAULT_MAX_REQUEST_MB = 32  # Qdrant's service.max_request_size_mb

log = logging.getLogger("qdrant_standin")

Endpoint = Callable[[Call], Any]
Reply = tuple[int, str, bytes]  # status, content type, body

_C = "/collections/(?P<collection>[^/]+)"
_ROUTE_TABLE: list[tuple[str, str, Endpoint]] = [
    ("GET", "/collections", collections.list_collections),
    ("GET", "/aliases", collections.list_aliases),
    ("POST", "/collections/aliases", collections.update_aliases),
    ("GET", _C, collections.get_collection),
    ("PUT", _C, collections.create_collection),
    ("PATCH", _C, collections.update_collection),
    ("DELETE", _C, collections.delete_collection),
    ("GET", f"{_C}/exists", collections.collection_exists),
    ("GET", f"{_C}/aliases", collections.list_aliases),
    ("PUT", f"{_C}/index", collections.create_index),
    ("DELETE", f"{_C}/index/(?P<field>[^/]+)", collections.delete_index),
    ("GET", f"{_C}/snapshots", collections.list_snapshots),
    ("POST", f"{_C}/snapshots", collections.create_snapshot),
    ("GET", f"{_C}/snapshots/(?P<snapshot>[^/]+)", collections.download_snapshot),
    ("DELETE", f"{_C}/snapshots/(?P<snapshot>[^/]+)", collections.delete_snapshot),
    ("PUT", f"{_C}/points", points.upsert_points),
    ("POST", f"{_C}/points", points.retrieve_points),
    ("POST", f"{_C}/points/delete", points.delete_points),
    ("POST", f"{_C}/points/payload", points.set_payload),
    ("PUT", f"{_C}/points/payload", points.overwrite_payload),
    ("POST", f"{_C}/points/payload/delete", points.delete_payload),
    ("POST", f"{_C}/points/payload/clear", points.clear_payload),
    ("POST", f"{_C}/points/scroll", points.scroll_points),
    ("POST", f"{_C}/points/count", points.count_points),
    ("POST", f"{_C}/facet", points.facet),
    ("POST", f"{_C}/points/search", search.search_points),
    ("POST", f"{_C}/points/search/batch", search.search_batch),
    ("POST", f"{_C}/points/query", search.query_points),
    ("POST", f"{_C}/points/query/batch", search.query_batch),
    ("GET", f"{_C}/points/(?P<id>[^/]+)", points.get_point),
]
ROUTES = [(method, re.compile(pattern), endpoint) for method, pattern, endpoint in _ROUTE_TABLE]

# Qdrant's actix logger skips these: a 1 s healthcheck would otherwise flood the log.
_QUIET_PATHS = frozenset({"/", "/healthz", "/livez", "/readyz", "/metrics", "/telemetry"})


def route(method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
    for route_method, pattern, endpoint in ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return endpoint, {key: unquote(value) for key, value in match.groupdict().items()}
    return None


def service_reply(method: str, path: str) -> Reply | None:
    """The unauthenticated service endpoints: version info and Kubernetes-style probes."""
    if method != "GET":
        return None
    if path == "/":
        info = {"title": "qdrant - vector search engine", "version": QDRANT_VERSION}
        return 200, "application/json", json.dumps(info, separators=(",", ":")).encode()
    probes = {
        "/healthz": "healthz check passed",
        "/livez": "healthz check passed",
        "/readyz": "all shards are ready",
    }
    if path in probes:
        return 200, "text/plain; charset=utf-8", probes[path].encode()
    return None


def parse_json(raw: bytes) -> Any:
    """The request body; None when empty. Bad JSON is a 400 like Qdrant's, never a crash."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise format_error(f"{error.msg} at line {error.lineno} column {error.colno}") from None
    except ValueError as error:  # NaN/Infinity, or bytes that are not UTF-8
        raise format_error(str(error)) from None
    except RecursionError:
        raise format_error("recursion limit exceeded") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def envelope(status: int, content: dict[str, Any], started: float) -> Reply:
    content["time"] = time.perf_counter() - started
    body = json.dumps(content, separators=(",", ":"), allow_nan=False).encode()
    return status, "application/json", body


def result_reply(result: Any, started: float) -> Reply:
    if isinstance(result, RawReply):
        return 200, result.content_type, result.body
    return envelope(200, {"result": result, "status": "ok"}, started)


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: Store, max_body: int) -> None:
        super().__init__(address, RequestHandler)
        self.store = store
        self.max_body = max_body

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # the client hung up: nothing to report
        log.exception("unexpected error serving %s", client_address)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as qdrant-client's httpx pool expects
    # Headers and body go out in two writes: with Nagle's algorithm the body would wait
    # for the client's delayed ACK, about 40 ms on every request of a kept-alive connection.
    disable_nagle_algorithm = True
    server_version = "qdrant-standin"
    sys_version = ""
    server: StandinServer

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        status, content_type, body = self._reply(url.path, dict(parse_qsl(url.query)), started)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        if url.path not in _QUIET_PATHS:
            self._log_request(status, len(body), started)

    def _reply(self, path: str, query: dict[str, str], started: float) -> Reply:
        try:
            raw = self._read_body()
            service = service_reply(self.command, path)
            if service is not None:
                return service
            found = route(self.command, path)
            if found is None:
                return 404, "text/plain; charset=utf-8", b""  # actix's bare 404
            endpoint, params = found
            call = Call(self.server.store, params, query, parse_json(raw))
            with self.server.store.lock:
                # Serialised under the lock too: results share dicts with live points.
                return result_reply(endpoint(call), started)
        except ApiError as error:
            return envelope(error.status, {"status": {"error": error.message}}, started)
        except RecursionError:
            deep = format_error("recursion limit exceeded")
            return envelope(deep.status, {"status": {"error": deep.message}}, started)
        except Exception as error:
            log.exception("internal error on %s %s", self.command, path)  # a stand-in bug
            content = {"status": {"error": f"Service internal error: {error}"}}
            return envelope(500, content, started)

    # ------------------------------------------------------------ request bodies

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise format_error("invalid Content-Length header", "request")
        self._check_size(length)
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            except ValueError:
                size = -1
            if size < 0:
                self.close_connection = True
                raise format_error("malformed chunked body", "request")
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailer headers
                return b"".join(chunks)
            total += size
            self._check_size(total)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _check_size(self, size: int) -> None:
        if size > self.server.max_body:
            # The body stays unread, so this connection cannot carry another request.
            self.close_connection = True
            raise format_error(
                f"JSON payload ({size} bytes) is larger than allowed "
                f"(limit: {self.server.max_body} bytes)."
            )

    # ------------------------------------------------------------ logging

    def _log_request(self, status: int, size: int, started: float) -> None:
        """One line per request, in the shape of Qdrant's actix access log."""
        referer = self.headers.get("Referer", "-")
        agent = self.headers.get("User-Agent", "-")
        elapsed = time.perf_counter() - started
        log.info(
            '%s "%s" %d %d "%s" "%s" %.6f',
            self.client_address[0],
            self.requestline,
            status,
            size,
            referer,
            agent,
            elapsed,
        )

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _log_request writes the access log, after the body is known

    def log_message(self, format: str, *args: Any) -> None:
        log.warning("%s %s", self.address_string(), format % args)


# ---------------------------------------------------------------- process


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6333)
    parser.add_argument("--storage", default="./storage", help="directory for the shards")
    parser.add_argument("--max-request-size-mb", type=int, default=DEFAULT_MAX_REQUEST_MB)
    return parser.parse_args(argv)


def configure_logging() -> None:
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ %(levelname)s qdrant_standin: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)  # stdout is what `docker logs` shows
    handler.setFormatter(formatter)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    # As PID 1 in a container, SIGTERM is ignored unless handled: `docker stop` would hang.
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    storage = Path(args.storage)
    try:
        storage.mkdir(parents=True, exist_ok=True)
        store = Store(storage)
        store.load(points.upsert_records)
        server = StandinServer((args.host, args.port), store, args.max_request_size_mb << 20)
    except OSError as error:
        log.error("cannot start: %s", error)
        return 1
    signal.signal(signal.SIGTERM, _exit_on_signal)
    log.info(
        "Qdrant-compatible stand-in (REST API of Qdrant %s) listening on %s:%d, "
        "storage %s, %d collection(s) loaded",
        QDRANT_VERSION,
        args.host,
        args.port,
        storage,
        len(store.collections),
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        with store.lock:  # an update in flight finishes first
            server.server_close()
            store.close()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
