"""envdeck's pytest plugin: reports a run's events as they happen, one JSON object a line.

It runs inside the project's own interpreter, where envdeck is usually not installed, so it
needs nothing but the standard library and pytest, and keeps to Python 3.8 and pytest 7.
The runner (`tui.core.testrun.runner`) copies this file, alone, into a private directory it
puts on PYTHONPATH, under the name `envdeck_testrun_plugin`, and loads it with
`-p envdeck_testrun_plugin`: a name no project uses, in a directory holding nothing else,
so it shadows none of the project's modules. By hand:

    PYTHONPATH=<dir with envdeck_testrun_plugin.py> ENVDECK_EVENTS_PATH=events.jsonl \\
        python -m pytest -p envdeck_testrun_plugin

Events go to the inherited file descriptor in ENVDECK_EVENTS_FD (a pipe) or are appended to
the file in ENVDECK_EVENTS_PATH, never to stdout, so they cannot mix with the tests' own
output. Inside a container there is neither: with ENVDECK_EVENTS_FRAME=TOKEN they go to
stdout, each line framed by "\\x1eenvdeck-event:TOKEN " (`tui.core.testrun.frames` says
why and takes them apart), written to a copy of stdout taken when this module is imported,
before pytest's capture replaces it. Without any of these the plugin does nothing. The
field names are those of the dataclasses in `tui.core.testrun.model`, which parses them.

With ENVDECK_ARGS_ONLY=1 it runs no tests: it reports which of the command line's arguments
pytest takes as files, folders and node ids (its `file_or_dir`), read by pytest's own
parser with every option the installed plugins and the root conftest.py add, then stops
pytest before collection (`tui.core.testrun.arguments`).

One file (~540 lines) on purpose: it is copied alone into the user's interpreter, where it
can import nothing of envdeck, so it cannot be split into modules that import each other.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import inspect
import json
import os
import signal
import sys
import time
import types
from collections.abc import Generator, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

import pytest

# envdeck cancels a run the way Ctrl-C does (SIGINT, then SIGKILL after a grace). A process
# started in the background by a script inherits SIGINT ignored, and pytest would then be
# killed without its teardowns and session end; a run always takes SIGINT as pytest expects.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

EVENTS_FD_ENV = "ENVDECK_EVENTS_FD"
EVENTS_PATH_ENV = "ENVDECK_EVENTS_PATH"
EVENTS_FRAME_ENV = "ENVDECK_EVENTS_FRAME"  # a run's token: events framed on stdout (frames.py)
FRAME_START = b"\x1eenvdeck-event:"
SUBREAPER_ENV = "ENVDECK_SUBREAPER"  # "1": orphans of the run are re-parented to pytest
WARM_HELPER_MODULE = "envdeck_warm_helper"  # command.WARM_HELPER_MODULE
ARGS_ONLY_ENV = "ENVDECK_ARGS_ONLY"  # "1": report how pytest reads the arguments, then stop
FILE_OR_DIR = "file_or_dir"  # the dest of pytest's positional arguments
MAX_LONGREPR_CHARS = 1024 * 1024
MAX_SECTION_CHARS = 256 * 1024
ITEMS_PER_EVENT = 500  # a 20,000-test collection is 40 lines, not one huge one
# Marks that say how a test is built, not what it is about.
STRUCTURAL_MARKS = frozenset({"parametrize", "usefixtures", "filterwarnings"})
_PR_SET_CHILD_SUBREAPER = 36
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
PHASES = ("setup", "call", "teardown")
_FAILURES = ("failed", "error")


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller receives its reports and tells them
    sink = EventSink.from_environment()
    if sink is None:
        return
    if os.environ.get(SUBREAPER_ENV) == "1":
        become_subreaper()
    config.pluginmanager.register(EventReporter(sink), "envdeck-testrun-reporter")


@pytest.hookimpl(hookwrapper=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None, object, None]:
    # After the root conftest.py added its options; reported even when a conftest failed
    # to import (pytest then exits 4 and says why on its own).
    yield
    if os.environ.get(ARGS_ONLY_ENV) != "1" or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    sink = EventSink.from_environment()
    if sink is not None:
        sink.send(arguments_event(parser, list(args), list(early_config.invocation_params.args)))
        sink.close()


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if os.environ.get(ARGS_ONLY_ENV) == "1":
        return 0  # arguments only: no session
    # A prepared warm start (envdeck's warm_helper.py) waits here for its run, before
    # pytest_configure and the session: it returns to run them, or becomes a cold pytest.
    prepared = getattr(sys.modules.get(WARM_HELPER_MODULE), "PREPARED", None)
    if prepared is not None:
        prepared.wait_for_go(config)
    return None


class ArgumentParser(Protocol):
    """What is used of `pytest.Parser`: its public parse_known_args."""

    def parse_known_args(self, args: Sequence[str]) -> argparse.Namespace: ...


def arguments_event(
    parser: ArgumentParser, args: list[str], invocation: list[str]
) -> dict[str, Any]:
    """Which of `invocation` (the command line) pytest takes as tests to run. `args` is what
    pytest parses: PYTEST_ADDOPTS and the ini file's addopts, then the command line."""
    event: dict[str, Any] = {"kind": "arguments", "args": [clean(a) for a in invocation]}
    offset = len(args) - len(invocation)
    if offset < 0 or args[offset:] != invocation:
        return {**event, "selection": None, "problem": "pytest's arguments are not the command's"}
    try:
        found = selection_indices(parser, args)
    except Exception as error:  # a UsageError: pytest says it itself, in its own words
        return {**event, "selection": None, "problem": clean(str(error))}
    if found is None:
        return {**event, "selection": None, "problem": "pytest's reading is ambiguous"}
    return {**event, "selection": [i - offset for i in found if i >= offset], "problem": ""}


