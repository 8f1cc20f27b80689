"""The events of a test run, and their wire format.

Events reach envdeck as JSON lines written by our pytest plugin (`pytest_plugin.py`, which
runs in the project's own interpreter and so cannot import this module); `parse_event`
turns each line's object into one of the frozen dataclasses here. Timestamps are UTC,
ISO 8601 with microseconds and a `Z` (`2026-01-02T03:04:05.123456Z`): what Docker's
`since`/`until` and `tui.core.log_buffer.as_timestamp` take.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from tui.core.testrun.model import FINAL_OUTCOMES, PHASES, Outcome, OutcomeCounts, Phase, TestItem

_T = TypeVar("_T")


class EventFormatError(ValueError):
    """A line from the plugin that is not one of our events."""


@dataclass(frozen=True, slots=True)
class SessionStartedEvent:
    """The plugin is loaded and pytest's session began."""

    kind: ClassVar[str] = "session_started"
    pytest_version: str
    rootdir: str
    pid: int


@dataclass(frozen=True, slots=True)
class ArgumentsEvent:
    """How pytest reads a command line: only from a run made to ask (`arguments.py`)."""

    kind: ClassVar[str] = "arguments"
    args: tuple[str, ...]  # the command line after `python -m pytest`
    selection: tuple[int, ...] | None  # positions pytest takes as tests; None: cannot tell
    problem: str  # why it cannot tell


@dataclass(frozen=True, slots=True)
class CollectedEvent:
    """Some of the collected tests (a large collection arrives in several events)."""

    kind: ClassVar[str] = "collected"
    items: tuple[TestItem, ...]


@dataclass(frozen=True, slots=True)
class CollectErrorEvent:
    kind: ClassVar[str] = "collect_error"
    nodeid: str
    longrepr: str


@dataclass(frozen=True, slots=True)
class CollectionFinishedEvent:
    kind: ClassVar[str] = "collection_finished"
    count: int  # tests selected to run
    deselected: int
    errors: int


@dataclass(frozen=True, slots=True)
class StartedEvent:
    kind: ClassVar[str] = "started"
    nodeid: str
    start: str  # wall clock, UTC ISO
    start_monotonic: float  # time.monotonic() in pytest's process: CLOCK_MONOTONIC, system-wide


@dataclass(frozen=True, slots=True)
class CapturedSection:
    title: str  # pytest's: "Captured stdout call", "Captured log setup"
    text: str  # clipped by the plugin (head and tail kept) past 256 KiB

    @property
    def stream(self) -> str:
        """ "stdout", "stderr" or "log" ("" for a section a plugin named otherwise)."""
        words = self.title.split()
        return words[1] if len(words) == 3 and words[0] == "Captured" else ""

    @property
    def when(self) -> Phase | None:
        last = self.title.rsplit(" ", 1)[-1]
        return next((phase for phase in PHASES if phase == last), None)


@dataclass(frozen=True, slots=True)
class PhaseTime:
    """When one phase of a test ran (wall clock, UTC ISO): its captured output is from then."""

    when: Phase
    start: str
    stop: str


@dataclass(frozen=True, slots=True)
class FinishedEvent:
    """A test is done, setup to teardown: one event, however many phases failed."""

    kind: ClassVar[str] = "finished"
    nodeid: str
    outcome: Outcome
    duration: float  # seconds, setup + call + teardown
    when: Phase | None  # the first phase that failed or errored; None otherwise
    longrepr: str  # traceback and assertion diff as pytest renders them; later failures appended
    reason: str  # why it was skipped / xfailed / xpassed, or why it was stopped
    sections: tuple[CapturedSection, ...]  # captured output, for failed and error only
    start: str  # wall clock before setup, UTC ISO: with `stop`, the window for service logs
    stop: str  # wall clock after teardown (or when it was stopped)
    interrupted: bool = False  # the run ended during this test (cancel, stop_test, crash)
    # Where the failure happened in time, to place it among the service logs (marks.py):
    # each phase's own times, when the first failing phase raised, and what it raised.
    phases: tuple[PhaseTime, ...] = ()
    failed_at: str = ""  # wall clock, UTC ISO; "" when not failed or not told
    exception: str = ""  # the exception's type name ("AssertionError"); "" when not told


