"""Quitting the dashboard (a real process in a pseudo-terminal) while the engine leaves a
request of ours unanswered: the process still exits, cleanly, and leaves nothing behind.
How fast it quits is measured by the benchmark (`bench.dashboard`), not here."""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import sys
import threading
import time

from tests.conftest import REPO, SampleEnv
from tests.integration.socket_proxy import SocketProxy
from tui.core.testrun.processes import descendants, list_processes, read_process

# Far above the 2 s the benchmark holds quitting to; the stuck request would hold the
# process for the engine timeout (10 s) and more if quitting waited for it.
EXIT_GUARD_SECONDS = 8.0


class PtyDashboard:
    """`python -m tui` on the sample environment, drawing into a pty we keep drained."""

    def __init__(self, docker_host: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.chdir(REPO)
            os.environ.update(
                {
                    "TERM": "xterm-256color",
                    "COLUMNS": "120",
                    "LINES": "36",
                    "DOCKER_HOST": docker_host,
                }
            )
            os.execv(sys.executable, [sys.executable, "-m", "tui"])  # noqa: S606
        self.output = bytearray()
        self._lock = threading.Lock()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(self.fd, 65536):
                with self._lock:
                    self.output += chunk

    def shows(self, text: bytes) -> bool:
        with self._lock:
            return text in self.output

    def exit_status(self, timeout: float) -> int | None:
        """The exit code once it has exited within `timeout`; None if it has not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = 0
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        return None

    def kill(self) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        with contextlib.suppress(OSError):
            os.close(self.fd)


def descendants_of(pid: int) -> set[int]:
    return descendants([pid], list_processes()) - {pid}


def running(pid: int) -> bool:
    info = read_process(pid)
    return info is not None and info.state != "Z"


def wait_for(condition: object, what: str, timeout: float = 30.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)


def test_quitting_does_not_wait_for_an_unanswered_engine_call(sample_env: SampleEnv) -> None:
    with SocketProxy() as proxy:
        proxy.hold(b"/stats")  # the first CPU and memory round never gets an answer
        dashboard = PtyDashboard(proxy.base_url)
        try:
            wait_for(lambda: dashboard.shows(b"postgres"), "the services on screen")
            wait_for(proxy.held.is_set, "a stats request held by the engine")
            below = descendants_of(dashboard.pid)

            os.write(dashboard.fd, b"q")
            status = dashboard.exit_status(EXIT_GUARD_SECONDS)

            assert status is not None, "q did not end the dashboard: it waits for the engine"
            assert status == 0
            assert not [pid for pid in below if running(pid)], "processes left behind"
        finally:
            dashboard.kill()
