"""The health gate's questions to the environment: which services hold a run, and why.

A watch-mode run (and `envdeck test --wait`) waits while a service is not ready; this
says which and why, with the healthcheck's own last words. When to hold and when to go
is the scheduler's policy (`tui.core.watch.scheduler`), carried out by watch mode
(`session_watch.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tui.core.monitor import EnvironmentMonitor
from tui.core.status import ServiceStatus
from tui.core.text import safe_text
from tui.core.watch.gate import why_not_ready

GATE_POLL_SECONDS = 1.0
HEALTH_OUTPUT_CHARS = 120

Blockers = tuple[tuple[ServiceStatus, ...], dict[str, str]]


class HealthGate:
    """Asks `monitor` (none: nothing ever holds a run); `runs_in` names the service the
    tests themselves run in, if any (it never holds them)."""

    def __init__(
        self, monitor: EnvironmentMonitor | None, runs_in: Callable[[], str | None]
    ) -> None:
        self.monitor = monitor
        self._runs_in = runs_in
        self.waiting_text = ""  # the services holding a run, and why (the last answer)

    def not_ready(self) -> tuple[ServiceStatus, ...]:
        """The services a run waits for (blocking: call it in a thread). None of them when
        the environment cannot be asked: a broken monitor must not hold the tests forever."""
        if self.monitor is None:
            return ()
        try:
            waiting = self.monitor.snapshot().gating_services
        except Exception:
            return ()
        # The service the tests run in is started for each run (`compose run`): it never
        # has a container of its own to wait for.
        runner = self._runs_in()
        return tuple(service for service in waiting if service.name != runner)

    def why_not_ready(self, service: ServiceStatus) -> str:
        """ "redis unhealthy (Could not connect …)": the state and the healthcheck's last
        words, masked (blocking: call it in a thread)."""
        why = why_not_ready(service)
        details = self.monitor.details(service) if self.monitor is not None else None
        probe = details.health_log[0] if details is not None and details.health_log else None
        if probe is not None and probe.exit_code != 0:
            masked = probe.output_masked  # shown in a header: never revealed here
            output = masked.splitlines()[0] if masked else f"exit {probe.exit_code}"
            why += f" ({safe_text(output)[:HEALTH_OUTPUT_CHARS]})"
        return why

    def blockers(self) -> Blockers:
        """The services holding a run, and each one's why (blocking: call it in a thread)."""
        waiting = self.not_ready()
        blockers = {safe_text(s.name): self._safe_why(s) for s in waiting}
        self.waiting_text = blocker_text(blockers)
        return waiting, blockers

    def _safe_why(self, service: ServiceStatus) -> str:
        try:
            return self.why_not_ready(service)
        except Exception:
            return why_not_ready(service)

    async def wait_until_ready(
        self,
        held: Callable[[tuple[ServiceStatus, ...], str], None],
        timeout: float | None = None,
    ) -> bool:
        """Until no service holds a run (telling `held` which and why each time that
        changes); False when `timeout` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        said = ""
        while True:
            waiting, blockers = await asyncio.to_thread(self.blockers)
            text = blocker_text(blockers)
            if text != said:
                held(waiting, text)
                said = text
            if not waiting:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(GATE_POLL_SECONDS)


def blocker_text(blockers: dict[str, str]) -> str:
    return ", ".join(f"{service} {why}" for service, why in blockers.items())
