"""The test runner's pure parts: the tree, the wire format, outcomes from pytest's reports,
the bounded buffers, the headless lines and the /proc bookkeeping, without running pytest."""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pytest

from tui.core.log_buffer import as_timestamp
from tui.core.testrun import command, pytest_plugin
from tui.core.testrun.buffers import EventChannel, LineSplitter, OutputRing
from tui.core.testrun.events import (
    CapturedSection,
    CollectedEvent,
    CollectErrorEvent,
    CollectionFinishedEvent,
    EventFormatError,
    FinishedEvent,
    OutputEvent,
    SessionFinishedEvent,
    SessionStartedEvent,
    StartedEvent,
    TestEvent,
    parse_event,
)
from tui.core.testrun.model import (
    CollectedTree,
    CollectError,
    Outcome,
    OutcomeCounts,
    TestItem,
    utc_timestamp,
)
from tui.core.testrun.printer import format_event, format_failure
from tui.core.testrun.processes import (
    ProcessInfo,
    ancestors,
    descendants,
    environment_has,
    list_processes,
    parse_stat,
)
from tui.core.testrun.progress import RunProgress

PLUGIN_SOURCE = Path(pytest_plugin.__file__)


def item(nodeid: str, **overrides: Any) -> TestItem:
    """A TestItem whose fields follow from its node id, as the plugin would send them."""
    path, *inner = nodeid.split("::")
    name, _, params = inner[-1].partition("[")
    fields: dict[str, Any] = {
        "nodeid": nodeid,
        "file": path,
        "cls": "::".join(inner[:-1]) or None,
        "name": name,
        "params": params[:-1] if params else None,
        "markers": (),
        "lineno": 1,
    }
    return TestItem(**{**fields, **overrides})


# ---------------------------------------------------------------- the tree


def test_tree_groups_file_class_function_and_counts() -> None:
    tree = CollectedTree(
        (
            item("tests/test_a.py::test_one"),
            item("tests/test_a.py::test_add[1-2]"),
            item("tests/test_a.py::test_add[neg]"),
            item("tests/test_a.py::TestOuter::TestInner::test_deep"),
            item("tests/test_a.py::TestOuter::test_shallow"),
            item("tests/test_b.py::test_two"),
        ),
        (CollectError("tests/test_broken.py", "SyntaxError: invalid syntax"),),
    )
    a, b, broken = tree.files()

    assert (a.kind, a.name, a.nodeid, a.count) == ("file", "tests/test_a.py", "tests/test_a.py", 5)
    one, add, outer = a.children
    assert (one.kind, one.name, one.count, one.item) == ("test", "test_one", 1, tree.items[0])
    assert (add.kind, add.nodeid, add.count) == ("function", "tests/test_a.py::test_add", 2)
    assert [(c.name, c.nodeid) for c in add.children] == [
        ("1-2", "tests/test_a.py::test_add[1-2]"),
        ("neg", "tests/test_a.py::test_add[neg]"),
    ]
    assert (outer.kind, outer.nodeid, outer.count) == ("class", "tests/test_a.py::TestOuter", 2)
    inner = outer.children[0]
    assert (inner.kind, inner.nodeid) == ("class", "tests/test_a.py::TestOuter::TestInner")
    assert [node.name for node in outer.walk()] == [
        "TestOuter",
        "TestInner",
        "test_deep",
        "test_shallow",
    ]
    assert b.count == 1
    assert (broken.kind, broken.count, broken.error) == ("file", 0, "SyntaxError: invalid syntax")
    assert list(a.items()) == list(tree.items[:5])
    assert tree.count == 6
    assert tree.item("tests/test_b.py::test_two") == tree.items[5]
    assert tree.item("nope") is None


def test_a_class_and_a_function_of_one_name_stay_apart() -> None:
    tree = CollectedTree(
        (item("t.py::TestX::test_a"), item("t.py::TestX[1]", cls=None, name="TestX"))
    )
    (file,) = tree.files()
    assert [(n.kind, n.name) for n in file.children] == [("class", "TestX"), ("function", "TestX")]


def test_tests_of_one_class_apart_in_the_order_still_share_its_node() -> None:
    # pytest-randomly and -p orderings interleave files and classes: each keeps one node.
    order = [
        "a.py::TestX::test_1",
        "a.py::test_f[1]",
        "b.py::TestX::test_1",
        "a.py::TestX::TestY::test_2",
        "a.py::TestX::test_3",
        "a.py::test_f[2]",
    ]
    a, b = CollectedTree(tuple(item(nodeid) for nodeid in order)).files()
    assert [(n.kind, n.name, n.count) for n in a.children] == [
        ("class", "TestX", 3),
        ("function", "test_f", 2),
    ]
    assert [n.nodeid for n in a.children[0].walk()] == [
        "a.py::TestX",
        "a.py::TestX::test_1",
        "a.py::TestX::TestY",
        "a.py::TestX::TestY::test_2",
        "a.py::TestX::test_3",
    ]
    assert (b.count, b.children[0].nodeid) == (1, "b.py::TestX")


