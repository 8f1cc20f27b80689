"""The services table: one row per container (or missing service), updated in place.

Only cells whose text changed are written: DataTable renders the whole table again after
any write, so an update that changes nothing must not write at all. Cells with text from
Docker or the compose file are `safe_label`s; the figures we format go in as plain `Text`
too: a DataTable parses a `str` cell as markup, emoji codes and all (their table's import
alone was ~3 ms of the first frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from tui.core.status import ServiceStatus
from tui.presentation.status_text import (
    bytes_label,
    cpu_label,
    health_label,
    ports_label,
    state_class,
    state_label,
    uptime_label,
)
from tui.ui.safe import safe_label

COLUMNS = ("service", "state", "health", "uptime", "restarts", "cpu", "memory", "ports")
# Theme colours for the state classes of status_text.state_class.
STATE_STYLES = {
    "-ok": "bold $success",
    "-done": "$success",
    "-pending": "$warning",
    "-paused": "$secondary",
    "-bad": "bold $error",
}


def as_text(label: Text | str) -> Text:
    """A cell as it is drawn: a figure we format is plain text, never markup."""
    return label if isinstance(label, Text) else Text(label)


def row_key(status: ServiceStatus) -> str:
    return status.container or f"service:{status.name}"


class ServicesTable(DataTable[Text]):
    """Services of the project; the cursor stays on its row across updates."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="services.down"),
        Binding("k", "cursor_up", "Up", show=False, id="services.up"),
        Binding("g", "scroll_top", "Top", show=False, id="services.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="services.bottom"),
    ]

    class ServiceSelected(Message):
        def __init__(self, status: ServiceStatus) -> None:
            super().__init__()
            self.status = status

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.statuses: dict[str, ServiceStatus] = {}
        self.pending: dict[str, str] = {}  # service -> what is being done to it
        # (row key, column) -> the label as made: compared before anything is written
        self._shown: dict[tuple[str, str], Text | str] = {}
        # The selected service while there are no rows (the engine lost): selected again
        # when they come back.
        self._selection_to_restore: str | None = None

    def on_mount(self) -> None:
        for column in COLUMNS:
            self.add_column(Text(column.upper()), key=column)  # not markup: see above

    def update_services(self, statuses: Sequence[ServiceStatus]) -> None:
        """Apply a snapshot as a keyed diff, so the cursor never jumps."""
        selected = self.selected
        keep = selected.name if selected is not None else self._selection_to_restore
        wanted = {row_key(status): status for status in statuses}
        added = False
        with self.app.batch_update():
            for key in list(self.statuses):
                if key not in wanted:
                    self.remove_row(key)
                    del self.statuses[key]
                    for column in COLUMNS:
                        self._shown.pop((key, column), None)
            for key, original in wanted.items():
                status = self._with_known_usage(original)
                if self.statuses.get(key) == status:
                    continue  # nothing to write (uptime moves on in refresh_uptimes)
                cells = self._cells(status)
                if key in self.statuses:
                    for column, cell in zip(COLUMNS, cells, strict=True):
                        self._set_cell(key, column, cell)
                else:
                    self._add_row(key, cells)
                    added = True
                self.statuses[key] = status
            if added:
                self._sort_keeping_selection()
            self._select_service(keep)

    def _select_service(self, name: str | None) -> None:
        """The cursor on service `name` by its name, not its row key: after the engine
        came back every row is new (and a recreated container's key is new too)."""
        if not self.statuses:
            self._selection_to_restore = name
            return
        self._selection_to_restore = None
        selected = self.selected
        if name is None or (selected is not None and selected.name == name):
            return
        for index, row in enumerate(self.ordered_rows):
            status = self.statuses.get(row.key.value or "")
            if status is not None and status.name == name:
                self.move_cursor(row=index, animate=False)
                return

    def _with_known_usage(self, status: ServiceStatus) -> ServiceStatus:
        """A listing without stats keeps the CPU and memory figures the row already shows
        (the next stats pass brings new ones): the cells do not blink to "-"."""
        known = self.statuses.get(row_key(status))
        if (
            known is None
            or status.cpu_percent is not None
            or status.state != "running"
            or known.cpu_percent is None
        ):
            return status
        return replace(status, cpu_percent=known.cpu_percent, mem_bytes=known.mem_bytes)

    def _sort_keeping_selection(self) -> None:
        """Rows by service name, whatever order they arrived in; the cursor stays put.

        Rebuilt rather than DataTable.sort(), which left the header drawn with stale widths.
        """
        ordered = sorted(self.statuses.values(), key=lambda s: (s.name, s.container or ""))
        current = [row.key.value for row in self.ordered_rows]
        if current == [row_key(status) for status in ordered]:
            return
        selected = self.selected
        self.clear()
        self._shown.clear()
        for status in ordered:
            self._add_row(row_key(status), self._cells(status))
        if selected is not None:
            self.move_cursor(row=self.get_row_index(row_key(selected)), animate=False)

    def apply_status(self, status: ServiceStatus) -> None:
        """One container's new state; its service's 'missing' row goes if it had one."""
        current = {
            key: value for key, value in self.statuses.items() if key != f"service:{status.name}"
        }
        current[row_key(status)] = status
        self.update_services(list(current.values()))

    def apply_resources(self, statuses: Sequence[ServiceStatus]) -> None:
        """CPU and memory figures for rows still showing the same container."""
        for status in statuses:
            key = row_key(status)
            if key in self.statuses and status.cpu_percent is not None:
                current = self.statuses[key]
                self.statuses[key] = replace(
                    current, cpu_percent=status.cpu_percent, mem_bytes=status.mem_bytes
                )
                self._set_cell(key, "cpu", cpu_label(status.cpu_percent))
                self._set_cell(key, "memory", bytes_label(status.mem_bytes))
        self.refresh_uptimes()

    def refresh_uptimes(self) -> None:
        """Uptime moves on by itself; nothing else would redraw it."""
        for key, status in self.statuses.items():
            self._set_cell(key, "uptime", uptime_label(status.started_at))

    def _add_row(self, key: str, labels: tuple[Text | str, ...]) -> None:
        self.add_row(*(as_text(label) for label in labels), key=key)
        for column, label in zip(COLUMNS, labels, strict=True):
            self._shown[key, column] = label

    def _set_cell(self, key: str, column: str, value: Text | str) -> None:
        """Update a cell if its text changed; recompute column widths (costly) only when it
        outgrows its column. Made into `Text` only when written: most calls write nothing."""
        if self._shown.get((key, column)) == value:
            return
        self._shown[key, column] = value
        cell = as_text(value)
        grows = cell.cell_len > self.columns[ColumnKey(column)].content_width
        self.update_cell(key, column, cell, update_width=grows)

    def set_pending(self, service: str, label: str | None) -> None:
        """Show an action in progress in the service's state cell (None: done)."""
        if label is None:
            self.pending.pop(service, None)
        else:
            self.pending[service] = label
        for key, status in self.statuses.items():
            if status.name == service:
                self._set_cell(key, "state", self._state_cell(status))

    def _state_cell(self, status: ServiceStatus) -> Text:
        if status.name in self.pending:
            warning = self.app.theme_variables.get("warning", "")
            return safe_label(self.pending[status.name], f"italic {warning}".strip())
        spec = STATE_STYLES[state_class(status)]
        colour = self.app.theme_variables.get(spec.split("$")[-1], "")
        emphasis = "bold " if spec.startswith("bold") else ""
        return safe_label(state_label(status), f"{emphasis}{colour}".strip())

    def _cells(self, status: ServiceStatus) -> tuple[Text | str, ...]:
        return (
            safe_label(status.name),
            self._state_cell(status),
            health_label(status),
            uptime_label(status.started_at),
            str(status.restarts),
            cpu_label(status.cpu_percent),
            bytes_label(status.mem_bytes),
            ports_label(status.ports),
        )

    @property
    def selected(self) -> ServiceStatus | None:
        if not self.statuses or self.cursor_row < 0:
            return None
        key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        return self.statuses.get(key or "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        status = self.statuses.get(event.row_key.value or "")
        if status is not None:
            self.post_message(self.ServiceSelected(status))