def selection_indices(parser: ArgumentParser, args: Sequence[str]) -> list[int] | None:
    """The positions of `args` pytest's parser takes as `file_or_dir`, or None if that cannot
    be told. A position counts when leaving it out changes nothing but `file_or_dir`: so
    `-n 4 tests` gives only `tests`, and `--ignore tests/slow` nothing."""
    whole = vars(parser.parse_known_args(list(args)))
    wanted = list(whole.pop(FILE_OR_DIR, None) or [])
    if not wanted:
        return []
    for backward in (False, True):  # the same word twice: either may be the option's value
        found = aligned(args, wanted, backward=backward)
        if found is None:
            continue
        rest = vars(parser.parse_known_args([a for i, a in enumerate(args) if i not in found]))
        if not rest.pop(FILE_OR_DIR, None) and rest == whole:
            return sorted(found)
    return None


def aligned(args: Sequence[str], wanted: list[str], *, backward: bool) -> set[int] | None:
    """Positions of `args` holding the words of `wanted` in order, the first ones that do
    (the last ones, `backward`); None if they are not all there."""
    order = range(len(args) - 1, -1, -1) if backward else range(len(args))
    queue = list(reversed(wanted)) if backward else list(wanted)
    found: set[int] = set()
    for index in order:
        if queue and args[index] == queue[0]:
            found.add(index)
            queue.pop(0)
    return None if queue else found


def become_subreaper() -> None:
    """Orphaned descendants (a daemon that double-forked, a child whose parent exited) are
    re-parented to pytest instead of init, so envdeck still finds them by parent pid."""
    if not sys.platform.startswith("linux"):
        return
    # Not fatal if it fails: envdeck also finds the run's processes by session and environment.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def framed_stdout() -> tuple[int, bytes] | None:
    """(a copy of stdout, the frame prefix) when asked for framed events. The token leaves
    the environment, so no test can print it, and no child process inherits it."""
    token = os.environ.pop(EVENTS_FRAME_ENV, "")
    if not token:
        return None
    try:
        return os.dup(1), FRAME_START + token.encode("ascii", "replace") + b" "
    except OSError:
        return None


# At import (`-p`), before pytest_load_initial_conftests starts capturing fd 1.
_framed_stdout = framed_stdout()