def test_item_label_and_empty_tree() -> None:
    assert item("t.py::test_add[1-2]").label == "test_add[1-2]"
    assert item("t.py::test_plain").label == "test_plain"
    assert CollectedTree().files() == ()


# ---------------------------------------------------------------- outcomes


def test_outcome_counts_read_like_pytest() -> None:
    counts = OutcomeCounts.of(
        [Outcome.PASSED, Outcome.FAILED, Outcome.PASSED, Outcome.ERROR, Outcome.RUNNING]
    )
    assert counts == OutcomeCounts(passed=2, failed=1, error=1)
    assert counts.total == 4
    assert counts.summary() == "1 failed, 2 passed, 1 error"
    assert OutcomeCounts(error=2, xfailed=1).summary() == "1 xfailed, 2 errors"
    assert OutcomeCounts().summary() == "no tests ran"
    assert OutcomeCounts(skipped=3).as_dict()["skipped"] == 3


def test_timestamps_are_utc_microseconds_that_docker_takes() -> None:
    stamp = utc_timestamp(1_700_000_000.123456)
    assert stamp == "2023-11-14T22:13:20.123456Z"
    assert as_timestamp(stamp) == "2023-11-14T22:13:20.123456000Z"
    assert pytest_plugin.utc_iso(1_700_000_000.123456) == stamp


# ---------------------------------------------------------------- the wire format

FINISHED: dict[str, Any] = {
    "kind": "finished",
    "nodeid": "t.py::test_a",
    "outcome": "failed",
    "duration": 0.5,
    "when": "call",
    "longrepr": "E   assert 1 == 2",
    "reason": "",
    "sections": [["Captured stdout call", "hi\n"], ["Captured log setup", "INFO x"]],
    "start": "2026-01-02T03:04:05.000001Z",
    "stop": "2026-01-02T03:04:05.500001Z",
}
WIRE_ITEM = {
    "nodeid": "t.py::test_a[1]",
    "file": "t.py",
    "cls": None,
    "name": "test_a",
    "params": "1",
    "markers": ["slow"],
    "lineno": 3,
}
ALL_ONES = {o.value: 1 for o in Outcome if o is not Outcome.RUNNING}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"kind": "session_started", "pytest_version": "9.0", "rootdir": "/p", "pid": 7},
            SessionStartedEvent("9.0", "/p", 7),
        ),
        (
            {"kind": "collected", "items": [WIRE_ITEM]},
            CollectedEvent((item("t.py::test_a[1]", markers=("slow",), lineno=3),)),
        ),
        (
            {"kind": "collect_error", "nodeid": "t.py", "longrepr": "boom"},
            CollectErrorEvent("t.py", "boom"),
        ),
        (
            {"kind": "collection_finished", "count": 3, "deselected": 1, "errors": 0},
            CollectionFinishedEvent(3, 1, 0),
        ),
        (
            {"kind": "started", "nodeid": "t.py::a", "start": "s", "start_monotonic": 12},
            StartedEvent("t.py::a", "s", 12.0),
        ),
        (
            {"kind": "session_finished", "exit_code": 1, "duration": 2, "counts": ALL_ONES},
            SessionFinishedEvent(1, OutcomeCounts(1, 1, 1, 1, 1, 1), 2.0),
        ),
    ],
)
def test_wire_objects_become_events(data: dict[str, Any], expected: TestEvent) -> None:
    assert parse_event(data) == expected


def test_a_finished_event_keeps_failure_sections_and_window() -> None:
    event = parse_event(FINISHED)
    assert isinstance(event, FinishedEvent)
    assert (event.outcome, event.when, event.interrupted) == (Outcome.FAILED, "call", False)
    assert event.sections == (
        CapturedSection("Captured stdout call", "hi\n"),
        CapturedSection("Captured log setup", "INFO x"),
    )
    assert [(s.stream, s.when) for s in event.sections] == [("stdout", "call"), ("log", "setup")]
    assert CapturedSection("Captured nonsense", "").when is None


