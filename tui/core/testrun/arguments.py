"""Which of a project's pytest arguments are tests to run, as pytest itself reads them.

envdeck puts its own targets (the tests a save affects, the ones selected in the tree, the
failures) in place of the arguments' selection, and keeps every option with its value. Only
pytest knows which word is which: `-n 4 tests` selects `tests` (4 is xdist's), `--ignore
tests/slow` selects nothing, and a conftest.py may add options of its own. So envdeck asks
it: our plugin, with ENVDECK_ARGS_ONLY=1, reads the command line with pytest's own parser
(every installed plugin's options and the root conftest's) and reports the positions of
`file_or_dir`, and pytest stops before collecting. Arguments where no word can be a test
(`-x`, `--timeout=60`) need no asking.

A run of the arguments as given is always theirs, verbatim; only a run of other targets
needs the reading.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.core.testrun.events import ArgumentsEvent, SessionFinishedEvent
from tui.core.testrun.place import RunPlace
from tui.core.testrun.pytest_words import headline
from tui.core.testrun.runner import TestRun, TestRunError

ARGS_ONLY_ENV = "ENVDECK_ARGS_ONLY"  # pytest_plugin.py has the same
READ_TIMEOUT = 60.0  # pytest's start-up with the project's plugins and root conftest
PLUGIN_ARGS = 2  # `-p envdeck_testrun_plugin`, before the arguments (command.py)
USAGE_ERROR = 4
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")  # argparse may take one as positional


@dataclass(frozen=True)
class PytestArguments:
    """pytest arguments, and which of them pytest takes as files, folders and node ids."""

    args: tuple[str, ...]
    selection_at: frozenset[int] | None  # positions of the selection; None: pytest did not say
    why_unknown: str = ""  # why pytest did not say
    refused: str = ""  # pytest's own words, when it refused these arguments outright

    @property
    def understood(self) -> bool:
        return self.selection_at is not None

    @property
    def selection(self) -> list[str]:
        """The files, folders and node ids in the arguments, in their order."""
        at = self.selection_at or frozenset()
        return [arg for index, arg in enumerate(self.args) if index in at]

    @property
    def options(self) -> list[str]:
        """Everything else, each option with its value, in order; all the arguments when
        pytest did not say (then a run of other targets runs the selection too)."""
        at = self.selection_at or frozenset()
        return [arg for index, arg in enumerate(self.args) if index not in at]

    def targeting(self, targets: Sequence[str]) -> list[str]:
        """The arguments for a run of `targets` instead of the selection."""
        return [*self.options, *targets]


def read_without_pytest(args: Sequence[str]) -> PytestArguments | None:
    """The answer when no argument can be a test: each one an option (`-x`, `--tb=short`,
    never a bare word, which may be a value or a path); None when pytest must be asked."""
    if all(arg.startswith("-") and arg != "--" and not _NEGATIVE_NUMBER.match(arg) for arg in args):
        return PytestArguments(tuple(args), frozenset())
    return None


async def read_arguments(
    project_dir: Path | str,
    python: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = READ_TIMEOUT,
    place: RunPlace | None = None,
) -> PytestArguments:
    """How the project's pytest reads `args`: asked of pytest unless `read_without_pytest`
    can tell. Never raises: when pytest cannot say, the answer says why. `place`: where
    pytest runs (`tui.core.testrun.place`); unset: `python` here."""
    quick = read_without_pytest(args)
    if quick is not None:
        return quick
    reported: ArgumentsEvent | None = None
    run = TestRun(
        project_dir,
        python=python,
        extra_args=args,
        env={**(env or {}), ARGS_ONLY_ENV: "1"},
        place=place,
    )
    try:
        async with run:
            async with asyncio.timeout(timeout):
                async for event in run.events():
                    if isinstance(event, ArgumentsEvent):
                        reported = event
            result = await run.wait()
    except TimeoutError:
        return PytestArguments(tuple(args), None, f"pytest did not answer in {timeout:g} s")
    except TestRunError as error:
        return PytestArguments(tuple(args), None, str(error))
    return understood(args, reported, result)


async def command_line_first(
    project_dir: Path | str,
    python: str,
    configured: Sequence[str],
    given: Sequence[str],
    *,
    place: RunPlace | None = None,
) -> list[str]:
    """The configured pytest arguments (pytest_args) with those given on the command line:
    tests named there take the place of the configured ones, as pytest's own `testpaths`
    give way to paths on its command line; options add up. pytest is asked only when both
    hold a bare word (a test, or an option's value)."""
    if read_without_pytest(configured) is not None or read_without_pytest(given) is not None:
        return [*configured, *given]  # one side names no test: nothing to replace
    ours = await read_arguments(project_dir, python, configured, place=place)
    theirs = await read_arguments(project_dir, python, [*ours.options, *given], place=place)
    if not ours.understood or not theirs.understood or not theirs.selection:
        return [*configured, *given]
    return [*ours.options, *given]


def understood(
    args: Sequence[str], reported: ArgumentsEvent | None, result: SessionFinishedEvent
) -> PytestArguments:
    """The reading from what our plugin reported and how pytest ended."""
    refused = result.message if result.exit_code != 0 else ""
    if reported is None or reported.selection is None:
        why = reported.problem if reported is not None else f"pytest exited {result.exit_code}"
        return PytestArguments(
            tuple(args), None, headline(refused, result.exit_code) or why, refused
        )
    if list(reported.args[PLUGIN_ARGS:]) != list(args):
        return PytestArguments(tuple(args), None, "pytest read other arguments", refused)
    at = frozenset(index - PLUGIN_ARGS for index in reported.selection if index >= PLUGIN_ARGS)
    return PytestArguments(tuple(args), at, "", refused)


def whole_selection_instead(
    targets: Sequence[str], arguments: PytestArguments, result: SessionFinishedEvent
) -> str | None:
    """Why a watch-mode run of `targets` should be followed by a run of the arguments as
    given, or None. When pytest refused the targets (exit 4): it refuses paths on its
    command line below a conftest.py that does not import, while a run of the whole
    selection reports that conftest as a collection error and runs every other test."""
    if result.cancelled or result.exit_code != USAGE_ERROR:
        return None
    if not targets or sorted(targets) == sorted(arguments.selection):
        return None  # that was the whole selection: nothing wider to fall back to
    said = headline(result.message, USAGE_ERROR)
    return f"pytest refused {describe_targets(targets)} ({said or 'exit 4'})"


def describe_run(args: Sequence[str]) -> str:
    """A run's arguments as a user would type them: `pytest tests -x`."""
    return f"pytest {shlex.join(args)}".rstrip()


def describe_targets(targets: Sequence[str]) -> str:
    if len(targets) > 3:
        return f"{', '.join(targets[:3])} and {len(targets) - 3} more"
    return ", ".join(targets) or "the run"
