"""Every key of the dashboard screen. Each has an id: keymaps remap keys by id, and the help
screen (`?`) and the command palette list them. A new key is a line here and an `action_`
method in one of the screen's parts."""

from __future__ import annotations

from textual.binding import Binding, BindingType

DASHBOARD_BINDINGS: list[BindingType] = [
    Binding("tab", "app.focus_next", "Next pane", show=False, id="dashboard.next_pane"),
    # actions (tui.ui.screens.dashboard.actions)
    Binding("r", "restart_service", "Restart", id="dashboard.restart"),
    Binding("s", "stop_service", "Stop", id="dashboard.stop"),
    Binding("S", "start_service", "Start", id="dashboard.start"),
    Binding("u", "up_service", "Up", id="dashboard.up"),
    Binding("U", "up_project", "Up all", show=False, id="dashboard.up_all"),
    Binding("D", "down_project", "Down", show=False, id="dashboard.down"),
    Binding("E", "shell", "Shell", show=False, id="dashboard.shell"),
    # tui.ui.screens.dashboard.resets
    Binding("X", "reset_environment", "Reset", id="dashboard.reset"),
    # tabs and other screens (tui.ui.screens.dashboard.screen)
    Binding("l", "show_tab('tab-logs')", "Logs", show=False, id="dashboard.logs"),
    Binding("i", "show_tab('tab-inspect')", "Inspect", id="dashboard.inspect"),
    Binding("e", "show_tab('tab-env')", "Env", show=False, id="dashboard.env"),
    Binding("t", "tests", "Tests", id="dashboard.tests"),
    Binding("v", "toggle_secrets", "Reveal secrets", show=False, id="dashboard.reveal"),
]
