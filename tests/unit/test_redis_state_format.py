"""The Redis plugin's state file, without a server: what is written reads back byte for
byte, and a file that is truncated, altered, too new or inconsistent is refused whole,
before envdeck would touch Redis."""

from __future__ import annotations

import hashlib
import io
import socket
import struct
from pathlib import Path

import pytest

from envdeck_redis import RedisPlugin
from envdeck_redis.state_file import (
    FILE_NAME,
    FORMAT_VERSION,
    MAGIC,
    SavedKey,
    StateFile,
    StateFormatError,
    StateWriter,
    parse_state,
    rdb_version,
    read_state,
    summary_text,
)
from tui.plugins.api import InspectorError, Problem, ServiceTarget, StateRef


def payload(body: bytes, rdb: int = 10) -> bytes:
    """Looks like DUMP's reply: the value, the RDB version, a CRC64 (not checked here)."""
    return body + rdb.to_bytes(2, "little") + b"\x00" * 8


KEYS_DB0: list[SavedKey] = [
    (b"", -1, payload(b"empty name")),
    (b"nul\x00line\nreturn\r\xff\xfe", 3_600_000, payload(b"\x00\r\n" * 100)),
    (b"plain", -1, payload(b"x" * 70_000)),
]
KEYS_DB3: list[SavedKey] = [(b"three", 1, payload(b"last millisecond"))]
KEYS_DB3_MORE: list[SavedKey] = [(b"three:more", -1, payload(b"", rdb=11))]


def written(*blocks: tuple[int, list[SavedKey]], made_by: str = "7.0.15") -> bytes:
    stream = io.BytesIO()
    writer = StateWriter(stream, made_by)
    for db, keys in blocks:
        writer.block(db, keys)
    size = writer.finish()
    data = stream.getvalue()
    assert size == len(data)
    return data


SAMPLE = ((0, KEYS_DB0), (3, KEYS_DB3), (3, KEYS_DB3_MORE))


def resigned(body: bytes) -> bytes:
    """`body` with a correct checksum: a file whose only fault is its structure."""
    return body + hashlib.sha256(body).digest()


def test_what_is_written_reads_back_exactly() -> None:
    state = parse_state(written(*SAMPLE))
    assert state.made_by == "7.0.15"
    assert list(state.dbs) == [0, 3]
    assert [(key, *saved) for key, saved in state.dbs[0].items()] == KEYS_DB0
    assert [(key, *saved) for key, saved in state.dbs[3].items()] == KEYS_DB3 + KEYS_DB3_MORE
    assert state.keys == 5
    assert state.summary == "5 keys in 2 dbs"
    assert state.rdb_versions() == {10, 11}


def test_an_empty_server_makes_a_valid_empty_file() -> None:
    data = written()
    assert data.startswith(MAGIC)
    state = parse_state(data)
    assert state == StateFile("7.0.15", {})
    assert state.summary == "no keys"
    assert state.rdb_versions() == set()


def test_the_layout_is_the_documented_one() -> None:
    data = written((2, [(b"k", -1, payload(b"v"))]), made_by="7.2.4")
    header = MAGIC + struct.pack("<HH", FORMAT_VERSION, 5) + b"7.2.4"
    block = b"B" + struct.pack("<II", 2, 1) + struct.pack("<IQq", 1, 11, -1) + b"k" + payload(b"v")
    end = b"E" + struct.pack("<QI", 1, 1)
    assert data == resigned(header + block + end)


def test_every_truncation_is_refused() -> None:
    data = written(*SAMPLE)
    for length in [*range(200), *range(200, len(data), 997), len(data) - 1]:
        with pytest.raises(StateFormatError, match=r"truncated|empty"):
            parse_state(data[:length])


def test_every_altered_byte_is_refused() -> None:
    data = written((0, KEYS_DB0[:2]), (3, KEYS_DB3))
    for index in range(len(data)):
        altered = bytearray(data)
        altered[index] ^= 0x01
        with pytest.raises(StateFormatError):
            parse_state(bytes(altered))


def test_extra_bytes_after_the_end_are_refused() -> None:
    with pytest.raises(StateFormatError, match="checksum"):
        parse_state(written(*SAMPLE) + b"\x00")


def test_other_files_and_newer_formats_are_named_as_such() -> None:
    with pytest.raises(StateFormatError, match="not an envdeck Redis state file"):
        parse_state(b"REDIS0011\xfa\x09redis-ver")  # an RDB file, say
    newer = bytearray(written(*SAMPLE))
    newer[len(MAGIC) : len(MAGIC) + 2] = struct.pack("<H", FORMAT_VERSION + 1)
    with pytest.raises(StateFormatError, match=f"format version {FORMAT_VERSION + 1}"):
        parse_state(bytes(newer))


def test_a_key_twice_in_a_db_is_refused() -> None:
    data = written((0, KEYS_DB0), (0, KEYS_DB0[:1]))
    with pytest.raises(StateFormatError, match="twice in db 0"):
        parse_state(data)
    # The same name in two dbs is two keys.
    assert parse_state(written((0, KEYS_DB0), (1, KEYS_DB0))).keys == 6


