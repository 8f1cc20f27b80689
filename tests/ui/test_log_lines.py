"""The log pane's line widget: whatever text it is handed, it draws plain characters, keeps
at most `max_lines`, text selected with the mouse is what is shown, and following goes on
whatever happens to the pane's size."""

from __future__ import annotations

from rich.color import Color
from textual.app import App, ComposeResult
from textual.geometry import Offset
from textual.selection import Selection
from textual.widgets import Static

from tui.core.log_buffer import LogLine
from tui.ui.widgets.log_lines import LogLines, ServiceHighlighter
from tui.ui.widgets.log_view import LogView


class OneLogLines(App[None]):
    def compose(self) -> ComposeResult:
        yield LogLines(id="lines", max_lines=3, highlighter=ServiceHighlighter())


def background_of(lines: LogLines, y: int, text: str) -> Color | None:
    """The background of the segment of line `y` that is exactly `text`, if one is."""
    for segment in lines.render_line(y):
        if segment.text == text and segment.style is not None:
            return segment.style.bgcolor
    return None


HOSTILE = ["zero", "one \x1b[31mred\x07 \x9b2J", "[bold]x[/] tab\there", "last"]


async def test_text_is_drawn_as_plain_characters_and_the_oldest_lines_go() -> None:
    app = OneLogLines()
    async with app.run_test(size=(40, 8)) as pilot:
        lines = app.query_one(LogLines)
        lines.append(HOSTILE)
        lines.flush(follow=True)
        await pilot.pause()
        assert list(lines.lines) == HOSTILE[1:]  # max_lines: "zero" went
        drawn = [lines.render_line(y).text.rstrip() for y in range(4)]
        assert drawn == [
            "one ␛[31mred␇ \\u009b2J",  # controls made visible, not sent
            "[bold]x[/] tab  here",  # markup shown as typed, tabs expanded
            "last",
            "",
        ]
        assert lines.virtual_size.width == len("one ␛[31mred␇ \\u009b2J")


async def test_a_mouse_selection_is_drawn_and_copied_as_shown() -> None:
    app = OneLogLines()
    async with app.run_test(size=(40, 8)) as pilot:
        lines = app.query_one(LogLines)
        lines.append(HOSTILE[1:])
        lines.flush(follow=True)
        # From "tab" on the second line to "la" on the third; the tab counts as drawn.
        app.screen.selections = {lines: Selection(Offset(11, 1), Offset(2, 2))}
        await pilot.pause()
        assert app.screen.get_selected_text() == "tab  here\nla"
        selected = app.screen.get_component_rich_style("screen--selection")
        assert background_of(lines, 1, "tab  here") == selected.bgcolor
        app.screen.selections = {}
        await pilot.pause()
        assert lines.render_line(1).text.rstrip() == "[bold]x[/] tab  here"  # drawn as before
        assert background_of(lines, 1, "tab  here") is None  # no segment of its own now


async def test_the_scrollbars_after_a_flush_are_the_ones_a_layout_gives() -> None:
    # A flush sizes the scrollbars itself instead of asking for a layout of the screen
    # (LogLines._set_virtual_size); a layout done afterwards must change nothing drawn.
    app = OneLogLines()
    async with app.run_test(size=(50, 12)) as pilot:
        lines = app.query_one(LogLines)
        lines.max_lines = 1_000
        for step, follow in enumerate((True, True, False, True)):
            lines.append(
                [f"line {n} " + "x" * (n % 70) for n in range(step * 100, step * 100 + 100)]
            )
            lines.flush(follow=follow)
            await pilot.pause()
            flushed = app.export_screenshot()
            lines.refresh(layout=True)
            await pilot.pause()
            assert app.export_screenshot() == flushed, f"step {step}"
        lines.clear()
        await pilot.pause()
        cleared = app.export_screenshot()
        lines.refresh(layout=True)
        await pilot.pause()
        assert app.export_screenshot() == cleared


class HeaderAndLogView(App[None]):
    CSS = "#header { height: 1; }"

    def compose(self) -> ComposeResult:
        yield Static("header", id="header")
        yield LogView(id="log")


def numbered(first: int, count: int) -> list[LogLine]:
    return [
        LogLine("db", "c1", "2026-12-07T01:00:00.000000000Z", f"line #{n}", "stdout")
        for n in range(first, first + count)
    ]


async def test_a_pane_made_shorter_while_following_goes_on_following() -> None:
    # The header above grows (a longer engine name, a wrapped line): nobody scrolled up,
    # so the newest lines stay in view and none is counted as "new lines below".
    app = HeaderAndLogView()
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(LogView)
        lines = view.lines_widget
        await pilot.pause()
        view.start("db", ["db"], merged=False)
        view.add_lines(numbered(0, 300))
        await pilot.pause(0.2)
        assert lines.is_vertical_scroll_end
        app.query_one("#header").styles.height = 3
        await pilot.pause(0.1)
        assert lines.is_vertical_scroll_end  # the end still in view after the resize
        view.add_lines(numbered(300, 50))
        await pilot.pause(0.2)
        assert lines.is_vertical_scroll_end
        assert view.unseen == 0
        last_row = lines.scrollable_content_region.height - 1
        assert lines.render_line(last_row).text.rstrip() == "line #349"
