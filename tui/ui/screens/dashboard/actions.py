"""Acting on services: restart, stop, start, up (one or all), down (lists exactly what
the guard would remove, asks first, offers to remove volumes) and a shell. Progress shows
in the row's state cell at once; the result as a toast, and a re-list follows."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.app import SuspendNotSupported

from tui.ui.messages import ActionFinished
from tui.ui.screens.dashboard.base import DashboardBase

if TYPE_CHECKING:
    from tui.core.actions import ActionResult, ServiceActions
    from tui.core.guard import DestructivePlan

# The actions (docker-py, the guard) and the shell are imported where used, in workers
# or on a key: not before the first frame (issue 17).
# ruff: noqa: PLC0415


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
        from tui.core.shell import shell_argv

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
        if self.actions is None:
            self.notify("Actions are not available here", severity="warning")
            return
        self._plan_down()

    @work(thread=True, exclusive=True, group="plan-down", exit_on_error=False)
    def _plan_down(self) -> None:
        """Both plans from the guard (blocking: containers, volumes, images), then ask."""
        from tui.core.actions import ActionFailed

        assert self.actions is not None
        try:
            actions = self.actions()
            down = actions.plan_down(volumes=False)
        except ActionFailed as error:
            self.app.call_from_thread(
                self.notify, str(error), title="Nothing removed", severity="error", markup=False
            )
            return
        try:
            with_volumes: DestructivePlan | str = actions.plan_down(volumes=True)
        except ActionFailed as error:
            with_volumes = str(error)
        self.app.call_from_thread(self._ask_down, down, with_volumes)

    def _ask_down(self, down: DestructivePlan, with_volumes: DestructivePlan | str) -> None:
        from tui.ui.screens.confirm import ConfirmScreen

        if isinstance(self.app.screen, ConfirmScreen):
            return  # D pressed again while the first plan was made: one dialog is enough
        body = "\n".join(down.lines())
        choices = [("down", "Down")]
        if isinstance(with_volumes, str):
            body += f"\n\nVolumes cannot be removed: {with_volumes}"
        else:
            body += "\n\nDown and remove volumes also removes (their data is lost):\n  "
            body += "\n  ".join(with_volumes.volumes) or "(no volumes)"
            choices.append(("down-volumes", "Down and remove volumes"))
        plans = {"down": down, "down-volumes": with_volumes}

        def chosen(choice: str | None) -> None:
            plan = plans.get(choice or "")
            if plan is not None and not isinstance(plan, str):
                self._run_action(None, "going down…", lambda a: a.down(plan))

        self.app.push_screen(ConfirmScreen(f"Down {down.project}?", body, choices), chosen)

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
        from tui.core.actions import ActionFailed

        assert self.actions is not None
        try:
            result = action(self.actions())
        except ActionFailed as error:
            self.post_message(ActionFinished(service, None, str(error)))
            return
        except Exception as error:  # anything else still ends the row's "going down…"
            self.post_message(ActionFinished(service, None, f"{type(error).__name__}: {error}"))
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
