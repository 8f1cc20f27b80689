"""The dashboard: the project's services, live."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.core.monitor import EnvironmentMonitor
from tui.core.status import EnvironmentStatus
from tui.core.text import safe_text
from tui.ui.messages import StatusUpdated
from tui.ui.widgets.services_table import ServicesTable

REFRESH_SECONDS = 2.0


def summary_line(status: EnvironmentStatus | None) -> str:
    if status is None:
        return "envdeck · connecting to Docker…"
    project = safe_text(status.project)
    if not status.engine.connected:
        return f"envdeck · {project} · engine: {safe_text(status.engine.error or 'unreachable')}"
    ready = sum(service.is_ready for service in status.services)
    return (
        f"envdeck · {project} · Docker {status.engine.version} · "
        f"{ready}/{len(status.services)} ready"
    )


class DashboardScreen(Screen[None]):
    CSS_PATH = "dashboard.tcss"
    BINDINGS = [
        Binding("tab", "app.focus_next", "Next pane", show=False, id="dashboard.next_pane"),
    ]

    def __init__(self, monitor: EnvironmentMonitor) -> None:
        super().__init__()
        self.monitor = monitor
        self.status: EnvironmentStatus | None = None

    def compose(self) -> ComposeResult:
        yield Static(summary_line(None), id="summary", markup=False)
        with Vertical(id="services-pane"):
            yield ServicesTable(id="services")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ServicesTable).focus()
        self.refresh_status()

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def refresh_status(self) -> None:
        self.post_message(StatusUpdated(self.monitor.snapshot()))

    def on_status_updated(self, message: StatusUpdated) -> None:
        self.status = message.status
        summary = self.query_one("#summary", Static)
        summary.update(summary_line(message.status))
        summary.set_class(not message.status.engine.connected, "-disconnected")
        self.query_one(ServicesTable).update_services(message.status.services)
        # The next poll is scheduled only after this one finished (no pile-up).
        self.set_timer(REFRESH_SECONDS, self.refresh_status)
