"""Which pytest arguments are tests, and pytest's own words: the pure parts.

`selection_indices` is what our plugin runs inside pytest on pytest's own parser; here it
gets a parser with the same shape for the options of the examples (xdist's `-n`,
pytest-timeout's `--timeout`, pytest's `--ignore`, `--deselect`, `-p`, `-k`, `-W`, `-o`),
so the rule is tested without a pytest process. With a real pytest and the options its
plugins and a conftest add: tests/integration/test_pytest_speaks.py.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

import pytest

from tui.core.testrun.arguments import (
    PytestArguments,
    read_without_pytest,
    understood,
    whole_selection_instead,
)
from tui.core.testrun.events import ArgumentsEvent, SessionFinishedEvent
from tui.core.testrun.model import OutcomeCounts
from tui.core.testrun.pytest_plugin import arguments_event, selection_indices
from tui.core.testrun.pytest_words import headline, pytest_message


class RaisingParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ValueError(message)  # pytest's parser raises UsageError, never exits


class ExampleParser:
    """pytest's parser for a few options: `file_or_dir` is its positional."""

    def __init__(self) -> None:
        self.parser = RaisingParser(add_help=False)
        for flag in ("-x", "-q", "--lf"):
            self.parser.add_argument(flag, action="store_true")
        for option in ("-n", "--timeout", "-k", "--import-mode"):
            self.parser.add_argument(option)
        self.parser.add_argument("--durations", type=int)
        for option in ("--ignore", "--deselect", "-p", "-W", "-o"):
            self.parser.add_argument(option, action="append")
        self.parser.add_argument("file_or_dir", nargs="*")

    def parse_known_args(self, args: Sequence[str]) -> argparse.Namespace:
        namespace, unknown = self.parser.parse_known_args(list(args))
        namespace.file_or_dir += [arg for arg in unknown if not arg.startswith("-")]
        return namespace


def selection(args: list[str]) -> list[str]:
    found = selection_indices(ExampleParser(), args)
    assert found is not None
    return [args[index] for index in found]


@pytest.mark.parametrize(
    ("args", "tests"),
    [
        (["-n", "4", "tests"], ["tests"]),  # not `4`
        (["tests/transports/redis", "--timeout", "60", "-W", "ignore"], ["tests/transports/redis"]),
        (["--ignore", "tests/slow"], []),  # the ignored folder is not the selection
        (["--ignore", "tests/slow", "tests"], ["tests"]),
        (["--deselect", "tests/a.py::t", "tests/a.py"], ["tests/a.py"]),
        (["-p", "no:cacheprovider", "tests", "-k", "add"], ["tests"]),
        (["--durations", "3", "-o", "a=b", "--import-mode", "importlib", "t.py"], ["t.py"]),
        (["tests/a.py::t", "-k", "x", "-q", "tests/b", "--tb=short"], ["tests/a.py::t", "tests/b"]),
        (["-x", "--timeout=60"], []),
    ],
)
def test_the_selection_is_what_pytests_parser_leaves_for_file_or_dir(
    args: list[str], tests: list[str]
) -> None:
    assert selection(args) == tests


def test_a_word_that_is_both_a_value_and_a_test_counts_once() -> None:
    args = ["--deselect", "tests", "tests"]
    found = selection_indices(ExampleParser(), args)
    assert found is not None
    assert len(found) == 1
    assert PytestArguments(tuple(args), frozenset(found)).options == ["--deselect", "tests"]


def test_a_value_pytest_rejects_is_left_to_pytest_to_say() -> None:
    event = arguments_event(ExampleParser(), ["--durations", "abc"], ["--durations", "abc"])
    assert event["selection"] is None


def test_the_plugin_reports_positions_on_the_command_line_after_addopts() -> None:
    invocation = ["-p", "envdeck_testrun_plugin", "-n", "4", "tests"]
    # addopts (ini) and PYTEST_ADDOPTS come first in what pytest parses.
    event = arguments_event(ExampleParser(), ["-x", "unit", *invocation], invocation)
    assert event["selection"] == [4]
    assert event["args"] == invocation


def finished(exit_code: int, message: str = "", *, cancelled: bool = False) -> SessionFinishedEvent:
    return SessionFinishedEvent(exit_code, OutcomeCounts(), 0.5, cancelled, message)


def test_envdeck_puts_its_targets_in_place_of_the_selection_options_kept() -> None:
    args = ["-n", "4", "tests", "--ignore", "tests/slow", "-p", "no:cacheprovider"]
    reported = ArgumentsEvent(("-p", "envdeck_testrun_plugin", *args), (4,), "")
    arguments = understood(args, reported, finished(0))
    assert arguments.understood
    assert arguments.selection == ["tests"]
    assert arguments.targeting(["tests/test_a.py"]) == [
        "-n",
        "4",
        "--ignore",
        "tests/slow",
        "-p",
        "no:cacheprovider",
        "tests/test_a.py",
    ]