class EventSink:
    """Writes events to a file descriptor, whole lines (each after `prefix`), unbuffered."""

    def __init__(self, fd: int, prefix: bytes = b"") -> None:
        self._fd: int | None = fd
        self._prefix = prefix
        # Only this process writes events: a child that execs must not hold the pipe open.
        os.set_inheritable(fd, False)

    @classmethod
    def from_environment(cls) -> EventSink | None:
        global _framed_stdout
        if _framed_stdout is not None:  # taken once: a closed copy's number may be reused
            (fd_copy, prefix), _framed_stdout = _framed_stdout, None
            return cls(fd_copy, prefix)
        fd, path = os.environ.get(EVENTS_FD_ENV), os.environ.get(EVENTS_PATH_ENV)
        try:
            if fd:
                return cls(int(fd))
            if path:
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                return cls(os.open(path, flags, 0o600))
        except (OSError, ValueError) as error:
            sys.stderr.write(f"envdeck: test events cannot be reported: {error}\n")
        return None

    def send(self, event: dict[str, Any]) -> None:
        if self._fd is None:
            return
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
        data = memoryview(self._prefix + line.encode("utf-8"))
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError:
            self._fd = None  # envdeck went away: the run goes on, unreported

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)


class EventReporter:
    """The hooks. Each test's phase reports are gathered and sent as one `finished`."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._reports: dict[str, list[pytest.TestReport]] = {}
        self._started: dict[str, float] = {}  # node id -> wall clock at logstart
        self._raised: dict[str, str] = {}  # node id -> type name of its first exception
        self._counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self._deselected = 0
        self._collect_errors = 0
        self._session_start = time.monotonic()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._sink.send(
            {
                "kind": "session_started",
                "pytest_version": pytest.__version__,
                "rootdir": clean(str(session.config.rootpath)),
                "pid": os.getpid(),
            }
        )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._collect_errors += 1
            self._sink.send(
                {
                    "kind": "collect_error",
                    "nodeid": clean(report.nodeid),
                    "longrepr": clip(report.longreprtext, MAX_LONGREPR_CHARS),
                }
            )

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        self._deselected += len(items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # After every plugin's modifyitems (-k, -m, --lf): the tests that will run. First,
        # so envdeck has them before pytest prints them (10,000 lines with --collect-only).
        items = session.items
        describe = ItemDescriber()
        for start in range(0, len(items), ITEMS_PER_EVENT):
            chunk = items[start : start + ITEMS_PER_EVENT]
            self._sink.send({"kind": "collected", "items": [describe(i) for i in chunk]})
        self._sink.send(
            {
                "kind": "collection_finished",
                "count": len(items),
                "deselected": self._deselected,
                "errors": self._collect_errors,
            }
        )

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, Any, str]) -> None:
        now = time.time()
        self._started[nodeid] = now
        self._reports[nodeid] = []
        self._sink.send(
            {
                "kind": "started",
                "nodeid": clean(nodeid),
                "start": utc_iso(now),
                "start_monotonic": time.monotonic(),
            }
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._reports.setdefault(report.nodeid, []).append(report)

    def pytest_exception_interact(self, node: Any, call: Any, report: Any) -> None:
        # The one hook that sees the exception itself (a report holds only its text).
        excinfo = getattr(call, "excinfo", None)
        if isinstance(report, pytest.TestReport) and excinfo is not None:
            self._raised.setdefault(report.nodeid, str(excinfo.typename))

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, Any, str]) -> None:
        self._finish(nodeid, interrupted=False)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # Tests still open were cut short (KeyboardInterrupt skips their logfinish).
        for nodeid in list(self._started):
            self._finish(nodeid, interrupted=True)
        self._sink.send(
            {
                "kind": "session_finished",
                "exit_code": int(exitstatus),
                "counts": self._counts,
                "duration": time.monotonic() - self._session_start,
                "cancelled": False,
            }
        )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._sink.close()

    def _finish(self, nodeid: str, *, interrupted: bool) -> None:
        start = self._started.pop(nodeid, time.time())
        reports = self._reports.pop(nodeid, [])
        event = finished_event(
            nodeid, reports, start, time.time(), exception=self._raised.pop(nodeid, "")
        )
        if interrupted:
            event["interrupted"] = True
            if event["outcome"] == "passed":  # the phase that was cut short never reported
                phase = PHASES[min(len(reports), 2)]
                event.update(outcome="error", when=phase, reason="interrupted")
        self._counts[event["outcome"]] += 1
        self._sink.send(event)


class ItemDescriber:
    """Describes collected items as a `collected` event reports them, cheaply: a
    collection of 10,000 tests is described while the user waits for the tree.

    What the tests of one class or module share (the class chain, the marks they inherit)
    is worked out once per parent node; a test function's line is read from its code, as
    pytest's `item.location` finds it, without the path look-ups `location` also makes
    (0.45 s of a 10,000-test collection, bench/large_suite.py), and the tests of one
    parametrized function share it."""

    def __init__(self) -> None:
        # id(parent) -> (its class chain, the marks its tests inherit)
        self._parents: dict[int, tuple[str | None, list[str]]] = {}
        self._linenos: dict[tuple[object, ...], int | None] = {}

    def __call__(self, item: pytest.Item) -> dict[str, Any]:
        parent = item.parent
        classes: str | None = None
        inherited: list[str] = []
        if parent is None:  # never in pytest's own collection: described the long way
            own = [mark.name for mark in item.iter_markers()]
        else:
            shared = self._parents.get(id(parent))  # parents outlive this describer
            if shared is None:
                shared = self._parents[id(parent)] = (class_chain(parent), marks_of(parent))
            classes, inherited = shared
            own = [mark.name for mark in item.own_markers]
        # iter_markers' order: the item's own marks, then its parents', nearest first.
        markers = marks_named(own, inherited) if own else inherited
        callspec = getattr(item, "callspec", None)
        name = getattr(item, "originalname", None) or item.name
        if callspec is None:
            lineno = item_lineno(item)
        else:  # one function's tests: same parent, name and type
            key = (id(parent), type(item), name)
            if key not in self._linenos:
                self._linenos[key] = item_lineno(item)
            lineno = self._linenos[key]
        nodeid = item.nodeid
        return {
            "nodeid": clean(nodeid),
            "file": clean(nodeid.split("::", 1)[0]),
            "cls": classes,
            "name": clean(name),
            "params": clean(callspec.id) if callspec is not None else None,
            "markers": markers,
            "lineno": lineno + 1 if isinstance(lineno, int) else None,
        }


def class_chain(node: Any) -> str | None:
    """The classes in `node`'s chain, "TestOuter::TestInner"; None outside a class."""
    classes = [each.name for each in node.listchain() if isinstance(each, pytest.Class)]
    return clean("::".join(classes)) if classes else None


