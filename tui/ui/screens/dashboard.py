"""The dashboard: the project's services, live."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.core.actions import ActionFailed, ActionResult, ServiceActions
from tui.core.compose_cli import ComposeError
from tui.core.engine import EngineUnavailable
from tui.core.events import ContainerChange, EngineState
from tui.core.log_buffer import LogLine
from tui.core.logs import FollowOptions
from tui.core.monitor import EnvironmentMonitor, LogFollower, Watcher
from tui.core.shell import shell_argv
from tui.core.status import EnvironmentStatus, ServiceStatus
from tui.core.text import safe_text
from tui.plugins.api import InspectorError
from tui.plugins.session import Inspector, NoInspector
from tui.presentation.change_text import change_toast
from tui.presentation.log_format import engine_line, since_timestamp
from tui.ui.messages import (
    ActionFinished,
    ContainerChanged,
    ContainersResynced,
    DetailsLoaded,
    EngineChanged,
    InspectionLoaded,
    InspectorReady,
    LogLinesArrived,
    ResourcesUpdated,
    StatusUpdated,
)
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.plugin_action import ActionChoice, PluginActionScreen
from tui.ui.screens.tests import TestsScreen
from tui.ui.widgets.inspector_pane import InspectorPane, InspectQuery
from tui.ui.widgets.log_view import LogView
from tui.ui.widgets.service_details import ServiceDetailsPanel
from tui.ui.widgets.services_table import ServicesTable

# Live state comes from Docker's events; this slow re-list only catches what events
# cannot say (a service with no container yet) and heals after any gap.
RECONCILE_SECONDS = 15.0
STATS_SECONDS = 5.0
INSPECT_REFRESH_SECONDS = 3.0


def summary_line(status: EnvironmentStatus | None) -> str:
    if status is None:
        return "envdeck · connecting to Docker…"
    project = safe_text(status.project)
    if status.problem is not None:
        return f"envdeck · {project} · {safe_text(status.problem.splitlines()[0])}"
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
        Binding("r", "restart_service", "Restart", id="dashboard.restart"),
        Binding("s", "stop_service", "Stop", id="dashboard.stop"),
        Binding("S", "start_service", "Start", id="dashboard.start"),
        Binding("u", "up_service", "Up", id="dashboard.up"),
        Binding("U", "up_project", "Up all", show=False, id="dashboard.up_all"),
        Binding("D", "down_project", "Down", show=False, id="dashboard.down"),
        Binding("E", "shell", "Shell", show=False, id="dashboard.shell"),
        Binding("l", "show_tab('tab-logs')", "Logs", show=False, id="dashboard.logs"),
        Binding("i", "show_tab('tab-inspect')", "Inspect", id="dashboard.inspect"),
        Binding("e", "show_tab('tab-env')", "Env", show=False, id="dashboard.env"),
        Binding("t", "tests", "Tests", id="dashboard.tests"),
        Binding("v", "toggle_secrets", "Reveal secrets", show=False, id="dashboard.reveal"),
    ]

    def __init__(
        self,
        monitor: EnvironmentMonitor,
        actions: Callable[[], ServiceActions] | None = None,
        *,
        log_lines: int = 10_000,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.actions = actions
        self.log_lines = log_lines
        self.status: EnvironmentStatus | None = None
        self.inspectors: dict[str, Inspector] = {}
        self.follower: LogFollower | None = None
        self.follower_generation = 0
        self.logs_merged = False
        self.logs_since: str | None = None
        self.logs_service: str | None = None
        self.watcher: Watcher | None = None

    def compose(self) -> ComposeResult:
        yield Static(summary_line(None), id="summary", markup=False)
        with Vertical(id="services-pane"):
            yield ServicesTable(id="services")
        yield ServiceDetailsPanel(id="details-pane", log_lines=self.log_lines)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ServicesTable).focus()
        self.refresh_status()
        self.start_watcher()
        self.set_timer(1.0, self.refresh_resources)
        # Inspectors refresh while visible, and only then.
        self.set_interval(INSPECT_REFRESH_SECONDS, self._refresh_visible_inspector)

    def action_tests(self) -> None:
        settings = getattr(self.app, "settings", None)
        if settings is None:
            self.notify("No settings: the tests screen needs a project", severity="error")
            return
        self.app.push_screen(TestsScreen(settings, self.monitor))

    def action_toggle_secrets(self) -> None:
        self.query_one(ServiceDetailsPanel).action_toggle_secrets()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(ServiceDetailsPanel).active = tab
        if tab == "tab-inspect":
            self._prepare_inspector()

    def on_tabbed_content_tab_activated(self, event: object) -> None:
        if self.query_one(ServiceDetailsPanel).active == "tab-inspect":
            self._prepare_inspector()

    # ------------------------------------------------------------------ inspector

    def _inspector_visible(self) -> bool:
        return self.app.screen is self and self.query_one(ServiceDetailsPanel).active == (
            "tab-inspect"
        )

    def _prepare_inspector(self) -> None:
        selected = self.query_one(ServicesTable).selected
        if selected is not None:
            self.load_inspector(selected)

    def _refresh_visible_inspector(self) -> None:
        pane = self.query_one(InspectorPane)
        if self._inspector_visible() and pane.service and pane.cursor is None:
            pane.request()

    @work(thread=True, exclusive=True, group="inspect", exit_on_error=False)
    def load_inspector(self, status: ServiceStatus) -> None:
        try:
            inspector = self.monitor.inspector(status)
            views = tuple(inspector.views())
        except (NoInspector, InspectorError) as error:
            self.post_message(InspectorReady(status.name, "no inspector", (), str(error)))
            return
        self.inspectors[status.name] = inspector
        self.post_message(InspectorReady(status.name, inspector.plugin.title, views, None))

    def on_inspector_ready(self, message: InspectorReady) -> None:
        pane = self.query_one(InspectorPane)
        pane.set_service(message.service, message.plugin_title, message.views)
        if message.problem:
            pane.show_problem(message.problem)
        else:
            pane.request()

    def on_inspector_pane_requested(self, message: InspectorPane.Requested) -> None:
        self.run_inspection(message.query)

    @work(thread=True, exclusive=True, group="inspect", exit_on_error=False)
    def run_inspection(self, query: InspectQuery) -> None:
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
        pane = self.query_one(InspectorPane)
        if pane.service != message.service:
            return  # the user moved on
        if message.result is not None:
            pane.show_result(message.result)
        else:
            pane.show_problem(message.problem or "unknown problem")

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def refresh_status(self) -> None:
        self.post_message(StatusUpdated(self.monitor.snapshot()))

    def on_status_updated(self, message: StatusUpdated) -> None:
        self.status = message.status
        summary = self.query_one("#summary", Static)
        summary.update(summary_line(message.status))
        summary.set_class(
            not message.status.engine.connected or message.status.problem is not None,
            "-disconnected",
        )
        table = self.query_one(ServicesTable)
        table.update_services(message.status.services)
        if table.selected is not None:
            self.load_details(table.selected)
        # The next re-list is scheduled only after this one finished (no pile-up).
        self.set_timer(RECONCILE_SECONDS, self.refresh_status)

    # ------------------------------------------------------------------ logs

    def _follow_logs(self) -> None:
        """(Re)start the one log follower for what the pane should show."""
        table = self.query_one(ServicesTable)
        services = sorted({s.name for s in table.statuses.values()})
        selected = table.selected
        if self.logs_merged:
            wanted, title = services, f"all services ({len(services)})"
        elif selected is not None:
            wanted, title = [selected.name], selected.name
        else:
            return
        if self.logs_since:
            title += f" · since {self.logs_since}"
        self.follower_generation += 1
        self.logs_service = None if self.logs_merged else wanted[0]
        self.query_one(LogView).start(title, services, merged=self.logs_merged)
        previous, self.follower = self.follower, None
        self._switch_follower(previous, wanted, self.follower_generation)

    @work(thread=True, exclusive=True, group="logs", exit_on_error=False)
    def _switch_follower(
        self, previous: LogFollower | None, services: list[str], generation: int
    ) -> None:
        if previous is not None:
            previous.stop(timeout=2.0)
        options = FollowOptions(
            tail=None if self.logs_since else 500,
            since=since_timestamp(self.logs_since) if self.logs_since else None,
        )

        def deliver(lines: Sequence[LogLine]) -> None:
            self.post_message(LogLinesArrived(generation, lines))

        try:
            follower = self.monitor.follow_logs(services, deliver, options)
            follower.start()
        except (EngineUnavailable, ComposeError) as error:
            self.post_message(LogLinesArrived(generation, [engine_line(str(error))]))
            return
        self.app.call_from_thread(self._adopt_follower, follower, generation)

    def _adopt_follower(self, follower: LogFollower, generation: int) -> None:
        if generation == self.follower_generation and self.is_attached:
            self.follower = follower
        else:
            self._stop_in_background(follower)  # the user moved on meanwhile

    def _stop_in_background(self, follower: LogFollower) -> None:
        threading.Thread(target=follower.stop, kwargs={"timeout": 2.0}, daemon=True).start()

    def on_log_lines_arrived(self, message: LogLinesArrived) -> None:
        if message.generation == self.follower_generation:
            self.query_one(LogView).add_lines(message.lines)

    def on_log_view_all_services_toggled(self, message: LogView.AllServicesToggled) -> None:
        self.logs_merged = not self.logs_merged
        self._follow_logs()

    def on_log_view_since_chosen(self, message: LogView.SinceChosen) -> None:
        self.logs_since = message.since
        self._follow_logs()

    def on_unmount(self) -> None:
        if self.follower is not None:
            self._stop_in_background(self.follower)
            self.follower = None
        if self.watcher is not None:
            threading.Thread(target=self.watcher.stop, daemon=True).start()
            self.watcher = None

    # ------------------------------------------------------------------ live state

    @work(thread=True, exclusive=True, group="watcher", exit_on_error=False)
    def start_watcher(self) -> None:
        try:
            watcher = self.monitor.watch(self._post_change, self._post_resync, self._post_engine)
            watcher.start()
        except (EngineUnavailable, ComposeError):
            self.app.call_from_thread(self.set_timer, 5.0, self.start_watcher)
            return
        self.app.call_from_thread(self._adopt_watcher, watcher)

    # The watcher's thread calls these; post_message is thread-safe.
    def _post_change(self, change: ContainerChange) -> None:
        self.post_message(ContainerChanged(change))

    def _post_resync(self, statuses: dict[str, ServiceStatus]) -> None:
        self.post_message(ContainersResynced(statuses))

    def _post_engine(self, state: EngineState) -> None:
        self.post_message(EngineChanged(state))

    def _adopt_watcher(self, watcher: Watcher) -> None:
        if self.is_attached:
            self.watcher = watcher
        else:
            threading.Thread(target=watcher.stop, daemon=True).start()

    def on_container_changed(self, message: ContainerChanged) -> None:
        change = message.change
        table = self.query_one(ServicesTable)
        previous = next(
            (
                s
                for s in table.statuses.values()
                if s.container and change.status and s.container == change.status.container
            ),
            None,
        )
        toast = change_toast(change, previous)
        if toast is not None:
            self.notify(toast.message, severity=toast.severity, markup=False)  # type: ignore[arg-type]
        if change.status is None:
            self.refresh_status()  # a container went away: re-list, the service may be missing
            return
        status = change.status
        if previous is not None and status.state == "running":
            status = replace(status, cpu_percent=previous.cpu_percent, mem_bytes=previous.mem_bytes)
        table.apply_status(status)
        if table.selected is not None and table.selected.name == status.name:
            self.load_details(table.selected)

    def on_containers_resynced(self, message: ContainersResynced) -> None:
        self.refresh_status()

    def on_engine_changed(self, message: EngineChanged) -> None:
        if not message.state.connected:
            self.notify(
                f"Docker engine unreachable: {message.state.error or ''}",
                severity="error",
                markup=False,
            )
            summary = self.query_one("#summary", Static)
            summary.update(f"envdeck · engine unreachable · retrying ({message.state.error})")
            summary.set_class(True, "-disconnected")
        else:
            self.refresh_status()

    @work(thread=True, exclusive=True, group="stats", exit_on_error=False)
    def refresh_resources(self) -> None:
        statuses = tuple(self.query_one(ServicesTable).statuses.values())
        try:
            running = any(s.state == "running" for s in statuses)
            usage = self.monitor.resource_usage(statuses) if running else statuses
            self.post_message(ResourcesUpdated(usage))
        finally:
            self.app.call_from_thread(self.set_timer, STATS_SECONDS, self.refresh_resources)

    def on_resources_updated(self, message: ResourcesUpdated) -> None:
        self.query_one(ServicesTable).apply_resources(message.statuses)

    def on_services_table_service_selected(self, message: ServicesTable.ServiceSelected) -> None:
        if not self.logs_merged and message.status.name != self.logs_service:
            self._follow_logs()
        self.load_details(message.status)
        if self._inspector_visible():
            self.load_inspector(message.status)

    @work(thread=True, exclusive=True, group="details", exit_on_error=False)
    def load_details(self, status: ServiceStatus) -> None:
        self.post_message(DetailsLoaded(status.name, self.monitor.details(status)))

    def on_details_loaded(self, message: DetailsLoaded) -> None:
        selected = self.query_one(ServicesTable).selected
        if selected is not None and selected.name == message.service:
            self.query_one(ServiceDetailsPanel).details = message.details

    def on_inspector_pane_action_requested(self, message: InspectorPane.ActionRequested) -> None:
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
        try:
            result = inspector.plugin.run_action(inspector.target, choice.action.id, choice.params)
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
        self.app.call_from_thread(self.query_one(InspectorPane).request)

    # ------------------------------------------------------------------ actions

    def _selected_service(self) -> str | None:
        selected = self.query_one(ServicesTable).selected
        if selected is None:
            self.notify("No service selected", severity="warning")
        return selected.name if selected else None

    def action_restart_service(self) -> None:
        if service := self._selected_service():
            self._run_action(service, "restarting…", lambda a: a.restart(service))

    def action_stop_service(self) -> None:
        if service := self._selected_service():
            self._run_action(service, "stopping…", lambda a: a.stop(service))

    def action_start_service(self) -> None:
        if service := self._selected_service():
            self._run_action(service, "starting…", lambda a: a.start(service))

    def action_up_service(self) -> None:
        if service := self._selected_service():
            self._run_action(service, "going up…", lambda a: a.up([service]))

    def action_shell(self) -> None:
        selected = self.query_one(ServicesTable).selected
        if selected is None or selected.container is None or selected.state != "running":
            self.notify("The selected service has no running container", severity="warning")
            return
        try:
            with self.app.suspend():
                # The user's terminal belongs to the shell until it exits.
                code = subprocess.call(shell_argv(selected.container))
        except SuspendNotSupported:
            self.notify("This terminal cannot hand over to a shell", severity="error")
            return
        if code not in (0, 130):
            self.notify(f"The shell ended with exit code {code}", severity="warning")

    def action_up_project(self) -> None:
        self._run_action(None, "going up…", lambda a: a.up())

    def action_down_project(self) -> None:
        project = self.status.project if self.status else "the project"
        containers = (
            [s.container for s in self.status.services if s.container] if self.status else []
        )
        body = (
            f"Stop and remove the {len(containers)} containers of {project}:\n  "
            + ("\n  ".join(containers) or "(none)")
            + "\n\nRemoving volumes also deletes their data."
        )

        def chosen(choice: str | None) -> None:
            if choice in ("down", "down-volumes"):
                volumes = choice == "down-volumes"
                self._run_action(None, "going down…", lambda a: a.down(volumes=volumes))

        self.app.push_screen(
            ConfirmScreen(
                f"Down {project}?",
                body,
                [("down", "Down"), ("down-volumes", "Down and remove volumes")],
            ),
            chosen,
        )

    def _run_action(
        self, service: str | None, progress: str, action: Callable[[ServiceActions], ActionResult]
    ) -> None:
        if self.actions is None:
            self.notify("Actions are not available here", severity="warning")
            return
        table = self.query_one(ServicesTable)
        for name in [service] if service else [s.name for s in table.statuses.values()]:
            table.set_pending(name, progress)
        self._action_worker(service, action)

    @work(thread=True, group="actions", exit_on_error=False)
    def _action_worker(
        self, service: str | None, action: Callable[[ServiceActions], ActionResult]
    ) -> None:
        assert self.actions is not None
        try:
            result = action(self.actions())
        except ActionFailed as error:
            self.post_message(ActionFinished(service, None, str(error)))
            return
        self.post_message(ActionFinished(service, result, None))

    def on_action_finished(self, message: ActionFinished) -> None:
        table = self.query_one(ServicesTable)
        names = [message.service] if message.service else [s.name for s in table.statuses.values()]
        for name in names:
            table.set_pending(name, None)
        if message.error:
            self.notify(message.error, title="Action failed", severity="error", markup=False)
        elif message.result:
            self.notify(f"{message.result.action}: {message.result.service}", markup=False)
        self.refresh_status()
