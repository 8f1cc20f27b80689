"""The import graph built ahead (`ImportGraph.build_ahead`): the first change batch then
parses only what it changed. Parses are counted, never timed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.unit.test_watch_affected import BASE_PROJECT, rel, touch, write
from tui.core.watch.affected import find_affected
from tui.core.watch.graph import ImportGraph

PYTHON_FILES = sum(1 for name in BASE_PROJECT if name.endswith(".py"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, BASE_PROJECT)
    return tmp_path


def test_a_graph_built_ahead_parses_only_the_changed_file_at_the_first_batch(
    project: Path,
) -> None:
    graph = ImportGraph(project)
    graph.build_ahead()
    assert graph.parse_count == PYTHON_FILES
    touch(project / "src/pkg/c.py", "VALUE = 2\n")
    affected = find_affected(graph, [project / "src/pkg/c.py"])
    assert rel(project, affected) == {"tests/test_a.py", "tests/test_c.py"}
    assert graph.parse_count == PYTHON_FILES + 1  # c.py alone, not the whole tree again


def test_without_it_the_first_batch_parses_the_whole_tree(project: Path) -> None:
    graph = ImportGraph(project)
    touch(project / "src/pkg/c.py", "VALUE = 2\n")
    find_affected(graph, [project / "src/pkg/c.py"])
    assert graph.parse_count == PYTHON_FILES  # what build_ahead moves out of the batch


def test_building_ahead_again_parses_only_files_changed_since(project: Path) -> None:
    graph = ImportGraph(project)
    graph.build_ahead()
    touch(project / "src/pkg/b.py", "VALUE = 3\n")  # saved before watching began
    write(project, {"tests/test_new.py": "import pkg.b\n\ndef test_new():\n    pass\n"})
    graph.build_ahead()
    assert graph.parse_count == PYTHON_FILES + 2
    affected = find_affected(graph, [project / "src/pkg/c.py"])  # unchanged: no parse
    assert graph.parse_count == PYTHON_FILES + 2
    assert "tests/test_new.py" not in rel(project, affected)  # b.py no longer imports c


def test_a_batch_during_the_build_ahead_waits_for_it_instead_of_building_again(
    project: Path,
) -> None:
    graph = ImportGraph(project)
    building = threading.Thread(target=graph.build_ahead)
    with graph.lock:  # the build ahead is under way (holds the lock) when the batch comes
        building.start()
        answers: list[set[str]] = []
        batch = threading.Thread(
            target=lambda: answers.append(
                rel(project, find_affected(graph, [project / "src/pkg/c.py"]))
            )
        )
        batch.start()
    building.join(10)
    batch.join(10)
    assert answers == [{"tests/test_a.py", "tests/test_c.py"}]
    assert graph.parse_count == PYTHON_FILES  # one build between them, not two
