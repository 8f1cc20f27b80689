"""Live state of one compose project, from the Docker events stream rather than polling.

`ProjectWatcher` runs two threads. The reader only follows the events stream and hands
each relevant event off: the daemon drops events for a client that does not drain them
quickly, so it never waits on the engine for anything else. The delivery thread
re-inspects the container and makes every callback, in order.

docker-py ends an events stream silently when the engine goes away, so every end of the
stream is treated as a possible disconnect: the engine is pinged at once, reconnection
backs off exponentially, and each (re)connect re-lists the project (a "resync") so that
nothing missed during the gap stays wrong.

What an event means (the records and the parsing) is `container_events.py`, re-exported
here.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui.core.backoff import backoff_delays
from tui.core.container_events import (
    HEALTH_LOG_ENTRIES,
    HEALTH_OUTPUT_LIMIT,
    ChangeKind,
    ContainerChange,
    ContainerEvent,
    EngineState,
    HealthProbe,
    change_kind,
    health_log,
    parse_event,
    watched_actions,
)
from tui.core.engine import (
    ENGINE_GONE,
    PROJECT_LABEL,
    SERVICE_LABEL,
    CancellableStream,
    Container,
    DockerGateway,
    EngineUnavailable,
    describe_engine_error,
    docker,
)
from tui.core.status import ServiceStatus, service_status_from_inspect

__all__ = [
    "HEALTH_LOG_ENTRIES",
    "HEALTH_OUTPUT_LIMIT",
    "ChangeCallback",
    "ChangeKind",
    "ContainerChange",
    "ContainerEvent",
    "EngineCallback",
    "EngineState",
    "HealthProbe",
    "ProjectWatcher",
    "ResyncCallback",
    "bare_status",
    "change_kind",
    "health_log",
    "parse_event",
]

log = logging.getLogger(__name__)

STABLE_STREAM_SECONDS = 1.0  # a stream that lived this long ended for a reason, not a fault
HEARTBEAT_SECONDS = 5.0  # how often an open stream's engine is asked whether it is there


@dataclass(frozen=True)
class _Resync:
    """Re-list the project: queued right after the events stream (re)opens."""


# Jobs for the delivery thread: ContainerEvent, EngineState, _Resync or _STOP.
_STOP = object()

ChangeCallback = Callable[[ContainerChange], None]
Describe = Callable[[Container], ServiceStatus]  # e.g. status.container_status for a project


def bare_status(container: Container) -> ServiceStatus:
    """A container's status without the project's declarations (none is one-shot)."""
    return service_status_from_inspect(container.labels.get(SERVICE_LABEL, "?"), container.attrs)


ResyncCallback = Callable[[dict[str, ServiceStatus]], None]
EngineCallback = Callable[[EngineState], None]


class ProjectWatcher:
    """Follows the containers of one compose project and reports every change.

    All callbacks run on the watcher's delivery thread, one at a time and in order:
    `on_engine` on every change of the engine's reachability (the first call reports the
    initial state), `on_resync` with every container's status by container id after each
    (re)connect, and `on_change` per relevant event. A UI posts them on as messages.
    `describe` turns a container into its status; the monitor passes one that knows
    which services are one-shots, as every listing does.
    """

    def __init__(
        self,
        gateway: DockerGateway,
        project: str,
        on_change: ChangeCallback,
        *,
        on_resync: ResyncCallback | None = None,
        on_engine: EngineCallback | None = None,
        describe: Describe = bare_status,
    ) -> None:
        self._gateway = gateway
        self._describe = describe
        self._project = project
        self._on_change = on_change
        self._on_resync = on_resync
        self._on_engine = on_engine
        self._jobs: queue.SimpleQueue[object] = queue.SimpleQueue()  # unbounded: never blocks
        self._stopping = threading.Event()
        self._stream: CancellableStream[dict[str, Any]] | None = None
        self._stream_lock = threading.Lock()
        self._engine_connected: bool | None = None
        self._threads = (
            threading.Thread(target=self._read_events, name="envdeck-events-reader", daemon=True),
            threading.Thread(target=self._deliver, name="envdeck-events-delivery", daemon=True),
            threading.Thread(target=self._heartbeat, name="envdeck-events-alive", daemon=True),
        )

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Close the stream and end both threads, waiting at most about `timeout` seconds."""
        self._stopping.set()
        self._close_stream()
        self._jobs.put(_STOP)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def __enter__(self) -> ProjectWatcher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ reader thread

    def _read_events(self) -> None:
        delays = backoff_delays()
        engine_up = self._check_engine()
        while not self._stopping.is_set():
            if engine_up:
                lasted = self._follow_events()
                if self._stopping.is_set():
                    return
                if lasted >= STABLE_STREAM_SECONDS:
                    delays = backoff_delays()  # the next failure starts over from short waits
                # docker-py ends the stream silently when the engine goes: ask it at once.
                engine_up = self._check_engine()
                if engine_up and lasted >= STABLE_STREAM_SECONDS:
                    continue  # the daemon dropped us (a slow reader?): reopen now
            if self._stopping.wait(next(delays)):
                return
            engine_up = self._check_engine()

    def _check_engine(self) -> bool:
        """Ping the engine; report when its reachability changes."""
        error = self._ping()
        if error is not None:
            # A pooled connection may just have gone stale: ask once more on a fresh client,
            # which also closes every socket of the old one.
            self._gateway.reset()
            error = self._ping()
        if error is not None:
            self._gateway.reset()
            return self._engine_is(EngineState(False, error))
        return self._engine_is(EngineState(True))

    def _ping(self) -> str | None:
        """None when the engine answers, else why not."""
        try:
            self._gateway.client.ping()
        except EngineUnavailable as error:
            return str(error)
        except ENGINE_GONE as error:
            return describe_engine_error(error)
        return None

    def _heartbeat(self) -> None:
        """Ping the engine while the stream is open: over a link that silently drops
        packets (a remote engine, a cut network) the quiet stream would wait forever. A
        failed ping closes the stream; the reader then finds the engine gone, says so,
        and reconnects when it answers again. Its own client: the ping must not wait
        behind the stream's connection."""
        gateway = self._gateway.clone()
        while not self._stopping.wait(HEARTBEAT_SECONDS):
            if self._stream is None:
                continue
            try:
                gateway.client.ping()
            except (EngineUnavailable, *ENGINE_GONE):
                gateway.reset()
                log.debug("the engine stopped answering: closing the events stream")
                self._close_stream()
        gateway.reset()

    def _engine_is(self, state: EngineState) -> bool:
        if state.connected != self._engine_connected:
            self._engine_connected = state.connected
            self._jobs.put(state)
        return state.connected

    def _follow_events(self) -> float:
        """Read the events stream until it ends; how long it lived, in seconds."""
        opened = time.monotonic()
        stream = self._open_stream(since=int(time.time()))
        if stream is None:
            return 0.0
        # Listed after subscribing, so a change between the two arrives as an event.
        self._jobs.put(_Resync())
        try:
            for raw in stream:
                event = parse_event(raw, self._project)
                if event is not None:
                    self._jobs.put(event)
        except Exception:  # a torn chunk, a half JSON document: the stream is over either way
            log.debug("events stream broke", exc_info=True)
        finally:
            self._close_stream()
        return time.monotonic() - opened

    def _open_stream(self, since: int) -> CancellableStream[dict[str, Any]] | None:
        filters = {
            "type": "container",
            "label": f"{PROJECT_LABEL}={self._project}",
            # Less traffic to drain; `health_status` matches "health_status: <verdict>".
            "event": watched_actions(),
        }
        try:
            stream = self._gateway.client.events(decode=True, filters=filters, since=since)
        except (EngineUnavailable, *ENGINE_GONE):
            log.debug("could not open the events stream", exc_info=True)
            return None
        with self._stream_lock:
            if self._stopping.is_set():
                _close_quietly(stream)  # stop() ran while we were opening it
                return None
            self._stream = stream
        return stream

    def _close_stream(self) -> None:
        with self._stream_lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            _close_quietly(stream)

    # ---------------------------------------------------------------- delivery thread

    def _deliver(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP or self._stopping.is_set():
                return
            try:
                self._handle(job)
            except Exception:  # a failing callback must not end live updates
                log.exception("event delivery failed")

    def _handle(self, job: object) -> None:
        if isinstance(job, EngineState):
            if self._on_engine is not None:
                self._on_engine(job)
        elif isinstance(job, _Resync):
            self._resync()
        elif isinstance(job, ContainerEvent):
            change = self._inspect(job)
            if change is not None:
                self._on_change(change)

    def _resync(self) -> None:
        if self._on_resync is None:
            return
        try:
            containers = self._gateway.project_containers(self._project)
        except EngineUnavailable:
            return  # the reader notices too, and resyncs after reconnecting
        self._on_resync({container.id or "": self._describe(container) for container in containers})

    def _inspect(self, event: ContainerEvent) -> ContainerChange | None:
        """The change `event` made, with the container's state as it is now."""
        container: Container | None = None
        if event.kind != "destroyed":
            try:
                container = self._gateway.client.containers.get(event.container_id)
            except docker.errors.NotFound:
                container = None  # removed since: report it gone
            except (EngineUnavailable, *ENGINE_GONE):
                return None  # the resync after reconnecting brings the truth
        attrs = container.attrs if container is not None else None
        status = self._describe(container) if container is not None else None
        exit_code = event.exit_code
        if exit_code is None and status is not None:
            exit_code = status.exit_code
        return ContainerChange(
            container_id=event.container_id,
            service=event.service,
            kind=event.kind,
            status=status,
            exit_code=exit_code,
            event_time=event.time,
            health_log=health_log(attrs) if attrs and event.kind == "health" else (),
        )


def _close_quietly(stream: CancellableStream[dict[str, Any]]) -> None:
    # Raises when already closed (the response has let go of its socket): nothing to do.
    with contextlib.suppress(AttributeError, OSError, docker.errors.DockerException):
        stream.close()