@dataclass(frozen=True, slots=True)
class SessionFinishedEvent:
    """The last event of every run, written by the runner once pytest's process is gone."""

    kind: ClassVar[str] = "session_finished"
    exit_code: int  # pytest's exit status; negative: killed by that signal
    counts: OutcomeCounts
    duration: float  # seconds from spawn to exit
    cancelled: bool = False
    # pytest's own words when it exited 2-5 (a usage error, an internal error, why nothing
    # ran), cut from its output by the runner (`pytest_words.py`); "" otherwise.
    message: str = ""


@dataclass(frozen=True, slots=True)
class OutputEvent:
    """A chunk of pytest's console output (stdout and stderr merged, as a terminal shows
    them). Raw text: make it safe (`tui.core.text.safe_text`) before displaying it."""

    kind: ClassVar[str] = "output"
    text: str
    skipped: int = 0  # characters dropped just before this chunk: the consumer fell behind


TestEvent = (
    ArgumentsEvent
    | SessionStartedEvent
    | CollectedEvent
    | CollectErrorEvent
    | CollectionFinishedEvent
    | StartedEvent
    | FinishedEvent
    | SessionFinishedEvent
    | OutputEvent
)


# ---------------------------------------------------------------- the wire format


def parse_event(data: Mapping[str, Any]) -> TestEvent:
    """One of the plugin's JSON objects as an event; EventFormatError if it is not one."""
    kind = data.get("kind")
    parse = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parse is None:
        raise EventFormatError(f"unknown event kind: {kind!r}")
    try:
        return parse(_Fields(data))
    except (KeyError, TypeError, ValueError) as error:
        raise EventFormatError(f"malformed {kind} event: {error}") from None


@dataclass(frozen=True)
class _Fields:
    """Typed access to a wire object's fields: a wrong type is a ValueError."""

    data: Mapping[str, Any]

    def text(self, key: str) -> str:
        return _typed(self.data[key], str, key)

    def optional_text(self, key: str) -> str | None:
        value = self.data.get(key)
        return None if value is None else _typed(value, str, key)

    def integer(self, key: str) -> int:
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{key} is not an integer")
        return value

    def number(self, key: str) -> float:
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} is not a number")
        return float(value)

    def array(self, key: str) -> list[Any]:
        return _typed(self.data.get(key) or [], list, key)


def _typed(value: object, kind: type[_T], key: str) -> _T:
    if not isinstance(value, kind):
        raise ValueError(f"{key} is not a {kind.__name__}")
    return value


def _item(data: Mapping[str, Any]) -> TestItem:
    """A collected test. A collection brings one per test (10,000 in a large suite), so the
    usual shape, which json.loads gives exact types, is checked in one expression; anything
    else goes through the field-by-field checks that say what is wrong."""
    fields = _typed(data, dict, "item")
    nodeid, file, name = fields["nodeid"], fields["file"], fields["name"]
    cls, params, lineno = fields.get("cls"), fields.get("params"), fields.get("lineno")
    markers = fields.get("markers") or []
    if (
        type(nodeid) is str
        and type(file) is str
        and type(name) is str
        and (cls is None or type(cls) is str)
        and (params is None or type(params) is str)
        and (lineno is None or type(lineno) is int)
        and type(markers) is list
        and all(type(marker) is str for marker in markers)
    ):
        return TestItem(nodeid, file, cls, name, params, tuple(markers), lineno)
    return _checked_item(fields)


