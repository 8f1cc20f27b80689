"""The key bar at the bottom of a screen: its shown bindings on one line, in one widget.

Textual's Footer mounts a widget per key (and a group per binding group), restyles each
of them for every change of the screen's bindings and when it is compact; on the
dashboard that was a fifth of the work before the first frame. This bar draws the same
line as one piece of Content, is redrawn (not recomposed) when the bindings change, and
maps a click to the key under it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.content import Content, Span
from textual.screen import Screen
from textual.widget import Widget


@dataclass(frozen=True)
class KeySpan:
    """Where a key's label is drawn, so a click can find it."""

    start: int
    end: int
    key: str
    enabled: bool


class KeyBar(Widget, can_focus=False):
    """One line: each shown binding of the screen as `key description`, the command
    palette's key on the right."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--disabled"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        text-wrap: nowrap;
        text-overflow: clip;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-bar--disabled {
            text-style: dim;
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._spans: list[KeySpan] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen:
            self.refresh()

    def shown_bindings(self) -> list[tuple[Binding, bool]]:
        """The screen's shown bindings, one per action (the first key wins), in order;
        the command palette's is drawn apart, on the right."""
        palette_key = self.app.COMMAND_PALETTE_BINDING
        by_action: dict[str, tuple[Binding, bool]] = {}
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if binding.show and key != palette_key:
                by_action.setdefault(binding.action, (binding, active.enabled))
        return list(by_action.values())

    def _palette_binding(self) -> tuple[Binding, bool] | None:
        if not self.app.ENABLE_COMMAND_PALETTE:
            return None
        active = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        return None if active is None else (active.binding, active.enabled)

    def render(self) -> Content:
        key_style = self.get_visual_style("key-bar--key")
        description_style = self.get_visual_style("key-bar--description")
        disabled_style = self.get_visual_style("key-bar--disabled", partial=True)
        text: list[str] = []
        spans: list[Span] = []
        self._spans = []
        position = 0

        def add(binding: Binding, enabled: bool) -> None:
            nonlocal position
            key = f" {self.app.get_key_display(binding)} "
            description = f"{binding.description} " if binding.description else ""
            start = position
            for part, style in ((key, key_style), (description, description_style)):
                if part:
                    spans.append(Span(position, position + len(part), style))
                    text.append(part)
                    position += len(part)
            if not enabled:
                spans.append(Span(start, position, disabled_style))
            self._spans.append(KeySpan(start, position, binding.key, enabled))

        for binding, enabled in self.shown_bindings():
            add(binding, enabled)
        palette = self._palette_binding()
        if palette is not None:
            binding, enabled = palette
            label = f" {self.app.get_key_display(binding)} {binding.description} "
            # Right-aligned when it fits after the keys; dropped when it does not.
            gap = self.size.width - position - len(label)
            if gap >= 1:
                text.append(" " * gap)
                position += gap
                add(binding, enabled)
        return Content("".join(text), spans=spans)

    def key_at(self, x: int) -> KeySpan | None:
        return next((span for span in self._spans if span.start <= x < span.end), None)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        span = self.key_at(event.x)
        if span is None:
            return
        if span.enabled:
            # The first key of a binding like "question_mark,f1".
            self.app.simulate_key(span.key.split(",")[0].strip())
        else:
            self.app.bell()
