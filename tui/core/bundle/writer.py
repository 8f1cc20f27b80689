"""Writing failure bundles: a self-contained folder per failed test (`layout.py`).

Three calls, all blocking (run them in a thread or a worker):

- `write_failure_bundle(dir, failure, monitor)`: one failure, now (the tests screen's key);
- `write_bundles(dir, failures, monitor)`: every failure of a run, one context shared, and
  an index README in `dir` (`envdeck test --bundle DIR`, for CI artifacts);
- `write_bundle(dir, failure, context, logs)`: from parts already gathered (tests, and a
  caller that has the window's lines already).

The data diff is optional: an already rendered text, or a plain JSON-able dict, handed in
by whoever took it (`data_diff=`, or `data_diffs={nodeid: diff}` for a run). It is masked
like every other text. A folder is written under a hidden temporary name and renamed when
complete, so a reader never sees half a bundle.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tui.core.bundle import layout
from tui.core.bundle.context import BundleContext, collect_context
from tui.core.bundle.readme import ReadmeParts, bundle_readme, index_readme
from tui.core.log_buffer import LogLine
from tui.core.monitor import EnvironmentMonitor
from tui.core.testrun.events import CapturedSection, FinishedEvent, finished_wire
from tui.core.testrun.marks import TimeMark, failure_marks, with_marks
from tui.core.testrun.printer import format_failure
from tui.core.testrun.window_logs import window_logs
from tui.core.text import safe_text

DataDiff = str | Mapping[str, Any]
MAX_LOG_LINES = 100_000  # of a window, all services: the last ones are kept


def write_failure_bundle(
    directory: Path,
    failure: FinishedEvent,
    monitor: EnvironmentMonitor,
    *,
    data_diff: DataDiff | None = None,
) -> Path:
    """One failure's bundle in a new folder under `directory`; its path."""
    context = collect_context(monitor)
    logs, problem = _window_logs(monitor, failure)
    return write_bundle(
        directory, failure, context, logs, data_diff=data_diff, logs_problem=problem
    )


def write_bundles(
    directory: Path,
    failures: Sequence[FinishedEvent],
    monitor: EnvironmentMonitor,
    *,
    data_diffs: Mapping[str, DataDiff] | None = None,
) -> list[Path]:
    """A bundle per failure under `directory` (made if missing), the environment taken
    once, and `directory/README.md` listing them; the bundles' paths. Nothing is written
    for a run without failures."""
    if not failures:
        return []
    context = collect_context(monitor)
    written: list[Path] = []
    for failure in failures:
        logs, problem = _window_logs(monitor, failure)
        diff = (data_diffs or {}).get(failure.nodeid)
        written.append(
            write_bundle(directory, failure, context, logs, data_diff=diff, logs_problem=problem)
        )
    index = [(mask_failure(f, context), p.name) for f, p in zip(failures, written, strict=True)]
    _write_text(directory / layout.README, index_readme(index))
    return written


def write_bundle(
    directory: Path,
    failure: FinishedEvent,
    context: BundleContext,
    logs: Sequence[LogLine] | None,
    *,
    data_diff: DataDiff | None = None,
    logs_problem: str = "",
) -> Path:
    """`failure`'s bundle from parts: `logs` its window's lines (None: unavailable, and
    `logs_problem` says why). Everything is masked with `context.scrubber` on the way."""
    directory.mkdir(parents=True, exist_ok=True)
    final = _free_name(directory, layout.slug(failure.nodeid))
    partial = directory / f".{final.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        _write_parts(partial, failure, context, logs, data_diff, logs_problem)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def mask_failure(failure: FinishedEvent, context: BundleContext) -> FinishedEvent:
    """The failure with its report, reason and captured output masked."""
    scrub = context.scrubber.text
    return replace(
        failure,
        longrepr=scrub(failure.longrepr),
        reason=scrub(failure.reason),
        sections=tuple(CapturedSection(s.title, scrub(s.text)) for s in failure.sections),
    )


