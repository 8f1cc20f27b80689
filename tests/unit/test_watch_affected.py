"""Which tests a change affects: the import graph of a throwaway project on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tui.core.watch.affected import Affected, find_affected, narrow
from tui.core.watch.graph import ImportGraph
from tui.core.watch.imports import read_imports

# src layout; tests/ has no __init__.py, so pytest puts tests/ itself on sys.path.
BASE_PROJECT = {
    "pyproject.toml": "[project]\nname = 'demo'\n",
    "src/pkg/__init__.py": "",
    "src/pkg/a.py": "from pkg import b\n\ndef thing() -> int:\n    return b.twice()\n",
    "src/pkg/b.py": "from . import c\n\ndef twice() -> int:\n    return 2 * c.VALUE\n",
    "src/pkg/c.py": "VALUE = 1\n",
    "tests/test_a.py": "from pkg.a import thing\n\ndef test_thing():\n    assert thing() == 2\n",
    "tests/test_c.py": "import pkg.c\n\ndef test_value():\n    assert pkg.c.VALUE == 1\n",
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def touch(path: Path, text: str) -> None:
    """Change a file so that its (mtime, size) surely differ, even on a coarse clock."""
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def rel(root: Path, affected: Affected) -> set[str]:
    return {path.relative_to(root).as_posix() for path in affected.test_files}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, BASE_PROJECT)
    return tmp_path


@pytest.fixture
def graph(project: Path) -> ImportGraph:
    return ImportGraph(project)


def test_a_module_deep_in_the_chain_affects_every_test_that_reaches_it(
    project: Path, graph: ImportGraph
) -> None:
    affected = find_affected(graph, [project / "src/pkg/c.py"])

    assert not affected.run_all
    assert rel(project, affected) == {"tests/test_a.py", "tests/test_c.py"}
    assert affected.reason == "src/pkg/c.py changed → 2 test files import it"


def test_a_module_at_the_top_affects_only_its_importers(project: Path, graph: ImportGraph) -> None:
    affected = find_affected(graph, [Path("src/pkg/a.py")])  # root-relative works too

    assert rel(project, affected) == {"tests/test_a.py"}
    assert affected.reason == "src/pkg/a.py changed → 1 test file imports it"


def test_a_changed_test_file_affects_itself(project: Path, graph: ImportGraph) -> None:
    affected = find_affected(graph, [project / "tests/test_c.py"])

    assert rel(project, affected) == {"tests/test_c.py"}
    assert affected.reason == "tests/test_c.py changed → rerun it"


def test_a_module_no_test_imports_affects_nothing(project: Path, graph: ImportGraph) -> None:
    write(project, {"src/pkg/cli.py": "from pkg import a\n"})

    affected = find_affected(graph, [project / "src/pkg/cli.py"])

    assert affected.nothing
    assert affected.reason == "src/pkg/cli.py changed → no test file imports it"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (
            "tests/conftest.py",
            "tests/conftest.py changed (its fixtures reach every test below tests/)",
        ),
        ("conftest.py", "conftest.py changed (its fixtures reach every test below the project)"),
        ("tests/data/rows.sql", "tests/data/rows.sql changed (not Python: no import shows"),
        ("tests/data/users.yaml", "tests/data/users.yaml changed (not Python"),
        ("src/pkg/schema.json", "src/pkg/schema.json changed (not Python"),
        ("pyproject.toml", "pyproject.toml changed (project and pytest configuration)"),
        ("pytest.ini", "pytest.ini changed (pytest configuration)"),
        ("setup.cfg", "setup.cfg changed"),
    ],
)
def test_when_unsure_everything_selected_runs(
    project: Path, graph: ImportGraph, name: str, why: str
) -> None:
    write(project, {name: "x = 1\n"})

    affected = find_affected(graph, [project / name])

    assert affected.run_all
    assert affected.reason.startswith(why)


def test_run_all_says_how_many_other_paths_changed(project: Path, graph: ImportGraph) -> None:
    write(project, {"tests/data/rows.sql": "select 1;\n"})

    affected = find_affected(graph, [project / "tests/data/rows.sql", project / "src/pkg/c.py"])

    assert affected.run_all
    assert affected.reason.endswith("; 1 other path changed too")


def test_a_module_imported_by_a_conftest_affects_the_tests_below_it(
    project: Path, graph: ImportGraph
) -> None:
    write(
        project,
        {
            "src/pkg/fixtures.py": "VALUE = 3\n",
            "tests/unit/conftest.py": "from pkg.fixtures import VALUE\n",
            "tests/unit/test_plain.py": "def test_x():\n    pass\n",
        },
    )

    affected = find_affected(graph, [project / "src/pkg/fixtures.py"])

    assert rel(project, affected) == {"tests/unit/test_plain.py"}


def test_relative_imports_of_every_shape(project: Path, graph: ImportGraph) -> None:
    write(
        project,
        {
            "src/pkg/sub/__init__.py": "from .deep import helper\n",
            "src/pkg/sub/deep.py": "from ..c import VALUE\nfrom .. import b\n\ndef helper(): ...\n",
            "src/pkg/sub/other.py": "from . import deep\n",
            "tests/test_sub.py": "from pkg.sub import other\n",
        },
    )
    sub = project / "src/pkg/sub"

    assert graph.imports_of(sub / "deep.py") == {
        project / "src/pkg/__init__.py",  # `from .. import b` runs the package's __init__
        project / "src/pkg/c.py",
        project / "src/pkg/b.py",
    }
    assert graph.imports_of(sub / "other.py") == {sub / "__init__.py", sub / "deep.py"}
    assert "tests/test_sub.py" in rel(project, find_affected(graph, [project / "src/pkg/c.py"]))


def test_type_checking_and_function_level_imports_count(project: Path, graph: ImportGraph) -> None:
    write(
        project,
        {
            "tests/test_typed.py": """\
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from pkg.a import thing

                def test_late():
                    import pkg.b
            """,
        },
    )

    assert graph.imports_of(project / "tests/test_typed.py") == {
        project / "src/pkg/__init__.py",
        project / "src/pkg/a.py",
        project / "src/pkg/b.py",
    }


def test_a_helper_next_to_the_tests_is_importable_as_pytest_makes_it(
    project: Path, graph: ImportGraph
) -> None:
    write(
        project,
        {
            "tests/helpers.py": "from pkg import b\n",
            "tests/test_helped.py": "import helpers\n",
        },
    )

    affected = find_affected(graph, [project / "src/pkg/c.py"])

    assert "tests/test_helped.py" in rel(project, affected)


def test_the_src_layout_names_modules_from_src(project: Path, graph: ImportGraph) -> None:
    assert graph.layout.source_roots == (project / "src",)
    assert graph.imports_of(project / "tests/test_c.py") == {
        project / "src/pkg/__init__.py",
        project / "src/pkg/c.py",
    }


def test_a_flat_layout_with_a_declared_pythonpath(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": "[tool.pytest.ini_options]\npythonpath = ['lib']\n",
            "lib/tools/__init__.py": "",
            "lib/tools/fmt.py": "X = 1\n",
            "app/__init__.py": "",
            "app/main.py": "from tools import fmt\n",
            "tests/test_main.py": "from app import main\n",
        },
    )

    affected = find_affected(ImportGraph(tmp_path), [tmp_path / "lib/tools/fmt.py"])

    assert rel(tmp_path, affected) == {"tests/test_main.py"}


def test_a_dynamic_import_reached_by_tests_means_run_all(project: Path, graph: ImportGraph) -> None:
    write(
        project,
        {
            "src/pkg/plugins.py": """\
                import importlib

                def load(name):
                    return importlib.import_module(name)
            """,
            "tests/test_plugins.py": "from pkg import plugins\n",
        },
    )

    affected = find_affected(graph, [project / "src/pkg/c.py"])

    assert affected.run_all
    assert affected.reason == (
        "src/pkg/c.py changed, but can't follow every import: src/pkg/plugins.py "
        "line 4: import_module() of a name made at run time"
    )


def test_a_literal_dynamic_import_is_an_ordinary_edge(project: Path, graph: ImportGraph) -> None:
    write(
        project,
        {
            "tests/test_dyn.py": """\
                import importlib

                c = importlib.import_module("pkg.c")
                b = __import__("pkg.b")
                plugins = importlib.import_module(f"pkg.{'a'}")  # prefix "pkg.": every module
            """,
        },
    )

    affected = find_affected(graph, [project / "src/pkg/c.py"])

    assert not affected.run_all
    assert "tests/test_dyn.py" in rel(project, affected)


def test_an_import_of_the_project_that_names_no_file_means_run_all(
    project: Path, graph: ImportGraph
) -> None:
    write(project, {"tests/test_broken.py": "import pkg.missing\n"})

    affected = find_affected(graph, [project / "src/pkg/c.py"])

    assert affected.run_all
    assert "tests/test_broken.py line 1: imports pkg.missing, which is not in the project" in (
        affected.reason
    )


def test_installed_and_standard_imports_are_not_doubts(project: Path, graph: ImportGraph) -> None:
    write(project, {"tests/test_std.py": "import os.path\nimport pytest\nfrom json import loads\n"})

    assert not find_affected(graph, [project / "src/pkg/c.py"]).run_all


def test_deleting_a_module_affects_the_tests_that_imported_it(
    project: Path, graph: ImportGraph
) -> None:
    graph.ensure_built()
    (project / "src/pkg/b.py").unlink()

    affected = find_affected(graph, [project / "src/pkg/b.py"])

    assert rel(project, affected) == {"tests/test_a.py"}  # it now fails to import: show it


def test_a_deleted_test_file_is_not_rerun(project: Path, graph: ImportGraph) -> None:
    graph.ensure_built()
    (project / "tests/test_c.py").unlink()

    affected = find_affected(graph, [project / "tests/test_c.py"])

    assert affected.nothing


def test_a_new_module_is_parsed_and_linked(project: Path, graph: ImportGraph) -> None:
    graph.ensure_built()
    write(project, {"src/pkg/d.py": "from pkg import c\n", "tests/test_d.py": "import pkg.d\n"})

    affected = find_affected(graph, [project / "src/pkg/d.py", project / "tests/test_d.py"])

    assert rel(project, affected) == {"tests/test_d.py"}
    assert "tests/test_d.py" in rel(project, find_affected(graph, [project / "src/pkg/c.py"]))


def test_a_folder_of_modules_moved_in_is_walked(project: Path, graph: ImportGraph) -> None:
    graph.ensure_built()
    write(project, {"src/pkg/extra/__init__.py": "", "src/pkg/extra/e.py": "from pkg import a\n"})
    write(project, {"tests/test_e.py": "from pkg.extra import e\n"})

    find_affected(graph, [project / "src/pkg/extra", project / "tests/test_e.py"])

    assert project / "src/pkg/extra/e.py" in graph.files
    assert "tests/test_e.py" in rel(project, find_affected(graph, [project / "src/pkg/c.py"]))


def test_a_deleted_folder_of_modules_affects_their_importers(
    project: Path, graph: ImportGraph
) -> None:
    write(project, {"src/pkg/extra/__init__.py": "", "src/pkg/extra/e.py": ""})
    write(project, {"tests/test_e.py": "from pkg import extra\n"})
    graph.ensure_built()
    shutil.rmtree(project / "src/pkg/extra")

    affected = find_affected(graph, [project / "src/pkg/extra"])  # `mv` reports the folder only

    assert rel(project, affected) == {"tests/test_e.py"}
    assert project / "src/pkg/extra/e.py" not in graph.files


def test_an_import_broken_by_a_deletion_means_run_all_until_fixed(
    project: Path, graph: ImportGraph
) -> None:
    write(project, {"src/pkg/gone.py": "", "tests/test_gone.py": "import pkg.gone\n"})
    graph.ensure_built()
    (project / "src/pkg/gone.py").unlink()

    affected = find_affected(graph, [project / "src/pkg/gone.py"])

    assert affected.run_all
    assert affected.reason == (
        "src/pkg/gone.py changed, but can't follow every import: tests/test_gone.py "
        "line 1: imports pkg.gone, which is not in the project"
    )
    write(project, {"tests/test_gone.py": "import pkg.c\n"})
    fixed = find_affected(graph, [project / "tests/test_gone.py", project / "src/pkg/c.py"])
    assert not fixed.run_all


def test_a_new_folder_of_fixtures_means_run_all(project: Path, graph: ImportGraph) -> None:
    graph.ensure_built()
    write(project, {"tests/data/users.json": "[]"})

    affected = find_affected(graph, [project / "tests/data"])

    assert affected.run_all
    assert affected.reason == "tests/data/ changed (holds non-Python files)"


def test_an_empty_new_folder_affects_nothing(project: Path, graph: ImportGraph) -> None:
    (project / "src/pkg/empty").mkdir()

    assert find_affected(graph, [project / "src/pkg/empty"]).nothing


def test_only_changed_files_are_parsed_again(project: Path, graph: ImportGraph) -> None:
    graph.ensure_built()
    first_build = graph.parse_count
    assert first_build == len(graph.files) == 6

    touch(project / "src/pkg/c.py", "VALUE = 2\n")
    find_affected(graph, [project / "src/pkg/c.py"])
    assert graph.parse_count == first_build + 1

    find_affected(graph, [project / "src/pkg/c.py"])  # reported again, not changed
    assert graph.parse_count == first_build + 1

    graph.refresh()  # a full look at the disk parses nothing unchanged either
    assert graph.parse_count == first_build + 1


def test_a_file_that_stops_parsing_keeps_its_last_imports(
    project: Path, graph: ImportGraph
) -> None:
    graph.ensure_built()
    touch(project / "src/pkg/a.py", "from pkg import b\n\ndef thing(:\n")  # mid-edit
    find_affected(graph, [project / "src/pkg/a.py"])
    touch(project / "src/pkg/a.py", "from pkg import b\n\ndef thing(:\n    pass\n")  # still

    affected = find_affected(graph, [project / "src/pkg/c.py"])

    assert not affected.run_all
    assert rel(project, affected) == {"tests/test_a.py", "tests/test_c.py"}


def test_a_file_that_never_parsed_is_a_doubt(project: Path, graph: ImportGraph) -> None:
    write(project, {"tests/test_bad.py": "def broken(:\n"})

    affected = find_affected(graph, [project / "src/pkg/c.py"])

    assert affected.run_all
    assert "tests/test_bad.py does not parse" in affected.reason


def test_in_a_git_repo_ignored_python_files_are_not_in_the_graph(project: Path) -> None:
    subprocess.run(["git", "-C", str(project), "init", "-q"], check=True)
    write(project, {".gitignore": "build/\n", "build/lib/pkg/a.py": "import pkg.c\n"})

    graph = ImportGraph(project)

    assert project / "build/lib/pkg/a.py" not in graph.files
    assert project / "src/pkg/a.py" in graph.files


def test_a_project_in_a_repo_that_ignores_it_is_still_walked(tmp_path: Path) -> None:
    subprocess.run(["git", "-C", str(tmp_path), "init", "-q"], check=True)
    write(tmp_path, {".gitignore": "*\n"})
    project = tmp_path / "project"
    write(project, BASE_PROJECT)

    assert len(ImportGraph(project).files) == 6


def test_the_import_reader() -> None:
    imports = read_imports(
        textwrap.dedent("""\
            import a.b, c as d
            from .x import y, z
            from ... import w
            from e import *
            pytest_plugins = ["plug.one", "plug.two"]
            try:
                import f
            except ImportError:
                import g
            match 1:
                case 1:
                    import h
        """)
    )

    assert [(r.module, r.level, r.names) for r in imports.refs] == [
        ("a.b", 0, ()),
        ("c", 0, ()),
        ("x", 1, ("y", "z")),
        ("", 3, ("w",)),
        ("e", 0, ()),
        ("f", 0, ()),
        ("g", 0, ()),
        ("h", 0, ()),
        ("plug.one", 0, ()),
        ("plug.two", 0, ()),
    ]


# ---------------------------------------------------------------------- narrow

ROOT = Path("/project")
A = ROOT / "tests/test_a.py"
B = ROOT / "tests/unit/test_b.py"
SOME = Affected(False, frozenset({A, B}), "src/x.py changed → 2 test files import it")


@pytest.mark.parametrize(
    ("selection", "affected", "expected"),
    [
        # run_all: the selection itself (and nothing selected: pytest's default)
        ({"tests/test_a.py::test_x", "tests/test_z.py"}, Affected(True, frozenset(), "conftest"),
         ["tests/test_a.py::test_x", "tests/test_z.py"]),
        (set(), Affected(True, frozenset(), "conftest"), []),
        # nothing selected: the affected files
        (set(), SOME, ["tests/test_a.py", "tests/unit/test_b.py"]),
        # selected node ids and files in affected files stay; others go
        ({"tests/test_a.py::test_x", "tests/test_a.py::TestY::test_z[1-2]", "tests/test_z.py"},
         SOME, ["tests/test_a.py::TestY::test_z[1-2]", "tests/test_a.py::test_x"]),
        ({"tests/unit/test_b.py"}, SOME, ["tests/unit/test_b.py"]),
        ({str(B)}, SOME, [str(B)]),  # absolute paths are understood
        # a selected folder contributes its affected files
        ({"tests/unit"}, SOME, ["tests/unit/test_b.py"]),
        ({"tests"}, SOME, ["tests/test_a.py", "tests/unit/test_b.py"]),
        # nothing affected, or nothing selected is affected: run nothing
        ({"tests/test_z.py"}, SOME, []),
        (set(), Affected(False, frozenset(), "no test"), []),
    ],
)  # fmt: skip
def test_narrow(selection: set[str], affected: Affected, expected: list[str]) -> None:
    assert narrow(selection, affected, root=ROOT) == expected
