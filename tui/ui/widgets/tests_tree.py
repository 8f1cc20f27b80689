"""The tests screen's tree: file > class > function > test, with outcomes, a selection and
a filter.

The selection is a set of tests (leaves): `space` on a file, class or parametrized function
selects or unselects every test below it, and a node shows `●` when all of its tests are
selected, `◐` when some are. Runs get the selection back in its shortest form
(`selection_targets`: a file whose tests are all selected is passed as the file).

The filter keeps the tests whose node id contains the text (case-insensitive), with their
parents; a file that failed to collect is a leaf too.

A large collection is not put into the widget at once: adding a node to Textual's Tree costs
~0.1 ms (its label, a line-cache invalidation and a refresh each), 1.2 s for 10,000 tests
(bench/README.md, "Large suites"). Past `EXPAND_LIMIT` tests shown, groups start collapsed and
a group's children are added when it is first expanded (`shown` holds the nodes added so
far; `is_shown` says what the filter shows); below it, everything is added and expanded, as
before. Labels are `rich.text.Text` built
piece by piece: a test's name is never read as markup, and `safe_text` shows its control
characters as visible escapes.

One module over ~400 lines on purpose: the selection, the filter and the outcomes are read
and redrawn through the widget's lazily added nodes (`shown`, `is_shown`), so the data and
the nodes are kept in step by the same methods; split, each half would reach into the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rich.text import Text
from textual.actions import SkipAction
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tui.core.testrun import CollectedTree, FinishedEvent, Outcome, TestNode
from tui.core.text import safe_text

ICONS = {
    Outcome.RUNNING: "◌",
    Outcome.PASSED: "✔",
    Outcome.FAILED: "✘",
    Outcome.ERROR: "‼",
    Outcome.SKIPPED: "∅",
    Outcome.XFAILED: "x",
    Outcome.XPASSED: "X",
}
STYLES = {
    Outcome.PASSED: "green",
    Outcome.FAILED: "bold red",
    Outcome.ERROR: "bold red",
    Outcome.RUNNING: "yellow",
    Outcome.XPASSED: "yellow",
    Outcome.SKIPPED: "dim",
    Outcome.XFAILED: "dim",
}
FAILING = (Outcome.FAILED, Outcome.ERROR)
MATCH_STYLE = "bold reverse"
ERROR_STYLE = "bold red"
EXPAND_LIMIT = 2_000  # tests shown above which groups start collapsed, their children unadded


class TestTree(Tree[str]):
    """The collected tests; every node's data is its pytest node id."""

    __test__ = False  # a widget, whatever pytest thinks of its name

    BINDINGS = [
        # The screen's keys (select, run / open): Tree's own (expand, select) would win.
        Binding("enter,space", "screen_key", show=False),
        Binding("j", "cursor_down", "Down", show=False, id="tests.down"),
        Binding("k", "cursor_up", "Up", show=False, id="tests.up"),
        Binding("g", "scroll_home", "Top", show=False, id="tests.top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="tests.bottom"),
        Binding("left,h", "collapse", "Collapse / to parent", show=False, id="tests.collapse"),
        Binding("right,l", "expand", "Expand", show=False, id="tests.expand"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("tests", id=id)
        self.show_root = False
        self.guide_depth = 3
        self.auto_expand = False
        self.roots: tuple[TestNode, ...] = ()  # collected files, then files that failed
        self.model: dict[str, TestNode] = {}
        self.parents: dict[str, str] = {}
        self.leaves: dict[str, tuple[str, ...]] = {}  # node id -> the tests below it
        self.results: dict[str, FinishedEvent] = {}
        self.running: dict[str, int] = {}  # test -> the run it runs in
        self.selected: set[str] = set()
        self.errors: dict[str, str] = {}  # file -> pytest's collection error
        self.filter_text = ""
        self.collapsed: set[str] = set()  # groups the user closed
        self.opened: set[str] = set()  # groups opened, kept open when a large tree is rebuilt
        self.shown: dict[str, TreeNode[str]] = {}  # nodes added to the widget so far
        self._visible: set[str] | None = None  # what the filter shows (None: everything)
        self._expand_all = True  # few enough tests shown: every group starts expanded

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "screen_key":
            return False  # hidden, and the key goes on to the screen's binding
        return super().check_action(action, parameters)

    def action_screen_key(self) -> None:
        raise SkipAction  # not reached (check_action): the screen's binding runs

    def action_collapse(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def action_expand(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand and not node.is_expanded:
            self._open_children(node)
            node.expand()

    def on_tree_node_collapsed(self, event: Tree.NodeCollapsed[str]) -> None:
        if event.node.data is not None:
            self.collapsed.add(event.node.data)
            self.opened.discard(event.node.data)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        if event.node.data is not None:
            self.collapsed.discard(event.node.data)
            self.opened.add(event.node.data)
        self._open_children(event.node)  # opened by a click: its children, once

    # ------------------------------------------------------------------ the data

    def load(self, collected: CollectedTree) -> None:
        """A new collection: the tree again, keeping outcomes, selection and cursor."""
        self.roots = collected.files()
        self.errors = {node.nodeid: node.error for node in self.roots if node.error is not None}
        self._index()
        self.selected &= set(self.all_leaves())
        self.rebuild()

    def set_error(self, nodeid: str, longrepr: str) -> None:
        """A run could not collect `nodeid` (a file, usually): shown until it collects."""
        self.errors[nodeid] = longrepr
        if nodeid not in self.model:
            self.roots = (*self.roots, TestNode("file", nodeid, nodeid, 0, error=longrepr))
            self._index()
            self.rebuild()
        else:
            self.relabel(nodeid)

    def _index(self) -> None:
        self.model.clear()
        self.parents.clear()
        self.leaves.clear()

        def visit(node: TestNode, parent: str | None) -> tuple[str, ...]:
            self.model[node.nodeid] = node
            if parent is not None:
                self.parents[node.nodeid] = parent
            if node.children:
                below = tuple(leaf for child in node.children for leaf in visit(child, node.nodeid))
            else:
                below = (node.nodeid,)
            self.leaves[node.nodeid] = below
            return below

        for root in self.roots:
            visit(root, None)

    def all_leaves(self) -> Iterator[str]:
        for root in self.roots:
            yield from self.leaves[root.nodeid]

    def parents_of(self, nodeid: str) -> Iterator[str]:
        while (nodeid := self.parents.get(nodeid, "")) in self.model:
            yield nodeid

    # ------------------------------------------------------------------ the widget

    @property
    def cursor_nodeid(self) -> str | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def is_shown(self, nodeid: str) -> bool:
        """Whether the filter shows `nodeid` (added to the widget yet or not)."""
        return nodeid in self.model and (self._visible is None or nodeid in self._visible)

    def rebuild(self) -> None:
        """Every node again, as the filter shows them; the cursor stays where it was."""
        cursor = self.cursor_nodeid
        self._visible = visible = self.visible_ids()
        if visible is None:
            shown_tests = sum(root.count for root in self.roots)
        else:
            shown_tests = sum(1 for nodeid in visible if not self.model[nodeid].children)
        self._expand_all = shown_tests <= EXPAND_LIMIT
        self.clear()
        self.shown.clear()
        self.root.expand()
        for root in self.roots:
            if self.is_shown(root.nodeid):
                self._add(self.root, root, self._expand_all)
        if cursor is None or not self.is_shown(cursor):  # a filter's first match, if any
            matches = (leaf for leaf in self.all_leaves() if self.is_shown(leaf))
            cursor = next(matches, None) if visible is not None else None
        self.go_to(cursor)

    def _add(self, parent: TreeNode[str], node: TestNode, open_all: bool) -> None:
        if node.children:
            expand = self._starts_expanded(node.nodeid, open_all)
            added = parent.add(self._label(node), data=node.nodeid, expand=expand)
            self.shown[node.nodeid] = added
            if expand:
                self._fill(added, node, open_all)
        else:
            self.shown[node.nodeid] = parent.add_leaf(self._label(node), data=node.nodeid)

    def _starts_expanded(self, nodeid: str, open_all: bool) -> bool:
        if self._visible is None and nodeid in self.collapsed:
            return False  # the filter opens what it shows (when it shows few enough)
        return open_all or nodeid in self.opened

    def _fill(self, widget_node: TreeNode[str], node: TestNode, open_all: bool) -> None:
        for child in node.children:
            if self.is_shown(child.nodeid):
                self._add(widget_node, child, open_all)

    def _open_children(self, widget_node: TreeNode[str]) -> None:
        """The children of a group being opened, unless they were added already; its own
        groups open too when it holds few enough tests."""
        node = None if widget_node.data is None else self.model.get(widget_node.data)
        if node is None or not node.children or widget_node.children:
            return
        self._fill(widget_node, node, self._expand_all or node.count <= EXPAND_LIMIT)

    def go_to(self, nodeid: str | None) -> None:
        """Move the cursor to `nodeid` (opening its parents), or to the first line."""
        node = self._show(nodeid) if nodeid is not None else None
        if node is None:
            if self.cursor_line < 0 and self.shown:
                self.cursor_line = 0
            return
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        _ = self.last_line  # lays the lines out: the node knows its line
        self.move_cursor(node)

    def _show(self, nodeid: str) -> TreeNode[str] | None:
        """The widget's node of `nodeid`, its parents' children added first; None if the
        filter hides it."""
        if nodeid in self.shown or not self.is_shown(nodeid):
            return self.shown.get(nodeid)
        for parent in reversed([nodeid, *self.parents_of(nodeid)][1:]):
            if (widget_node := self.shown.get(parent)) is not None:
                self._open_children(widget_node)
        return self.shown.get(nodeid)

    def relabel(self, nodeid: str) -> None:
        """The node's label again, and its parents' (their marks and outcomes sum it up)."""
        for each in (nodeid, *self.parents_of(nodeid)):
            shown = self.shown.get(each)
            if shown is not None:
                shown.set_label(self._label(self.model[each]))

    def relabel_below(self, nodeid: str) -> None:
        stack = [nodeid]
        while stack:
            each = stack.pop()
            node = self.model[each]
            if (shown := self.shown.get(each)) is not None:
                shown.set_label(self._label(node))
            stack.extend(child.nodeid for child in node.children)
        self.relabel(nodeid)

    # ------------------------------------------------------------------ labels

    def _label(self, node: TestNode) -> Text:
        nodeid = node.nodeid
        leaves = self.leaves.get(nodeid, ())
        chosen = sum(1 for leaf in leaves if leaf in self.selected)
        mark = "● " if leaves and chosen == len(leaves) else "◐ " if chosen else "  "
        text = Text(mark, style="bold cyan")
        name = node.name or "(rootdir)"
        if nodeid in self.errors:
            text.append("‼ ", style=ERROR_STYLE)
            self._append_name(text, name, ERROR_STYLE)
            text.append(" — collection error", style="red")
            return text
        outcome = self.outcome_of(nodeid)
        if outcome is None:
            text.append("  ")
        else:
            text.append(f"{ICONS[outcome]} ", style=STYLES.get(outcome, ""))
        self._append_name(text, name, "yellow" if outcome is Outcome.RUNNING else "")
        if node.children:
            shown = sum(1 for leaf in leaves if self.keeps(leaf))
            count = node.count if shown == len(leaves) else f"{shown} of {node.count}"
            text.append(f" ({count})", style="dim")
        elif (result := self.results.get(nodeid)) is not None and outcome is not Outcome.RUNNING:
            text.append(f" {result.duration:.2f}s", style="dim")
        return text

    def _append_name(self, text: Text, name: str, style: str) -> None:
        start = len(text)
        shown = safe_text(name)
        text.append(shown, style=style)
        if not self.filter_text:
            return
        wanted, lowered = self.filter_text.lower(), shown.lower()
        if len(lowered) != len(shown):
            return  # case-folding changed the length: no reliable span to highlight
        at = lowered.find(wanted)
        while at >= 0:
            text.stylize(MATCH_STYLE, start + at, start + at + len(wanted))
            at = lowered.find(wanted, at + len(wanted))

    def outcome_of(self, nodeid: str) -> Outcome | None:
        """A test's outcome (RUNNING while it runs); a group's sums up its tests: running
        if one runs, failed if one failed, passed once every test passed or was skipped."""
        leaves = self.leaves.get(nodeid, ())
        if len(leaves) == 1 and leaves[0] == nodeid:
            if nodeid in self.running:
                return Outcome.RUNNING
            result = self.results.get(nodeid)
            return result.outcome if result is not None else None
        if not self.results and not self.running:
            return None  # nothing ran yet (a new collection's labels): no test to look at
        outcomes = [self.outcome_of(leaf) for leaf in leaves]
        if Outcome.RUNNING in outcomes:
            return Outcome.RUNNING
        if Outcome.ERROR in outcomes:
            return Outcome.ERROR
        if Outcome.FAILED in outcomes:
            return Outcome.FAILED
        if outcomes and None not in outcomes:
            return Outcome.PASSED
        return None

    # ------------------------------------------------------------------ outcomes

    def mark_running(self, nodeid: str, run: int) -> None:
        self.running[nodeid] = run
        self.relabel(nodeid)

    def finished(self, event: FinishedEvent) -> None:
        self.running.pop(event.nodeid, None)
        self.results[event.nodeid] = event
        self.relabel(event.nodeid)

    def run_ended(self, run: int) -> None:
        """Tests of `run` still shown running (it was cancelled) are not any more."""
        for nodeid in [n for n, r in self.running.items() if r == run]:
            del self.running[nodeid]
            self.relabel(nodeid)

    def failures(self) -> list[str]:
        return [n for n, r in self.results.items() if r.outcome in FAILING]

    # ------------------------------------------------------------------ selection

    def toggle_selection(self, nodeid: str) -> None:
        """Select every test below `nodeid` (those the filter shows), or unselect them
        all if they all were."""
        leaves = [leaf for leaf in self.leaves.get(nodeid, ()) if self.keeps(leaf)]
        if not leaves:
            return
        if all(leaf in self.selected for leaf in leaves):
            self.selected.difference_update(leaves)
        else:
            self.selected.update(leaves)
        self.relabel_below(nodeid)

    def selection_targets(self) -> list[str]:
        """The selection as pytest arguments, shortest form first: a file, class or
        function whose tests are all selected is passed whole."""
        targets: list[str] = []

        def visit(node: TestNode) -> None:
            leaves = self.leaves[node.nodeid]
            if all(leaf in self.selected for leaf in leaves):
                targets.append(node.nodeid)
            elif any(leaf in self.selected for leaf in leaves):
                for child in node.children:
                    visit(child)

        for root in self.roots:
            visit(root)
        return targets

    # ------------------------------------------------------------------ filter

    def set_filter(self, text: str) -> None:
        """Filter by `text` ("" for none); the cursor goes to the first match unless it is
        on one."""
        if text == self.filter_text:
            return
        self.filter_text = text
        self.rebuild()
        matches = self.matches() if text else []
        if matches and self.cursor_nodeid not in matches:
            self.go_to(matches[0])

    def keeps(self, leaf: str) -> bool:
        """Whether the filter keeps the test `leaf`: its node id holds the text."""
        return not self.filter_text or self.filter_text.lower() in leaf.lower()

    def visible_ids(self) -> set[str] | None:
        """The node ids the filter keeps (matching tests and their parents); None: all."""
        if not self.filter_text:
            return None
        visible: set[str] = set()
        for leaf in self.all_leaves():
            if self.keeps(leaf):
                visible.add(leaf)
                visible.update(self.parents_of(leaf))
        return visible

    def matches(self) -> list[str]:
        """The tests `n` / `N` move between, in the tree's order: those the filter keeps
        (none without a filter)."""
        if not self.filter_text:
            return []
        return [leaf for leaf in self.all_leaves() if self.is_shown(leaf)]

    def shown_failures(self) -> list[str]:
        """The tests `]` / `[` move between, in the tree's order: failed tests and files
        that failed to collect, of those the filter shows."""
        return [
            leaf
            for leaf in self.all_leaves()
            if self.is_shown(leaf)
            and (
                leaf in self.errors
                or (leaf in self.results and self.results[leaf].outcome in FAILING)
            )
        ]

    def jump(self, step: int, targets: list[str]) -> str | None:
        """The cursor to the next (step 1) or previous (-1) of `targets` (in the tree's
        order), round the end; None when there is none."""
        if not targets:
            return None
        order = {nodeid: index for index, nodeid in enumerate(self._display_order())}
        here = order.get(self.cursor_nodeid or "", -1)
        if step > 0:
            target = next((m for m in targets if order.get(m, -1) > here), targets[0])
        else:
            target = next((m for m in reversed(targets) if order.get(m, -1) < here), targets[-1])
        self.go_to(target)
        return target

    def _display_order(self) -> Iterable[str]:
        """The node ids the filter shows, in the tree's order (added to the widget or not)."""
        stack = [root for root in reversed(self.roots) if self.is_shown(root.nodeid)]
        while stack:
            node = stack.pop()
            yield node.nodeid
            stack.extend(child for child in reversed(node.children) if self.is_shown(child.nodeid))
