"""Renders any plugin's sections: key/values, tables and text, all as plain text.

Everything a plugin returns (titles, column names, cells, notes) can carry data from the
service: it all goes through `safe_label` / `safe_block`, never to Textual as a `str`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from tui.plugins.api import KeyValues, Section, Table, TextBlock
from tui.ui.safe import safe_block, safe_label

MAX_CELL = 200


def cell(value: str) -> Text:
    """One line of a cell, column header or title, cut to MAX_CELL characters."""
    return safe_label(value, limit=MAX_CELL)


class SectionsView(VerticalScroll):
    def show_sections(self, sections: Sequence[Section]) -> None:
        with self.app.batch_update():
            self.remove_children()
            widgets: list[Static | DataTable[Text]] = []
            for section in sections:
                widgets.append(Static(cell(section.title), classes="section-title"))
                widgets.append(self._body(section))
            self.mount_all(widgets)

    def show_message(self, message: str, *, error: bool = False) -> None:
        with self.app.batch_update():
            self.remove_children()
            self.mount(Static(safe_block(message), classes="-error" if error else ""))

    def _body(self, section: Section) -> Static | DataTable[Text]:
        if isinstance(section, TextBlock):
            return Static(safe_block(section.text), classes="section-text")
        table: DataTable[Text] = DataTable(
            cursor_type="row", zebra_stripes=True, classes="section-table"
        )
        if isinstance(section, KeyValues):
            table.add_columns("NAME", "VALUE")
            table.show_header = False
            for key, value in section.items:
                table.add_row(cell(key), cell(value))
        elif isinstance(section, Table):
            # As they are, not upper-cased: `name` and `Name` are two PostgreSQL columns,
            # and upper-casing an escape (`\u202e`) would make it another.
            table.add_columns(*(cell(column) for column in section.columns))
            for row in section.rows:
                table.add_row(*(cell(value) for value in row))
            if section.note:
                table.tooltip = safe_block(section.note)
        return table
