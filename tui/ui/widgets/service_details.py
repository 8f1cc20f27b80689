"""The selected service's details: logs, environment (secrets masked), health history."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from tui.core.details import ServiceDetails
from tui.presentation.status_text import health_word
from tui.ui.widgets.inspector_pane import InspectorPane
from tui.ui.widgets.log_view import LogView

ENV_TAB, HEALTH_TAB = "tab-env", "tab-health"


class ServiceDetailsPanel(Vertical):
    """Attributes down: the screen sets `details`; the panel only renders."""

    details: reactive[ServiceDetails | None] = reactive(None, always_update=True)
    reveal_secrets: reactive[bool] = reactive(False)

    def __init__(self, *, id: str | None = None, log_lines: int = 10_000) -> None:
        super().__init__(id=id)
        self.log_lines = log_lines
        # Tabs whose content is behind `details`: drawn when shown, not at every selection
        # (a hidden tab's new content still costs a layout of the whole screen, 10-30 ms,
        # which the selected service's first log lines would wait behind; issue 17).
        self._stale: set[str] = set()
        self._log_view = LogView(id="log-view", lines_per_service=log_lines)
        self._env_table = DataTable[Text](id="env-table", cursor_type="row", zebra_stripes=True)
        self._health_view = Static("", id="health-view", markup=False)

    def compose(self) -> ComposeResult:
        with TabbedContent(id="details-tabs"):
            with TabPane("Logs", id="tab-logs"):
                yield self._log_view
            with TabPane("Env", id=ENV_TAB):
                yield self._env_table
            with TabPane("Health", id=HEALTH_TAB):
                yield self._health_view
            # Its InspectorPane is mounted when the tab is first shown (mount_inspector): a
            # good part of the start-up's widgets, for a tab that is not shown then.
            yield TabPane("Inspect", id="tab-inspect")

    async def ready(self) -> bool:
        """Whether every tab's content is mounted, waited for: mounting the panel is
        awaited, but its tabs compose their contents in their own turn, after it. A panel
        mounted after the first frame (the dashboard's) is used only from then on. False
        when the panel was removed or stopped meanwhile (the app closed)."""
        parts = (self._log_view, self._env_table, self._health_view)
        while self.is_attached and self.is_running:
            if all(part.is_mounted and part.is_attached for part in parts):
                return True
            await asyncio.sleep(0.005)
        return False

    async def mount_inspector(self) -> InspectorPane:
        """The Inspect tab's pane, mounted (and ready) the first time."""
        found = self.query(InspectorPane)
        if found:
            return found.first()
        pane = InspectorPane(id="inspector")
        await self.query_one("#tab-inspect", TabPane).mount(pane)
        return pane

    @property
    def active(self) -> str:
        return self.query_one(TabbedContent).active

    @active.setter
    def active(self, tab_id: str) -> None:
        self._render_tab(tab_id)  # before it shows: never a frame of another service's
        self.query_one(TabbedContent).active = tab_id

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._render_tab(self.active)  # shown by a click on its label

    def on_mount(self) -> None:
        # By reference: the tab panes mount their contents in their own turn, after this
        # handler, so a query for the table can find nothing yet (a fresh-clone CI failure).
        table = self._env_table
        table.add_column("NAME", key="name")
        table.add_column("VALUE", key="value")

    def action_toggle_secrets(self) -> None:
        self.reveal_secrets = not self.reveal_secrets
        self.notify("Secrets shown" if self.reveal_secrets else "Secrets masked")

    def watch_reveal_secrets(self) -> None:
        self._details_changed()

    def watch_details(self) -> None:
        self._details_changed()

    def _details_changed(self) -> None:
        if not self.is_mounted:
            return
        self._stale = {ENV_TAB, HEALTH_TAB}
        self._render_tab(self.active)

    def _render_tab(self, tab_id: str) -> None:
        if tab_id not in self._stale:
            return
        self._stale.discard(tab_id)
        if tab_id == ENV_TAB:
            self._render_env()
        else:
            self._render_health()

    def _render_env(self) -> None:
        if not self.is_mounted:
            return
        table = self._env_table
        table.clear()
        if self.details is None:
            return
        command = self.details.command if self.reveal_secrets else self.details.command_masked
        table.add_row(Text("(command)", style="italic"), Text(command))
        for var in self.details.env:
            value = var.value if self.reveal_secrets else var.masked
            table.add_row(Text(var.name), Text(value, style="dim" if var.is_masked else ""))

    def _render_health(self) -> None:
        if not self.is_mounted:
            return
        view = self._health_view
        details = self.details
        if details is None:
            view.update("No container.")
            return
        if not details.health_test:
            view.update(Text(f"{details.service} has no healthcheck."))
            return
        text = Text()
        text.append(f"{health_word(details.health_status)}", style="bold")
        if details.failing_streak:
            text.append(f" · {details.failing_streak} failing in a row")
        reveal = self.reveal_secrets
        text.append(f"\ncheck: {details.health_test if reveal else details.health_test_masked}\n")
        for probe in details.health_log:
            mark = "✔" if probe.exit_code == 0 else f"✘ exit {probe.exit_code}"
            text.append(
                f"\n{probe.started[:19]}  {mark}\n", style="bold" if probe.exit_code else ""
            )
            output = probe.output if reveal else probe.output_masked
            if output:
                text.append(f"  {output}\n")  # already safe: plain Text, no markup
        view.update(text)
