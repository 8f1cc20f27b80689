"""Acting on services: restart, stop, start, up (one or all), down (asks first, offers to
remove volumes) and a shell. Progress shows in the row's state cell at once; the result
as a toast, and a re-list follows."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from textual import work
from textual.app import SuspendNotSupported

from tui.core.actions import ActionFailed, ActionResult, ServiceActions
from tui.core.shell import shell_argv
from tui.ui.messages import ActionFinished
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.dashboard.base import DashboardBase


class ServiceActionsPart(DashboardBase):
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
        selected = self.table.selected
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
        table = self.table
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
        table = self.table
        names = [message.service] if message.service else [s.name for s in table.statuses.values()]
        for name in names:
            table.set_pending(name, None)
        if message.error:
            self.notify(message.error, title="Action failed", severity="error", markup=False)
        elif message.result:
            self.notify(f"{message.result.action}: {message.result.service}", markup=False)
        self.refresh_status()
