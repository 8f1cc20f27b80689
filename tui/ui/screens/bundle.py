"""`envdeck bundle open DIR`: failure bundles in the tests screen's failure view, read-only.

No engine, no project: everything comes from the bundles, already read (`tui.core.bundle`).
The failure is drawn by the tests screen's own functions (`tests_detail.py`), so it looks
the same, the test's moments marked among the service logs. With several bundles (a
`--bundle DIR` of a CI run) a list on the left picks one; `]` / `[` move as in the tests
screen.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.core.bundle import FailureBundle
from tui.core.text import safe_text
from tui.ui.safe import safe_label
from tui.ui.widgets.key_bar import KeyBar
from tui.ui.widgets.tests_detail import failure_text, safe_lines, service_logs_text
from tui.ui.widgets.tests_tree import ICONS, STYLES


def bundle_text(bundle: FailureBundle) -> Text:
    """The failure view of a bundle: the tests screen's, then the data diff and what the
    bundle could not hold."""
    if bundle.logs_problem:
        logs = Text(f"── service logs unavailable: {bundle.logs_problem} ──", style="red")
        for mark in bundle.marks:
            logs.append(f"\n{safe_text(mark.line())}", style="bold dim")
    else:
        logs = service_logs_text(bundle.lines, bundle.marks)
    text = failure_text(bundle.result, logs)
    if bundle.data_diff is not None:
        text.append("\n\n── data diff ──", style="bold")
        for line in safe_lines(bundle.data_diff):
            text.append(f"\n{line}")
    if bundle.problems:
        text.append("\n\n── not in this bundle ──", style="bold")
        for problem in bundle.problems:
            text.append(f"\n{safe_text(problem)}", style="dim")
    return text


def title_text(bundle: FailureBundle, count: int) -> Text:
    which = f"{count} failure bundles" if count > 1 else "failure bundle"
    return safe_label(
        f"{which} · read-only · {bundle.path.name} · written {bundle.written_at}"
        f" by envdeck {bundle.envdeck_version}"
    )


class BundleScreen(Screen[None]):
    CSS_PATH = "bundle.tcss"
    BINDINGS = [
        Binding("right_square_bracket", "next_failure", "Next failure", id="bundle.next_failure"),
        Binding(
            "left_square_bracket",
            "previous_failure",
            "Previous failure",
            id="bundle.previous_failure",
        ),
        Binding("tab", "focus_next", "Next pane", show=False, id="bundle.next_pane"),
    ]

    def __init__(self, bundles: Sequence[FailureBundle], problems: Sequence[str] = ()) -> None:
        super().__init__()
        self.bundles = list(bundles)
        self.problems = list(problems)  # bundles that could not be read
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Static(id="bundle-title")
        with Horizontal(id="bundle-main"):
            failures = OptionList(
                *(
                    Option(
                        Text.assemble(
                            (f"{ICONS[b.result.outcome]} ", STYLES[b.result.outcome]),
                            safe_label(b.result.nodeid),
                        )
                    )
                    for b in self.bundles
                ),
                id="bundle-failures",
            )
            failures.display = len(self.bundles) > 1
            yield failures
            with VerticalScroll(id="bundle-detail"):
                yield Static(id="bundle-failure")
        if self.problems:
            yield Static(safe_label(" · ".join(self.problems), style="bold"), id="bundle-problems")
        yield KeyBar()

    def on_mount(self) -> None:
        self.show(0)
        if len(self.bundles) > 1:
            self.query_one("#bundle-failures", OptionList).focus()
        else:
            self.query_one("#bundle-detail", VerticalScroll).focus()

    def show(self, index: int) -> None:
        self.index = index % len(self.bundles)
        bundle = self.bundles[self.index]
        self.query_one("#bundle-title", Static).update(title_text(bundle, len(self.bundles)))
        self.query_one("#bundle-failure", Static).update(bundle_text(bundle))
        self.query_one("#bundle-detail", VerticalScroll).scroll_home(animate=False)
        failures = self.query_one("#bundle-failures", OptionList)
        if failures.highlighted != self.index:
            failures.highlighted = self.index

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.index:
            self.show(event.option_index)

    def action_next_failure(self) -> None:
        self.show(self.index + 1)

    def action_previous_failure(self) -> None:
        self.show(self.index - 1)


class BundleApp(App[int]):
    """The read-only viewer: one screen, quit keys, the command palette."""

    TITLE = "envdeck bundle"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, id="app.quit_ctrl_q", priority=True),
        Binding("ctrl+c", "quit", "Quit", show=False, id="app.quit_ctrl_c", priority=True),
    ]

    def __init__(self, bundles: Sequence[FailureBundle], problems: Sequence[str] = ()) -> None:
        super().__init__()
        self.bundles = bundles
        self.problems = problems

    def on_mount(self) -> None:
        self.push_screen(BundleScreen(self.bundles, self.problems))


def open_bundles_app(bundles: Sequence[FailureBundle], problems: Sequence[str] = ()) -> BundleApp:
    """The app `envdeck bundle open` runs (and the tests drive)."""
    return BundleApp(bundles, problems)


__all__ = ["BundleApp", "BundleScreen", "bundle_text", "open_bundles_app"]
