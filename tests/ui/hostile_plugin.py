"""A plugin whose every string is hostile: titles, view names, hints, column names, cells,
notes, action names and parameters, results. For the Pilot tests and the terminal test."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import ClassVar

from tests.ui.fixed_monitor import AllowEveryAction, FixedMonitor
from tui.core.plugin_session import Inspector
from tui.core.status import ServiceStatus
from tui.plugins.api import (
    Action,
    KeyValues,
    Match,
    ServiceTarget,
    Table,
    TextBlock,
    View,
    ViewRequest,
    ViewResult,
)

CLOSE_NOTHING = "x[/]"  # Textual: MarkupError, the app ends
CLICK = "[@click=app.quit]x[/]"  # a clickable action in a header
STYLED = "[bold]b[/bold] [link=https://example.invalid]l[/link]"
BIDI = "bidi\u202eevil\u2066iso\u2069"
INVISIBLE = "zero\u200bwidth\ufeffbom\u200dzwj"
ESCAPE = "esc\x1b]0;title\x07"
HOSTILE = (CLOSE_NOTHING, CLICK, STYLED, BIDI, INVISIBLE, ESCAPE)

# What no rendered frame may hold: bidi controls and marks, zero-width characters.
RAW_BIDI_OR_INVISIBLE = re.compile(
    "[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


class HostilePlugin:
    name: ClassVar[str] = "hostile"
    title: ClassVar[str] = f"Plugin {CLOSE_NOTHING} {BIDI}"
    results: ClassVar[list[str]] = []

    def matches(self, target: ServiceTarget) -> Match:
        return Match.IMAGE

    def views(self, target: ServiceTarget) -> Sequence[View]:
        return (
            View("rows", f"Rows {CLOSE_NOTHING}", True, f"hint {CLICK} {BIDI}"),
            View("text", f"Text {CLICK}"),
        )

    def show(self, target: ServiceTarget, request: ViewRequest) -> ViewResult:
        if request.view == "rows":
            return ViewResult(
                (
                    Table(f"Table {CLICK}", HOSTILE, (HOSTILE, HOSTILE), note=f"note {CLICK}"),
                    KeyValues(f"Pairs {STYLED}", tuple((each, each) for each in HOSTILE)),
                )
            )
        return ViewResult((TextBlock(f"Text {CLOSE_NOTHING}", "\n".join(HOSTILE)),))

    def actions(self, target: ServiceTarget) -> Sequence[Action]:
        return (
            Action("answer", f"Answer {CLOSE_NOTHING}", False),
            Action("wipe", f"Wipe {CLICK}", True, (f"name {CLOSE_NOTHING}",)),
        )

    def run_action(self, target: ServiceTarget, action: str, params: Mapping[str, str]) -> str:
        self.results.append(action)
        return f"done {CLICK} {CLOSE_NOTHING} {BIDI}"


class HostileInspectorMonitor(FixedMonitor):
    """The fixed dashboard, with the hostile plugin serving its redis service."""

    def inspector(self, status: ServiceStatus) -> Inspector:
        target = ServiceTarget(status.name, "hostile", "127.0.0.1", {1: 1}, {})
        return Inspector(HostilePlugin(), target, AllowEveryAction())
