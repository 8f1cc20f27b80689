"""The HTTP fallback plugin against the sample stack's real mock API (and Qdrant's probes).

A refused port and a server that never answers are made here, on loopback.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from envdeck_http import HEALTH_PATHS, HttpPlugin
from envdeck_http.history import HISTORY_SIZE
from tests.conftest import SampleEnv
from tests.integration.conftest import free_port
from tui.core.plugin_registry import PluginRegistry, build_target
from tui.plugins.api import (
    InspectorError,
    KeyValues,
    Match,
    Problem,
    ServiceTarget,
    Table,
    TextBlock,
    ViewRequest,
    ViewResult,
)


def section(result: ViewResult, title_start: str) -> Any:
    return next(s for s in result.sections if s.title.startswith(title_start))


def values(result: ViewResult, title_start: str) -> dict[str, str]:
    found = section(result, title_start)
    assert isinstance(found, KeyValues)
    return dict(found.items)


def history(result: ViewResult) -> Table:
    found = section(result, "Last responses")
    assert isinstance(found, Table)
    return found


def target_at(
    port: int, service: str = "api", timeout: float = 10.0, **options: Any
) -> ServiceTarget:
    return ServiceTarget(
        service, "python:3.12-slim", "127.0.0.1", {8080: port}, {}, options, timeout
    )


@pytest.fixture
def mock_api(sample_env: SampleEnv) -> ServiceTarget:
    return target_at(sample_env.port("mock-api", 8080), "mock-api")


# ---------------------------------------------------------------- which plugin


def test_the_registry_picks_http_for_the_mock_api_only(sample_env: SampleEnv) -> None:
    registry = PluginRegistry()
    services = sample_env.environment.project.services

    def plugin_for(name: str) -> object:
        return registry.for_target(build_target(services[name], None))

    assert isinstance(plugin_for("mock-api"), HttpPlugin)
    for name in ("redis", "postgres", "qdrant"):
        assert not isinstance(plugin_for(name), HttpPlugin), name
    # Even alone, the fallback leaves well-known non-HTTP ports to others.
    for name in ("redis", "postgres"):
        assert HttpPlugin().matches(build_target(services[name], None)) is Match.NO, name


# ---------------------------------------------------------------- health and requests


def test_overview_shows_the_mock_apis_health_with_its_latency(mock_api: ServiceTarget) -> None:
    result = HttpPlugin().show(mock_api, ViewRequest("overview"))

    health = values(result, "Health")
    assert health["endpoint"] == "/health"
    assert health["status"] == "200 OK"
    assert health["content type"] == "application/json"
    assert health["body"] == '{"status": "ok"}'
    latency = float(health["latency"].removesuffix(" ms"))
    assert 0 < latency < mock_api.timeout * 1000
    assert history(result).rows[0][1:4] == ("GET", "/health", "200")


def test_the_first_health_endpoint_that_answers_is_remembered(sample_env: SampleEnv) -> None:
    # The Qdrant service has no /health but answers /healthz: a real probe sequence.
    qdrant = target_at(sample_env.port("qdrant", 6333), "qdrant")
    plugin = HttpPlugin()

    first = plugin.show(qdrant, ViewRequest("overview"))
    second = plugin.show(qdrant, ViewRequest("overview"))

    assert values(first, "Health")["endpoint"] == "/healthz"
    assert values(first, "Health")["found"] == "probed now"
    assert values(second, "Health")["found"] == "probed earlier"
    paths = [row[2] for row in reversed(history(second).rows)]
    assert paths == ["/health", "/healthz", "/healthz"]  # the second call probed nothing


def test_the_health_path_option_wins_over_probing(mock_api: ServiceTarget) -> None:
    target = target_at(mock_api.ports[8080], "mock-api", health_path="search?q=up")

    health = values(HttpPlugin().show(target, ViewRequest("overview")), "Health")

    assert (health["endpoint"], health["status"]) == ("/search?q=up", "200 OK")


def test_request_view_shows_status_headers_and_pretty_json(mock_api: ServiceTarget) -> None:
    result = HttpPlugin().show(mock_api, ViewRequest("request", "/search?q=redis"))

    assert values(result, "GET /search?q=redis")["status"] == "200 OK"
    headers = section(result, "Headers")
    assert isinstance(headers, Table)
    assert ("content-type", "application/json") in headers.rows
    body = section(result, "Body")
    assert isinstance(body, TextBlock)
    assert '\n  "query": "redis",\n' in body.text  # pretty-printed, line breaks kept


def test_a_404_is_shown_as_an_answer_not_raised(mock_api: ServiceTarget) -> None:
    result = HttpPlugin().show(mock_api, ViewRequest("request", "/no/such/path"))

    assert values(result, "GET /no/such/path")["status"] == "404 Not Found"
    body = section(result, "Body")
    assert isinstance(body, TextBlock)
    assert "no route for /no/such/path" in body.text


def test_the_history_grows_and_stays_bounded(mock_api: ServiceTarget) -> None:
    plugin = HttpPlugin()
    total = HISTORY_SIZE + 5
    for number in range(total):
        plugin.show(mock_api, ViewRequest("request", f"/search?q=n{number}"))
        shown = history(plugin.show(mock_api, ViewRequest("history"))).rows
        assert len(shown) == min(number + 1, HISTORY_SIZE)

    rows = history(plugin.show(mock_api, ViewRequest("history"))).rows
    assert [row[2] for row in rows] == [f"/search?q=n{n}" for n in reversed(range(5, total))]
    assert {row[3] for row in rows} == {"200"}


# ---------------------------------------------------------------- failures


def test_a_port_nobody_listens_on_is_down_and_recorded() -> None:
    plugin = HttpPlugin()
    target = target_at(free_port())

    with pytest.raises(InspectorError) as caught:
        plugin.show(target, ViewRequest("overview"))

    assert caught.value.problem is Problem.DOWN
    rows = history(plugin.show(target, ViewRequest("history"))).rows
    assert [(row[2], row[3]) for row in rows] == [(HEALTH_PATHS[0], "down")]


def test_a_server_that_never_answers_times_out_within_the_timeout(silent_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(InspectorError) as caught:
        HttpPlugin().show(target_at(silent_port, timeout=0.5), ViewRequest("request", "/"))
    assert caught.value.problem is Problem.TIMEOUT
    assert time.monotonic() - started < 2.0


def test_only_paths_on_the_service_are_requested(mock_api: ServiceTarget) -> None:
    with pytest.raises(InspectorError) as caught:
        HttpPlugin().show(mock_api, ViewRequest("request", "http://example.com/"))
    assert caught.value.problem is Problem.REFUSED_QUERY