def test_when_pytest_cannot_say_nothing_is_taken_for_a_test() -> None:
    said = "ERROR: usage: pytest [options]\npytest: error: argument --durations: invalid int"
    arguments = understood(["--durations", "abc"], None, finished(4, said))
    assert not arguments.understood
    assert arguments.options == ["--durations", "abc"]
    assert arguments.why_unknown == "pytest: error: argument --durations: invalid int"
    assert arguments.refused == said


@pytest.mark.parametrize(
    ("args", "quick"),
    [
        ([], True),
        (["-x", "--timeout=60", "-q"], True),
        (["-k", "add"], False),  # `add` may be a value or a path: only pytest knows
        (["tests"], False),
        (["--", "-x"], False),
        (["-1"], False),
    ],
)
def test_only_arguments_with_no_bare_word_are_read_without_pytest(
    args: list[str], quick: bool
) -> None:
    read = read_without_pytest(args)
    assert (read is not None) == quick
    if read is not None:
        assert read.understood
        assert read.selection == []


CONFTEST_REFUSED = (
    "ImportError while loading conftest '/p/tests/sub/conftest.py'.\n"
    "tests/sub/conftest.py:1: in <module>\n"
    "    import optional_dep\n"
    "E   ModuleNotFoundError: No module named 'optional_dep'\n"
)


def test_a_watch_run_pytest_refused_is_followed_by_the_whole_selection() -> None:
    arguments = PytestArguments(("tests", "-x"), frozenset({0}))
    targets = ["tests/sub/test_b.py", "tests/test_a.py"]
    why = whole_selection_instead(targets, arguments, finished(4, CONFTEST_REFUSED))
    assert why == (
        "pytest refused tests/sub/test_b.py, tests/test_a.py (ImportError while loading"
        " conftest '/p/tests/sub/conftest.py'. — ModuleNotFoundError: No module named"
        " 'optional_dep')"
    )
    # Not when the run was the whole selection already, was cancelled, or was not refused.
    assert whole_selection_instead(["tests"], arguments, finished(4, CONFTEST_REFUSED)) is None
    assert whole_selection_instead([], arguments, finished(4, CONFTEST_REFUSED)) is None
    cancelled = finished(4, CONFTEST_REFUSED, cancelled=True)
    assert whole_selection_instead(targets, arguments, cancelled) is None
    assert whole_selection_instead(targets, arguments, finished(2, "Interrupted")) is None


SESSION_HEADER = (
    "============================= test session starts ==============================\n"
    "rootdir: /p\ncollected 0 items\n\n"
    "============================ no tests ran in 0.01s =============================\n"
)


def test_pytests_words_are_cut_by_its_own_marks() -> None:
    not_found = f"{SESSION_HEADER}ERROR: file or directory not found: tests/x.py\n\n"
    assert pytest_message(not_found, 4) == "ERROR: file or directory not found: tests/x.py"
    assert pytest_message(CONFTEST_REFUSED, 4) == CONFTEST_REFUSED.rstrip("\n")
    usage = (
        "ERROR: usage: pytest [options] [file_or_dir] [file_or_dir] [...]\n"
        "pytest: error: unrecognized arguments: --bogus-opt\n  inifile: None\n  rootdir: /p\n"
    )
    assert pytest_message(usage, 4) == usage.rstrip("\n")
    assert headline(usage, 4) == "pytest: error: unrecognized arguments: --bogus-opt"
    internal = "collected 1 item\nINTERNALERROR> Traceback\nINTERNALERROR> RuntimeError: boom\n"
    assert (
        pytest_message(internal, 3) == "INTERNALERROR> Traceback\nINTERNALERROR> RuntimeError: boom"
    )
    assert headline(pytest_message(internal, 3), 3) == "RuntimeError: boom"
    interrupted = (
        "E   SyntaxError\n"
        "=========================== short test summary info ============================\n"
        "ERROR tests/a.py\n"
        "!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!\n"
        "=============================== 1 error in 0.05s ===============================\n"
    )
    assert pytest_message(interrupted, 2).startswith("=====")
    assert "SyntaxError" not in pytest_message(interrupted, 2)  # the summary, not the report
    assert headline(pytest_message(interrupted, 2), 2) == "Interrupted: 1 error during collection"
    deselected = (
        "collected 3 items / 3 deselected / 0 selected\n\n===== 3 deselected in 0.01s =====\n"
    )
    assert (
        headline(pytest_message(deselected, 5), 5)
        == "collected 3 items / 3 deselected / 0 selected"
    )
    assert pytest_message(not_found, 1) == ""
    assert pytest_message(not_found, 0) == ""


def test_a_long_message_keeps_its_head_and_its_end() -> None:
    lines = [f"INTERNALERROR> line {n}" for n in range(100)]
    message = pytest_message("\n".join(lines), 3).splitlines()
    assert len(message) == 40
    assert message[0] == "INTERNALERROR> line 0"
    assert message[-1] == "INTERNALERROR> line 99"
    assert "61 lines more" in message[1]
