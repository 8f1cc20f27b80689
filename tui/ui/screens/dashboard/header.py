"""The dashboard's header line: what the project is and how it is doing, in items joined by
" · ". A feature adds its own item by name (`set_item("last-reset", "reset 3 min ago")`)
without touching the others."""

from __future__ import annotations

from textual.widgets import Static

from tui.core.status import EnvironmentStatus
from tui.core.text import safe_text

SEPARATOR = " · "


def status_items(status: EnvironmentStatus | None) -> list[str]:
    """The header's items about the project and the engine."""
    if status is None:
        return ["envdeck", "connecting to Docker…"]
    project = safe_text(status.project)
    if status.problem is not None:
        return ["envdeck", project, safe_text(status.problem.splitlines()[0])]
    if not status.engine.connected:
        return ["envdeck", project, f"engine: {safe_text(status.engine.error or 'unreachable')}"]
    ready = sum(service.is_ready for service in status.services)
    choice = status.engine.choice
    where = choice.header_text() if choice is not None else ""
    return [
        "envdeck",
        project,
        f"Docker {status.engine.version}" + (f" at {safe_text(where)}" if where else ""),
        f"{ready}/{len(status.services)} ready",
    ]


def summary_line(status: EnvironmentStatus | None, extra: list[str] | None = None) -> str:
    return SEPARATOR.join([*status_items(status), *(extra or [])])


class DashboardHeader(Static):
    """One line; written only when its text changes, and never with a layout pass."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(summary_line(None), id=id, markup=False)
        self._status_items = status_items(None)
        self._items: dict[str, str] = {}  # name -> text, after the status items
        self._shown = summary_line(None)

    def show_status(self, status: EnvironmentStatus) -> None:
        self._status_items = status_items(status)
        self.set_class(not status.engine.connected or status.problem is not None, "-disconnected")
        self._show()

    def show_engine_lost(self, error: str | None) -> None:
        self._status_items = ["envdeck", "engine unreachable", f"retrying ({error})"]
        self.set_class(True, "-disconnected")
        self._show()

    def set_item(self, name: str, text: str | None) -> None:
        """Add, change or (with None) remove a named item at the end of the line."""
        if text is None:
            self._items.pop(name, None)
        else:
            self._items[name] = safe_text(text)
        self._show()

    def _show(self) -> None:
        line = SEPARATOR.join([*self._status_items, *self._items.values()])
        if line != self._shown:
            self._shown = line
            self.update(line, layout=False)
