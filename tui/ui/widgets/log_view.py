"""The log pane: Textual's line-cached Log, coloured per service, searchable, bounded.

Lines arrive already safe (the core strips control characters). Everything the pane
shows is rebuilt from the core's ring buffer, so filter, timestamps and wrap can change
without losing a line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from rich.highlighter import Highlighter
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Log, Static

from tui.core.log_buffer import LogLine, LogRing, now_timestamp
from tui.core.log_filter import BadPattern, FilterMode, LogFilter, parse_filter
from tui.core.text import safe_text
from tui.presentation.log_format import PREFIX_END, SEPARATOR_STREAM, format_line, wrap

SERVICE_COLOURS = ("primary", "secondary", "accent", "success", "warning", "error")
SINCE_KEYS = {"0": None, "1": "1m", "2": "5m", "3": "15m", "4": "30m", "5": "1h", "6": "24h"}
MAX_LINES = 20_000


class ServiceHighlighter(Highlighter):
    """Colours `service │` prefixes, separator lines and search matches."""

    def __init__(self) -> None:
        self.colours: dict[str, str] = {}
        self.search: LogFilter | None = None
        self.match_style = Style(reverse=True, bold=True)

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


class LogView(Vertical):
    """A status line, the log, and a search box that appears on `/`."""

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow", id="logs.follow"),
        Binding("t", "toggle_timestamps", "Timestamps", id="logs.timestamps"),
        Binding("w", "toggle_wrap", "Wrap", id="logs.wrap"),
        Binding("a", "toggle_all", "All services", id="logs.all"),
        Binding("slash", "search", "Search", id="logs.search"),
        Binding("n", "next_match", "Next match", show=False, id="logs.next"),
        Binding("N", "previous_match", "Previous match", show=False, id="logs.previous"),
        Binding("m", "marker", "Marker", show=False, id="logs.marker"),
        Binding("y", "copy", "Copy", show=False, id="logs.copy"),
        Binding("ctrl+s", "save", "Save", show=False, id="logs.save"),
        *(
            Binding(
                key,
                f"since('{key}')",
                f"Since {label or 'tail'}",
                show=False,
                id=f"logs.since_{key}",
            )
            for key, label in SINCE_KEYS.items()
        ),
    ]

    class AllServicesToggled(Message):
        """The user asked for the merged view (or back to the selected service)."""

    class SinceChosen(Message):
        def __init__(self, since: str | None) -> None:
            super().__init__()
            self.since = since

    def __init__(self, *, id: str | None = None, lines_per_service: int = 10_000) -> None:
        super().__init__(id=id)
        self.lines_per_service = lines_per_service
        self.ring = LogRing(max_lines_per_service=lines_per_service)
        self.highlighter = ServiceHighlighter()
        self.follow = True
        self.timestamps = False
        self.wrap = False
        self.merged = False
        self.search: LogFilter | None = None
        self.unseen = 0
        self.title = ""
        self.prefix_width = 4

    def compose(self) -> ComposeResult:
        yield Static("", id="log-status", markup=False)
        log = Log(id="log-lines", max_lines=MAX_LINES, highlight=True, auto_scroll=True)
        log.highlighter = self.highlighter
        yield log
        search = Input(placeholder="text, /regex/, ! to hide the rest — enter", id="log-search")
        search.display = False
        yield search

    @property
    def lines_widget(self) -> Log:
        return self.query_one("#log-lines", Log)

    # -------------------------------------------------------------- attributes down

    def start(self, title: str, services: Sequence[str], *, merged: bool) -> None:
        """A new source: forget the old lines."""
        self.title, self.merged = title, merged
        self.ring = LogRing(max_lines_per_service=self.lines_per_service)
        self.highlighter.colours = self._colours(services)
        # Per source, not per line: this is on the path of every log line.
        self.prefix_width = max((len(name) for name in self.highlighter.colours), default=4)
        self.unseen = 0
        self.rebuild()

    def add_lines(self, lines: Sequence[LogLine]) -> None:
        self.ring.extend(lines)
        shown = [text for line in lines if self._visible(line) for text in self._line_texts(line)]
        if not shown:
            self._update_status()
            return
        log = self.lines_widget
        at_end = log.is_vertical_scroll_end
        full = log.line_count + len(shown) > MAX_LINES
        log.write_lines(shown, scroll_end=self.follow and at_end)
        if full:
            # Textual's Log refreshes the rows its new lines had before pruning, which are
            # below the viewport once it is full: without this the pane stops changing.
            log.refresh()
        if not (self.follow and at_end):
            self.unseen += len(shown)  # never yank a user who scrolled up; count instead
        self._update_status()

    def rebuild(self) -> None:
        log = self.lines_widget
        log.clear()
        log.write_lines(
            [
                text
                for line in self.ring.lines()
                if self._visible(line)
                for text in self._line_texts(line)
            ],
            scroll_end=self.follow,
        )
        self.unseen = 0
        self._update_status()

    # -------------------------------------------------------------- rendering

    def _colours(self, services: Sequence[str]) -> dict[str, str]:
        variables = self.app.theme_variables
        return {
            safe_text(service): variables.get(SERVICE_COLOURS[index % len(SERVICE_COLOURS)], "")
            for index, service in enumerate(sorted(services))
        }

    def _visible(self, line: LogLine) -> bool:
        search = self.search
        if search is None or search.mode is FilterMode.HIGHLIGHT or line.stream == SEPARATOR_STREAM:
            return True
        return search.matches(line.text)

    def _line_texts(self, line: LogLine) -> list[str]:
        width = self.prefix_width
        text = format_line(
            line, timestamps=self.timestamps, prefix_width=width if self.merged else None
        )
        if not self.wrap:
            return [text]
        return list(wrap(text, max(self.lines_widget.scrollable_content_region.width - 1, 20)))

    def _update_status(self) -> None:
        flags = [
            "following" if self.follow else "paused",
            *(["timestamps"] if self.timestamps else []),
            *(["wrap"] if self.wrap else []),
        ]
        if self.search is not None:
            kind = "hiding non-matching" if self.search.mode is FilterMode.HIDE else "search"
            flags.append(f"{kind}: {self.search.pattern}")
        unseen = f" · {self.unseen} new lines below (G)" if self.unseen else ""
        # One fixed-height line: no layout pass for it on every batch of log lines.
        self.query_one("#log-status", Static).update(
            Text(f"{self.title} · {len(self.ring)} lines · {' · '.join(flags)}{unseen}"),
            layout=False,
        )

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap:
            self.rebuild()

    # -------------------------------------------------------------- actions

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        if self.follow:
            self.lines_widget.scroll_end(animate=False)
            self.unseen = 0
        self._update_status()

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self.rebuild()

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self.rebuild()

    def action_toggle_all(self) -> None:
        self.post_message(self.AllServicesToggled())

    def action_since(self, key: str) -> None:
        self.post_message(self.SinceChosen(SINCE_KEYS.get(key)))

    def action_search(self) -> None:
        box = self.query_one("#log-search", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box = self.query_one("#log-search", Input)
        box.display = False
        self.lines_widget.focus()
        search = parse_filter(event.value) if event.value else None
        if search is not None:
            try:
                search.compiled()
            except BadPattern as error:
                self.notify(str(error), severity="error", markup=False)
                return
        self.search = search
        self.highlighter.search = search
        self.rebuild()
        if search is not None and search.mode is FilterMode.HIGHLIGHT:
            self.action_previous_match()

    def _match_rows(self) -> list[int]:
        if self.search is None:
            return []
        pattern = self.search.compiled()
        return [row for row, text in enumerate(self.lines_widget.lines) if pattern.search(text)]

    def action_next_match(self) -> None:
        current = self.lines_widget.scroll_offset.y
        rows = [row for row in self._match_rows() if row > current]
        if rows:
            self._jump(rows[0])

    def action_previous_match(self) -> None:
        current = self.lines_widget.scroll_offset.y + (0 if self.search else 1)
        rows = [row for row in self._match_rows() if row < current or current == 0]
        if rows:
            self._jump(rows[-1])

    def _jump(self, row: int) -> None:
        self.follow = False
        self.lines_widget.scroll_to(y=row, animate=False)
        self._update_status()

    def action_marker(self) -> None:
        stamp = now_timestamp()
        self.add_lines(
            [LogLine("marker", "", stamp, f"──── marker {stamp[11:19]} ────", "envdeck")]
        )

    def _visible_text(self) -> str:
        return "\n".join(self.lines_widget.lines)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._visible_text())
        self.notify(f"Copied {len(self.lines_widget.lines)} lines")

    def action_save(self) -> None:
        name = re.sub(r"[^\w.-]+", "_", self.title) or "logs"
        path = Path.cwd() / f"envdeck-{name}-{now_timestamp()[:19].replace(':', '')}.log"
        try:
            path.write_text(self._visible_text() + "\n", encoding="utf-8")
        except OSError as error:
            self.notify(f"Could not save: {error}", severity="error", markup=False)
            return
        self.notify(f"Saved {len(self.lines_widget.lines)} lines to {path}", markup=False)