def test_records_that_cannot_be_restored_are_refused() -> None:
    for bad in [(b"k", 0, payload(b"v")), (b"k", -5, payload(b"v")), (b"k", -1, b"short")]:
        with pytest.raises(StateFormatError, match="the record of key k"):
            parse_state(written((0, [bad])))


def test_counts_that_disagree_with_the_blocks_are_refused() -> None:
    body = written(*SAMPLE)[:-32]
    wrong = body[: -struct.calcsize("<QI")] + struct.pack("<QI", 4, 2)
    with pytest.raises(StateFormatError, match="says 4 keys in 2 dbs but holds 5 keys"):
        parse_state(resigned(wrong))


def test_blocks_out_of_db_order_or_empty_are_refused() -> None:
    header = MAGIC + struct.pack("<HH", FORMAT_VERSION, 0)
    record = struct.pack("<IQq", 1, 11, -1) + b"k" + payload(b"v")
    later = b"B" + struct.pack("<II", 5, 1) + record
    earlier = b"B" + struct.pack("<II", 2, 1) + record
    end = b"E" + struct.pack("<QI", 2, 2)
    with pytest.raises(StateFormatError, match="a block of 1 keys of db 2"):
        parse_state(resigned(header + later + earlier + end))
    empty = b"B" + struct.pack("<II", 0, 0)
    with pytest.raises(StateFormatError, match="a block of 0 keys"):
        parse_state(resigned(header + empty + b"E" + struct.pack("<QI", 0, 0)))
    with pytest.raises(ValueError, match="db 2 comes after db 5"):
        written((5, KEYS_DB3), (2, KEYS_DB3))


def test_lengths_that_run_past_the_end_are_refused() -> None:
    header = MAGIC + struct.pack("<HH", FORMAT_VERSION, 0)
    record = struct.pack("<IQq", 1, 1 << 40, -1) + b"k" + payload(b"v")
    block = b"B" + struct.pack("<II", 0, 1) + record
    with pytest.raises(StateFormatError, match="runs past its end"):
        parse_state(resigned(header + block + b"E" + struct.pack("<QI", 1, 1)))


def test_rdb_version_is_read_from_the_payloads_footer() -> None:
    assert rdb_version(payload(b"anything", rdb=9)) == 9
    assert rdb_version(payload(b"", rdb=0x0102)) == 0x0102


def test_summaries() -> None:
    assert summary_text(1204, 2) == "1,204 keys in 2 dbs"
    assert summary_text(1, 1) == "1 key in 1 db"
    assert summary_text(0, 0) == "no keys"


def test_reading_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(StateFormatError, match="does not exist"):
        read_state(tmp_path / FILE_NAME)
    (tmp_path / FILE_NAME).write_bytes(written(*SAMPLE))
    assert read_state(tmp_path / FILE_NAME).keys == 5


# ---------------------------------------------------------------- the plugin, no server


def nowhere() -> ServiceTarget:
    """A target where nothing listens: any attempt to reach Redis would say REFUSED."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return ServiceTarget("cache", "redis:7", "127.0.0.1", {6379: port}, {}, timeout=1)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "does not exist"),
        (b"", "the file is empty"),
        (written(*SAMPLE)[:-1], "truncated or corrupt"),
        (written(*SAMPLE)[:10], "truncated"),
        (b"not a state file at all", "not an envdeck Redis state file"),
    ],
)
def test_a_bad_file_is_refused_before_redis_is_reached(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    if content is not None:
        (tmp_path / FILE_NAME).write_bytes(content)
    with pytest.raises(InspectorError) as caught:
        RedisPlugin().restore_state(nowhere(), StateRef("before-lunch", tmp_path))
    assert caught.value.problem is Problem.ERROR
    message = str(caught.value)
    assert message.startswith("cannot restore cache from before-lunch: ")
    assert reason in message
    assert message.endswith("its data was left as it is")


def test_a_good_file_goes_on_to_reach_redis(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(written(*SAMPLE))
    with pytest.raises(InspectorError) as caught:
        RedisPlugin().restore_state(nowhere(), StateRef("before-lunch", tmp_path))
    assert caught.value.problem is Problem.REFUSED


def test_state_exists_and_delete_state_are_about_the_file(tmp_path: Path) -> None:
    plugin, ref = RedisPlugin(), StateRef("before-lunch", tmp_path)
    assert not plugin.state_exists(nowhere(), ref)
    (tmp_path / FILE_NAME).write_bytes(written(*SAMPLE))
    (tmp_path / (FILE_NAME + ".saving")).write_bytes(b"left by a save that died")
    (tmp_path / "other").write_bytes(b"not ours")
    assert plugin.state_exists(nowhere(), ref)
    plugin.delete_state(nowhere(), ref)
    assert not plugin.state_exists(nowhere(), ref)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other"]
    plugin.delete_state(nowhere(), ref)  # nothing left to delete: no error
