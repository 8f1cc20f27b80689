"""The live-state engine without an engine: events in, changes out, and the reconnect loop."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from itertools import islice
from types import SimpleNamespace
from typing import Any, cast

import pytest
import requests.exceptions

from tui.core import events
from tui.core.backoff import backoff_delays
from tui.core.engine import DockerGateway
from tui.core.events import (
    ContainerChange,
    EngineState,
    HealthProbe,
    ProjectWatcher,
    change_kind,
    health_log,
    parse_event,
)

PROJECT = "shop"


def docker_event(action: str, project: str = PROJECT, **attributes: str) -> dict[str, Any]:
    """A decoded event as Docker 20.10+ sends it."""
    return {
        "status": action,
        "id": "c0ffee",
        "from": "postgres:15",
        "Type": "container",
        "Action": action,
        "Actor": {
            "ID": "c0ffee",
            "Attributes": {
                "com.docker.compose.project": project,
                "com.docker.compose.service": "db",
                "name": "shop-db-1",
                **attributes,
            },
        },
        "scope": "local",
        "time": 1_700_000_000,
        "timeNano": 1_700_000_000_250_000_000,
    }


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        ("create", "created"),
        ("start", "started"),
        ("restart", "restarted"),
        ("die", "died"),
        ("stop", "stopped"),
        ("kill", "killed"),
        ("oom", "oom"),
        ("destroy", "destroyed"),
        ("pause", "paused"),
        ("unpause", "unpaused"),
        ("rename", "renamed"),
        ("health_status: unhealthy", "health"),
        ("health_status: healthy", "health"),
        ("health_status:starting", "health"),
        ("health_status", "health"),
    ],
)
def test_relevant_actions_map_to_a_change_kind(action: str, kind: str) -> None:
    assert change_kind(action) == kind


@pytest.mark.parametrize(
    "action",
    ["exec_start: /bin/sh -c true", "exec_die", "attach", "resize", "top", "commit", ""],
)
def test_other_actions_are_ignored(action: str) -> None:
    assert change_kind(action) is None


def test_a_die_event_carries_its_exit_code_service_and_time() -> None:
    event = parse_event(docker_event("die", exitCode="137"), PROJECT)
    assert event is not None
    assert (event.container_id, event.service, event.kind, event.exit_code) == (
        "c0ffee",
        "db",
        "died",
        137,
    )
    assert event.time == pytest.approx(1_700_000_000.25)


def test_a_health_event_in_the_colon_form_is_parsed() -> None:
    event = parse_event(docker_event("health_status: unhealthy"), PROJECT)
    assert event is not None
    assert (event.kind, event.exit_code) == ("health", None)


def test_an_old_style_event_without_actor_still_parses() -> None:
    raw = {"status": "start", "id": "c0ffee", "time": 1_700_000_000}
    assert parse_event(raw, PROJECT) is None  # no labels: not provably ours


@pytest.mark.parametrize(
    "raw",
    [
        docker_event("die", project="other"),
        docker_event("die", **{"com.docker.compose.oneoff": "True"}),
        docker_event("exec_start: pg_isready"),
        {**docker_event("die"), "Type": "network"},
    ],
    ids=["another-project", "one-off-run", "ignored-action", "not-a-container"],
)
def test_events_that_are_not_the_projects_concern_are_dropped(raw: dict[str, Any]) -> None:
    assert parse_event(raw, PROJECT) is None


def test_backoff_doubles_and_is_capped_at_ten_seconds() -> None:
    assert list(islice(backoff_delays(), 8)) == [0.5, 1, 2, 4, 8, 10, 10, 10]
    assert max(islice(backoff_delays(first=3, cap=10), 50)) == 10


def health_doc(*probes: tuple[int, str]) -> dict[str, Any]:
    return {
        "State": {
            "Status": "running",
            "Health": {
                "Status": "unhealthy",
                "Log": [{"ExitCode": code, "Output": output} for code, output in probes],
            },
        }
    }


def test_health_log_keeps_the_last_runs_oldest_first() -> None:
    doc = health_doc((0, "ok\n"), (1, "a\n"), (1, "b\n"), (1, "no /tmp/ok\n"))
    assert health_log(doc) == (
        HealthProbe(1, "a"),
        HealthProbe(1, "b"),
        HealthProbe(1, "no /tmp/ok"),
    )


def test_health_output_is_made_safe_and_bounded() -> None:
    hostile = "\x1b]0;pwned\x07line1\nline2\n" + "x" * 5000
    (probe,) = health_log(health_doc((1, hostile)))
    assert "\x1b" not in probe.output
    assert "\x07" not in probe.output
    assert probe.output.startswith("␛]0;pwned␇line1␊line2␊")
    assert len(probe.output) <= 1000


@pytest.mark.parametrize(
    "doc", [{}, {"State": {}}, {"State": {"Health": None}}, {"State": {"Health": {"Log": None}}}]
)
def test_no_healthcheck_means_no_health_log(doc: dict[str, Any]) -> None:
    assert health_log(doc) == ()


# ------------------------------------------------ the reconnect loop, on a fake engine


class FakeStream:
    """An events stream the test feeds and ends, like docker-py's CancellableStream."""

    def __init__(self) -> None:
        self._items: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while (item := self._items.get()) is not None:
            yield item

    def feed(self, event: dict[str, Any]) -> None:
        self._items.put(event)

    def end(self) -> None:
        self._items.put(None)

    def close(self) -> None:
        self.closed = True
        self.end()


