"""The log machinery without an engine: Docker's stream format, the ring, batching, and the
follower's decisions between runs (driven by a scripted fake engine)."""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

from tui.core.engine import EngineUnavailable
from tui.core.log_buffer import (
    DEFAULT_MAX_LINE_BYTES,
    DOCKER_PARTIAL_BYTES,
    LineBatcher,
    LineBlock,
    LogLine,
    LogRing,
    MultiplexedLogParser,
    RawLine,
    StreamFormatError,
    TtyLogParser,
    as_timestamp,
    docker_time,
    normalize_timestamp,
    timestamp_to_ns,
    to_log_line,
)
from tui.core.logs import ContainerRun, FollowOptions, ServiceLogFollower, reader

Parser = MultiplexedLogParser | TtyLogParser


def ts(n: int) -> str:
    """The n-th microsecond of a fixed second, in Docker's fixed-width form."""
    return f"2026-01-02T03:04:05.{n * 1000:09d}Z"


def daemon_messages(line: bytes) -> list[bytes]:
    """`line` (no newline) cut as the daemon's log copier cuts it: 16 KiB partials."""
    whole = len(line) - len(line) % DOCKER_PARTIAL_BYTES
    partials = [line[i : i + DOCKER_PARTIAL_BYTES] for i in range(0, whole, DOCKER_PARTIAL_BYTES)]
    return [*partials, line[whole:] + b"\n"]


def frames(stream: int, timestamp: str, line: bytes) -> bytes:
    """A line as the multiplexed stream carries it: one frame per message, each prefixed."""
    return b"".join(
        bytes([stream, 0, 0, 0]) + (len(payload)).to_bytes(4, "big") + payload
        for payload in (f"{timestamp} ".encode() + m for m in daemon_messages(line))
    )


def tty_stream(timestamp: str, line: bytes) -> bytes:
    """A TTY container's line on the wire: no frames, a CRLF ending, each message prefixed."""
    return b"".join(f"{timestamp} ".encode() + m for m in daemon_messages(line + b"\r"))


def feed_in_chunks(parser: Parser, data: bytes, size: int) -> list[RawLine]:
    lines = [line for i in range(0, len(data), size) for line in parser.feed(data[i : i + size])]
    return lines + parser.finish()


def is_control(char: str) -> bool:
    return (ord(char) < 0x20 and char != "\t") or 0x7F <= ord(char) <= 0x9F


# ---------------------------------------------------------------- the multiplexed stream


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_interleaved_stdout_and_stderr_come_out_whole_in_any_chunking(chunk: int) -> None:
    data = frames(1, ts(1), b"out one") + frames(2, ts(2), b"err one") + frames(1, ts(3), b"two")
    lines = feed_in_chunks(MultiplexedLogParser(), data, chunk)
    assert lines == [
        RawLine("stdout", ts(1), b"out one"),
        RawLine("stderr", ts(2), b"err one"),
        RawLine("stdout", ts(3), b"two"),
    ]


@pytest.mark.parametrize("length", [DOCKER_PARTIAL_BYTES, DOCKER_PARTIAL_BYTES + 1, 100_000])
def test_a_line_split_at_16k_is_reassembled_without_the_repeated_prefixes(length: int) -> None:
    line = bytes(97 + i % 26 for i in range(length))
    parser = MultiplexedLogParser()
    assert feed_in_chunks(parser, frames(1, ts(1), line) + frames(1, ts(2), b"next"), 5000) == [
        RawLine("stdout", ts(1), line),
        RawLine("stdout", ts(2), b"next"),
    ]


def test_stderr_between_the_parts_of_a_long_stdout_line_does_not_cut_it() -> None:
    messages = daemon_messages(b"x" * 40_000)
    data = b"".join(
        [
            frames_raw(1, ts(1), messages[0]),
            frames(2, ts(2), b"meanwhile on stderr"),
            *(frames_raw(1, ts(1), message) for message in messages[1:]),
        ]
    )
    assert MultiplexedLogParser().feed(data) == [
        RawLine("stderr", ts(2), b"meanwhile on stderr"),
        RawLine("stdout", ts(1), b"x" * 40_000),
    ]


