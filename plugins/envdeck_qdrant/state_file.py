"""The file a saved state of a Qdrant server is kept in, written line by line as the points
are scrolled, and read back only once it has been checked in full.

`qdrant-state.jsonl`: JSON lines, each an object with a single key saying what the line is.

    {"header": {"format": "envdeck-qdrant-state", "version": 1, "qdrant": "1.12.5"}}
    {"collection": {"name": ..., "create": {PUT /collections/NAME body}, "indexes": {...}}}
    {"point": {"id": ..., "vector": ..., "payload": ...}}   one a point, in id order
    ...                                                      then the next collection
    {"aliases": [{"alias_name": ..., "collection_name": ...}]}
    {"end": {"collections": {NAME: POINTS}, "points": N, "sha256": HEX}}

`sha256` covers every byte before the end line, so a file that was cut short, edited or
damaged is refused before anything on the server changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tui.plugins.api import InspectorError, Problem

STATE_FILE = "qdrant-state.jsonl"
FORMAT = "envdeck-qdrant-state"
VERSION = 1
# Fewer, larger batches: the offline stand-in rewrites a collection's file on every write.
UPSERT_BATCH_POINTS = 2_000
UPSERT_BATCH_BYTES = 8 << 20  # well under Qdrant's default 32 MB request limit


def json_line(value: Any) -> bytes:
    # ASCII only: every string (even one Python alone would accept) survives the trip.
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode() + b"\n"


class StateWriter:
    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._hash = hashlib.sha256()

    def line(self, value: Any) -> None:
        data = json_line(value)
        self._hash.update(data)
        self._handle.write(data)

    def end(self, counts: dict[str, int]) -> None:
        total = sum(counts.values())
        end = {"collections": counts, "points": total, "sha256": self._hash.hexdigest()}
        self._handle.write(json_line({"end": end}))


@dataclass(frozen=True)
class SavedCollection:
    name: str
    create: dict[str, Any]
    indexes: dict[str, Any]


@dataclass(frozen=True)
class PointBatch:
    collection: str
    points: list[dict[str, Any]]


@dataclass
class StateContents:
    counts: dict[str, int] = field(default_factory=dict)  # collection -> points, in file order
    aliases: list[tuple[str, str]] = field(default_factory=list)


class _BadFile(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _entry(line: bytes) -> tuple[str, Any]:
    """One line's kind and value."""
    try:
        value = json.loads(line, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _BadFile("a line is not JSON") from None
    if not line.endswith(b"\n") or not isinstance(value, dict) or len(value) != 1:
        raise _BadFile("a line is not one of ours")
    ((kind, content),) = value.items()
    return kind, content


def _check_point(point: Any) -> None:
    if not isinstance(point, dict) or set(point) != {"id", "vector", "payload"}:
        raise _BadFile("a point is malformed")
    point_id = point["id"]
    if not (isinstance(point_id, str) or (type(point_id) is int and point_id >= 0)):
        raise _BadFile("a point's id is neither an integer nor a UUID")
    if not isinstance(point["vector"], list | dict) or not isinstance(point["payload"], dict):
        raise _BadFile("a point's vector or payload is malformed")


def _check_collection(value: Any, known: dict[str, int]) -> str:
    if not isinstance(value, dict) or set(value) != {"name", "create", "indexes"}:
        raise _BadFile("a collection is malformed")
    name = value["name"]
    if not isinstance(name, str) or name in known:
        raise _BadFile("a collection's name is missing or repeated")
    if not isinstance(value["create"], dict) or not isinstance(value["indexes"], dict):
        raise _BadFile(f"collection {name!r} is malformed")
    return name


def _check_aliases(value: Any, known: dict[str, int]) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise _BadFile("the aliases are malformed")
    aliases = []
    for item in value:
        if not isinstance(item, dict) or item.get("collection_name") not in known:
            raise _BadFile("an alias is malformed or names a collection that is not saved")
        if not isinstance(item.get("alias_name"), str):
            raise _BadFile("an alias is malformed")
        aliases.append((str(item["alias_name"]), str(item["collection_name"])))
    return aliases


def open_state(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InspectorError(Problem.ERROR, f"no saved Qdrant state: {path} is missing") from None
    except OSError as error:
        raise InspectorError(Problem.ERROR, f"cannot read {path}: {error.strerror}") from None


def check_state_file(path: Path, handle: IO[bytes]) -> StateContents:
    """What the state file holds, once every line of it has been checked; InspectorError
    when it is cut short, damaged or not ours."""
    try:
        return _check_lines(handle)
    except OSError as error:
        raise InspectorError(Problem.ERROR, f"cannot read {path}: {error.strerror}") from None
    except _BadFile as error:
        raise InspectorError(
            Problem.ERROR,
            f"{path} is not a usable Qdrant state ({error}); nothing was changed",
        ) from None


def _check_lines(handle: IO[bytes]) -> StateContents:
    digest = hashlib.sha256()
    contents = StateContents()
    current: str | None = None
    aliases_seen = False
    end: Any = None
    number = 0
    for number, line in enumerate(handle, 1):
        if end is not None:
            raise _BadFile(f"line {number} follows the end line")
        kind, value = _entry(line)
        if number == 1:
            _check_header(kind, value)
        elif kind == "end":
            end = value
            continue
        elif kind == "collection" and not aliases_seen:
            current = _check_collection(value, contents.counts)
            contents.counts[current] = 0
        elif kind == "point" and current is not None and not aliases_seen:
            _check_point(value)
            contents.counts[current] += 1
        elif kind == "aliases" and not aliases_seen:
            contents.aliases = _check_aliases(value, contents.counts)
            aliases_seen = True
        else:
            raise _BadFile(f"line {number} is out of place or unknown")
        digest.update(line)
    if number == 0:
        raise _BadFile("the file is empty")
    if end is None or not aliases_seen:
        raise _BadFile("the file ends early: was the save interrupted?")
    expected = {
        "collections": contents.counts,
        "points": sum(contents.counts.values()),
        "sha256": digest.hexdigest(),
    }
    if end != expected:
        raise _BadFile("its checksum or counts do not match its contents: it was changed")
    return contents


def _check_header(kind: str, value: Any) -> None:
    if kind != "header" or not isinstance(value, dict) or value.get("format") != FORMAT:
        raise _BadFile("it is not an envdeck Qdrant state")
    version = value.get("version")
    if version != VERSION:
        raise _BadFile(f"it is version {version!r} of the format; this envdeck reads {VERSION}")


def state_entries(path: Path, handle: IO[bytes]) -> Iterator[SavedCollection | PointBatch]:
    """The checked file's collections, each followed by its points in upsert batches."""
    batch: list[dict[str, Any]] = []
    size = 0
    current = ""
    try:
        for line in handle:
            kind, value = _entry(line)
            if kind == "point":
                batch.append(value)
                size += len(line)
                if len(batch) >= UPSERT_BATCH_POINTS or size >= UPSERT_BATCH_BYTES:
                    yield PointBatch(current, batch)
                    batch, size = [], 0
                continue
            if batch:
                yield PointBatch(current, batch)
                batch, size = [], 0
            if kind == "collection":
                current = value["name"]
                yield SavedCollection(current, value["create"], value["indexes"])
    except (OSError, _BadFile) as error:  # the file was overwritten in place since the check
        raise InspectorError(Problem.ERROR, f"cannot read {path} again: {error}") from None
