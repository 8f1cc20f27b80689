"""What our pytest plugin reports of each collected test, checked against pytest itself.

A real pytest (ours, in a subprocess, no plugins autoloaded) collects a small project with
our plugin and a conftest.py that writes down, for every item, what pytest's own API says:
`item.location`'s line, `iter_markers()`, the classes of `listchain()`. The plugin works
these out the cheap way (bench/large_suite.py: a line read from the function's code, the
line of a parametrized function once for its tests, the class chain and inherited marks
once per parent), so each must equal pytest's answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from tui.core.testrun.command import PLUGIN_MODULE, plugin_directory
from tui.core.testrun.events import CollectedEvent, parse_event
from tui.core.testrun.model import TestItem

TESTS = """
    import functools

    import pytest

    pytestmark = pytest.mark.module_mark


    def logged(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            return function(*args, **kwargs)

        return wrapper


    class TestFirst:
        @pytest.mark.parametrize("x", [1, 2])
        def test_same_name(self, x):
            pass


    @pytest.mark.slow
    class TestSecond:
        def helper(self):
            pass

        @pytest.mark.parametrize("x", [1, 2])
        @pytest.mark.slow
        def test_same_name(self, x):
            pass

        class TestInner:
            @pytest.mark.fast
            def test_inner(self):
                pass


    @pytest.mark.parametrize("y", [pytest.param(1, marks=pytest.mark.special), 2])
    def test_same_name(y):
        pass


    @logged
    def test_wrapped():
        pass


    def test_plain():
        pass
"""

# pytest's own answers, written by the project's conftest.py for the test to compare.
CONFTEST = """
    import json, os

    def pytest_collection_finish(session):
        answers = {
            item.nodeid: {
                "lineno": item.location[1] + 1,
                "markers": [m.name for m in item.iter_markers()],
                "classes": [n.name for n in item.listchain() if type(n).__name__ == "Class"],
            }
            for item in session.items
        }
        with open(os.environ["ANSWERS_PATH"], "w") as answers_file:
            json.dump(answers, answers_file)
"""

STRUCTURAL = {"parametrize", "usefixtures", "filterwarnings"}


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[TestItem], dict[str, Any]]:
    """(the items our plugin reported, pytest's own answers) for the project."""
    project = tmp_path_factory.mktemp("collected")
    (project / "pytest.ini").write_text("[pytest]\nmarkers =\n    module_mark\n")
    (project / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (project / "test_lines.py").write_text(textwrap.dedent(TESTS))
    events_path, answers_path = project / "events.jsonl", project / "answers.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(plugin_directory()),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "ENVDECK_EVENTS_PATH": str(events_path),
        "ANSWERS_PATH": str(answers_path),
    }
    env.pop("ENVDECK_EVENTS_FD", None)
    command = [sys.executable, "-m", "pytest", "-p", PLUGIN_MODULE, "--collect-only", "-q"]
    done = subprocess.run(
        [*command, "-p", "no:cacheprovider", "test_lines.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    events = [parse_event(json.loads(line)) for line in events_path.read_text().splitlines()]
    items = [item for event in events if isinstance(event, CollectedEvent) for item in event.items]
    return items, json.loads(answers_path.read_text())


def line_of(text: str, occurrence: int) -> int:
    """The 1-based line of the `occurrence`-th (from 0) line of TESTS starting with `text`."""
    lines = textwrap.dedent(TESTS).splitlines()
    found = [n for n, line in enumerate(lines, 1) if line.strip().startswith(text)]
    return found[occurrence]


def test_same_named_parametrized_methods_in_two_classes_each_have_their_own_line(
    collected: tuple[list[TestItem], dict[str, Any]],
) -> None:
    items, answers = collected
    lines = {item.nodeid: item.lineno for item in items}
    first = line_of('@pytest.mark.parametrize("x"', 0)
    second = line_of('@pytest.mark.parametrize("x"', 1)
    function = line_of('@pytest.mark.parametrize("y"', 0)
    assert len({first, second, function}) == 3
    for params in ("1", "2"):
        assert lines[f"test_lines.py::TestFirst::test_same_name[{params}]"] == first
        assert lines[f"test_lines.py::TestSecond::test_same_name[{params}]"] == second
    assert lines["test_lines.py::test_same_name[1]"] == function
    assert lines["test_lines.py::test_same_name[2]"] == function
    assert lines == {nodeid: answer["lineno"] for nodeid, answer in answers.items()}


def test_each_item_has_pytests_line_marks_and_classes(
    collected: tuple[list[TestItem], dict[str, Any]],
) -> None:
    items, answers = collected
    assert [item.nodeid for item in items] == list(answers)
    for item in items:
        answer = answers[item.nodeid]
        marks = [m for m in dict.fromkeys(answer["markers"]) if m not in STRUCTURAL]
        assert (item.lineno, list(item.markers)) == (answer["lineno"], marks), item.nodeid
        assert item.cls == ("::".join(answer["classes"]) or None), item.nodeid
    by_id = {item.nodeid: item for item in items}
    inner = by_id["test_lines.py::TestSecond::TestInner::test_inner"]
    assert (inner.cls, inner.markers) == ("TestSecond::TestInner", ("fast", "slow", "module_mark"))
    assert by_id["test_lines.py::test_same_name[1]"].markers == ("special", "module_mark")
    assert by_id["test_lines.py::test_same_name[2]"].markers == ("module_mark",)
    wrapped = by_id["test_lines.py::test_wrapped"]
    assert wrapped.lineno == line_of("@logged", 0)  # the decorator's line, as pytest says