class FakeEngine:
    """Just the gateway and client surface the watcher uses."""

    def __init__(self) -> None:
        self.up = True
        self.streams: list[FakeStream] = []
        self.resets = 0
        self.containers = SimpleNamespace(get=self._inspect)

    @property
    def client(self) -> FakeEngine:
        return self

    def _answer(self) -> None:
        if not self.up:
            raise requests.exceptions.ConnectionError("Connection refused")

    def ping(self) -> bool:
        self._answer()
        return True

    def events(self, **_: Any) -> FakeStream:
        self._answer()
        self.streams.append(FakeStream())
        return self.streams[-1]

    def _inspect(self, container_id: str) -> SimpleNamespace:
        self._answer()
        return SimpleNamespace(
            attrs={"Name": "/shop-db-1", "State": {"Status": "running"}},
            labels={"com.docker.compose.service": "db"},
        )

    def project_containers(self, project: str) -> list[SimpleNamespace]:
        self._answer()
        return []

    def reset(self) -> None:
        self.resets += 1

    def clone(self) -> SimpleNamespace:
        """The heartbeat's own client: the same fake engine, its resets not counted."""
        return SimpleNamespace(client=self, reset=lambda: None)


def next_callback(calls: queue.SimpleQueue[object]) -> object:
    return calls.get(timeout=3)


@pytest.fixture
def fake() -> Iterator[tuple[FakeEngine, queue.SimpleQueue[object]]]:
    engine, calls = FakeEngine(), queue.SimpleQueue[object]()
    watcher = ProjectWatcher(
        cast(DockerGateway, engine), PROJECT, calls.put, on_resync=calls.put, on_engine=calls.put
    )
    watcher.start()
    assert next_callback(calls) == EngineState(True)
    assert next_callback(calls) == {}  # the first resync
    yield engine, calls
    watcher.stop()
    assert not watcher.running
    assert all(stream.closed for stream in engine.streams)


def test_a_stream_ending_while_the_engine_answers_is_reopened_and_resynced(
    fake: tuple[FakeEngine, queue.SimpleQueue[object]],
) -> None:
    engine, calls = fake
    engine.streams[0].feed(docker_event("start"))
    change = next_callback(calls)
    assert isinstance(change, ContainerChange)
    assert (change.kind, change.service) == ("started", "db")
    engine.streams[0].end()  # as the daemon does to a reader that fell behind
    assert next_callback(calls) == {}  # resynced, with no disconnect in between
    assert len(engine.streams) == 2
    assert engine.resets == 0


def test_a_vanished_engine_is_reported_and_resynced_when_it_returns(
    fake: tuple[FakeEngine, queue.SimpleQueue[object]],
) -> None:
    engine, calls = fake
    engine.up = False
    engine.streams[0].end()  # docker-py's silent end of the stream
    gone = next_callback(calls)
    assert isinstance(gone, EngineState)
    assert not gone.connected
    assert gone.error is not None
    assert "refused" in gone.error
    assert engine.resets >= 1  # the old client is dropped, not reused
    engine.up = True
    assert next_callback(calls) == EngineState(True)
    assert next_callback(calls) == {}


def test_a_silent_link_is_found_out_by_the_heartbeat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cut link drops packets: the stream neither ends nor errs. The heartbeat's ping
    fails, closes the stream, and the engine is reported gone, then back."""
    monkeypatch.setattr(events, "HEARTBEAT_SECONDS", 0.05)
    engine, calls = FakeEngine(), queue.SimpleQueue[object]()
    watcher = ProjectWatcher(
        cast(DockerGateway, engine), PROJECT, calls.put, on_resync=calls.put, on_engine=calls.put
    )
    watcher.start()
    try:
        assert next_callback(calls) == EngineState(True)
        assert next_callback(calls) == {}
        engine.up = False  # the stream is left open and quiet, as over a cut link
        gone = next_callback(calls)
        assert isinstance(gone, EngineState)
        assert not gone.connected
        assert engine.streams[0].closed
        engine.up = True
        assert next_callback(calls) == EngineState(True)
    finally:
        watcher.stop()
