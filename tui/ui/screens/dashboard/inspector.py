"""The Inspect tab: which plugin serves the selected service, its views (reloaded every few
seconds while the tab is on screen, and only then), and its actions (destructive ones ask
first)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual import work
from textual.timer import Timer

from tui.core.status import ServiceStatus
from tui.ui.messages import InspectionLoaded, InspectorReady

if TYPE_CHECKING:
    from tui.core.plugin_session import Inspector
    from tui.ui.screens.plugin_action import ActionChoice
    from tui.ui.widgets.inspector_pane import InspectorPane, InspectQuery
from tui.ui.deferred import when_usable
from tui.ui.screens.dashboard.base import DashboardBase

# The Inspect tab's widgets and the plugin API come with the details panel, after the
# first frame (issue 17): imported where used.
# ruff: noqa: PLC0415

INSPECT_REFRESH_SECONDS = 3.0
INSPECT_TAB = "tab-inspect"


class InspectorPart(DashboardBase):
    _inspect_timer: Timer | None = None

    @property
    def inspector_pane(self) -> InspectorPane:
        """Mounted by the time anything here asks: the tab was shown (mount_inspector)."""
        from tui.ui.widgets.inspector_pane import InspectorPane

        return self.query_one(InspectorPane)

    def _inspector_visible(self) -> bool:
        return (
            self.app.screen is self
            and self.details_ready
            and self.details_panel.active == INSPECT_TAB
        )

    def _prepare_inspector(self) -> None:
        selected = self.table.selected
        if selected is not None:
            self.load_inspector(selected)

    def _inspect_tab_shown(self, shown: bool) -> None:
        """The reload timer runs only while the Inspect tab is the active one."""
        if shown and self._inspect_timer is None:
            self._inspect_timer = self.set_interval(
                INSPECT_REFRESH_SECONDS, when_usable(self, self._refresh_visible_inspector)
            )
        elif not shown and self._inspect_timer is not None:
            self._inspect_timer.stop()
            self._inspect_timer = None

    def _refresh_visible_inspector(self) -> None:
        pane = self.inspector_pane
        if self._inspector_visible() and pane.service and pane.cursor is None:
            pane.request()

    @work(thread=True, exclusive=True, group="inspect", exit_on_error=False)
    def load_inspector(self, status: ServiceStatus) -> None:
        from tui.core.plugin_session import NoInspector
        from tui.plugins.api import InspectorError

        try:
            inspector = self.monitor.inspector(status)
            views = tuple(inspector.views())
        except (NoInspector, InspectorError) as error:
            self.post_message(InspectorReady(status.name, "no inspector", (), str(error)))
            return
        self.inspectors[status.name] = inspector
        title = inspector.plugin.title
        if inspector.target.route:  # a remote engine: say how its ports are reached
            title = f"{title} · {inspector.target.route}"
        self.post_message(InspectorReady(status.name, title, views, None))

    def on_inspector_ready(self, message: InspectorReady) -> None:
        pane = self.inspector_pane
        pane.set_service(message.service, message.plugin_title, message.views)
        if message.problem:
            pane.show_problem(message.problem)
        else:
            pane.request()

    def on_inspector_pane_requested(self, message: InspectorPane.Requested) -> None:
        self.run_inspection(message.query)

    @work(thread=True, exclusive=True, group="inspect", exit_on_error=False)
    def run_inspection(self, query: InspectQuery) -> None:
        from tui.plugins.api import InspectorError

        inspector = self.inspectors.get(query.service)
        if inspector is None:
            return
        try:
            result = inspector.show(query.view, query.query, query.cursor)
        except InspectorError as error:
            self.post_message(
                InspectionLoaded(query.service, query.view, None, f"{error.problem.value}: {error}")
            )
            return
        self.post_message(InspectionLoaded(query.service, query.view, result, None))

    def on_inspection_loaded(self, message: InspectionLoaded) -> None:
        pane = self.inspector_pane
        if pane.service != message.service:
            return  # the user moved on
        if message.result is not None:
            pane.show_result(message.result)
        else:
            pane.show_problem(message.problem or "unknown problem")

    # ------------------------------------------------------------------ plugin actions

    def on_inspector_pane_action_requested(self, message: InspectorPane.ActionRequested) -> None:
        from tui.ui.screens.confirm import ConfirmScreen
        from tui.ui.screens.plugin_action import PluginActionScreen

        inspector = self.inspectors.get(message.service)
        if inspector is None:
            self.notify("No inspector for this service", severity="warning")
            return
        actions = tuple(inspector.plugin.actions(inspector.target))  # declared, not I/O
        if not actions:
            self.notify(f"{inspector.plugin.title} offers no actions", markup=False)
            return

        def chosen(choice: ActionChoice | None) -> None:
            if choice is None:
                return
            if not choice.action.destructive:
                self.run_plugin_action(inspector, choice)
                return
            params = "".join(f"\n  {name} = {value}" for name, value in choice.params.items())
            self.app.push_screen(
                ConfirmScreen(
                    f"{choice.action.title} on {message.service}?",
                    f"{inspector.plugin.title}: {choice.action.title}{params}\n\n"
                    "This changes the service's data and cannot be undone.",
                    [("run", choice.action.title)],
                ),
                partial(self._confirmed_plugin_action, inspector, choice),
            )

        self.app.push_screen(
            PluginActionScreen(message.service, inspector.plugin.title, actions), chosen
        )

    def _confirmed_plugin_action(
        self, inspector: Inspector, choice: ActionChoice, answer: str | None
    ) -> None:
        if answer:
            self.run_plugin_action(inspector, choice)

    @work(thread=True, group="plugin-actions", exit_on_error=False)
    def run_plugin_action(self, inspector: Inspector, choice: ActionChoice) -> None:
        from tui.plugins.api import InspectorError

        try:
            result = inspector.run_action(choice.action.id, choice.params)
        except InspectorError as error:
            self.app.call_from_thread(
                self.notify,
                str(error),
                title=choice.action.title,
                severity="error",
                markup=False,
            )
            return
        self.app.call_from_thread(self.notify, result, title=choice.action.title, markup=False)
        self.app.call_from_thread(self.inspector_pane.request)