def _write_parts(  # noqa: PLR0917 (private: one caller, all parts named there)
    folder: Path,
    failure: FinishedEvent,
    context: BundleContext,
    logs: Sequence[LogLine] | None,
    data_diff: DataDiff | None,
    logs_problem: str,
) -> None:
    scrub = context.scrubber
    result = mask_failure(failure, context)
    lines = [line._replace(text=scrub.text(line.text)) for line in (logs or ())]
    omitted = max(0, len(lines) - MAX_LOG_LINES)
    lines = lines[omitted:]
    marks = failure_marks(result)
    problem = scrub.text(logs_problem) if logs is None else ""
    if logs is None and not problem:
        problem = "not taken"
    _write_text(folder / layout.REPORT, format_failure(result) + "\n")
    _write_text(folder / layout.LOGS, merged_logs_text(lines, marks, omitted, problem))
    _write_text(folder / layout.LOG_LINES, "".join(_line_json(line) for line in lines))
    service_files = _write_service_logs(folder, lines)
    _write_json(folder / layout.STATUS, context.status)
    _write_json(folder / layout.COMPOSE_CONFIG, context.compose_config)
    _write_json(folder / layout.VERSIONS, context.versions)
    diff_file = _write_data_diff(folder, data_diff, context)
    manifest = {
        "schema": layout.SCHEMA,
        "kind": layout.KIND,
        "written_at": context.taken_at,
        "envdeck_version": context.versions.get("envdeck"),
        "test": finished_wire(result),
        "marks": [
            {"timestamp": m.timestamp, "label": m.label, "failure": m.failure} for m in marks
        ],
        "logs": {"lines": len(lines), "omitted": omitted, "problem": problem},
        "files": {
            "readme": layout.README,
            "report": layout.REPORT,
            "logs": layout.LOGS,
            "log_lines": layout.LOG_LINES,
            "service_logs": service_files,
            "status": layout.STATUS,
            "compose_config": layout.COMPOSE_CONFIG,
            "versions": layout.VERSIONS,
            "data_diff": diff_file,
        },
        "problems": list(context.problems),
    }
    _write_json(folder / layout.MANIFEST, manifest)
    parts = ReadmeParts(result, context, lines, marks, service_files, diff_file, problem)
    _write_text(folder / layout.README, bundle_readme(parts))


def merged_logs_text(
    lines: Sequence[LogLine], marks: Sequence[TimeMark], omitted: int = 0, problem: str = ""
) -> str:
    """logs.txt: `service | HH:MM:SS.mmm text`, the marks among them by time."""
    if problem:
        return f"(service logs unavailable: {safe_text(problem)})\n" + "".join(
            f"{mark.line()}\n" for mark in marks
        )
    width = max((len(safe_text(line.service)) for line in lines), default=0)
    out = [f"... {omitted} earlier lines not kept"] if omitted else []
    for item in with_marks(lines, marks):
        if isinstance(item, TimeMark):
            out.append(item.line())
        else:
            out.append(
                f"{safe_text(item.service).ljust(width)} | {item.timestamp[11:23]} {item.text}"
            )
    if not lines:  # after the marks: they are moments, not lines some service logged
        out.append("(no service logged anything in the test's window)")
    return "\n".join(out) + "\n"


def _window_logs(
    monitor: EnvironmentMonitor, failure: FinishedEvent
) -> tuple[list[LogLine] | None, str]:
    try:
        return window_logs(monitor, failure.start, failure.stop), ""
    except Exception as error:  # the engine went away: the bundle says so, without logs
        return None, str(error) or type(error).__name__


def _write_service_logs(folder: Path, lines: Sequence[LogLine]) -> dict[str, str]:
    by_service: dict[str, list[str]] = {}
    for line in lines:
        by_service.setdefault(line.service, []).append(f"{line.timestamp} {line.text}\n")
    if not by_service:
        return {}
    (folder / layout.SERVICE_LOGS).mkdir()
    files: dict[str, str] = {}
    for service, texts in sorted(by_service.items()):
        relative = f"{layout.SERVICE_LOGS}/{layout.slug(service)}.log"
        _write_text(folder / relative, "".join(texts))
        files[service] = relative
    return files


def _write_data_diff(folder: Path, diff: DataDiff | None, context: BundleContext) -> str | None:
    # The data diff's hook: whichever form its maker hands over, masked like the rest.
    if diff is None:
        return None
    if isinstance(diff, str):
        _write_text(folder / layout.DATA_DIFF_TEXT, context.scrubber.text(diff))
        return layout.DATA_DIFF_TEXT
    _write_json(folder / layout.DATA_DIFF_JSON, context.scrubber.data(diff))
    return layout.DATA_DIFF_JSON


def _line_json(line: LogLine) -> str:
    document = {
        "service": line.service,
        "timestamp": line.timestamp,
        "stream": line.stream,
        "text": line.text,
    }
    return json.dumps(document, ensure_ascii=False) + "\n"


def _free_name(directory: Path, name: str) -> Path:
    """`directory/name`, or `name-2`, `name-3`… when a bundle of the test is there already."""
    candidate, number = directory / name, 1
    while candidate.exists():
        number += 1
        candidate = directory / f"{name}-{number}"
    return candidate


def _write_text(path: Path, text: str) -> None:
    # Every text of a bundle is display-safe: a `cat` of it cannot drive the terminal.
    path.write_text(safe_text(text, keep="\t\n"), encoding="utf-8")


# What JSON leaves raw but a terminal must not get: DEL, C1, bidi and invisible characters
# (C0 JSON escapes itself). Escaped as JSON does, so the file still parses to the same data.
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f]"
)


def _write_json(path: Path, document: Any) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False)
    text = _JSON_UNSAFE.sub(lambda m: json.dumps(m.group())[1:-1], text)
    path.write_text(text + "\n", encoding="utf-8")


__all__ = ["DataDiff", "merged_logs_text", "write_bundle", "write_bundles", "write_failure_bundle"]
