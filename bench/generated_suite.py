"""A generated test suite of about 10,000 tests, written into a folder: for bench/large_suite.py.

The shape is a library's: a `src/` package (`suite_lib`, with subpackages) whose modules
import each other, and `tests/` packages of test files that import those modules, each file
with plain test functions, parametrized ones (one and two parameters) and test classes
(one nested), so the tree has every kind of node. Everything is deterministic: the same
arguments write the same bytes, and every test passes.

`EDITED` is the module the benchmark saves: imported by exactly one test file
(`AFFECTED_FILE`), so a save runs that file's tests only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.scaffold import write_git_tree

PACKAGE = "suite_lib"
TESTS_PER_FILE = 50  # see TEST_FILE: 5 plain + 15 + 12 parametrized + a class of 18
EDITED = f"src/{PACKAGE}/edited.py"
AFFECTED_FILE = "tests/pkg_00/test_edited.py"


@dataclass(frozen=True)
class SuiteShape:
    test_packages: int = 10
    files_per_package: int = 20  # 10 x 20 x 50 = 10,000 tests
    subpackages: int = 8
    modules_per_subpackage: int = 12  # 96 library modules, plus one per subpackage

    @property
    def tests(self) -> int:
        return self.test_packages * self.files_per_package * TESTS_PER_FILE


LIBRARY_MODULE = '''
"""Module {sub}.{mod} of the generated library."""

from __future__ import annotations

import dataclasses
import functools
import re
{imports}

PATTERN = re.compile(r"[a-z]+_{index}")


@dataclasses.dataclass(frozen=True)
class Record{index}:
    name: str
    size: int = {index}

    def grown(self, by: int) -> "Record{index}":
        return dataclasses.replace(self, size=self.size + by)


@functools.lru_cache(maxsize=None)
def weight_{index}(value: int) -> int:
    return value * {index} % 97 + {base}


def describe_{index}(names: list[str]) -> str:
    kept = [name for name in names if PATTERN.match(name)]
    return ", ".join(sorted(kept)) or "none"


def total_{index}(values: list[int]) -> int:
    return sum(weight_{index}(value) for value in values)
{helpers}'''

# A library module's bulk: real modules run to hundreds of lines, which parsing pays for.
HELPER = '''

def helper_{index}_{n}(items: dict[str, int], limit: int = {n}) -> list[tuple[str, int]]:
    """Helper {n}: the items above `limit`, largest first."""
    kept = []
    for name, value in items.items():
        if value > limit and not name.startswith("_"):
            kept.append((name, value * {n} + {index}))
        elif value == limit:
            kept.append((name.upper(), limit))
    kept.sort(key=lambda pair: (-pair[1], pair[0]))
    return kept
'''
HELPERS_PER_MODULE = 20

TEST_FILE = '''
"""Generated tests {package}/{name}."""

import pytest

from {module} import Record{index}, total_{index}, weight_{index}
{extra_import}


def test_weight_is_small():
    assert 0 <= weight_{index}(3) < 200


def test_total_of_nothing():
    assert total_{index}([]) == 0


def test_record_grows():
    assert Record{index}("a").grown(2).size == {index} + 2


def test_names():
    assert isinstance(Record{index}("b").name, str)


def test_marked_slow():
    assert weight_{index}(1) == weight_{index}(1)


@pytest.mark.parametrize("value", list(range(15)))
def test_weight_each(value):
    assert weight_{index}(value) >= 0


@pytest.mark.parametrize("left", [0, 1, 2])
@pytest.mark.parametrize("right", ["a", "b", "c", "d"])
def test_pairs(left, right):
    assert len(right * left) == left


class TestRecord:
    def test_name(self):
        assert Record{index}("x").name == "x"

    def test_size(self):
        assert Record{index}("x").size == {index}

    @pytest.mark.parametrize("by", list(range(10)))
    def test_grown(self, by):
        assert Record{index}("x").grown(by).size == {index} + by

    class TestNested:
        def test_total(self):
            assert total_{index}([1]) == weight_{index}(1)

        @pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
        def test_totals(self, n):
            assert total_{index}([n]) == weight_{index}(n)
'''

EDITED_MODULE = '''
"""The module the benchmark saves: only tests/pkg_00/test_edited.py imports it."""

VALUE = 0
'''

CONFTEST = """
import pytest


@pytest.fixture
def shared_value():
    return 42
"""

PYPROJECT = """
[project]
name = "suite-lib"
version = "0"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]
"""


def library_files(shape: SuiteShape) -> dict[str, str]:
    files = {f"src/{PACKAGE}/__init__.py": '"""The generated library."""\n'}
    index = 0
    for sub in range(shape.subpackages):
        package = f"src/{PACKAGE}/sub_{sub:02d}"
        files[f"{package}/__init__.py"] = f'"""Subpackage {sub}."""\n'
        for mod in range(shape.modules_per_subpackage):
            imports = []
            if mod > 0:  # a chain inside the subpackage, and a link to the previous one
                imports.append(f"from {PACKAGE}.sub_{sub:02d} import mod_{mod - 1:02d}")
            if sub > 0 and mod == 0:
                imports.append(f"from {PACKAGE}.sub_{sub - 1:02d} import mod_00")
            helpers = "".join(HELPER.format(index=index, n=n) for n in range(HELPERS_PER_MODULE))
            files[f"{package}/mod_{mod:02d}.py"] = LIBRARY_MODULE.format(
                sub=sub,
                mod=mod,
                index=index,
                base=sub,
                imports="\n".join(imports),
                helpers=helpers,
            )
            index += 1
    files[EDITED] = EDITED_MODULE
    return files


def test_files(shape: SuiteShape) -> dict[str, str]:
    files = {"tests/__init__.py": "", "tests/conftest.py": CONFTEST}
    modules = shape.subpackages * shape.modules_per_subpackage
    for package in range(shape.test_packages):
        folder = f"tests/pkg_{package:02d}"
        files[f"{folder}/__init__.py"] = ""
        for number in range(shape.files_per_package):
            index = (package * shape.files_per_package + number) % modules
            sub, mod = divmod(index, shape.modules_per_subpackage)
            name = f"test_{number:02d}.py"
            extra = ""
            if (folder, number) == ("tests/pkg_00", 0):
                name = Path(AFFECTED_FILE).name
                extra = f"from {PACKAGE} import edited  # noqa: F401"
            files[f"{folder}/{name}"] = TEST_FILE.format(
                package=folder,
                name=name,
                module=f"{PACKAGE}.sub_{sub:02d}.mod_{mod:02d}",
                index=index,
                extra_import=extra,
            )
    return files


def write_suite(root: Path, shape: SuiteShape | None = None) -> SuiteShape:
    """Write the suite into `root` (a new folder), as a git work tree; its shape."""
    shape = shape or SuiteShape()
    files = {"pyproject.toml": PYPROJECT, **library_files(shape), **test_files(shape)}
    write_git_tree(root, files, "suite")
    return shape
