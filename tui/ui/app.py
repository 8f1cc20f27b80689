"""The Textual application: wiring only; the screens and the core do the work."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App
from textual.binding import Binding

from tui.config.settings import EnvdeckSettings
from tui.core.actions import ServiceActions
from tui.core.engine import DockerGateway
from tui.core.monitor import DockerEnvironmentMonitor, EnvironmentMonitor
from tui.ui.screens.dashboard import DashboardScreen


class EnvdeckApp(App[int]):
    TITLE = "envdeck"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, id="app.quit_ctrl_q", priority=True),
        Binding("ctrl+c", "quit", "Quit", show=False, id="app.quit_ctrl_c", priority=True),
        Binding("question_mark,f1", "show_help_panel", "Help", id="app.help"),
        Binding("colon", "command_palette", "Commands", show=False, id="app.palette"),
    ]

    def __init__(
        self,
        settings: EnvdeckSettings,
        monitor: EnvironmentMonitor,
        actions: Callable[[], ServiceActions] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.monitor = monitor
        self.actions = actions

    def on_mount(self) -> None:
        self.push_screen(DashboardScreen(self.monitor, self.actions))


def make_app(
    settings: EnvdeckSettings,
    gateway: DockerGateway,
    monitor: EnvironmentMonitor | None = None,
) -> EnvdeckApp:
    """The app exactly as users run it; tests pass a fixed monitor for snapshots."""
    if monitor is not None:
        return EnvdeckApp(settings, monitor)
    docker_monitor = DockerEnvironmentMonitor(settings, gateway)
    return EnvdeckApp(settings, docker_monitor, docker_monitor.actions)
