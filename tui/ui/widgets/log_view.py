"""The log pane: lines that take a flood, coloured per service, searchable, bounded.

Lines arrive already safe (the core makes control characters visible), a block at a time.
Whatever the rate, the pane is drawn at most FRAME_RATE times a second, and a frame costs
the lines it shows: the text of a batch is added in bulk and rendered only when scrolled
into view (`LogLines`). Everything the pane shows is rebuilt from the core's ring buffer,
so filter, timestamps and wrap can change without losing a line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from tui.core.log_buffer import LineBlock, LogLine, LogRing, now_timestamp
from tui.core.log_filter import BadPattern, FilterMode, LogFilter, parse_filter
from tui.core.text import safe_text
from tui.presentation.log_format import SEPARATOR_STREAM, format_lines, wrap
from tui.ui.deferred import when_usable
from tui.ui.safe import safe_label
from tui.ui.widgets.log_lines import LogLines, ServiceHighlighter

SERVICE_COLOURS = ("primary", "secondary", "accent", "success", "warning", "error")
SINCE_KEYS = {"0": None, "1": "1m", "2": "5m", "3": "15m", "4": "30m", "5": "1h", "6": "24h"}
FRAME_RATE = 10  # the most the pane is redrawn per second, however fast lines arrive


class LogView(Vertical):
    """A status line, the log, and a search box that appears on `/`."""

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow", id="logs.follow"),
        Binding("G", "newest", "Newest, following", show=False, id="logs.newest"),
        Binding("g", "oldest", "Oldest", show=False, id="logs.oldest"),
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
        self._frame_at = 0.0  # when the pane was last drawn (monotonic)
        self._frame_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="log-status", markup=False)
        yield LogLines(
            id="log-lines", max_lines=self.lines_per_service, highlighter=self.highlighter
        )
        search = Input(placeholder="text, /regex/, ! to hide the rest — enter", id="log-search")
        search.display = False
        yield search

    @property
    def lines_widget(self) -> LogLines:
        return self.query_one("#log-lines", LogLines)

    # -------------------------------------------------------------- attributes down

    def start(self, title: str, services: Sequence[str], *, merged: bool) -> None:
        """A new source: forget the old lines."""
        self.title, self.merged = title, merged
        self.ring = LogRing(max_lines_per_service=self.lines_per_service)
        # The pane holds what the ring keeps for the services shown (`services` are all of
        # them, for their colours), no more: what `ctrl+s` saves.
        shown = len(services) if merged else 1
        self.lines_widget.max_lines = self.lines_per_service * max(shown, 1)
        self.highlighter.colours = self._colours(services)
        # Per source, not per line: this is on the path of every log line.
        self.prefix_width = max((len(name) for name in self.highlighter.colours), default=4)
        self.unseen = 0
        self.rebuild()

    def add_lines(self, lines: Sequence[LogLine]) -> None:
        """A batch from the follower: stored now, drawn at the next frame."""
        block = LineBlock.of(lines)
        self.ring.extend(block)
        shown = self._texts(block)
        if shown:
            log = self.lines_widget
            if not (self.follow and log.at_end):
                self.unseen += len(shown)  # never yank a user who scrolled up; count instead
            log.append(shown)
        self._draw_soon()

    def rebuild(self) -> None:
        log = self.lines_widget
        log.clear()
        log.append(self._texts(self.ring.block()))
        log.forget_rendering()
        self.unseen = 0
        self._draw()
        if log.line_count == 0:
            # An empty pane is no frame to space the next from: a new source's first
            # lines (a service just selected) are drawn as they come, not 0.1 s later.
            self._frame_at = 0.0

    # -------------------------------------------------------------- rendering

    def _draw_soon(self) -> None:
        """Draw now if the last frame is old enough, else once it is (one timer at most)."""
        if self._frame_timer is not None:
            return
        wait = self._frame_at + 1 / FRAME_RATE - time.monotonic()
        if wait <= 0:
            self._draw()
        else:
            # A frame due while the app shuts down is not drawn: the pane's lines widget
            # may already be gone (children go first).
            self._frame_timer = self.set_timer(
                wait, when_usable(self, self._draw), name="log-frame"
            )

    def _draw(self) -> None:
        if self._frame_timer is not None:
            self._frame_timer.stop()
            self._frame_timer = None
        self._frame_at = time.monotonic()
        self.lines_widget.flush(follow=self.follow)
        self._update_status()

    def _colours(self, services: Sequence[str]) -> dict[str, str]:
        variables = self.app.theme_variables
        return {
            safe_text(service): variables.get(SERVICE_COLOURS[index % len(SERVICE_COLOURS)], "")
            for index, service in enumerate(sorted(services))
        }

    def _texts(self, block: LineBlock) -> list[str]:
        """The pane's lines for a block: filtered, formatted, wrapped."""
        search = self.search
        if search is not None and search.mode is FilterMode.HIDE and block:
            pattern = search.compiled()
            block = block.take(
                [
                    index
                    for index, (text, stream) in enumerate(
                        zip(block.texts, block.streams(), strict=True)
                    )
                    if stream == SEPARATOR_STREAM or pattern.search(text)
                ]
            )
        texts = format_lines(
            block,
            timestamps=self.timestamps,
            prefix_width=self.prefix_width if self.merged else None,
        )
        if not self.wrap:
            return texts
        width = max(self.lines_widget.scrollable_content_region.width - 1, 20)
        return [part for text in texts for part in wrap(text, width)]

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
            safe_label(f"{self.title} · {len(self.ring)} lines · {' · '.join(flags)}{unseen}"),
            layout=False,
        )

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap:
            self.rebuild()

    # -------------------------------------------------------------- actions

    def action_toggle_follow(self) -> None:
        if self.follow:
            self.follow = False
            self._update_status()
        else:
            self.action_newest()

    def action_newest(self) -> None:
        """To the newest line, following again: what "new lines below (G)" offers."""
        self.follow = True
        self.lines_widget.scroll_end(animate=False, immediate=True, x_axis=False)
        self.unseen = 0
        self._update_status()

    def action_oldest(self) -> None:
        self.follow = False  # reading from the top: new lines must not pull the view away
        self.lines_widget.scroll_home(animate=False, immediate=True, x_axis=False)
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

    def kept_lines(self) -> list[str]:
        """Every line kept for this view (the last `lines_per_service` of each service
        shown, merged by time), timestamped, whatever a search hides or wrap splits."""
        return format_lines(
            self.ring.block(),
            timestamps=True,
            prefix_width=self.prefix_width if self.merged else None,
        )

    def action_save(self) -> None:
        name = re.sub(r"[^\w.-]+", "_", self.title) or "logs"
        path = Path.cwd() / f"envdeck-{name}-{now_timestamp()[:19].replace(':', '')}.log"
        lines = self.kept_lines()
        try:
            path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        except OSError as error:
            self.notify(f"Could not save: {error}", severity="error", markup=False)
            return
        self.notify(f"Saved {len(lines)} lines to {path}", markup=False)
