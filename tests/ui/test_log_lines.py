"""The log pane's line widget on its own: whatever text it is handed, it draws plain
characters, keeps at most `max_lines`, and text selected with the mouse is what is shown."""

from __future__ import annotations

from rich.color import Color
from textual.app import App, ComposeResult
from textual.geometry import Offset
from textual.selection import Selection

from tui.ui.widgets.log_lines import LogLines, ServiceHighlighter


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
