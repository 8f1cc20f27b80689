"""A newly selected service's first lines are drawn as they arrive (issue 17: selecting a
service until its log shows), while later batches keep the pane's frame spacing."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tui.core.log_buffer import LogLine
from tui.ui.widgets.log_view import LogView


class OneLogView(App[None]):
    def compose(self) -> ComposeResult:
        yield LogView(id="log")


def line(text: str) -> LogLine:
    return LogLine("db", "abc", "2026-12-06T22:00:00.000000000Z", text, "stdout")


async def test_the_first_lines_of_a_new_source_are_drawn_at_once() -> None:
    app = OneLogView()
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        view.start("db", ["db"], merged=False)  # the selection changed: an empty pane
        view.add_lines([line("first")])
        # Drawn now, not a frame interval (0.1 s) after the empty pane was drawn.
        assert view.lines_widget.virtual_size.height == 1
        view.add_lines([line("second")])
        # The next batch waits for the next frame, as before.
        assert view.lines_widget.virtual_size.height == 1
        await pilot.pause(0.2)
        assert view.lines_widget.virtual_size.height == 2
