"""Choose one of a plugin's actions and fill in its parameters."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.core.text import safe_text
from tui.plugins.api import Action
from tui.ui.safe import safe_label


@dataclass(frozen=True)
class ActionChoice:
    action: Action
    params: dict[str, str]


class PluginActionScreen(ModalScreen[ActionChoice | None]):
    CSS_PATH = "plugin_action.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="plugin_action.cancel")]

    def __init__(self, service: str, plugin_title: str, actions: tuple[Action, ...]) -> None:
        super().__init__()
        self.service = service
        self.plugin_title = plugin_title
        self.actions = actions
        self.chosen: Action | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="action-dialog"):
            yield Static(
                safe_label(f"{self.plugin_title} actions on {self.service}"), id="action-title"
            )
            yield OptionList(
                *(
                    Option(
                        safe_label(f"{a.title}{'  (destructive)' if a.destructive else ''}"),
                        id=a.id,
                    )
                    for a in self.actions
                ),
                id="action-list",
            )
            yield Vertical(id="action-params")
            yield Button("Run", id="action-run", variant="primary", disabled=True)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionHighlighted)
    def show_params(self, event: OptionList.OptionHighlighted) -> None:
        self.chosen = next(a for a in self.actions if a.id == event.option.id)
        params = self.query_one("#action-params", Vertical)
        params.remove_children()
        params.mount_all(
            Input(placeholder=safe_text(name), id=f"param-{index}")  # shown as Text
            for index, name in enumerate(self.chosen.params)
        )
        self.query_one("#action-run", Button).disabled = False

    @on(OptionList.OptionSelected)
    def go_to_params(self, event: OptionList.OptionSelected) -> None:
        inputs = self.query(Input)
        if inputs:
            inputs.first().focus()
        else:
            self._finish()

    @on(Input.Submitted)
    def next_param(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
        else:
            self._finish()

    @on(Button.Pressed, "#action-run")
    def run_pressed(self) -> None:
        self._finish()

    def _finish(self) -> None:
        if self.chosen is None:
            return
        values = [field.value for field in self.query(Input)]
        if any(not value.strip() for value in values):
            self.notify("Every parameter needs a value", severity="warning")
            return
        self.dismiss(ActionChoice(self.chosen, dict(zip(self.chosen.params, values, strict=True))))

    def action_cancel(self) -> None:
        self.dismiss(None)
