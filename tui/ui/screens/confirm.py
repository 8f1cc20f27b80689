"""A modal that asks before anything destructive. Enter confirms, Esc cancels."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.ui.safe import safe_block, safe_label


class ConfirmScreen(ModalScreen[str | None]):
    """Dismisses with the chosen choice's id, or None when cancelled. The title, body and
    choice labels may name containers, snapshots, keys: all shown as literal text."""

    CSS_PATH = "confirm.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding("enter", "confirm", "Confirm", id="confirm.confirm", priority=True),
    ]

    def __init__(self, title: str, body: str, choices: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(safe_label(self.title_text, "bold"), id="dialog-title")
            yield Static(safe_block(self.body), id="dialog-body")
            with Horizontal(id="dialog-buttons"):
                for index, (choice_id, label) in enumerate(self.choices):
                    yield Button(
                        safe_label(label),
                        id=choice_id,
                        variant="error" if index == 0 else "default",
                    )
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one(f"#{self.choices[0][0]}", Button).focus()

    def action_confirm(self) -> None:
        focused = self.focused
        if isinstance(focused, Button):
            focused.press()
        else:
            self.dismiss(self.choices[0][0])

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None if event.button.id == "cancel" else event.button.id)
