"""The log pane's lines: a line-API widget made for floods, on Textual's public API only.

A `ScrollView` with `render_line`, the shape of Textual's own `Log`, but `append` only
stores a batch's text and `flush` (at most FRAME_RATE times a second, from LogView) sizes,
scrolls and repaints once. A line is rendered only when it is in view, cached by its number
since the last clear rather than by its position, so pruning the oldest lines invalidates
nothing. Whatever reaches a line, it is drawn as plain characters: never parsed as markup,
and any control character the core did not already make visible is made visible here.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.highlighter import Highlighter
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from tui.core.log_filter import BadPattern, LogFilter
from tui.core.text import safe_text
from tui.presentation.log_format import PREFIX_END


def printable(line: str) -> str:
    """A line as drawn: tabs expanded, control characters shown as visible escapes (lines
    from the core have none left; this keeps the pane safe whoever feeds it)."""
    return safe_text(line.expandtabs())


class ServiceHighlighter(Highlighter):
    """Colours `service │` prefixes, separator lines and search matches."""

    def __init__(self) -> None:
        self.colours: dict[str, str] = {}
        self.search: LogFilter | None = None
        self.match_style = Style(reverse=True, bold=True)

    def is_plain(self, plain: str) -> bool:
        """Nothing to colour in this line: it can be drawn without a Rich Text."""
        return (
            self.search is None
            and not (self.colours and PREFIX_END in plain)
            and not plain.lstrip().startswith("──")
        )

    def highlight(self, text: Text) -> None:
        plain = text.plain
        if plain.lstrip().startswith("──"):
            text.stylize("bold italic")
        prefix_end = plain.find(PREFIX_END)
        if prefix_end > 0:
            colour = self.colours.get(plain[:prefix_end].rstrip())
            if colour:
                text.stylize(Style(color=colour, bold=True), 0, prefix_end + len(PREFIX_END))
        if self.search is not None:
            try:
                for start, end in self.search.spans(plain):
                    text.stylize(self.match_style, start, end)
            except BadPattern:
                return


class LogLines(ScrollView, can_focus=True):
    """Lines of text, scrollable both ways, selectable with the mouse, at most `max_lines`
    of them (the oldest go first)."""

    ALLOW_SELECT = True
    # Log's look. `overflow: scroll` keeps both scrollbars shown whatever the content, which
    # `_set_virtual_size` relies on: it sizes the scrollbars but never shows or hides one.
    DEFAULT_CSS = """
    LogLines {
        background: $surface;
        color: $text;
        overflow: scroll;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """

    def __init__(
        self, *, max_lines: int, highlighter: ServiceHighlighter, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.highlighter = highlighter
        self._texts: list[str] = []
        self._first = 0  # the number, since the last clear, of self._texts[0]
        self._widest_cells = 0  # the widest line, in cells
        self._strips: LRUCache[int, Strip] = LRUCache(512)  # by line number, uncropped
        self._appended = 0  # lines appended since the last flush
        self._pruned = 0  # lines pruned since the last flush
        # Where this widget last left the view at the end, while nothing else moved it.
        self._end_y: float | None = None
        # While a frame is rendered: rich_style, scroll x and y, width.
        self._frame: tuple[Style, int, int, int] | None = None

    @property
    def lines(self) -> Sequence[str]:
        """The lines held (read only: changing them does not redraw)."""
        return self._texts

    @property
    def line_count(self) -> int:
        return len(self._texts)

    @property
    def at_end(self) -> bool:
        """The view shows the end, or would but for a change of the pane's size since it
        was last put there: a pane made shorter while following has not been scrolled up
        by anyone, and must go on following."""
        return self.is_vertical_scroll_end or (
            self._end_y is not None and self.scroll_y == self._end_y
        )

    # -------------------------------------------------------------- content

    def append(self, texts: Sequence[str]) -> None:
        """Add lines (no newlines in them); drawn at the next flush."""
        if not texts:
            return
        lines = self._texts
        lines.extend(texts)
        excess = len(lines) - self.max_lines
        if excess > 0:
            del lines[:excess]
            self._first += excess
            self._pruned += excess
        self._appended += len(texts)
        self._widest_cells = max(self._widest_cells, _widest(texts))

    def flush(self, *, follow: bool) -> None:
        """Show what was appended: the newest lines if `follow` and at the end, else the
        same lines as before (the view moves up with them when the oldest are pruned)."""
        appended, pruned = self._appended, self._pruned
        self._appended = self._pruned = 0
        stick = follow and self.at_end
        self._set_virtual_size(Size(self._widest_cells, len(self._texts)))
        if stick:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        elif pruned:
            self.scroll_to(y=max(0, self.scroll_y - pruned), animate=False, immediate=True)
        self._end_y = self.scroll_y if self.is_vertical_scroll_end else None
        # New lines inside the viewport (a pane not yet full) show without any scrolling.
        if stick or (appended and len(self._texts) - appended < self.scroll_y + self.size.height):
            self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        if self.at_end and not self.is_vertical_scroll_end:  # made shorter at the end
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
            self._end_y = self.scroll_y

    def clear(self) -> None:
        self._texts.clear()
        self._first = 0
        self._strips.clear()
        self._widest_cells = 0
        self._appended = self._pruned = 0
        self._end_y = None
        self._set_virtual_size(Size(0, 0))

    def forget_rendering(self) -> None:
        """The highlighter changed: render again what is shown."""
        self._strips.clear()
        self.refresh()

    def _set_virtual_size(self, size: Size) -> None:
        if size == self.virtual_size:
            return
        # Not `self.virtual_size = size`: that reactive asks for a layout of the whole
        # screen, up to ten times a second in a flood. Nothing around the pane depends on
        # its content's size, so the size is set quietly and the scrollbars told here.
        self.set_reactive(Widget.virtual_size, size)
        width, height = self.container_size
        if self.show_vertical_scrollbar:
            vertical = self.vertical_scrollbar
            vertical.window_virtual_size = size.height
            vertical.window_size = height - self.scrollbar_size_horizontal
        if self.show_horizontal_scrollbar:
            horizontal = self.horizontal_scrollbar
            horizontal.window_virtual_size = size.width
            horizontal.window_size = width - self.scrollbar_size_vertical
        # A smaller content moves the view back inside it.
        self.scroll_x = self.validate_scroll_x(self.scroll_x)
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

    # -------------------------------------------------------------- selection

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        # The lines as drawn: the selection's columns are cells on the screen.
        return selection.extract("\n".join(map(printable, self._texts))), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._strips.clear()
        self.refresh()

    # -------------------------------------------------------------- rendering

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_lines(self, crop: Region) -> list[Strip]:
        # rich_style is a walk up the DOM, scroll_offset and size are properties: once per
        # frame rather than once per line (they were half of a frame's cost).
        scroll_x, scroll_y = self.scroll_offset
        self._frame = (self.rich_style, scroll_x, scroll_y, self.size.width)
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        if self._frame is None:  # not from render_lines
            scroll_x, scroll_y = self.scroll_offset
            rich_style, width = self.rich_style, self.size.width
        else:
            rich_style, scroll_x, scroll_y, width = self._frame
        y += scroll_y
        if y >= len(self._texts):
            return Strip.blank(width, rich_style)
        strip = self._line_strip(y, rich_style)
        return strip.crop_extend(scroll_x, scroll_x + width, rich_style).apply_offsets(scroll_x, y)

    def _line_strip(self, y: int, rich_style: Style) -> Strip:
        """Line `y` (a position in `lines`) rendered whole, uncropped."""
        selection = self.text_selection
        if selection is not None:  # drawn as selected, not cached
            return self._strip(self._texts[y], rich_style, selection.get_span(y))
        number = self._first + y
        strip = self._strips.get(number)
        if strip is None:
            strip = self._strips[number] = self._strip(self._texts[y], rich_style, None)
        return strip

    def _strip(self, line: str, rich_style: Style, selected: tuple[int, int] | None) -> Strip:
        plain = printable(line)
        highlighter = self.highlighter
        if selected is None and highlighter.is_plain(plain):
            return Strip([Segment(plain, rich_style)], cell_len(plain))
        text = Text(plain, no_wrap=True)
        text.stylize(rich_style)
        highlighter.highlight(text)
        if selected is not None:
            start, end = selected
            selection_style = self.screen.get_component_rich_style("screen--selection")
            text.stylize(selection_style, start, len(text) if end == -1 else end)
        return Strip(text.render(self.app.console), cell_len(plain))


def _widest(texts: Sequence[str]) -> int:
    """The width in cells of the widest of `texts`, as drawn."""
    joined = "".join(texts)
    if joined.isascii() and "\t" not in joined:
        return max(map(len, texts))  # one cell a character, controls shown as one too
    return max(cell_len(printable(text)) for text in texts)
