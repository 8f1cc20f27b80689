"""Callbacks that come later (timers, intervals) and must not reach a screen or a widget
whose app is shutting down: the widgets then go, innermost first, while their parents'
timers still run, and a lookup of a widget already gone is a crash on the way out."""

from __future__ import annotations

import functools
from collections.abc import Callable

from textual.widget import Widget


def usable(node: Widget) -> bool:
    """Whether the node's widgets can be reached: mounted, and its app not shutting down."""
    return node.is_mounted and node.app.is_running


def when_usable(node: Widget, callback: Callable[[], object]) -> Callable[[], None]:
    """The callback, skipped once the app is shutting down."""

    @functools.wraps(callback)  # named as the callback: in a timer's repr, a traceback
    def if_usable() -> None:
        if usable(node):
            callback()

    return if_usable