def marks_of(node: Any) -> list[str]:
    """The names of `node`'s marks and its parents', as iter_markers gives them."""
    return marks_named([mark.name for mark in node.iter_markers()], [])


def marks_named(names: Sequence[str], then: Sequence[str]) -> list[str]:
    """`names` then `then`, each once, in order, without the structural marks."""
    markers: list[str] = []
    for name in (*names, *then):
        if name not in STRUCTURAL_MARKS and name not in markers:
            markers.append(clean(name))
    return markers


_FUNCTION_REPORTINFO = pytest.Function.reportinfo


def item_lineno(item: pytest.Item) -> int | None:
    """pytest's 0-based line of the item (`item.location[1]`). For a test function whose
    report info is pytest's own, that is the first line of its unwrapped function's code
    (`_pytest._code.getfslineno`; a decorated function's first decorator): read from the
    code here, as `location` would also stat the file and make its path relative. Any
    other item, or a function pytest would place otherwise, is asked for its location."""
    # Whatever fails here, `location` says what pytest makes of it.
    with contextlib.suppress(Exception):
        if isinstance(item, pytest.Function) and type(item).reportinfo is _FUNCTION_REPORTINFO:
            function = item.obj
            if getattr(function, "compat_co_firstlineno", None) is None:  # pytest 7's nose
                function = inspect.unwrap(function)
                if isinstance(function, functools.partial):
                    function = function.func
                code = getattr(function, "__code__", None)
                if isinstance(code, types.CodeType) and not hasattr(function, "place_as"):
                    return code.co_firstlineno - 1
    return item.location[1]


