"""envdeck's HTTP inspector, the fallback for any service with a published port: its
health endpoint, the last responses envdeck got from it, and any GET the user asks for."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import ClassVar

from envdeck_http.client import Exchange, HttpSession, http_port, request_path
from envdeck_http.history import History
from envdeck_http.render import (
    HISTORY_COLUMNS,
    body_preview,
    body_text,
    headers_rows,
    history_rows,
    latency_label,
    status_label,
)
from tui.core.text import safe_text
from tui.plugins.api import (
    Action,
    InspectorError,
    KeyValues,
    Match,
    Problem,
    ServiceTarget,
    Table,
    TextBlock,
    View,
    ViewRequest,
    ViewResult,
)

__all__ = ["HEALTH_PATHS", "HttpPlugin"]

HEALTH_PATHS = ("/health", "/healthz", "/readyz", "/livez", "/")


def _answers(exchange: Exchange) -> bool:
    return 200 <= exchange.status < 400


class HttpPlugin:
    name: ClassVar[str] = "http"
    title: ClassVar[str] = "HTTP"

    def __init__(self) -> None:
        self.history = History()
        self._health_paths: dict[str, str] = {}  # service -> the probe that answered
        self._lock = threading.Lock()

    def matches(self, target: ServiceTarget) -> Match:
        return Match.FALLBACK if http_port(target) is not None else Match.NO

    def views(self, target: ServiceTarget) -> Sequence[View]:
        return (
            View("overview", "Health"),
            View("request", "Request", takes_query=True, query_hint="a path: /search?q=x"),
            View("history", "Last responses"),
        )

    def show(self, target: ServiceTarget, request: ViewRequest) -> ViewResult:
        if request.view == "history":
            return ViewResult((self._history_table(target),))
        if request.view == "overview":
            return self._overview(target)
        if request.view == "request":
            return self._request(target, request.query)
        raise InspectorError(Problem.ERROR, f"unknown view {request.view!r}")

    def actions(self, target: ServiceTarget) -> Sequence[Action]:
        return ()  # read-only: GET requests only

    def run_action(self, target: ServiceTarget, action: str, params: Mapping[str, str]) -> str:
        raise InspectorError(Problem.ERROR, f"unknown action {action!r}")

    # ------------------------------------------------------------ health

    def _overview(self, target: ServiceTarget) -> ViewResult:
        with HttpSession(target, self.history) as session:
            exchange, found = self._health(target, session)
        items = (
            ("endpoint", safe_text(exchange.path)),
            ("found", found),
            ("url", exchange.url),
            ("status", status_label(exchange.status, exchange.reason)),
            ("latency", latency_label(exchange.latency_ms)),
            ("content type", safe_text(exchange.content_type) or "—"),
            ("body", body_preview(exchange.body, exchange.content_type)),
        )
        return ViewResult((KeyValues("Health", items), self._history_table(target)))

    def _health(self, target: ServiceTarget, session: HttpSession) -> tuple[Exchange, str]:
        """The health answer and how its endpoint was chosen. The first call probes the
        usual paths; the first that answers 2xx/3xx is used from then on."""
        configured = target.options.get("health_path")
        if configured:
            return session.get(request_path(str(configured))), "health_path option"
        with self._lock:
            known = self._health_paths.get(target.service)
        if known:
            return session.get(known), "probed earlier"
        exchange = session.get(HEALTH_PATHS[0])
        for path in HEALTH_PATHS[1:]:
            if _answers(exchange):
                break
            exchange = session.get(path)
        if not _answers(exchange):
            return exchange, f"none of {', '.join(HEALTH_PATHS)} answered 2xx/3xx"
        with self._lock:
            self._health_paths[target.service] = exchange.path
        return exchange, "probed now"

    # ------------------------------------------------------------ any GET

    def _request(self, target: ServiceTarget, query: str) -> ViewResult:
        path = request_path(query)
        with HttpSession(target, self.history) as session:
            exchange = session.get(path)
        size = f"{len(exchange.body):,} bytes" + (
            " (first part only)" if exchange.truncated else ""
        )
        summary = (
            ("url", exchange.url),
            ("status", status_label(exchange.status, exchange.reason)),
            ("latency", latency_label(exchange.latency_ms)),
            ("content type", safe_text(exchange.content_type) or "—"),
            ("size", size),
        )
        return ViewResult(
            (
                KeyValues(f"GET {safe_text(path)}", summary),
                Table("Headers", ("name", "value"), headers_rows(exchange.headers)),
                TextBlock(
                    "Body", body_text(exchange.body, exchange.content_type, exchange.truncated)
                ),
            )
        )

    def _history_table(self, target: ServiceTarget) -> Table:
        entries = self.history.newest_first(target.service)
        note = f"the last {self.history.size} requests envdeck made, newest first"
        return Table("Last responses", HISTORY_COLUMNS, history_rows(entries), note)
