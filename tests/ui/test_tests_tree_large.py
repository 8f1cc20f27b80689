"""The tests tree on a large collection: groups start collapsed and their children are added
to the widget when first opened, while every key still reaches every test."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult

from tui.core.testrun import CollectedTree, FinishedEvent, Outcome, TestItem
from tui.ui.widgets.tests_tree import EXPAND_LIMIT, TestTree

FILES = 60
PER_FILE = 50  # 3,000 tests: past EXPAND_LIMIT


def item(file: int, test: int) -> TestItem:
    name = f"tests/test_{file:02d}.py"
    if test < 10:
        return TestItem(f"{name}::test_plain_{test}", name, None, f"test_plain_{test}", None, (), 1)
    return TestItem(f"{name}::test_param[{test}]", name, None, "test_param", str(test), (), 5)


def collection(files: int = FILES) -> CollectedTree:
    return CollectedTree(tuple(item(f, t) for f in range(files) for t in range(PER_FILE)))


def failed(nodeid: str) -> FinishedEvent:
    moment = "2026-11-22T03:00:00.000000Z"
    return FinishedEvent(nodeid, Outcome.FAILED, 0.01, "call", "boom", "", (), moment, moment)


class TreeApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TestTree()


async def test_a_large_collection_adds_only_its_files_until_one_is_opened() -> None:
    assert FILES * PER_FILE > EXPAND_LIMIT
    app = TreeApp()
    async with app.run_test(size=(100, 30)) as pilot:
        tree = app.query_one(TestTree)
        tree.load(collection())
        await pilot.pause()
        assert set(tree.shown) == {f"tests/test_{f:02d}.py" for f in range(FILES)}
        assert tree.last_line == FILES - 1  # one line a file, all collapsed
        assert "(50)" in str(tree.shown["tests/test_00.py"].label)
        tree.go_to("tests/test_00.py")
        await pilot.press("right")  # opens the file: its tests are added
        await pilot.pause()
        assert "tests/test_00.py::test_plain_0" in tree.shown
        assert "tests/test_00.py::test_param[10]" in tree.shown
        assert "tests/test_01.py::test_plain_0" not in tree.shown


async def test_keys_reach_tests_of_files_never_opened() -> None:
    app = TreeApp()
    async with app.run_test(size=(100, 30)) as pilot:
        tree = app.query_one(TestTree)
        tree.load(collection())
        deep = "tests/test_40.py::test_param[33]"
        tree.finished(failed(deep))  # its file was never opened: the label waits
        tree.go_to("tests/test_00.py")
        assert tree.jump(1, tree.shown_failures()) == deep  # `]`: added and opened
        await pilot.pause()
        assert tree.cursor_nodeid == deep
        assert "✘" in str(tree.shown[deep].label)
        assert "✘" in str(tree.shown["tests/test_40.py"].label)  # sums up its tests


async def test_a_filter_showing_few_tests_opens_them_and_reaches_each_match() -> None:
    app = TreeApp()
    async with app.run_test(size=(100, 30)) as pilot:
        tree = app.query_one(TestTree)
        tree.load(collection())
        tree.set_filter("test_plain_3")
        await pilot.pause()
        assert tree.matches() == [f"tests/test_{f:02d}.py::test_plain_3" for f in range(FILES)]
        assert all(match in tree.shown for match in tree.matches())  # few: all opened
        assert tree.cursor_nodeid == "tests/test_00.py::test_plain_3"
        tree.set_filter("test_param")  # 2,400 matches: files collapsed again
        await pilot.pause()
        assert "tests/test_59.py::test_param[49]" not in tree.shown
        assert tree.jump(-1, tree.matches()) == "tests/test_59.py::test_param[49]"
        tree.set_filter("")
        toggled: Any = tree.leaves["tests/test_59.py"]
        tree.toggle_selection("tests/test_59.py")
        assert tree.selection_targets() == ["tests/test_59.py"]
        assert len(toggled) == PER_FILE


async def test_a_small_collection_is_added_and_opened_whole() -> None:
    app = TreeApp()
    async with app.run_test(size=(100, 30)) as pilot:
        tree = app.query_one(TestTree)
        tree.load(collection(files=3))
        await pilot.pause()
        assert len(tree.shown) == 3 + 3 * (PER_FILE + 1)  # files, parametrized functions, tests
        assert tree.last_line == len(tree.shown) - 1