@pytest.mark.parametrize(
    "broken",
    [
        {"kind": "nope"},
        {"nodeid": "t.py"},
        {**FINISHED, "outcome": "exploded"},
        {**FINISHED, "when": "lunch"},
        {**FINISHED, "duration": "slow"},
        {**FINISHED, "duration": True},
        {**FINISHED, "nodeid": 3},
        {**FINISHED, "sections": [["title"]]},
        {"kind": "collected", "items": [{"nodeid": "t.py::a"}]},
        {"kind": "collected", "items": ["t.py::a"]},
        {"kind": "started", "nodeid": "t.py::a", "start": "s"},
    ],
)
def test_malformed_wire_objects_are_refused(broken: dict[str, Any]) -> None:
    with pytest.raises(EventFormatError):
        parse_event(broken)


# ---------------------------------------------------------------- outcomes from reports


def report(
    when: Literal["setup", "call", "teardown"],
    outcome: Literal["passed", "failed", "skipped"],
    longrepr: str | tuple[str, int, str] | None = None,
    *,
    sections: Sequence[tuple[str, str]] = (),
    wasxfail: str | None = None,
) -> pytest.TestReport:
    location = ("t.py", 0, "test_a")
    built = pytest.TestReport(
        "t.py::test_a", location, {}, outcome, longrepr, when, sections, duration=0.25
    )
    if wasxfail is not None:
        built.__dict__["wasxfail"] = wasxfail  # as pytest's skipping plugin marks it
    return built


def summarize(*reports: pytest.TestReport) -> dict[str, Any]:
    event = pytest_plugin.finished_event("t.py::test_a", reports, 10.0, 11.5)
    assert parse_event(event)  # what the plugin writes, the runner reads
    return event


def test_a_passing_test_is_one_finished_event() -> None:
    event = summarize(
        report("setup", "passed"), report("call", "passed"), report("teardown", "passed")
    )
    assert (event["outcome"], event["when"], event["longrepr"]) == ("passed", None, "")
    assert event["duration"] == 0.75
    assert (event["start"], event["stop"]) == (utc_timestamp(10.0), utc_timestamp(11.5))


def test_failures_name_their_phase_and_keep_every_traceback() -> None:
    out = [("Captured stdout call", "printed")]
    failed = summarize(
        report("setup", "passed"),
        report("call", "failed", "E  assert 1 == 2", sections=out),
        report("teardown", "failed", "E  RuntimeError: close", sections=out),
    )
    assert (failed["outcome"], failed["when"]) == ("failed", "call")
    assert "assert 1 == 2" in failed["longrepr"]
    assert "RuntimeError: close" in failed["longrepr"]
    assert failed["sections"] == out

    setup = summarize(report("setup", "failed", "fixture broke"), report("teardown", "passed"))
    assert (setup["outcome"], setup["when"], setup["longrepr"]) == (
        "error",
        "setup",
        "fixture broke",
    )

    teardown = summarize(
        report("setup", "passed"), report("call", "passed"), report("teardown", "failed", "leak")
    )
    assert (teardown["outcome"], teardown["when"]) == ("error", "teardown")


def test_skip_xfail_and_xpass_come_from_wasxfail() -> None:
    skipped = summarize(report("setup", "skipped", ("t.py", 3, "Skipped: no redis")))
    assert (skipped["outcome"], skipped["reason"], skipped["sections"]) == (
        "skipped",
        "no redis",
        [],
    )

    xfailed = summarize(
        report("setup", "passed"),
        report("call", "skipped", "E  assert 0", wasxfail="known bug"),
        report("teardown", "passed"),
    )
    assert (xfailed["outcome"], xfailed["reason"]) == ("xfailed", "known bug")
    assert "assert 0" in xfailed["longrepr"]

    xpassed = summarize(report("setup", "passed"), report("call", "passed", wasxfail="flaky"))
    assert (xpassed["outcome"], xpassed["reason"]) == ("xpassed", "flaky")


def test_long_text_is_clipped_head_and_tail() -> None:
    text = "A" * 1000 + "B" * 1000
    clipped = pytest_plugin.clip(text, 400)
    assert clipped.startswith("A" * 100)
    assert clipped.endswith("B" * 300)
    assert "1600 characters cut" in clipped
    assert pytest_plugin.clip("short", 400) == "short"
    assert pytest_plugin.clean("bad \udcff byte") == "bad ? byte"


def test_the_plugin_needs_only_the_standard_library_and_pytest_on_python_3_8() -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(PLUGIN_SOURCE.read_text(), feature_version=(3, 8))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - sys.stdlib_module_names == {"pytest"}