def _checked_item(data: Mapping[str, Any]) -> TestItem:
    f = _Fields(data)
    lineno = f.data.get("lineno")
    return TestItem(
        nodeid=f.text("nodeid"),
        file=f.text("file"),
        cls=f.optional_text("cls"),
        name=f.text("name"),
        params=f.optional_text("params"),
        markers=tuple(_typed(m, str, "markers") for m in f.array("markers")),
        lineno=f.integer("lineno") if lineno is not None else None,
    )


def _phase(value: str | None) -> Phase | None:
    if value is None:
        return None
    phase = next((p for p in PHASES if p == value), None)
    if phase is None:
        raise ValueError(f"unknown phase {value!r}")
    return phase


def _finished(f: _Fields) -> FinishedEvent:
    sections = tuple(
        CapturedSection(_typed(title, str, "section"), _typed(text, str, "section"))
        for title, text in f.array("sections")
    )
    return FinishedEvent(
        nodeid=f.text("nodeid"),
        outcome=Outcome(f.text("outcome")),
        duration=f.number("duration"),
        when=_phase(f.optional_text("when")),
        longrepr=f.text("longrepr"),
        reason=f.text("reason"),
        sections=sections,
        start=f.text("start"),
        stop=f.text("stop"),
        interrupted=bool(f.data.get("interrupted", False)),
        phases=tuple(_phase_time(p) for p in f.array("phases")),
        failed_at=f.optional_text("failed_at") or "",
        exception=f.optional_text("exception") or "",
    )


def _phase_time(value: object) -> PhaseTime:
    when, start, stop = _typed(value, list, "phases")
    phase = _phase(_typed(when, str, "phases"))
    if phase is None:  # never: a str is a phase or a ValueError
        raise ValueError("phases: no phase")
    return PhaseTime(phase, _typed(start, str, "phases"), _typed(stop, str, "phases"))


def finished_wire(event: FinishedEvent) -> dict[str, Any]:
    """`event` in the plugin's wire format: what `parse_event` reads back (a bundle keeps
    its failure so)."""
    return {
        "kind": event.kind,
        "nodeid": event.nodeid,
        "outcome": event.outcome.value,
        "duration": event.duration,
        "when": event.when,
        "longrepr": event.longrepr,
        "reason": event.reason,
        "sections": [[section.title, section.text] for section in event.sections],
        "start": event.start,
        "stop": event.stop,
        "interrupted": event.interrupted,
        "phases": [[phase.when, phase.start, phase.stop] for phase in event.phases],
        "failed_at": event.failed_at,
        "exception": event.exception,
    }


def _arguments(f: _Fields) -> ArgumentsEvent:
    selection = f.data.get("selection")
    return ArgumentsEvent(
        args=tuple(_typed(arg, str, "args") for arg in f.array("args")),
        selection=None
        if selection is None
        else tuple(_Fields({"at": at}).integer("at") for at in _typed(selection, list, "at")),
        problem=f.text("problem"),
    )


def _counts(f: _Fields) -> OutcomeCounts:
    counts = _Fields(_typed(f.data.get("counts") or {}, dict, "counts"))
    return OutcomeCounts(**{o.value: counts.integer(o.value) for o in FINAL_OUTCOMES})


_PARSERS: dict[str, Callable[[_Fields], TestEvent]] = {
    "arguments": _arguments,
    "session_started": lambda f: SessionStartedEvent(
        f.text("pytest_version"), f.text("rootdir"), f.integer("pid")
    ),
    "collected": lambda f: CollectedEvent(tuple(_item(i) for i in f.array("items"))),
    "collect_error": lambda f: CollectErrorEvent(f.text("nodeid"), f.text("longrepr")),
    "collection_finished": lambda f: CollectionFinishedEvent(
        f.integer("count"), f.integer("deselected"), f.integer("errors")
    ),
    "started": lambda f: StartedEvent(
        f.text("nodeid"), f.text("start"), f.number("start_monotonic")
    ),
    "finished": _finished,
    "session_finished": lambda f: SessionFinishedEvent(
        f.integer("exit_code"), _counts(f), f.number("duration"), bool(f.data.get("cancelled"))
    ),
}
