"""Reading a failure bundle back: what the failure view shows, with no stack at hand.

A bundle comes from elsewhere (a CI artifact, a colleague): it is untrusted input. Only
the files the layout names are read, each bounded in size; the file names in bundle.json
are not followed (a manifest cannot point the reader at `../../.ssh`); every text becomes
display-safe (`safe_text`) before it is handed on, whatever the writer did.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.core.bundle import layout
from tui.core.log_buffer import LogLine, StreamName
from tui.core.testrun.events import EventFormatError, FinishedEvent, parse_event
from tui.core.testrun.marks import TimeMark, failure_marks
from tui.core.text import safe_text

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_LOG_BYTES = 256 * 1024 * 1024
MAX_TEXT_BYTES = 16 * 1024 * 1024
_STREAMS: tuple[StreamName, ...] = ("stdout", "stderr", "envdeck")


class BundleError(Exception):
    """Not a bundle this envdeck can read; the message says why."""


@dataclass(frozen=True)
class FailureBundle:
    path: Path
    result: FinishedEvent
    lines: tuple[LogLine, ...]  # every service's lines of the test's window, in time order
    marks: tuple[TimeMark, ...]  # the test's moments among them (marks.py)
    logs_problem: str  # why the bundle has no service logs, or ""
    written_at: str
    envdeck_version: str
    status: Mapping[str, Any] | None
    data_diff: str | None  # as written (a JSON one pretty-printed)
    problems: tuple[str, ...]  # what the writer could not tell


def find_bundles(path: Path) -> list[Path]:
    """`path` itself when it is a bundle, else the bundles directly in it (a `--bundle DIR`),
    in name order; BundleError when there is none."""
    if (path / layout.MANIFEST).is_file():
        return [path]
    if not path.is_dir():
        raise BundleError(f"{safe_text(str(path))} is not a folder")
    found = sorted(
        child
        for child in path.iterdir()
        if not child.name.startswith(".") and (child / layout.MANIFEST).is_file()
    )
    if not found:
        raise BundleError(f"no failure bundle in {safe_text(str(path))} (no {layout.MANIFEST})")
    return found


def read_bundle(path: Path) -> FailureBundle:
    """The bundle in folder `path`; BundleError when it is not one."""
    manifest = _json(path / layout.MANIFEST, MAX_MANIFEST_BYTES)
    if not isinstance(manifest, dict) or manifest.get("kind") != layout.KIND:
        raise BundleError(f"{safe_text(str(path))} is not an envdeck failure bundle")
    schema = manifest.get("schema")
    if not isinstance(schema, int) or schema > layout.SCHEMA:
        raise BundleError(
            f"bundle schema {safe_text(str(schema))} is newer than this envdeck reads"
            f" ({layout.SCHEMA}): update envdeck"
        )
    try:
        result = parse_event(manifest.get("test") or {})
    except EventFormatError as error:
        raise BundleError(f"bundle's test: {error}") from None
    if not isinstance(result, FinishedEvent):
        raise BundleError("bundle's test is not a finished test")
    logs = manifest.get("logs")
    logs = logs if isinstance(logs, dict) else {}
    return FailureBundle(
        path=path,
        result=result,
        lines=tuple(_log_lines(path / layout.LOG_LINES)),
        marks=tuple(failure_marks(result)),
        logs_problem=safe_text(str(logs.get("problem") or "")),
        written_at=safe_text(str(manifest.get("written_at") or "")),
        envdeck_version=safe_text(str(manifest.get("envdeck_version") or "")),
        status=_optional_json(path / layout.STATUS),
        data_diff=_data_diff(path),
        problems=tuple(safe_text(str(p)) for p in manifest.get("problems") or ()),
    )


def _log_lines(path: Path) -> list[LogLine]:
    if not path.is_file():
        return []
    lines: list[LogLine] = []
    for raw in _read(path, MAX_LOG_BYTES).splitlines():
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(item, dict):
            continue
        stream = item.get("stream")
        lines.append(
            LogLine(
                service=safe_text(str(item.get("service", "?")), keep=""),
                container="",
                timestamp=safe_text(str(item.get("timestamp", "")), keep=""),
                text=safe_text(str(item.get("text", ""))),
                stream=stream if stream in _STREAMS else "stdout",
            )
        )
    lines.sort(key=lambda line: line.timestamp)  # one bad writer must not scramble the marks
    return lines


def _data_diff(path: Path) -> str | None:
    text_file, json_file = path / layout.DATA_DIFF_TEXT, path / layout.DATA_DIFF_JSON
    if text_file.is_file():
        return _read(text_file, MAX_TEXT_BYTES)
    document = _optional_json(json_file)
    return None if document is None else json.dumps(document, indent=2, ensure_ascii=False)


def _optional_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return _json(path, MAX_TEXT_BYTES)
    except BundleError:
        return None


def _json(path: Path, limit: int) -> Any:
    try:
        return json.loads(_read(path, limit))
    except ValueError as error:
        raise BundleError(f"{safe_text(path.name)} is not JSON: {error}") from None


def _read(path: Path, limit: int) -> str:
    """At most `limit` bytes of a regular file (a symlink out of the bundle is refused)."""
    if path.is_symlink() or not path.is_file():
        raise BundleError(f"{safe_text(path.name)}: not a regular file of the bundle")
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise BundleError(f"cannot read {safe_text(path.name)}: {error.strerror}") from None
    if len(data) > limit:
        raise BundleError(f"{safe_text(path.name)} is larger than {limit // (1024 * 1024)} MiB")
    return data.decode("utf-8", errors="replace")
