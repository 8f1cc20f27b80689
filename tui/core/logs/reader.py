"""The follower's state machine: one service's log stream, followed in a thread from
container run to container run.

When a stream ends it finds out why - the container restarted, was recreated or stopped,
or the engine went away (docker ends streams silently then) - writes a separator line
saying so, and resumes with `since=` the last timestamp seen, dropping the overlap, so no
line is repeated or lost. The raw frames go to the parsers of `tui.core.log_buffer`.
"""

from __future__ import annotations

import logging
import threading
import time

from tui.core.backoff import backoff_delays
from tui.core.engine import EngineUnavailable
from tui.core.log_buffer import (
    LineBlock,
    LogRing,
    MultiplexedLogParser,
    ParsedLines,
    StreamFormatError,
    TtyLogParser,
    ns_to_timestamp,
    timestamp_to_ns,
)
from tui.core.log_options import FollowOptions, OnLines
from tui.core.logs.source import ContainerRun, LogSource, LogsUnavailable
from tui.core.logs.transport import LogStream
from tui.core.text import safe_text

_log = logging.getLogger(__name__)

RETRY_FIRST, RETRY_CAP = 0.5, 10.0  # seconds between attempts to reach a lost engine
RESTART_GRACE = 2.0  # a restart stops, then starts: only a longer stop is reported as "exited"
STOPPED_POLL = 1.0  # how often a stopped or missing service is checked for coming back
# A stream is read in chunks, not line by line: the next read waits up to 10 ms (nobody sees
# 10 ms) for about READ_CHUNK to gather, never longer: the daemon writes each message on
# its own, and the socket holds only a few hundred of them (~40 KB here) before it blocks
# the daemon, which would cap the rate.
READ_INTERVAL = 0.01
READ_CHUNK = 32 * 1024


class ServiceReader:
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
        self._held: list[LineBlock] | None = None  # a drain's lines, while it reads
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
        at that instant already read are dropped), so nothing is lost.

        If the container has started again meanwhile (a restart; over a slow link the
        usual case), that read also brings the next run's first lines, which belong after
        its restart marker: the lines are held, and once the read is over the container is
        asked when its new run started; lines from then on are left for the next run's
        read (the last line seen is the last one shown)."""
        if self._stop.is_set():
            return False
        if self._last_seen is not None:
            since, tail = self._last_seen, None
            self._overlap = (self._last_seen, self._seen_at_last)
        seen = (self._last_seen, self._seen_at_last)
        self._held = []
        try:
            self._read(run, since, tail, follow=False)
        finally:
            held, self._held = self._held, None
        restarted_at = self._restarted_at(run) if held else None
        self._last_seen, self._seen_at_last = seen
        produced = False
        for read in held:
            kept = read
            if restarted_at is not None:
                kept = read[: sum(1 for stamp in read.timestamps if stamp < restarted_at)]
            if kept.timestamps:
                self._account(kept.timestamps)
                self._publish(kept, max(kept.timestamps))
                produced = True
        return produced

    def _restarted_at(self, run: ContainerRun) -> str | None:
        """When the container's next run started, if it has started again since `run`."""
        try:
            latest = self._source.current_container(self._project, self.service)
        except (EngineUnavailable, LogsUnavailable):
            return None
        if latest is None or latest.id != run.id or latest.started_at == run.started_at:
            return None
        return latest.started_at

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
        self._account(timestamps)
        self._publish(block, max(timestamps))
        return True

    def _account(self, timestamps: list[str]) -> None:
        newest = max(timestamps)
        if self._last_seen is None or newest > self._last_seen:
            self._last_seen, self._seen_at_last = newest, timestamps.count(newest)
        elif newest == self._last_seen:
            self._seen_at_last += timestamps.count(newest)

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
        if self._held is not None:  # a drain's lines wait until it is known where they end
            self._held.append(block)
            return
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
        retry, waiting_since = backoff_delays(RETRY_FIRST, RETRY_CAP), time.monotonic()
        said: str | None = None  # what was announced while waiting, so it is said once
        name = self.service
        while not self._stop.is_set():
            try:
                run = self._source.current_container(self._project, self.service)
            except EngineUnavailable as error:
                self._engine_lost(str(error))
                if not self._pause(next(retry)):
                    return None
                continue
            except LogsUnavailable as error:
                self._refused(str(error))
                if not self._pause(next(retry)):
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
                return run if not idle or self._pause(next(retry)) else None
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
