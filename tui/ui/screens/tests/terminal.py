"""The terminal handed over: pdb on the test under the cursor (P) and $EDITOR at where it is
written (o); `hand_over` runs the argv, and tests replace it to see it."""

from __future__ import annotations

import os
import re
import shlex
import shutil

from tui.ui.screens.tests.base import TestsBase


class TerminalPart(TestsBase):
    def debug_argv(self, nodeid: str) -> list[str]:
        """pytest on `nodeid` alone, stopping in pdb at the first failure: here, or in a
        new container of the tests' compose service, with the terminal."""
        return self.session.place.debug_argv(nodeid)

    def editor_argv(self, file: str, line: int | None) -> list[str]:
        """$EDITOR (vi without one) on the file, at `+line` when known."""
        editor = shlex.split(os.environ.get("EDITOR") or "vi")
        position = [f"+{line}"] if line else []
        return [*editor, *position, str(self.root_dir / file)]

    def location(self, nodeid: str) -> tuple[str, int | None]:
        """Where `nodeid` is written: a test's line, a parametrized function's or a
        class's first test, the line a file failed to collect at, or a file's top."""
        tree = self.test_tree
        file = nodeid.split("::", 1)[0]
        if nodeid in tree.errors:
            return file, error_line(tree.errors[nodeid], file)
        node = tree.model.get(nodeid)
        if node is None or node.kind == "file":
            return file, None
        first = tree.model.get(tree.leaves[nodeid][0]) if tree.leaves.get(nodeid) else None
        item = first.item if first is not None else None
        return file, item.lineno if item is not None else None

    def action_debug(self) -> None:
        nodeid = self.test_tree.cursor_nodeid
        if nodeid is None:
            return
        self.hand_over(self.debug_argv(nodeid), self.root_dir)

    def action_open_editor(self) -> None:
        nodeid = self.test_tree.cursor_nodeid
        if nodeid is None:
            return
        argv = self.editor_argv(*self.location(nodeid))
        if shutil.which(argv[0]) is None:
            self.notify(f"$EDITOR ({argv[0]}) is not installed", severity="error", markup=False)
            return
        self.hand_over(argv, self.root_dir)


def error_line(longrepr: str, file: str) -> int | None:
    """The line of `file` a collection error points at, from pytest's report: the last
    `File ".../file", line N` (a SyntaxError) or `file:N: in ...` (an import error)."""
    name = re.escape(file)
    found = re.findall(
        rf'File "(?:[^"]*/)?{name}", line (\d+)|^(?:\S*/)?{name}:(\d+): ', longrepr, re.MULTILINE
    )
    if not found:
        return None
    syntax, traceback = found[-1]
    return int(syntax or traceback)
