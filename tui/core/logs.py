"""Following compose services' logs across restarts, recreations and engine outages.

A follower reads a service's log stream in a thread and hands batches of lines (a
`LineBlock`: a sequence of `LogLine`s kept by column) to a callback, at most ~20 times a
second. When a stream ends it finds out why - the container
restarted, was recreated or stopped, or the engine went away (docker ends streams
silently then) - writes a separator line saying so, and resumes with `since=` the last
timestamp seen, dropping the overlap, so no line is repeated or lost.

The stream is read below docker-py's `logs(stream=True)`, from the same client: that
generator drops which frame was stdout and which stderr, and reads TTY output a byte at a
time. Here the raw frames go to the parsers of `tui.core.log_buffer`, whatever has arrived
at once: a flood costs per chunk, not per line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

import requests
import urllib3.exceptions

from tui.core.engine import (
    ENGINE_GONE,
    ONEOFF_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    DockerGateway,
    EngineUnavailable,
    describe_engine_error,
)
from tui.core.log_buffer import (
    DEFAULT_MAX_LINE_BYTES,
    LineBatcher,
    LineBlock,
    LogLine,
    LogRing,
    MultiplexedLogParser,
    ParsedLines,
    StreamFormatError,
    TtyLogParser,
    as_timestamp,
    docker_time,
    now_timestamp,
    ns_to_timestamp,
    timestamp_to_ns,
)
from tui.core.text import safe_text

# Called with a LineBlock: a Sequence[LogLine] whose columns the dashboard reads directly.
OnLines = Callable[[Sequence[LogLine]], None]
_log = logging.getLogger(__name__)

RETRY_FIRST, RETRY_CAP = 0.5, 10.0  # seconds between attempts to reach a lost engine
RESTART_GRACE = 2.0  # a restart stops, then starts: only a longer stop is reported as "exited"
STOPPED_POLL = 1.0  # how often a stopped or missing service is checked for coming back
READ_BYTES = 256 * 1024  # at most, per read: a busy stream is read in big chunks
# A stream is read in chunks, not line by line: the next read waits up to 10 ms (nobody sees
# 10 ms) for about READ_CHUNK to gather, never longer: the daemon writes each message on
# its own, and the socket holds only a few hundred of them (~40 KB here) before it blocks
# the daemon, which would cap the rate.
READ_INTERVAL = 0.01
READ_CHUNK = 32 * 1024
_STREAM_BROKEN = (OSError, ValueError, AttributeError, urllib3.exceptions.HTTPError)


class LogsUnavailable(Exception):
    """The engine answered but refused the logs (a logging driver that cannot be read...)."""


@dataclass(frozen=True)
class FollowOptions:
    """What to show: `since`/`until` bound every container run, `tail` only the first."""

    tail: int | None = None  # only the last N lines of the first container run
    since: str | datetime | None = None  # RFC3339 or datetime (naive = local time)
    until: str | datetime | None = None
    follow: bool = True  # False: what is there now, then the follower ends
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES

    def since_timestamp(self) -> str | None:
        return as_timestamp(self.since) if self.since is not None else None

    def until_timestamp(self) -> str | None:
        return as_timestamp(self.until) if self.until is not None else None


@dataclass(frozen=True)
class ContainerRun:
    """A service's container as last inspected: which container, and which run of it."""

    id: str
    running: bool
    tty: bool
    created: str | None  # fixed-width timestamps, None when Docker says "never"
    started_at: str | None
    finished_at: str | None
    exit_code: int | None  # of the last run, when the container is not running

    @property
    def short_id(self) -> str:
        return self.id[:12]


def container_run_from_inspect(attrs: Mapping[str, Any]) -> ContainerRun:
    state = attrs.get("State") or {}
    running = bool(state.get("Running"))
    return ContainerRun(
        id=str(attrs["Id"]),
        running=running,
        tty=bool((attrs.get("Config") or {}).get("Tty")),
        created=_docker_timestamp(attrs.get("Created")),
        started_at=_docker_timestamp(state.get("StartedAt")),
        finished_at=_docker_timestamp(state.get("FinishedAt")),
        exit_code=None if running or "ExitCode" not in state else int(state["ExitCode"]),
    )


def _docker_timestamp(value: object) -> str | None:
    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return None
    try:
        return as_timestamp(value)
    except ValueError:
        return None


