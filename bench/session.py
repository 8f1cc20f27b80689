"""The real app, in-process and headless, with the benchmark's instruments attached.

`make_app(settings, DockerGateway())` is exactly what the `envdeck` command builds; the
app runs under `run_test` (Textual's headless driver: every widget renders and the
compositor runs, only the final write to a terminal is skipped). The instruments wrap
methods on widget instances, never the app's code: the log view's `add_lines`
(to count lines and time their ingestion), the screen's `post_message` (to know when
the follower's batcher handed a batch over), and the services table's `cursor_up`
action and `update_services` (to know when a probed key was handled, or a death shown).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from textual import events
from textual.message import Message
from textual.pilot import Pilot

from bench.probes import KeyProbe, LoopProbe, newest_line_time
from bench.stack import FLOOD_SERVICE, LINE_PATTERN, BenchStack
from bench.terminal import SIZE
from tui.config.settings import EnvdeckSettings, load_settings
from tui.core.engine import DockerGateway
from tui.core.log_buffer import LogLine
from tui.core.status import ServiceStatus
from tui.ui.app import EnvdeckApp, make_app
from tui.ui.messages import LogLinesArrived
from tui.ui.screens.dashboard import DashboardScreen
from tui.ui.widgets.log_lines import LogLines
from tui.ui.widgets.log_view import LogView
from tui.ui.widgets.services_table import ServicesTable

# The key probed: `k` moves the table's cursor up, a no-op on the first row (the flood
# service), so probing never changes which service's logs are followed.
PROBE_KEY = "k"
_SKIPPED = re.compile(r"── (\d+) lines skipped")
_TAGS = re.compile(r"<[^>]+>")


def settings_for(stack: BenchStack) -> EnvdeckSettings:
    return load_settings(stack.root, compose_files=[stack.compose_file], project_name=stack.project)


@dataclass
class Ingestion:
    """What reached the log view: lines, lines the batcher skipped, time spent adding."""

    lines: int = 0
    skipped: int = 0
    batches: int = 0
    busy: float = 0.0  # seconds inside LogView.add_lines
    batch_seconds: list[float] = field(default_factory=list)
    # Where a batch's newest line spent its time: printed → batch posted to the screen
    # (Docker, the follower thread, the batcher), and posted → added (the UI's queue).
    to_posted: list[float] = field(default_factory=list)
    queued: list[float] = field(default_factory=list)
    posted_at: dict[int, tuple[float, float | None]] = field(default_factory=dict)

    def copy(self) -> Ingestion:
        return Ingestion(self.lines, self.skipped, self.batches, self.busy)

    def posted(self, lines: Sequence[LogLine]) -> None:
        """On the batcher's thread: a batch is being posted to the screen."""
        now = time.time()
        newest = newest_line_time([line.text for line in lines[-20:]])
        printed = newest[1] if newest else None
        if printed is not None:
            self.to_posted.append(now - printed)
        self.posted_at[id(lines)] = (now, printed)

    def added(self, lines: Sequence[LogLine]) -> None:
        posted = self.posted_at.pop(id(lines), None)
        if posted is not None:
            self.queued.append(time.time() - posted[0])


