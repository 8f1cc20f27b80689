"""The tests screen itself: the two status lines, the tree beside the detail pane, the
filter box and the key bar, wired to the parts that keep them."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Static

from tui.ui.screens.tests.bindings import TESTS_BINDINGS
from tui.ui.screens.tests.browse import BrowsePart
from tui.ui.screens.tests.detail import DetailPart
from tui.ui.screens.tests.listener import SessionPart
from tui.ui.screens.tests.reports import ReportsPart
from tui.ui.screens.tests.runs import RunsPart
from tui.ui.screens.tests.terminal import TerminalPart
from tui.ui.widgets.key_bar import KeyBar
from tui.ui.widgets.tests_tree import TestTree


class TestsScreen(SessionPart, BrowsePart, RunsPart, DetailPart, ReportsPart, TerminalPart):
    __test__ = False  # a screen, whatever pytest thinks of its name
    CSS_PATH = "tests.tcss"
    BINDINGS = TESTS_BINDINGS

    def compose(self) -> ComposeResult:
        yield Static("tests", id="tests-status", markup=False)
        yield Static("", id="tests-run", markup=False)
        with Horizontal(id="tests-main"):
            yield TestTree(id="tests-tree")
            with VerticalScroll(id="tests-detail"):
                yield Static("", id="tests-failure", markup=False)
        filter_box = Input(
            placeholder="filter: part of a node id — enter keeps it, esc clears it",
            id="tests-filter",
        )
        filter_box.display = False
        yield filter_box
        yield KeyBar()

    def on_mount(self) -> None:
        self.test_tree.focus()
        self.session.listen(self)
        if self.session.tree is None:
            self.action_discover()
        else:  # the session collected before this screen was made: show what it knows
            self.discovered(self.session.tree)
            self.test_tree.results.update(self.session.results.outcomes)