def frames_raw(stream: int, timestamp: str, message: bytes) -> bytes:
    payload = f"{timestamp} ".encode() + message
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_a_ten_megabyte_line_is_capped_and_costs_about_the_cap() -> None:
    total = 10 * 1024 * 1024
    parser = MultiplexedLogParser()
    piece = b"y" * DOCKER_PARTIAL_BYTES
    tracemalloc.start()
    try:
        for _ in range(total // DOCKER_PARTIAL_BYTES - 1):  # fed as it would arrive
            assert parser.feed(frames_raw(1, ts(1), piece)) == []
        [raw] = parser.feed(frames_raw(1, ts(1), piece[:-1] + b"\n"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(raw.data) == DEFAULT_MAX_LINE_BYTES
    assert raw.dropped == total - 1 - DEFAULT_MAX_LINE_BYTES
    assert peak < 3 * DEFAULT_MAX_LINE_BYTES
    text = to_log_line(raw, "api", "abc").text
    assert text.endswith(f"y … [truncated {raw.dropped} bytes]")


def test_a_last_line_without_newline_is_not_lost() -> None:
    parser = MultiplexedLogParser()
    assert parser.feed(frames_raw(1, ts(1), b"no newline at the end")) == []
    assert parser.finish() == [RawLine("stdout", ts(1), b"no newline at the end")]


def test_bytes_that_are_not_frames_are_refused() -> None:
    with pytest.raises(StreamFormatError):
        MultiplexedLogParser().feed(b"2026-01-02T03:04:05.000000000Z hello from a TTY\n")


# ---------------------------------------------------------------- hostile bytes


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        (b"\x1b]0;pwned\x07title", "␛]0;pwned␇title"),  # set the window title
        (b"\x1b]52;c;cGF5bG9hZA==\x07", "␛]52;c;cGF5bG9hZA==␇"),  # write the clipboard
        (b"\x9b31m raw C1", "\ufffd31m raw C1"),  # not UTF-8 on its own
        ("\x9b31m C1".encode(), "\\u009b31m C1"),  # the C1 character, properly encoded
        (b"del\x7f nul\x00 bell\x07", "del␡ nul␀ bell␇"),
        (b"bad \xff\xfe utf-8 \xe2\x82", "bad \ufffd\ufffd utf-8 \ufffd"),
        (b"progress 10%\rprogress 20%", "progress 10%␍progress 20%"),
    ],
)
def test_no_control_character_survives_into_the_text(hostile: bytes, shown: str) -> None:
    [raw] = MultiplexedLogParser().feed(frames(1, ts(1), hostile))
    text = to_log_line(raw, "api", "abc").text
    assert text == shown
    assert not any(is_control(char) for char in text)


# ---------------------------------------------------------------- TTY containers


@pytest.mark.parametrize("chunk", [1, 33, 65536])
def test_tty_lines_lose_their_crlf(chunk: int) -> None:
    data = tty_stream(ts(1), b"one") + tty_stream(ts(2), b"two\ttabbed") + tty_stream(ts(3), b"")
    assert [(raw.timestamp, raw.data) for raw in feed_in_chunks(TtyLogParser(), data, chunk)] == [
        (ts(1), b"one"),
        (ts(2), b"two\ttabbed"),
        (ts(3), b""),
    ]


@pytest.mark.parametrize(
    "length", [DOCKER_PARTIAL_BYTES - 1, DOCKER_PARTIAL_BYTES, DOCKER_PARTIAL_BYTES + 1, 100_000]
)
def test_tty_long_lines_are_reassembled_at_the_16k_boundaries(length: int) -> None:
    # Digits make a continuation prefix glued to the content easy to spot if it slipped in.
    line = bytes(48 + i % 10 for i in range(length))
    data = tty_stream(ts(1), line) + tty_stream(ts(2), b"after")
    assert feed_in_chunks(TtyLogParser(), data, 1000) == [
        RawLine("stdout", ts(1), line),
        RawLine("stdout", ts(2), b"after"),
    ]


def test_tty_output_is_capped_too() -> None:
    line = b"z" * 300_000
    [raw] = feed_in_chunks(TtyLogParser(max_line_bytes=1000), tty_stream(ts(1), line), 4096)
    assert (len(raw.data), raw.dropped) == (1000, 299_000)


# ---------------------------------------------------------------- timestamps


def test_timestamps_are_normalized_to_docker_fixed_width() -> None:
    assert normalize_timestamp("2026-11-22T03:15:34.27191477Z") == "2026-11-22T03:15:34.271914770Z"
    assert normalize_timestamp("2026-11-22T04:15:34+01:00") == "2026-11-22T03:15:34.000000000Z"
    assert docker_time("1970-01-01T00:00:01.000000002Z") == "1.000000002"
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert as_timestamp(moment) == "2026-01-02T03:04:05.000006000Z"
    with pytest.raises(ValueError, match="RFC3339"):
        timestamp_to_ns("yesterday")


# ---------------------------------------------------------------- the ring


def line(service: str, n: int, text: str = "") -> LogLine:
    return LogLine(service, "c", ts(n), text or f"{service} {n}", "stdout")


def test_the_ring_keeps_only_the_newest_lines_of_each_service() -> None:
    ring = LogRing(max_lines_per_service=3)
    ring.extend(line("api", n) for n in range(10))
    ring.append(line("db", 100))
    assert [entry.text for entry in ring.lines("api")] == ["api 7", "api 8", "api 9"]
    assert len(ring) == 4
    assert ring.text_size == sum(len(entry.text) for entry in ring.lines())
    ring.clear("api")
    assert ring.services() == ["db"]
    assert ring.text_size == len("db 100")


def test_the_merged_view_is_in_timestamp_order_and_since_filters() -> None:
    ring = LogRing()
    for n in (1, 4, 6):
        ring.append(line("api", n))
    for n in (2, 3, 5):
        ring.append(line("db", n))
    assert [entry.text for entry in ring.lines()] == [
        "api 1",
        "db 2",
        "db 3",
        "api 4",
        "db 5",
        "api 6",
    ]
    assert [entry.text for entry in ring.lines(since=ts(4))] == ["api 4", "db 5", "api 6"]
    assert ring.lines("nobody") == []


def test_the_ring_takes_appends_from_many_threads() -> None:
    ring = LogRing(max_lines_per_service=500)

    def append(service: str) -> None:
        for n in range(2000):
            ring.append(line(service, n))

    threads = [threading.Thread(target=append, args=(f"s{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ring) == 4 * 500
    assert ring.text_size == sum(len(entry.text) for entry in ring.lines())


# ---------------------------------------------------------------- batches


def test_a_flood_is_delivered_complete_in_few_batches() -> None:
    batches: list[Sequence[LogLine]] = []
    batcher = LineBatcher(batches.append, interval=0.05)
    batcher.start()
    try:
        for n in range(0, 100_000, 100):
            batcher.put([line("api", n + i) for i in range(100)])
        assert batcher.drain(10)
    finally:
        assert batcher.stop()
    delivered = [entry.text for batch in batches for entry in batch]
    assert delivered == [f"api {n}" for n in range(100_000)]
    assert len(batches) < 1000


def test_a_callback_that_falls_behind_loses_the_oldest_lines_and_is_told() -> None:
    delivered: list[LogLine] = []
    release = threading.Event()

    def slow(batch: Sequence[LogLine]) -> None:
        release.wait(5)
        delivered.extend(batch)

    batcher = LineBatcher(slow, interval=0.01, max_pending=100)
    batcher.start()
    try:
        batcher.put([line("api", 0)])
        time.sleep(0.1)  # the first batch is now stuck in the callback
        batcher.put([line("api", n) for n in range(1, 1001)])
        release.set()
        assert batcher.drain(10)
    finally:
        batcher.stop()
    notes = [entry.text for entry in delivered if entry.stream == "envdeck"]
    assert notes == ["── 900 lines skipped: more output than the view takes ──"]
    assert [entry.text for entry in delivered if entry.stream == "stdout"][-1] == "api 1000"


# ---------------------------------------------------------------- the follower, scripted


class ScriptedStream:
    """Gives its chunks, then either ends or blocks like an idle container until interrupted."""

    def __init__(self, chunks: list[bytes], *, ends: bool) -> None:
        self._chunks, self._ends = list(chunks), ends
        self._interrupted = threading.Event()

    def read(self) -> bytes:
        if self._chunks:
            return self._chunks.pop(0)
        if not self._ends:
            self._interrupted.wait(30)
        return b""

    def interrupt(self) -> None:
        self._interrupted.set()

    def close(self) -> None:
        self._interrupted.set()


@dataclass
class ScriptedEngine:
    """Answers inspections from a script (a run, None, or an exception) and hands out streams."""

    inspections: list[ContainerRun | Exception | None]
    streams: list[ScriptedStream]
    exit_codes: dict[str, int] = field(default_factory=dict)
    since_asked: list[str | None] = field(default_factory=list)
    # What a non-following read (the drain after a stream ends) finds: nothing new unless
    # the script says otherwise, as with a log that was read completely.
    drains: list[ScriptedStream] = field(default_factory=list)
    drain_since_asked: list[str | None] = field(default_factory=list)

    def current_container(self, project: str, service: str) -> ContainerRun | None:
        answer = self.inspections.pop(0) if len(self.inspections) > 1 else self.inspections[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def open_logs(
        self,
        run: ContainerRun,
        *,
        since: str | None,
        until: str | None,
        tail: int | None,
        follow: bool,
    ) -> ScriptedStream:
        if not follow:
            self.drain_since_asked.append(since)
            return self.drains.pop(0) if self.drains else ScriptedStream([], ends=True)
        self.since_asked.append(since)
        return self.streams.pop(0)

    def exit_code(self, container_id: str, since: str | None) -> int | None:
        return self.exit_codes.get(container_id)


RUN = ContainerRun(
    id="c0ffee" * 10,
    running=True,
    tty=False,
    created=ts(0),
    started_at=ts(0),
    finished_at=None,
    exit_code=None,
)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "RETRY_FIRST", 0.01)
    monkeypatch.setattr(reader, "RESTART_GRACE", 0.05)
    monkeypatch.setattr(reader, "STOPPED_POLL", 0.01)


def out(*numbered: tuple[int, str]) -> bytes:
    return b"".join(frames(1, ts(n), text.encode()) for n, text in numbered)


def follow(engine: ScriptedEngine, until: Callable[[list[str]], bool]) -> Iterator[list[str]]:
    texts: list[str] = []
    lock = threading.Lock()

    def collect(batch: Sequence[LogLine]) -> None:
        with lock:
            texts.extend(entry.text for entry in batch)

    follower = ServiceLogFollower(engine, "proj", "redis", collect, options=FollowOptions())
    follower.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not until(texts):
        time.sleep(0.01)
    assert follower.stop(timeout=2), "the follower's threads did not end"
    yield texts


def test_a_restart_is_marked_and_the_resumed_stream_repeats_nothing() -> None:
    restarted = replace(RUN, started_at=ts(50), finished_at=ts(40))
    engine = ScriptedEngine(
        inspections=[RUN, restarted],
        streams=[
            ScriptedStream([out((1, "one"), (2, "two a"), (2, "two b"))], ends=True),
            # since= is inclusive: the engine sends the lines at the resume instant again.
            ScriptedStream([out((2, "two a"), (2, "two b"), (60, "three"))], ends=False),
        ],
        exit_codes={RUN.id: 137},
    )
    [texts] = follow(engine, lambda texts: "three" in texts)
    assert texts == ["one", "two a", "two b", "── redis restarted (exit code 137) ──", "three"]
    assert engine.since_asked == [None, ts(2)]


def test_a_drain_after_a_restart_keeps_the_next_runs_lines_for_after_the_marker() -> None:
    """Over a slow link the container has restarted by the time the drain reads: its read
    brings the old run's last line and the new run's first. The new run's waits for the
    marker, and is read once, from the new stream."""
    restarted = replace(RUN, started_at=ts(50), finished_at=ts(40))
    engine = ScriptedEngine(
        inspections=[RUN, restarted],
        streams=[
            ScriptedStream([out((1, "one"))], ends=True),
            ScriptedStream([out((2, "late one"), (60, "three"))], ends=False),
        ],
        drains=[ScriptedStream([out((2, "late one"), (60, "three"))], ends=True)],
        exit_codes={RUN.id: 137},
    )
    [texts] = follow(engine, lambda texts: "three" in texts)
    assert texts == ["one", "late one", "── redis restarted (exit code 137) ──", "three"]
    assert engine.since_asked == [None, ts(2)]  # from the last line shown, not "three"


def test_an_engine_outage_is_marked_and_following_resumes() -> None:
    gone = EngineUnavailable("no Docker engine: the connection was refused")
    engine = ScriptedEngine(
        inspections=[RUN, gone, gone, RUN],
        streams=[
            ScriptedStream([out((1, "before"))], ends=True),  # docker-py ends it silently
            ScriptedStream([out((1, "before"), (2, "after"))], ends=False),
        ],
    )
    [texts] = follow(engine, lambda texts: "after" in texts)
    assert texts == [
        "before",
        "── engine unreachable: no Docker engine: the connection was refused; retrying ──",
        "── engine back ──",
        "after",
    ]


def test_a_recreated_container_is_read_from_its_start() -> None:
    new = replace(RUN, id="beef" * 16, created=ts(30), started_at=ts(31))
    engine = ScriptedEngine(
        inspections=[RUN, new],
        streams=[
            ScriptedStream([out((1, "old"))], ends=True),
            ScriptedStream([out((32, "new"))], ends=False),
        ],
    )
    [texts] = follow(engine, lambda texts: "new" in texts)
    assert texts == ["old", "── redis recreated: new container beefbeefbeef ──", "new"]
    assert engine.since_asked == [None, None]


def test_a_stop_that_lasts_is_reported_once_then_the_start() -> None:
    stopped = replace(RUN, running=False, finished_at=ts(5), exit_code=3)
    started = replace(RUN, started_at=ts(9))
    engine = ScriptedEngine(
        inspections=[RUN, *[stopped] * 20, started],
        streams=[
            ScriptedStream([out((1, "working"))], ends=True),
            ScriptedStream([out((10, "working again"))], ends=False),
        ],
    )
    [texts] = follow(engine, lambda texts: "working again" in texts)
    assert texts == [
        "working",
        "── redis exited (exit code 3) ──",
        "── redis started again ──",
        "working again",
    ]


def test_stop_ends_a_follower_blocked_on_a_quiet_container() -> None:
    engine = ScriptedEngine(inspections=[RUN], streams=[ScriptedStream([], ends=False)])
    follower = ServiceLogFollower(engine, "proj", "redis", lambda batch: None)
    follower.start()
    time.sleep(0.05)
    assert follower.running
    assert follower.stop(timeout=2)
    assert not follower.running


def test_lines_a_stream_ended_before_are_read_back_once() -> None:
    """Docker 20.10 can end a follow stream before a fast-exiting container's last lines."""
    exited = replace(RUN, running=False, finished_at=ts(9), exit_code=0)
    engine = ScriptedEngine(
        inspections=[exited],
        streams=[ScriptedStream([out((1, "one"), (2, "two"))], ends=True)],
        drains=[ScriptedStream([out((2, "two"), (3, "three"))], ends=True)],
    )
    [texts] = follow(engine, lambda texts: "three" in texts)
    assert texts[:3] == ["one", "two", "three"]  # "two" was sent again: dropped, not repeated
    assert engine.drain_since_asked[0] == ts(2)  # the drain starts at the last line seen


# ---------------------------------------------------------------- whole chunks at once


def mixed_stream() -> bytes:
    """Ordinary lines (the fast path) around everything that is not one: a 16 KiB partial
    line, stderr, CRLF endings, hostile bytes, an empty line, a prefix that is not Docker's
    fixed width."""
    long = bytes(97 + i % 26 for i in range(40_000))
    parts = [frames(1, ts(n), f"line {n}".encode()) for n in range(50)]
    parts += [
        frames(2, ts(50), b"to stderr\r"),
        frames(1, ts(51), long),
        frames(1, ts(52), b"bell\x07 \x1b]0;title\x07 bad \xff utf-8 \xe2\x82"),
        frames(1, ts(53), b""),
        frames_raw(1, "2026-01-02T04:04:05+01:00", b"offset prefix\n"),
        frames(1, ts(54), b"cr\r\r"),
    ]
    parts += [frames(1, ts(n), f"line {n}".encode()) for n in range(55, 100)]
    return b"".join(parts)


@pytest.mark.parametrize("chunk", [1, 7, 100, 4096, 1 << 20])
def test_the_fast_path_gives_what_line_by_line_parsing_gives(chunk: int) -> None:
    data = mixed_stream()
    expected = feed_in_chunks(MultiplexedLogParser(), data, len(data))
    assert len(expected) == 101
    parser = MultiplexedLogParser()
    parsed = [parser.feed_parsed(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    parsed.append(parser.finish_parsed())
    timestamps = [stamp for part in parsed for stamp in part.timestamps]
    texts = [text for part in parsed for text in part.texts]
    streams = [
        s
        for part in parsed
        for s in LineBlock("x", "c", part.timestamps, part.texts, part.streams).streams()
    ]
    assert timestamps == [raw.timestamp for raw in expected]
    assert texts == [to_log_line(raw, "api", "c").text for raw in expected]
    assert streams == [raw.stream for raw in expected]
    assert feed_in_chunks(MultiplexedLogParser(), data, chunk) == expected


def test_a_frame_whose_length_lies_is_not_taken_for_a_line() -> None:
    # A 16 KiB partial has no newline: glued to the next frame it would look like one line
    # to a regex; its length says otherwise.
    messages = daemon_messages(b"p" * 20_000)
    data = b"".join(frames_raw(1, ts(1), message) for message in messages)
    [raw] = MultiplexedLogParser().feed(data)
    assert raw.data == b"p" * 20_000


@pytest.mark.parametrize("chunk", [1, 33, 65536])
def test_the_tty_fast_path_gives_what_line_by_line_parsing_gives(chunk: int) -> None:
    long = bytes(48 + i % 10 for i in range(DOCKER_PARTIAL_BYTES + 5))
    data = b"".join(
        [
            *(tty_stream(ts(n), f"line {n}".encode()) for n in range(30)),
            tty_stream(ts(30), long),
            tty_stream(ts(31), b"esc \x1b[2J and bad \xff"),
            *(tty_stream(ts(n), f"line {n}".encode()) for n in range(32, 60)),
        ]
    )
    expected = feed_in_chunks(TtyLogParser(), data, 1)
    assert len(expected) == 60
    parser = TtyLogParser()
    parsed = [parser.feed_parsed(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    parsed.append(parser.finish_parsed())
    assert [t for part in parsed for t in part.texts] == [
        to_log_line(raw, "api", "c").text for raw in expected
    ]
    assert [t for part in parsed for t in part.timestamps] == [raw.timestamp for raw in expected]


def test_a_block_is_a_sequence_of_lines_kept_by_column() -> None:
    block = LineBlock(
        "api", "c1", [ts(1), ts(2), ts(3)], ["a", "b", "c"], ["stdout", "stderr", "stdout"]
    )
    assert list(block) == [
        LogLine("api", "c1", ts(1), "a", "stdout"),
        LogLine("api", "c1", ts(2), "b", "stderr"),
        LogLine("api", "c1", ts(3), "c", "stdout"),
    ]
    assert block[1] == LogLine("api", "c1", ts(2), "b", "stderr")
    assert list(block[1:]) == list(block)[1:]
    assert block.service == "api"
    assert LineBlock.of(list(block)) == block
    assert LineBlock.of(block) is block
    joined = LineBlock.join([block, LineBlock("db", "c2", [ts(0)], ["d"], "stdout")])
    assert joined.service is None
    assert [line.service for line in joined] == ["api", "api", "api", "db"]
    assert set(joined.by_service()) == {"api", "db"}
    assert list(joined.by_service()["db"]) == [LogLine("db", "c2", ts(0), "d", "stdout")]


def test_the_ring_takes_whole_blocks_and_keeps_the_newest() -> None:
    ring = LogRing(max_lines_per_service=5)
    ring.extend(LineBlock("api", "c1", [ts(n) for n in range(4)], [f"a{n}" for n in range(4)]))
    ring.extend(
        LineBlock("api", "c2", [ts(n) for n in range(4, 12)], [f"a{n}" for n in range(4, 12)])
    )
    assert [line.text for line in ring.lines("api")] == ["a7", "a8", "a9", "a10", "a11"]
    assert ring.text_size == sum(len(f"a{n}") for n in range(7, 12))
    assert {line.container for line in ring.lines("api")} == {"c2"}
    ring.extend(LineBlock("db", "c3", [ts(8)], ["d8"]))
    assert [line.text for line in ring.lines(since=ts(9))] == ["a9", "a10", "a11"]
    assert [line.text for line in ring.block()][:3] == [
        "a7",
        "a8",
        "d8",
    ]  # ties: first service first


def test_batches_of_several_services_are_merged_by_timestamp() -> None:
    batches: list[Sequence[LogLine]] = []
    batcher = LineBatcher(batches.append, interval=0.05)
    batcher.put(LineBlock("api", "c", [ts(1), ts(3), ts(5)], ["a1", "a3", "a5"]))
    batcher.put(LineBlock("db", "c", [ts(2), ts(4)], ["d2", "d4"]))
    batcher.start()
    try:
        assert batcher.drain(5)
    finally:
        batcher.stop()
    assert [line.text for batch in batches for line in batch] == ["a1", "d2", "a3", "d4", "a5"]


@pytest.mark.parametrize("piece", [1, 3, 10, 1000])
def test_chunked_transfer_coding_is_undone_in_any_pieces(piece: int) -> None:
    from tui.core.logs import ChunkedBody

    payloads = [b"hello", b"x" * 300, b"\r\n in the data \r\n", b"a;b"]
    wire = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in payloads) + b"0\r\n\r\n"
    wire = wire.replace(b"12c\r\n", b"12C;ext=1\r\n")  # upper case, an extension
    body = ChunkedBody()
    got = b"".join(body.feed(wire[i : i + piece]) for i in range(0, len(wire), piece))
    assert got == b"".join(payloads)
    assert body.ended