@dataclass
class Dashboard:
    app: EnvdeckApp
    pilot: Pilot[int]
    screen: DashboardScreen
    table: ServicesTable
    logs: LogView
    ingestion: Ingestion = field(default_factory=Ingestion)
    keys: KeyProbe | None = None
    loop_probe: LoopProbe | None = None
    table_hooks: list[Callable[[ServicesTable], None]] = field(default_factory=list)
    log_widget: LogLines | None = None

    def newest_on_screen(self) -> tuple[int, float] | None:
        """The newest flood line actually drawn, read off a screenshot of the screen (the
        widget's data can move on while the drawn pane does not)."""
        svg = self.app.export_screenshot()
        text = html.unescape(_TAGS.sub("", svg)).replace("\xa0", " ")
        drawn = [(int(m.group(1)), float(m.group(2))) for m in LINE_PATTERN.finditer(text)]
        return max(drawn) if drawn else None

    def newest_line(self) -> tuple[int, float] | None:
        """Called from the sampler thread: reads the Log widget's list of lines."""
        return None if self.log_widget is None else newest_line_time(self.log_widget.lines)

    def instrument(self) -> None:
        self.log_widget = self.logs.lines_widget
        add_lines = self.logs.add_lines

        def counted(lines: Sequence[LogLine]) -> None:
            began = time.perf_counter()
            add_lines(lines)
            spent = time.perf_counter() - began
            ingestion = self.ingestion
            ingestion.added(lines)
            ingestion.busy += spent
            ingestion.batches += 1
            ingestion.batch_seconds.append(spent)
            ingestion.lines += len(lines)
            for line in lines:  # the batcher puts its "skipped" notes first
                if line.stream != "envdeck":
                    break
                ingestion.lines -= 1
                if match := _SKIPPED.match(line.text):
                    ingestion.skipped += int(match.group(1))

        vars(self.logs)["add_lines"] = counted

        post_message = self.screen.post_message

        def posting(message: Message) -> bool:
            if isinstance(message, LogLinesArrived):
                self.ingestion.posted(message.lines)
            return post_message(message)

        vars(self.screen)["post_message"] = posting

        update_services = self.table.update_services

        def watched(statuses: Sequence[ServiceStatus]) -> None:
            update_services(statuses)
            for hook in list(self.table_hooks):
                hook(self.table)

        vars(self.table)["update_services"] = watched

    def start_probes(self) -> None:
        cursor_up = self.table.action_cursor_up
        keys = KeyProbe(self._press_probe_key)

        def probed() -> None:
            keys.on_action()
            cursor_up()
            self.table.call_after_refresh(keys.on_refreshed)

        vars(self.table)["action_cursor_up"] = probed
        self.keys = keys
        self.loop_probe = LoopProbe(asyncio.get_running_loop())
        keys.start()
        self.loop_probe.start()

    def _press_probe_key(self) -> None:
        # What the terminal driver's input thread does with a key it read.
        driver = self.app._driver
        assert driver is not None
        key = events.Key(PROBE_KEY, PROBE_KEY)
        key.set_sender(self.app)
        driver.send_message(key)

    async def stop_probes(self) -> None:
        # From a thread: the key in flight is answered by the event loop meanwhile, so
        # no probe key reaches an app that is shutting down.
        if self.keys is not None:
            await asyncio.to_thread(self.keys.stop)
        if self.loop_probe is not None:
            await asyncio.to_thread(self.loop_probe.stop)

    def state_of(self, service: str) -> str | None:
        for status in self.table.statuses.values():
            if status.name == service:
                return status.state
        return None


async def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


def rows_listed(app: EnvdeckApp, count: int) -> bool:
    if not app.screen_stack:  # still starting
        return False
    screen = app.screen
    if not isinstance(screen, DashboardScreen):
        return False
    # The log pane is mounted once the first rows are drawn.
    return screen.query_one(ServicesTable).row_count >= count and screen.details_ready


@contextlib.asynccontextmanager
async def dashboard(stack: BenchStack, *, probes: bool = False) -> AsyncIterator[Dashboard]:
    """The app, its table listing every service, its log pane following the flood."""
    gateway = DockerGateway()
    app = make_app(settings_for(stack), gateway)
    try:
        async with app.run_test(size=SIZE) as pilot:
            if not await wait_until(lambda: rows_listed(app, len(stack.services)), 30):
                raise RuntimeError("the dashboard did not list the services within 30 s")
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            board = Dashboard(
                app, pilot, screen, screen.query_one(ServicesTable), screen.query_one(LogView)
            )
            board.instrument()
            selected = board.table.selected
            if selected is None or selected.name != FLOOD_SERVICE:
                raise RuntimeError(f"expected {FLOOD_SERVICE} selected, got {selected}")
            if not await wait_until(lambda: screen.follower is not None, 30, 0.01):
                raise RuntimeError("the log follower did not start within 30 s")
            await asyncio.sleep(0.5)  # the follower's initial tail arrives
            if probes:
                board.start_probes()
            try:
                yield board
            finally:
                await board.stop_probes()
                stack.set_rate(0)
    finally:
        gateway.reset()
