"""Test events framed in a container's stdout (`frames.py`), against hostile output: the
frame's words and the run's token printed by tests, frames in the middle of a line,
reads that end anywhere, bytes that are not UTF-8, frames too long to hold."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tui.core.testrun import pytest_plugin
from tui.core.testrun.frames import (
    EVENTS_FRAME_ENV,
    FRAME_START,
    FrameSplitter,
    Piece,
    frame_prefix,
)

TOKEN = "0123456789abcdef0123456789abcdef"
PREFIX = frame_prefix(TOKEN)


def split(stream: bytes, chunk: int | None = None, limit: int = 1 << 20) -> list[Piece]:
    """The pieces of `stream` fed in chunks of `chunk` bytes (whole without), with
    neighbouring output merged: where a read ended must not matter."""
    splitter = FrameSplitter(PREFIX, limit)
    size = chunk or max(len(stream), 1)
    pieces = [
        p for at in range(0, len(stream), size) for p in splitter.feed(stream[at : at + size])
    ]
    pieces += splitter.end()
    merged: list[Piece] = []
    for piece in pieces:
        if merged and not piece.is_event and not merged[-1].is_event:
            merged[-1] = Piece(merged[-1].data + piece.data)
        else:
            merged.append(piece)
    return merged


def every_chunking(stream: bytes) -> Iterator[list[Piece]]:
    for chunk in (None, 1, 2, 3, 7, len(PREFIX) - 1, len(PREFIX), len(PREFIX) + 1):
        yield split(stream, chunk)


def frame(payload: bytes) -> bytes:
    return PREFIX + payload + b"\n"


def test_output_without_frames_is_output_byte_for_byte() -> None:
    stream = b"collected 3 items\n\xff\xfe\x00 not utf-8\r\n\x1b[31mred\x1b[0m no newline"
    for pieces in every_chunking(stream):
        assert pieces == [Piece(stream)]


def test_a_frame_is_an_event_and_the_output_round_it_stays_in_order() -> None:
    stream = b"before\n" + frame(b'{"kind":"a"}') + b"after\n"
    for pieces in every_chunking(stream):
        assert pieces == [
            Piece(b"before\n"),
            Piece(b'{"kind":"a"}', is_event=True),
            Piece(b"after\n"),
        ]


def test_a_frame_in_the_middle_of_a_line_leaves_the_line_whole() -> None:
    # pytest -s, a test printing without a newline: the plugin's write lands mid-line.
    stream = b"partial line" + frame(b"{}") + b" continues\n"
    for pieces in every_chunking(stream):
        assert pieces == [
            Piece(b"partial line"),
            Piece(b"{}", is_event=True),
            Piece(b" continues\n"),
        ]
        assert b"".join(p.data for p in pieces if not p.is_event) == b"partial line continues\n"


def test_the_token_or_the_frame_words_printed_by_a_test_are_output() -> None:
    printed_environment = f"{{'{EVENTS_FRAME_ENV}': '{TOKEN}'}}\n".encode()
    other_run = frame_prefix("f" * 32) + b'{"kind":"finished"}\n'  # another run's frame
    words = FRAME_START + b" " + TOKEN.encode() + b"\n"  # not the exact prefix
    stream = printed_environment + other_run + words
    for pieces in every_chunking(stream):
        assert pieces == [Piece(stream)]


def test_record_separators_and_prefix_beginnings_at_a_read_end_are_not_lost() -> None:
    stream = b"a\x1e\x1eb" + PREFIX[:-1] + b"X" + b"\x1e"  # near misses, one at the end
    for pieces in every_chunking(stream):
        assert pieces == [Piece(stream)]


def test_back_to_back_frames_and_empty_payloads() -> None:
    stream = frame(b"1") + frame(b"") + frame(b"3")
    for pieces in every_chunking(stream):
        assert pieces == [Piece(b"1", True), Piece(b"", True), Piece(b"3", True)]


def test_a_frame_too_long_is_dropped_and_counted_and_what_follows_kept() -> None:
    stream = frame(b"x" * 100) + b"output\n" + frame(b"ok")
    for chunk in (None, 1, 9, 64):
        splitter = FrameSplitter(PREFIX, 50)
        size = chunk or len(stream)
        pieces = [
            p for at in range(0, len(stream), size) for p in splitter.feed(stream[at : at + size])
        ]
        pieces += splitter.end()
        assert b"".join(p.data for p in pieces if not p.is_event) == b"output\n"
        assert [p.data for p in pieces if p.is_event] == [b"ok"]
        assert splitter.dropped_frames == 1


def test_a_frame_cut_off_by_the_end_of_the_stream_is_output() -> None:
    stream = b"last words" + PREFIX + b'{"kind":"fini'  # the container was killed mid-write
    for pieces in every_chunking(stream):
        assert pieces == [Piece(b"last words" + b'{"kind":"fini')]


def test_a_token_must_be_plain_letters_and_digits() -> None:
    for bad in ("", "a b", "x\n", "é1"):
        with pytest.raises(ValueError, match="frame token"):
            frame_prefix(bad)


# ---------------------------------------------------------------- the plugin's side


def test_the_plugin_takes_its_token_out_of_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(EVENTS_FRAME_ENV, TOKEN)
    taken = pytest_plugin.framed_stdout()
    assert taken is not None
    fd, prefix = taken
    os.close(fd)
    assert prefix == PREFIX
    assert EVENTS_FRAME_ENV not in os.environ  # no test can print it, no child inherits it
    assert pytest_plugin.FRAME_START == FRAME_START


def test_an_event_quoting_a_frame_is_one_frame_that_parses_back() -> None:
    """A traceback or captured output holding this run's own frame (and newlines, and text
    that is not UTF-8) is escaped inside the event: one frame, the same text parsed back."""
    raw = PREFIX.decode() + '{"kind":"finished"}\n' + "line\r\nnext \x00 \udcff end"
    hostile = pytest_plugin.clean(raw)  # as the plugin makes every text it sends
    read_end, write_end = os.pipe()
    sink = pytest_plugin.EventSink(write_end, PREFIX)
    sink.send({"kind": "collect_error", "nodeid": "t.py", "longrepr": hostile})
    sink.close()
    with os.fdopen(read_end, "rb") as pipe:
        written = pipe.read()
    for pieces in every_chunking(b"out" + written + b"put"):
        events = [p for p in pieces if p.is_event]
        assert len(events) == 1
        assert json.loads(events[0].data)["longrepr"] == hostile
        assert b"".join(p.data for p in pieces if not p.is_event) == b"output"