class LogStream(Protocol):
    def read(self) -> bytes:
        """The next bytes, blocking; b"" once the stream ended or broke."""
        ...

    def interrupt(self) -> None:
        """Make a `read` blocked in another thread return now."""
        ...

    def close(self) -> None: ...


class LogSource(Protocol):
    """What followers need from the engine. Raises EngineUnavailable or LogsUnavailable."""

    def current_container(self, project: str, service: str) -> ContainerRun | None:
        """The service's container (the running one, else the newest), or None."""
        ...

    def open_logs(
        self,
        run: ContainerRun,
        *,
        since: str | None,
        until: str | None,
        tail: int | None,
        follow: bool,
    ) -> LogStream: ...

    def exit_code(self, container_id: str, since: str | None) -> int | None:
        """The exit code of the container's last death after `since`, if there was one."""
        ...


class HttpLogStream:
    """A streamed HTTP response read as it arrives, closable from another thread.

    The body is read below http.client: Docker sends each log message as its own HTTP
    chunk, and http.client hands chunks over one per call. Here whatever has arrived is
    taken from the socket's buffer at once and its chunk framing removed in one loop.
    """

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self._dechunker = ChunkedBody() if _chunked_reader(response) is not None else None
        self._reader = _chunked_reader(response)

    def read(self) -> bytes:
        if self._reader is None or self._dechunker is None:
            return self._read_plain()
        try:
            while not self._dechunker.ended:
                data = self._reader.read1(READ_BYTES)
                if not data:
                    return b""
                body = self._dechunker.feed(data)
                if body:
                    return body
        except _STREAM_BROKEN:
            return b""
        except ValueError:  # not chunked after all: garbled
            return b""
        return b""

    def _read_plain(self) -> bytes:
        try:
            # read1: whatever has arrived, not a full buffer; a quiet service must not stall.
            data = self.response.raw.read1(READ_BYTES, decode_content=False)
        except _STREAM_BROKEN:
            return b""
        return bytes(data or b"")

    def interrupt(self) -> None:
        # Closing the response does not wake a blocked recv(); shutting the socket down does.
        sock = _socket_of(self.response)
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.interrupt()
        self.response.close()


class ChunkedBody:
    """HTTP/1.1 chunked transfer coding, undone for bytes fed in any pieces."""

    def __init__(self) -> None:
        self._rest = b""  # an incomplete chunk-size line
        self._left = 0  # bytes of the current chunk still to come
        self._crlf = 0  # bytes of the CRLF after the current chunk still to skip
        self.ended = False

    def feed(self, data: bytes) -> bytes:
        """The body bytes in `data`; ValueError when it is not chunked coding."""
        buffer = self._rest + data if self._rest else data
        size, position = len(buffer), 0
        body: list[bytes] = []
        if self._left or self._crlf:  # the end of a chunk begun in an earlier piece
            end = min(size, self._left)
            body.append(buffer[:end])
            self._left -= end
            skipped = min(self._crlf, size - end) if not self._left else 0
            self._crlf -= skipped
            position = end + skipped
        find = buffer.find
        while not (self._left or self._crlf or self.ended):  # whole chunks: one pass each
            line_end = find(b"\r\n", position)
            if line_end < 0:
                if size - position > 1024:
                    raise ValueError("no chunk size")
                break
            # A size, maybe with ;extensions. Docker sends none, but they are allowed.
            chunk = int(buffer[position:line_end].split(b";", 1)[0], 16)
            if chunk == 0:
                self.ended = True  # trailers, if any, are not needed
                break
            start = line_end + 2
            end = start + chunk
            if end + 2 <= size:
                body.append(buffer[start:end])
                position = end + 2
                continue
            body.append(buffer[start:end])  # a chunk that goes on in the next piece
            self._left = chunk - (min(end, size) - start)
            self._crlf = 2 - max(0, size - end)
            position = size
        self._rest = buffer[position:] if not (self.ended or self._left or self._crlf) else b""
        return b"".join(body)


def _chunked_reader(response: requests.Response) -> Any:
    """The buffered socket reader under a chunked response nobody has read from yet."""
    fp = getattr(response.raw, "_fp", None)  # http.client.HTTPResponse
    if not getattr(fp, "chunked", False) or getattr(fp, "chunk_left", None) is not None:
        return None
    reader = getattr(fp, "fp", None)
    return reader if hasattr(reader, "read1") else None