def test_plugin_and_runner_agree_on_their_environment_variables() -> None:
    assert pytest_plugin.EVENTS_FD_ENV == command.EVENTS_FD_ENV
    assert pytest_plugin.EVENTS_PATH_ENV == command.EVENTS_PATH_ENV
    assert pytest_plugin.SUBREAPER_ENV == command.SUBREAPER_ENV
    directory = command.plugin_directory()
    assert sorted(p.name for p in directory.iterdir() if p.suffix == ".py") == [
        f"{command.PLUGIN_MODULE}.py",
        f"{command.WARM_HELPER_MODULE}.py",
    ]
    assert (directory / f"{command.PLUGIN_MODULE}.py").read_bytes() == PLUGIN_SOURCE.read_bytes()


def test_the_environment_adds_the_plugin_without_losing_the_projects_path() -> None:
    env = command.pytest_environment({"PYTHONPATH": "/src", "ENVDECK_EVENTS_PATH": "x"}, 9, "id")
    assert env["PYTHONPATH"] == f"{command.plugin_directory()}{os.pathsep}/src"
    assert (env["ENVDECK_EVENTS_FD"], env["ENVDECK_TESTRUN_ID"]) == ("9", "id")
    assert "ENVDECK_EVENTS_PATH" not in env
    argv = command.pytest_command("py", nodeids=["t.py::a"], last_failed=True, extra_args=["-x"])
    assert argv == ["py", "-m", "pytest", "-p", command.PLUGIN_MODULE, "--lf", "-x", "t.py::a"]


