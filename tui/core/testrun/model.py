"""What a project's tests are: collected items, their tree (file > class > function >
parametrized test) with counts, and outcomes. Frozen values only; the events of a run
are in `tui.core.testrun.events`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar, Literal

Phase = Literal["setup", "call", "teardown"]
NodeKind = Literal["file", "class", "function", "test"]
PHASES: tuple[Phase, ...] = ("setup", "call", "teardown")


class Outcome(StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    XFAILED = "xfailed"
    XPASSED = "xpassed"


FINAL_OUTCOMES = tuple(o for o in Outcome if o is not Outcome.RUNNING)


def utc_timestamp(seconds: float) -> str:
    """Seconds since the epoch in the events' form: 2026-01-02T03:04:05.123456Z."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------- collected tests


@dataclass(frozen=True, slots=True)
class TestItem:
    """One collected test, as pytest names it and as it can be selected again."""

    __test__: ClassVar[bool] = False  # not a test class, though its name says Test

    nodeid: str  # what pytest takes back on its command line
    file: str  # the node id's path part, relative to the rootdir
    cls: str | None  # "TestOuter::TestInner" for nested classes; None for a function
    name: str  # the function's name, without parameters
    params: str | None  # "1-2" of "test_add[1-2]"; None when not parametrized
    markers: tuple[str, ...]  # mark names, own and inherited (no parametrize/usefixtures)
    lineno: int | None  # 1-based, as pytest reports it: a decorated test's first decorator

    @property
    def label(self) -> str:
        """The test's own name: `test_add[1-2]`."""
        return self.name if self.params is None else f"{self.name}[{self.params}]"


@dataclass(frozen=True, slots=True)
class CollectError:
    nodeid: str  # the collector that failed: a file, usually
    longrepr: str  # pytest's report, as it renders it


@dataclass(frozen=True, slots=True)
class TestNode:
    """A node of the tree: file > class (nested as written) > function > parametrized test.

    A test that is not parametrized is a "test" node right below its file or class.
    """

    __test__: ClassVar[bool] = False

    kind: NodeKind
    name: str
    nodeid: str  # selects the whole node when passed to pytest
    count: int  # tests below this node (1 for a test, 0 for a file that did not collect)
    children: tuple[TestNode, ...] = ()
    item: TestItem | None = None  # set on "test" nodes
    error: str | None = None  # set on a file that failed to collect: pytest's report

    def walk(self) -> Iterator[TestNode]:
        """This node, then every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def items(self) -> Iterator[TestItem]:
        return (node.item for node in self.walk() if node.item is not None)


@dataclass(frozen=True)
class CollectedTree:
    """What `--collect-only` found: the tests in collection order, and what failed."""

    items: tuple[TestItem, ...] = ()
    errors: tuple[CollectError, ...] = ()
    deselected: int = 0  # by -k, -m, --lf … given in the extra arguments

    @property
    def count(self) -> int:
        return len(self.items)

    def item(self, nodeid: str) -> TestItem | None:
        return next((item for item in self.items if item.nodeid == nodeid), None)

    def files(self) -> tuple[TestNode, ...]:
        """The tree's roots, one per file in collection order; files that failed to
        collect come last, as nodes with `error` set and no children."""
        root = _Group("", "file", "")
        place: tuple[str, str | None] | None = None
        container = root
        for item in self.items:
            if (item.file, item.cls) != place:  # the tests of a class come one after another
                place, container = (item.file, item.cls), _container(root, item)
            group = container
            if item.params is not None:
                group = _child_group(group, item.name, "function")
            group.children[item.nodeid] = item
        nodes = [_freeze(group) for group in root.children.values() if isinstance(group, _Group)]
        failed = [TestNode("file", e.nodeid, e.nodeid, 0, error=e.longrepr) for e in self.errors]
        return (*nodes, *failed)


@dataclass
class _Group:
    name: str
    kind: NodeKind
    nodeid: str
    # Groups by (kind, name): a class and a function may share a name in one file; tests
    # by node id.
    children: dict[tuple[NodeKind, str] | str, _Group | TestItem] = field(default_factory=dict)


def _container(root: _Group, item: TestItem) -> _Group:
    """The group of `item`'s file, or of its innermost class."""
    group = _child_group(root, item.file, "file")
    for cls in item.cls.split("::") if item.cls else ():
        group = _child_group(group, cls, "class")
    return group


def _child_group(parent: _Group, name: str, kind: NodeKind) -> _Group:
    child = parent.children.get((kind, name))
    if not isinstance(child, _Group):
        nodeid = name if kind == "file" else f"{parent.nodeid}::{name}"
        child = parent.children[kind, name] = _Group(name, kind, nodeid)
    return child


def _freeze(group: _Group) -> TestNode:
    children = tuple(
        _freeze(child) if isinstance(child, _Group) else _leaf(child, group)
        for child in group.children.values()
    )
    count = sum(child.count for child in children)
    return TestNode(group.kind, group.name, group.nodeid, count, children)


def _leaf(item: TestItem, parent: _Group) -> TestNode:
    # Below its function, a parametrized test is named by its parameters alone.
    name = item.params if parent.kind == "function" and item.params is not None else item.label
    return TestNode("test", name, item.nodeid, 1, item=item)


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class OutcomeCounts:
    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> OutcomeCounts:
        counts = dict.fromkeys((o.value for o in FINAL_OUTCOMES), 0)
        for outcome in outcomes:
            if outcome is not Outcome.RUNNING:
                counts[outcome.value] += 1
        return cls(**counts)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.error + self.skipped + self.xfailed + self.xpassed

    def as_dict(self) -> dict[str, int]:
        return {o.value: getattr(self, o.value) for o in FINAL_OUTCOMES}

    def summary(self) -> str:
        """pytest's wording and order: "1 failed, 3 passed, 1 skipped, 2 errors"."""
        parts = [
            f"{n} {word}"
            for n, word in (
                (self.failed, "failed"),
                (self.passed, "passed"),
                (self.skipped, "skipped"),
                (self.xfailed, "xfailed"),
                (self.xpassed, "xpassed"),
                (self.error, "error" if self.error == 1 else "errors"),
            )
            if n
        ]
        return ", ".join(parts) or "no tests ran"