def _socket_of(response: requests.Response) -> socket.socket | None:
    # urllib3 response -> http.client response -> buffered reader -> SocketIO -> socket
    reader = getattr(getattr(response.raw, "_fp", None), "fp", None)
    sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


class DockerLogSource:
    """The engine's side of following logs, over the gateway's client."""

    def __init__(self, gateway: DockerGateway, timeout: float = 5.0) -> None:
        self._gateway = gateway
        self._timeout = timeout  # to connect, and to answer a question; never to stream

    def current_container(self, project: str, service: str) -> ContainerRun | None:
        labels = [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={service}"]
        listing = self._json(
            "/containers/json", {"all": 1, "filters": json.dumps({"label": labels})}
        )
        candidates = [
            item
            for item in listing
            if (item.get("Labels") or {}).get(ONEOFF_LABEL, "False") != "True"
        ]
        if not candidates:
            return None
        chosen = max(candidates, key=lambda c: (c.get("State") == "running", c.get("Created", 0)))
        response = self._get(f"/containers/{chosen['Id']}/json", {})
        if response.status_code == 404:
            return None  # removed since the listing
        return container_run_from_inspect(self._checked(response).json())

    def open_logs(
        self,
        run: ContainerRun,
        *,
        since: str | None,
        until: str | None,
        tail: int | None,
        follow: bool,
    ) -> HttpLogStream:
        params: dict[str, str | int] = {
            "stdout": 1,
            "stderr": 1,
            "timestamps": 1,
            "follow": int(follow),
            "tail": "all" if tail is None else max(tail, 0),
        }
        if since is not None:
            params["since"] = docker_time(since)
        if until is not None:
            params["until"] = docker_time(until)
        response = self._get(f"/containers/{run.id}/logs", params, stream=True)
        return HttpLogStream(self._checked(response))

    def exit_code(self, container_id: str, since: str | None) -> int | None:
        filters = {"container": [container_id], "type": ["container"], "event": ["die"]}
        params = {"until": docker_time(now_timestamp()), "filters": json.dumps(filters)}
        if since is not None:
            params["since"] = docker_time(since)
        response = self._checked(self._get("/events", params))
        codes = [
            json.loads(line).get("Actor", {}).get("Attributes", {}).get("exitCode")
            for line in response.text.splitlines()
            if line.strip()
        ]
        known = [int(code) for code in codes if isinstance(code, str) and code.isdigit()]
        return known[-1] if known else None

    def _json(self, path: str, params: Mapping[str, str | int]) -> list[dict[str, Any]]:
        result = self._checked(self._get(path, params)).json()
        return result if isinstance(result, list) else []

    def _get(
        self, path: str, params: Mapping[str, str | int], *, stream: bool = False
    ) -> requests.Response:
        try:
            api = self._gateway.client.api
            return api.get(
                f"{api.base_url}/v{api.api_version}{path}",
                params=params,
                stream=stream,
                timeout=(self._timeout, None if stream else self._timeout),
            )
        except (*ENGINE_GONE, requests.exceptions.RequestException) as error:
            raise EngineUnavailable(describe_engine_error(error)) from None

    @staticmethod
    def _checked(response: requests.Response) -> requests.Response:
        if response.status_code < 400:
            return response
        try:
            message = str(response.json().get("message") or response.reason)
        except ValueError:
            message = response.text or str(response.reason)
        response.close()
        raise LogsUnavailable(message)


@dataclass
class _Backoff:
    _next: float = 0.0

    def next(self) -> float:
        """0.5 s, 1 s, 2 s … up to RETRY_CAP."""
        self._next = min(RETRY_CAP, self._next * 2 if self._next else RETRY_FIRST)
        return self._next


class _ServiceReader:
    """One service's log stream, followed in a thread from container to container."""

    def __init__(
        self,
        source: LogSource,
        project: str,
        service: str,
        sink: OnLines,
        *,
        options: FollowOptions,
        ring: LogRing | None,
        stop: threading.Event,
    ) -> None:
        self.service = service
        self._source, self._project, self._sink = source, project, sink
        self._options, self._ring, self._stop = options, ring, stop
        self.thread = threading.Thread(
            target=self._run, name=f"envdeck-logs-{service}", daemon=True
        )
        self._stream: LogStream | None = None
        self._stream_lock = threading.Lock()
        self._last_seen: str | None = None  # newest timestamp read from the container
        self._seen_at_last = 0  # lines read with exactly that timestamp
        self._overlap: tuple[str, int] | None = None  # while resuming: (timestamp, lines to drop)
        self._last_emitted = ""  # newest timestamp handed on, separators included
        self._engine_down = False
        self._refusal: str | None = None  # the engine's last "no", said once

    def interrupt(self) -> None:
        with self._stream_lock:
            if self._stream is not None:
                self._stream.interrupt()

    def _run(self) -> None:
        try:
            self._follow()
        except Exception as error:
            # A bug must not end the logs silently: log it, and say so in the view.
            _log.exception("following the logs of %s failed", self.service)
            self._separator(f"following {self.service}'s logs failed: {error}")

    def _follow(self) -> None:
        options = self._options
        run = self._next_run(None)
        since, tail = options.since_timestamp(), options.tail
        while run is not None and not self._stop.is_set():
            started = time.monotonic()
            produced = self._read(run, since, tail)
            if not options.follow or self._until_passed():
                return
            produced |= self._drain(run, since, tail)
            idle = not produced and time.monotonic() - started < 1.0
            following, run = run, self._next_run(run, idle=idle)
            if run is None:
                return
            if run.id != following.id:  # a new container: its whole log is new
                since, tail, self._overlap = options.since_timestamp(), None, None
            elif self._last_seen is not None:
                # `since` includes its own instant: drop the lines at it already read.
                since, tail = self._last_seen, None
                self._overlap = (self._last_seen, self._seen_at_last)

    def _drain(self, run: ContainerRun, since: str | None, tail: int | None) -> bool:
        """Docker 20.10 can end a follow stream before the last lines of a container that
        exits fast: read once more, without following, from the last line seen (the lines
        at that instant already read are dropped), so nothing is lost."""
        if self._stop.is_set():
            return False
        if self._last_seen is not None:
            since, tail = self._last_seen, None
            self._overlap = (self._last_seen, self._seen_at_last)
        return self._read(run, since, tail, follow=False)

    def _until_passed(self) -> bool:
        until = self._options.until_timestamp()
        return until is not None and time.time_ns() >= timestamp_to_ns(until)

    # ---------------------------------------------------------------- reading one run

    def _read(
        self, run: ContainerRun, since: str | None, tail: int | None, follow: bool | None = None
    ) -> bool:
        """Read until the stream ends; True if it brought any line."""
        try:
            stream = self._source.open_logs(
                run,
                since=since,
                until=self._options.until_timestamp(),
                tail=tail,
                follow=self._options.follow if follow is None else follow,
            )
        except EngineUnavailable:
            return False  # _next_run finds out, and says so
        except LogsUnavailable as error:
            self._refused(str(error))
            return False
        self._refusal = None
        if not self._hold(stream):
            return False
        parser = TtyLogParser if run.tty else MultiplexedLogParser
        return self._pump(stream, parser(self._options.max_line_bytes), run)

    def _pump(
        self, stream: LogStream, parser: MultiplexedLogParser | TtyLogParser, run: ContainerRun
    ) -> bool:
        produced = False
        read_at, wait, arriving = 0.0, 0.0, 0.0
        try:
            while not self._stop.is_set():
                if wait > 0 and self._stop.wait(max(0.0, read_at + wait - time.monotonic())):
                    break
                data = stream.read()
                previous, read_at = read_at, time.monotonic()
                if not data or self._stop.is_set():
                    break
                # Wait for READ_CHUNK to gather at the recent rate (smoothed: right after
                # a full socket the daemon is slow to resume), at most READ_INTERVAL, and
                # not at all after a read that big.
                now_rate = len(data) / max(read_at - previous, 0.001)  # bytes per second
                arriving = now_rate if not arriving else 0.7 * arriving + 0.3 * now_rate
                big = len(data) >= READ_CHUNK
                wait = 0.0 if big else min(READ_INTERVAL, READ_CHUNK / arriving)
                produced |= self._emit(parser.feed_parsed(data), run)
            if not self._stop.is_set():
                produced |= self._emit(parser.finish_parsed(), run)
        except StreamFormatError as error:
            self._refused(f"unreadable log stream: {error}")  # said once, not at every retry
        finally:
            with self._stream_lock:
                self._stream = None
            stream.close()
        return produced

    def _hold(self, stream: LogStream) -> bool:
        """Make the stream interruptible by stop(); False (and closed) if stop came first."""
        with self._stream_lock:
            if not self._stop.is_set():
                self._stream = stream
                return True
        stream.close()
        return False

    def _emit(self, parsed: ParsedLines, run: ContainerRun) -> bool:
        timestamps = parsed.timestamps
        if not timestamps:
            return False
        first_new = self._past_overlap(timestamps) if self._overlap is not None else 0
        block = LineBlock(self.service, run.short_id, timestamps, parsed.texts, parsed.streams)
        if first_new:
            block = block[first_new:]
            timestamps = block.timestamps
            if not timestamps:
                return False
        # What the line-by-line rule comes to for a whole block: the newest timestamp, and
        # how many lines carry it (lines older than the newest one never change either).
        newest = max(timestamps)
        if self._last_seen is None or newest > self._last_seen:
            self._last_seen, self._seen_at_last = newest, timestamps.count(newest)
        elif newest == self._last_seen:
            self._seen_at_last += timestamps.count(newest)
        self._publish(block, newest)
        return True

    def _past_overlap(self, timestamps: list[str]) -> int:
        """How many of these lines, from the start, were read before (dropped on resume)."""
        for index, timestamp in enumerate(timestamps):
            if not self._repeated(timestamp):
                return index
        return len(timestamps)

    def _repeated(self, timestamp: str) -> bool:
        assert self._overlap is not None
        overlap_at, to_drop = self._overlap
        if timestamp < overlap_at or (timestamp == overlap_at and to_drop > 0):
            self._overlap = (overlap_at, to_drop - 1) if timestamp == overlap_at else self._overlap
            return True
        self._overlap = None  # past the overlap: everything from here is new
        return False

    def _publish(self, block: LineBlock, newest: str) -> None:
        self._last_emitted = max(self._last_emitted, newest)
        if self._ring is not None:
            self._ring.extend(block)
        self._sink(block)

    def _separator(self, text: str, at: str | None = None, container: str = "") -> None:
        ns = timestamp_to_ns(at) if at else time.time_ns()
        if self._last_emitted:  # never before a line already shown: keeps each service in order
            ns = max(ns, timestamp_to_ns(self._last_emitted) + 1)
        stamp = ns_to_timestamp(ns)
        line = LineBlock(self.service, container, [stamp], [f"── {safe_text(text)} ──"], "envdeck")
        self._publish(line, stamp)

    # ---------------------------------------------------------------- between runs

    def _next_run(self, previous: ContainerRun | None, idle: bool = False) -> ContainerRun | None:
        """The run to read next, once there is one; None when stopped.

        Every stream end is treated as a possible engine outage: docker-py ends streams
        silently when the engine goes away.
        """
        retry, waiting_since = _Backoff(), time.monotonic()
        said: str | None = None  # what was announced while waiting, so it is said once
        name = self.service
        while not self._stop.is_set():
            try:
                run = self._source.current_container(self._project, self.service)
            except EngineUnavailable as error:
                self._engine_lost(str(error))
                if not self._pause(retry.next()):
                    return None
                continue
            except LogsUnavailable as error:
                self._refused(str(error))
                if not self._pause(retry.next()):
                    return None
                continue
            self._engine_found()
            if run is None:
                if said is None and previous is None:
                    said = self._say(f"{name} has no container")
                elif said is None and previous is not None:
                    said = self._say(f"{name} removed", container=previous.short_id)
            elif previous is None:
                if said is not None:
                    self._say(
                        f"{name} created: container {run.short_id}", run.created, run.short_id
                    )
                return run
            elif run.id != previous.id:
                self._say(
                    f"{name} recreated: new container {run.short_id}", run.created, run.short_id
                )
                return run
            elif run.running and run.started_at != previous.started_at:
                self._say(self._restart_text(previous, run, said), run.finished_at, run.short_id)
                return run
            elif run.running:
                # Same run still up: the stream broke, not the container. Back off if streams
                # keep ending at once, so a struggling engine is not hammered.
                return run if not idle or self._pause(retry.next()) else None
            elif said is None and time.monotonic() - waiting_since >= RESTART_GRACE:
                exited = f"{name} exited{_exit_code_text(run.exit_code)}"
                said = self._say(exited, run.finished_at, run.short_id)
            if not self._pause(STOPPED_POLL if said else 0.2):
                return None
        return None

    def _restart_text(self, previous: ContainerRun, run: ContainerRun, said: str | None) -> str:
        if said is not None:
            return f"{self.service} started again"
        try:
            code = self._source.exit_code(run.id, since=previous.started_at)
        except (EngineUnavailable, LogsUnavailable):
            code = None
        return f"{self.service} restarted{_exit_code_text(code)}"

    def _say(self, text: str, at: str | None = None, container: str = "") -> str:
        self._separator(text, at, container)
        return text

    def _engine_lost(self, reason: str) -> None:
        if not self._engine_down:
            self._engine_down = True
            self._separator(f"engine unreachable: {reason}; retrying")

    def _engine_found(self) -> None:
        if self._engine_down:
            self._engine_down = False
            self._separator("engine back")

    def _refused(self, reason: str) -> None:
        if reason != self._refusal:
            self._refusal = reason
            self._separator(f"logs of {self.service} unavailable: {reason}")

    def _pause(self, seconds: float) -> bool:
        """Sleep unless stopped; False if stopped."""
        return not self._stop.wait(seconds)


def _exit_code_text(code: int | None) -> str:
    return f" (exit code {code})" if code is not None else ""


# ---------------------------------------------------------------- the public followers


class MergedLogFollower:
    """Follows several services of a compose project into one callback ("all services").

    `on_lines` is called from a background thread, at most ~20 times a second, with a
    batch in which services are interleaved by timestamp and each keeps its own order;
    post it to the UI from there without blocking (stop() waits for a running callback).
    Lines also go to `ring` when given. Use as a context manager, or start() and stop().
    """

    def __init__(
        self,
        source: LogSource,
        project: str,
        services: Iterable[str],
        on_lines: OnLines,
        *,
        options: FollowOptions | None = None,
        ring: LogRing | None = None,
        batch_interval: float = 0.05,
    ) -> None:
        self._stop = threading.Event()
        self._batcher = LineBatcher(on_lines, interval=batch_interval)
        self._readers = [
            _ServiceReader(
                source,
                project,
                service,
                self._batcher.put,
                options=options or FollowOptions(),
                ring=ring,
                stop=self._stop,
            )
            for service in dict.fromkeys(services)
        ]

    def start(self) -> None:
        self._batcher.start()
        for reader in self._readers:
            reader.thread.start()

    def stop(self, timeout: float = 3.0) -> bool:
        """End following promptly; True if every thread ended within `timeout`."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        for reader in self._readers:
            reader.interrupt()
        ended = self._batcher.stop(timeout)
        for reader in self._readers:
            if reader.thread.ident is not None:
                reader.thread.join(max(0.0, deadline - time.monotonic()))
                ended = ended and not reader.thread.is_alive()
        return ended

    def wait(self, timeout: float) -> bool:
        """Wait until the readers ended (follow=False, or `until` passed) and all lines
        were delivered; False on timeout."""
        deadline = time.monotonic() + timeout
        for reader in self._readers:
            reader.thread.join(max(0.0, deadline - time.monotonic()))
            if reader.thread.is_alive():
                return False
        return self._batcher.drain(max(0.0, deadline - time.monotonic()))

    @property
    def running(self) -> bool:
        return any(reader.thread.is_alive() for reader in self._readers)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class ServiceLogFollower(MergedLogFollower):
    """Follows one compose service's logs across restarts, recreations and engine outages:
    the merged follower of a single service."""

    def __init__(
        self,
        source: LogSource,
        project: str,
        service: str,
        on_lines: OnLines,
        *,
        options: FollowOptions | None = None,
        ring: LogRing | None = None,
        batch_interval: float = 0.05,
    ) -> None:
        super().__init__(
            source,
            project,
            [service],
            on_lines,
            options=options,
            ring=ring,
            batch_interval=batch_interval,
        )
        self.service = service
