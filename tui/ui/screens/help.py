"""Every key of the screen underneath, with what it does and its id for remapping."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from tui.ui.safe import safe_label


def key_rows(screen: Screen[object]) -> list[tuple[str, str, str]]:
    """(keys, description, binding id) of every active binding, deduplicated by action."""
    rows: dict[str, tuple[str, str, str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description and not binding.tooltip:
            continue
        label = screen.app.get_key_display(binding)
        name = f"{active.node.__class__.__name__}.{binding.action}"
        if name in rows:
            keys, description, ids = rows[name]
            more_ids = ", ".join(i for i in (ids, binding.id or "") if i)
            rows[name] = (f"{keys}, {label}", description, more_ids)
        else:
            rows[name] = (label, binding.description or binding.tooltip, binding.id or "")
    return sorted(rows.values(), key=lambda row: row[1].lower())


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,question_mark,f1,q", "dismiss", "Close", id="help.close")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(
                Text("Keys (remap any of them by id: keymap in [tool.envdeck])"), id="help-title"
            )
            yield DataTable[Text](id="help-keys", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("KEY", "ACTION", "ID")
        for row in self.rows:
            table.add_row(*(safe_label(part) for part in row))  # keys come from the keymap
        table.focus()
