"""The Textual application: wiring only; the screens and the core do the work."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

from tui.config.settings import EnvdeckSettings
from tui.core.monitor import DockerEnvironmentMonitor, EnvironmentMonitor
from tui.core.text import safe_text
from tui.reset.service import EnvironmentResets, Resets
from tui.ui.screens.dashboard import DashboardScreen

if TYPE_CHECKING:
    from tui.core.actions import ServiceActions
    from tui.core.engine import DockerGateway
    from tui.core.testrun.session import TestSession

# A collection of the youngest objects every 10,000 (not 700) more allocations than frees:
# a log flood allocates and frees plenty, and with 700 the collector ran ~30 times a second
# and, every few seconds, a full collection of every object of the app (100 ms and more
# here, with the event loop stopped). Objects that live through start-up are frozen: the
# full collections that remain skip them.
GC_YOUNGEST_THRESHOLD = 10_000
TESTS_SCREEN = "tests"


class EnvdeckApp(App[int]):
    TITLE = "envdeck"
    # The dashboard's CSS (scoped to DashboardScreen) is read with the app's: a screen's own
    # CSS_PATH makes Textual parse every stylesheet again when the screen is pushed, ~10 ms
    # of the first frame (issue 17). The other screens keep theirs: they come later.
    # A full path: Textual takes a relative one from the file of the class in use (a
    # subclass elsewhere would not find it).
    CSS_PATH = Path(__file__).parent / "screens" / "dashboard" / "dashboard.tcss"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, id="app.quit_ctrl_q", priority=True),
        Binding("ctrl+c", "quit", "Quit", show=False, id="app.quit_ctrl_c", priority=True),
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("colon", "command_palette", "Commands", show=False, id="app.palette"),
    ]

    def __init__(
        self,
        settings: EnvdeckSettings,
        monitor: EnvironmentMonitor,
        actions: Callable[[], ServiceActions] | None = None,
        resets: Resets | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.monitor = monitor
        self.actions = actions
        self.resets = resets
        self._gc_threshold = gc.get_threshold()
        # The test session: made at the first `t`, kept until the app ends, so the tree,
        # the results and watch mode outlive the tests screen (`show_tests`).
        self.test_session: TestSession | None = None

    def on_mount(self) -> None:
        gc.set_threshold(GC_YOUNGEST_THRESHOLD, *self._gc_threshold[1:])
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
            self.check_keymap()
        self.call_after_refresh(_freeze_and_collect_again)

    def get_default_screen(self) -> DashboardScreen:
        # The dashboard is the first screen itself, not pushed over Textual's blank one:
        # that one would be composed and laid out again at every resize (issue 17).
        return DashboardScreen(
            self.monitor,
            self.actions,
            log_lines=self.settings.log_lines_per_service,
            resets=self.resets,
        )

    @work(thread=True, group="keymap-check", exit_on_error=False)
    def check_keymap(self) -> None:
        """Textual ignores an id no key has and drops a key a remapped one lands on: say
        so. In a thread: finding every key imports every screen (0.2 s)."""
        from tui.config.keymap import keymap_problems  # noqa: PLC0415 - only with a keymap
        from tui.ui.keymap import key_catalogue  # noqa: PLC0415

        problems = keymap_problems(self.settings.keymap, key_catalogue())
        if problems:
            text = "\n".join(str(problem) for problem in problems)
            self.call_from_thread(self.notify, text, title="Keymap", severity="warning", timeout=20)

    def show_tests(self) -> None:
        """The tests screen: made once, then shown again as it was left (the session
        went on meanwhile: watch-mode runs, their results)."""
        if self.is_screen_installed(TESTS_SCREEN):
            self.push_screen(TESTS_SCREEN)
            return
        # Imported on first use: the test runner, watch mode and resets are a fifth of a
        # second of imports that the first frame does not need.
        from tui.ui.screens.tests import TestsScreen, new_session  # noqa: PLC0415
        from tui.ui.tests_header import TestsHeaderItem  # noqa: PLC0415

        session = new_session(self.settings, self.monitor, self.resets)
        self.test_session = session
        session.listen(TestsHeaderItem(self, session))
        screen = TestsScreen(self.settings, self.monitor, self.resets, session)
        self.install_screen(screen, TESTS_SCREEN)
        self.push_screen(TESTS_SCREEN)

    def on_unmount(self) -> None:
        if self.test_session is not None:
            self.test_session.kill_now()  # no pytest, no spare Python left behind
        # What start-up froze is collectable again, and collected now: a process that runs
        # several apps (tests, the benchmark) does not keep the earlier ones' cycles.
        gc.unfreeze()
        gc.set_threshold(*self._gc_threshold)
        gc.collect()

    def run_for_exit_code(self) -> int:
        """Runs the app; the process's exit code. A crash is not 0: Textual's `run()`
        returns None after an unhandled exception (it sets `return_code` to 1)."""
        returned = self.run()
        return self.return_code or returned or 0

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast, whoever raises it (a widget's `notify` ends here), as plain text
        under the display rule: toasts carry service names, errors and plugin results, and
        Textual would parse a message as markup. `markup` is accepted and ignored."""
        super().notify(
            safe_text(message, keep="\t\n"),
            title=safe_text(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def action_help(self) -> None:
        from tui.ui.screens.help import HelpScreen, key_rows  # noqa: PLC0415 - at `?` only

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(key_rows(self.screen)))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action with a key is also in the command palette."""
        yield from super().get_system_commands(screen)
        seen = {"quit", "command_palette", "help"}
        for active in screen.active_bindings.values():
            binding = active.binding
            if binding.action in seen or not binding.description:
                continue
            seen.add(binding.action)
            key = self.get_key_display(binding)
            yield SystemCommand(
                binding.description,
                f"{binding.description} (key: {key})",
                partial(self.run_action, binding.action, active.node),
            )


def make_app(
    settings: EnvdeckSettings,
    gateway: DockerGateway | None = None,
    monitor: EnvironmentMonitor | None = None,
    resets: Resets | None = None,
) -> EnvdeckApp:
    """The app exactly as users run it; tests pass a fixed monitor (and resets) for
    snapshots. The command line passes the Docker monitor it already warms up, with no
    gateway: the monitor makes one after the first frame."""
    if monitor is not None and not isinstance(monitor, DockerEnvironmentMonitor):
        return EnvdeckApp(settings, monitor, resets=resets)
    docker_monitor = monitor or DockerEnvironmentMonitor(settings, gateway)
    docker_monitor.prefetch()  # the first listing, while the screens compose
    resets = EnvironmentResets(
        settings,
        lambda: docker_monitor.gateway,
        lambda: docker_monitor.environment(engine_connected=True),
    )
    return EnvdeckApp(settings, docker_monitor, docker_monitor.actions, resets)


def _freeze_and_collect_again() -> None:
    """After the first frame: what start-up made is kept out of every later collection,
    and collecting resumes (`envdeck` turns it off until then: `tui.cli.main`)."""
    gc.freeze()
    gc.enable()
