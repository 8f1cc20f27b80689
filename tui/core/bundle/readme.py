"""A bundle's README.md: what failed, where to look first, the services, the files.

Read on a code-hosting site by someone who was not there: the failure's headline, the
service log lines just before the moment it failed, then links to every file. All text
from the test or the services passes `markdown.py` (inert) after the scrubber (masked).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tui.core.bundle import layout
from tui.core.bundle.context import BundleContext
from tui.core.bundle.markdown import md_block, md_code, md_link, md_text
from tui.core.log_buffer import LogLine
from tui.core.testrun.events import FinishedEvent
from tui.core.testrun.marks import TimeMark, with_marks
from tui.core.testrun.printer import failure_headline

LINES_BEFORE_FAILURE = 8  # service log lines quoted in the README, up to the failure


@dataclass(frozen=True)
class ReadmeParts:
    result: FinishedEvent  # masked
    context: BundleContext
    lines: Sequence[LogLine]  # masked, time-ordered
    marks: Sequence[TimeMark]
    service_files: Mapping[str, str]  # service -> its log file, relative
    data_diff_file: str | None
    logs_problem: str  # why there are no service logs, or ""


def bundle_readme(parts: ReadmeParts) -> str:
    result = parts.result
    word = "error" if result.outcome.value == "error" else "failed"
    where = f" at {result.when}" if result.when not in (None, "call") else ""
    out = [f"# ✘ {md_code(result.nodeid)} {word}{where}", ""]
    headline = failure_headline(result)
    said = result.exception and not headline.startswith(result.exception)
    kind = f"**{md_text(result.exception)}**: " if said else ""
    if headline:
        out += [f"> {kind}{md_text(headline)}", ""]
    out += [
        f"Ran {result.duration:.2f} s, from {md_text(result.start)} to {md_text(result.stop)}"
        f" (UTC). Bundle written {md_text(parts.context.taken_at)} by envdeck"
        f" {md_text(str(parts.context.versions.get('envdeck', '?')))}.",
        "",
        "## Where to look first",
        "",
        f"1. {md_link(layout.REPORT, layout.REPORT)}: pytest's traceback and assertion diff,"
        " then what the test printed.",
        f"2. {md_link(layout.LOGS, layout.LOGS)}: what every service logged while the test ran,"
        " merged in time order; a `──── … test failed here ────` line marks the moment it"
        " failed.",
    ]
    if parts.data_diff_file:
        out.append(
            f"3. {md_link(parts.data_diff_file, parts.data_diff_file)}: what the test changed"
            " in the services' data."
        )
    out += ["", *_before_failure(parts), *_services(parts), *_files(parts), *_versions(parts)]
    out += [
        "",
        "Open it as envdeck's failure view, on any machine: `envdeck bundle open <this folder>`.",
        "",
    ]
    return "\n".join(out)


def _before_failure(parts: ReadmeParts) -> list[str]:
    if parts.logs_problem:
        return [f"Service logs: {md_text(parts.logs_problem)}", ""]
    failure = next((mark for mark in parts.marks if mark.failure), None)
    if failure is None or not parts.lines:
        return ["No service logged anything while the test ran.", ""] if not parts.lines else []
    merged = list(with_marks(parts.lines, [failure]))
    at = merged.index(failure)
    before = [item for item in merged[:at] if isinstance(item, LogLine)][-LINES_BEFORE_FAILURE:]
    shown = [f"{line.service} | {line.timestamp[11:23]} {line.text}" for line in before]
    return [
        "## The service logs just before it failed",
        "",
        md_block("\n".join([*shown, failure.line()])),
        "",
    ]


def _services(parts: ReadmeParts) -> list[str]:
    status = parts.context.status or {}
    services: list[Mapping[str, Any]] = list(status.get("services") or [])
    if not services:
        return ["## Services", "", "The services' state could not be told.", ""]
    counts: dict[str, int] = {}
    for line in parts.lines:
        counts[line.service] = counts.get(line.service, 0) + 1
    out = [
        "## Services",
        "",
        "| service | state | health | image | log lines in the window |",
        "|---|---|---|---|---|",
    ]
    for service in services:
        name = str(service.get("name", "?"))
        file = parts.service_files.get(name)
        lines = f"{counts.get(name, 0)}"
        cell = md_link(f"{lines} lines", file) if file else lines
        state = str(service.get("state", "?"))
        exit_code = service.get("exit_code")
        if exit_code is not None:
            state += f" (exit {exit_code})"
        out.append(
            f"| {md_code(name, in_table=True)} | {md_text(state)}"
            f" | {md_text(str(service.get('health', '?')))}"
            f" | {md_code(str(service.get('image') or '?'), in_table=True)} | {cell} |"
        )
    return [*out, ""]


def _files(parts: ReadmeParts) -> list[str]:
    files = [
        (layout.REPORT, "the test's report: traceback, assertion diff, captured output"),
        (layout.LOGS, "service logs of the window, merged, with the test's moments marked"),
        (layout.LOG_LINES, "the same lines as JSON, one a line"),
        (layout.STATUS, "`envdeck status --json` when the bundle was written"),
        (layout.COMPOSE_CONFIG, "the effective compose config, secrets masked"),
        (layout.VERSIONS, "envdeck, Docker, Compose and each service's image"),
        (layout.MANIFEST, "this bundle, machine-readable"),
    ]
    if parts.data_diff_file:
        files.insert(2, (parts.data_diff_file, "the data diff"))
    out = ["## Files", ""]
    out += [f"- {md_link(name, name)}: {what}" for name, what in files]
    if parts.service_files:
        links = ", ".join(md_link(name, path) for name, path in sorted(parts.service_files.items()))
        out.append(f"- each service's lines: {links}")
    out.append("")
    problems = parts.context.problems
    if problems:
        out += ["Not in this bundle:", "", *(f"- {md_text(problem)}" for problem in problems), ""]
    return out


def _versions(parts: ReadmeParts) -> list[str]:
    versions = parts.context.versions
    docker = versions.get("docker") or {}
    line = f"envdeck {md_text(str(versions.get('envdeck', '?')))}"
    if docker:
        line += (
            f", Docker Engine {md_text(str(docker.get('Version', '?')))}"
            f" (API {md_text(str(docker.get('ApiVersion', '?')))})"
        )
    if versions.get("compose"):
        line += f", Compose {md_text(str(versions['compose']))}"
    return ["## Versions", "", f"{line}. Images: {md_link(layout.VERSIONS, layout.VERSIONS)}."]


def index_readme(entries: Sequence[tuple[FinishedEvent, str]]) -> str:
    """The README of a `--bundle DIR`: one line per failure, linking its bundle."""
    out = [f"# envdeck failure bundles: {len(entries)}", ""]
    for result, folder in entries:
        headline = failure_headline(result)
        said = f": {md_text(headline)}" if headline else ""
        out.append(f"- {md_link(result.nodeid, folder + '/' + layout.README)}{said}")
    out += ["", "Open them all: `envdeck bundle open <this folder>`.", ""]
    return "\n".join(out)