def finished_event(
    nodeid: str,
    reports: Sequence[pytest.TestReport],
    start: float,
    stop: float,
    *,
    exception: str = "",
) -> dict[str, Any]:
    """One `finished` event from a test's setup, call and teardown reports.

    The first phase that failed decides (a failed call with a teardown error is "failed",
    when "call", both tracebacks kept); without a failure, the call's outcome does, or a
    setup that skipped.
    """
    outcome, when, reason, failed_at = "passed", None, "", ""
    failures: list[tuple[str, str]] = []
    for report in reports:  # in phase order
        phase_outcome, phase_reason = phase_result(report)
        if phase_outcome in _FAILURES:
            failures.append((report.when, report.longreprtext))
            if when is None:
                outcome, when, reason = phase_outcome, report.when, ""
                # The phase ended when it raised: the moment to mark among service logs.
                failed_at = utc_iso(report.stop) if getattr(report, "stop", 0) else ""
        elif when is None and phase_outcome != "passed":
            outcome, reason = phase_outcome, phase_reason  # skipped, xfailed, xpassed
    longrepr = failures_text(failures)
    if outcome == "xfailed" and not longrepr:
        longrepr = next((r.longreprtext for r in reports if r.when == "call"), "")
    return {
        "kind": "finished",
        "nodeid": clean(nodeid),
        "outcome": outcome,
        "duration": sum(report.duration for report in reports),
        "when": when,
        "longrepr": clip(longrepr, MAX_LONGREPR_CHARS),
        "reason": clean(reason),
        "sections": captured_sections(reports) if outcome in _FAILURES else [],
        "start": utc_iso(start),
        "stop": utc_iso(stop),
        "interrupted": False,
        "phases": [
            [r.when, utc_iso(r.start), utc_iso(r.stop)] for r in reports if getattr(r, "start", 0)
        ],
        "failed_at": failed_at,
        "exception": clean(exception) if failed_at else "",
    }


def phase_result(report: pytest.TestReport) -> tuple[str, str]:
    """(outcome, reason) of one phase, with xfail/xpass told by `wasxfail`."""
    wasxfail = getattr(report, "wasxfail", None)
    if report.failed:
        return ("failed" if report.when == "call" else "error"), ""
    if report.skipped:
        if wasxfail is not None:
            return "xfailed", str(wasxfail)
        return "skipped", skip_reason(report.longrepr)
    if wasxfail is not None and report.when == "call":
        return "xpassed", str(wasxfail)
    return "passed", ""


def skip_reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason[len("Skipped: ") :] if reason.startswith("Skipped: ") else reason
    return str(longrepr or "")


def failures_text(failures: Sequence[tuple[str, str]]) -> str:
    if len(failures) == 1:
        return failures[0][1]
    return "\n\n".join(f"{'_' * 20} {when} {'_' * 20}\n{text}" for when, text in failures)


def captured_sections(reports: Sequence[pytest.TestReport]) -> list[tuple[str, str]]:
    # Each phase's report carries the sections of the phases before it: the last is whole.
    sections = max((list(r.sections) for r in reports), key=len, default=[])
    return [(clean(title), clip(text, MAX_SECTION_CHARS)) for title, text in sections]


def clip(text: str, limit: int) -> str:
    """`text`, or its head and (longer) tail around a note of what was cut."""
    text = clean(text)
    if len(text) <= limit:
        return text
    head, tail = limit // 4, limit - limit // 4
    return f"{text[:head]}\n… [{len(text) - limit} characters cut by envdeck] …\n{text[-tail:]}"


def clean(text: str) -> str:
    """Lone surrogates (from undecodable bytes) replaced, so the line always encodes."""
    if text.isascii():  # nearly always: no surrogate to replace
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def utc_iso(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)  # noqa: UP017 (Python 3.8)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