def test_the_runner_core_imports_no_textual_or_rich() -> None:
    code = (
        "import sys, tui.core.testrun, tui.core.testrun.discovery\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'pytest')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"  # nor pytest: the plugin is for the project's process


# ---------------------------------------------------------------- bounded buffers


def test_the_output_ring_keeps_only_the_newest_bytes() -> None:
    ring = OutputRing(10)
    for chunk in (b"abcdef", b"ghij", b"klm"):
        ring.append(chunk)
    assert (ring.data(), ring.size, ring.dropped) == (b"defghijklm", 10, 3)
    ring.append(b"x" * 25)
    assert (ring.data(), ring.dropped) == (b"x" * 10, 28)


def test_the_output_ring_never_shows_half_a_character() -> None:
    ring = OutputRing(4)
    ring.append("aé€".encode())  # 1 + 2 + 3 bytes: the last 4 begin inside "é"
    assert ring.text() == "€"


def test_lines_split_across_chunks_and_oversized_lines_dropped() -> None:
    splitter = LineSplitter(max_line_bytes=8)
    assert splitter.feed(b'{"a"') == []
    assert splitter.feed(b":1}\n{") == [b'{"a":1}']
    assert splitter.feed(b"way too long") == []
    assert splitter.feed(b" still\nok\n") == [b"ok"]
    assert splitter.feed(b"123456789\nfine\n") == [b"fine"]
    assert splitter.dropped_lines == 2


async def test_the_channel_drops_console_output_beyond_its_budget_never_events() -> None:
    channel = EventChannel(max_pending_output=10)
    channel.put_output("12345678")
    channel.put_output("abcdef")  # over budget while the first waits: dropped
    channel.put(StartedEvent("t.py::a", "s", 0.0))
    first = await anext(channel)
    assert first == OutputEvent("12345678")
    channel.put_output("xyz")
    channel.close()
    rest = [event async for event in channel]
    assert rest == [StartedEvent("t.py::a", "s", 0.0), OutputEvent("xyz", skipped=6)]


async def test_a_waiting_consumer_wakes_for_each_event() -> None:
    channel = EventChannel(max_pending_output=10)
    waiting = asyncio.ensure_future(anext(channel))
    await asyncio.sleep(0)
    channel.put_output("hi")
    assert await waiting == OutputEvent("hi")


# ---------------------------------------------------------------- headless lines


def finished(**overrides: Any) -> FinishedEvent:
    event = parse_event({**FINISHED, **overrides})
    assert isinstance(event, FinishedEvent)
    return event


def test_each_outcome_is_one_plain_line() -> None:
    assert format_event(finished(outcome="passed", when=None, duration=0.123)) == (
        "PASSED t.py::test_a (0.12s)"
    )
    assert (
        format_event(finished(outcome="error", when="setup"))
        == "ERROR t.py::test_a (0.50s) at setup"
    )
    assert format_event(finished(outcome="xfailed", when=None, reason="bug 12")) == (
        "XFAIL t.py::test_a (0.50s) - bug 12"
    )
    assert format_event(finished(nodeid="t.py::test_\x1b[31m")) == "FAILED t.py::test_␛[31m (0.50s)"
    assert format_event(CollectErrorEvent("t.py", "x")) == "ERROR collecting t.py"
    assert format_event(CollectionFinishedEvent(4, 2, 1)) == (
        "collected 4 tests (2 deselected, 1 errors)"
    )
    end = SessionFinishedEvent(2, OutcomeCounts(passed=3, error=1), 1.5, cancelled=True)
    assert format_event(end) == "3 passed, 1 error in 1.50s (cancelled, exit code 2)"
    assert format_event(OutputEvent("raw")) is None
    assert format_event(StartedEvent("t.py::a", "s", 0.0)) is None


def test_a_failure_report_is_safe_multi_line_text() -> None:
    text = format_failure(finished(longrepr="E   assert 1\nE   \x07bell"))
    lines = text.splitlines()
    assert lines[0].startswith("____")
    assert "t.py::test_a" in lines[0]
    assert lines[1:3] == ["E   assert 1", "E   ␇bell"]
    assert lines[-2:] == ["---------- Captured log setup ----------", "INFO x"]
    assert "hi" in lines


# ---------------------------------------------------------------- /proc bookkeeping


def test_stat_lines_parse_even_with_hostile_command_names() -> None:
    fields = " ".join(["S", "1", "42", "42", *["0"] * 15, "987654", "0"])
    info = parse_stat(f"4242 (evil) (name) x) {fields}")
    assert info == ProcessInfo(pid=4242, ppid=1, pgid=42, sid=42, starttime=987654, state="S")


def test_descendants_and_ancestors_follow_parent_links() -> None:
    table = {
        pid: ProcessInfo(pid, ppid, pid, pid, 0, "S")
        for pid, ppid in [(1, 0), (10, 1), (11, 10), (12, 11), (20, 1), (13, 10)]
    }
    assert descendants([10], table) == {10, 11, 12, 13}
    assert descendants([99], table) == set()
    assert ancestors(12, table) == {12, 11, 10, 1}


def test_processes_are_read_from_a_proc_tree(tmp_path: Path) -> None:
    tail = " ".join(["0"] * 15)
    for pid, ppid in ((5, 1), (6, 5)):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(f"{pid} (py) S {ppid} 5 5 {tail} 77 0\n")
    (tmp_path / "6" / "environ").write_bytes(b"A=1\0ENVDECK_TESTRUN_ID=abc\0")
    (tmp_path / "self").mkdir()
    assert sorted(list_processes(tmp_path)) == [5, 6]
    assert list_processes(tmp_path)[6].starttime == 77
    assert environment_has(6, b"ENVDECK_TESTRUN_ID=abc", tmp_path)
    assert not environment_has(6, b"ENVDECK_TESTRUN_ID=ab", tmp_path)
    assert not environment_has(5, b"A=1", tmp_path)


# ---------------------------------------------------------------- progress


def test_progress_follows_each_test_and_finishes_the_ones_left_open() -> None:
    progress = RunProgress()
    started = StartedEvent("t.py::a", "2026-01-02T03:04:05.000000Z", 100.0)
    assert progress.apply(started) == started
    assert progress.outcomes == {"t.py::a": Outcome.RUNNING}
    assert progress.apply(StartedEvent("t.py::b", "s", 101.0))
    done = finished(nodeid="t.py::b")
    assert progress.apply(done) == done
    assert list(progress.running) == ["t.py::a"]
    assert progress.apply(SessionFinishedEvent(2, OutcomeCounts(), 1.0)) is None

    progress.stop_reason = "stopped by the user"
    (ended,) = progress.finish_open_tests(-9, now=1_700_000_000.0, monotonic=102.5)
    assert (ended.nodeid, ended.outcome, ended.when) == ("t.py::a", Outcome.ERROR, "call")
    assert (ended.reason, ended.interrupted, ended.duration) == ("stopped by the user", True, 2.5)
    assert (ended.start, ended.stop) == (started.start, utc_timestamp(1_700_000_000.0))
    assert progress.counts() == OutcomeCounts(failed=1, error=1)
    assert not progress.running


def test_an_interrupted_test_says_who_stopped_it() -> None:
    progress = RunProgress()
    progress.stop_reason = "stopped: t.py::test_a was hanging"
    shown = progress.apply(finished(outcome="error", interrupted=True, reason="interrupted"))
    assert isinstance(shown, FinishedEvent)
    assert shown.reason == "stopped: t.py::test_a was hanging"
    crashed = RunProgress()
    crashed.apply(StartedEvent("t.py::a", "s", 0.0))
    assert crashed.finish_open_tests(-11, 0.0, 1.0)[0].reason == (
        "pytest exited (-11) during this test"
    )
