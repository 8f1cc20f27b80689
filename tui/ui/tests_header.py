"""The dashboard header's "tests" item: the test session's last result (or what its run
is doing) and watch mode, kept current while the dashboard is shown."""

from __future__ import annotations

from typing import Any

from textual.app import App

from tui.core.testrun.session import SessionListener, TestSession
from tui.ui.screens.dashboard.header import DashboardHeader

TESTS_ITEM = "tests"


class TestsHeaderItem(SessionListener):
    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(self, app: App[Any], session: TestSession) -> None:
        self.app = app
        self.session = session
        self._shown: str | None = None
        # Found once: the text changes with every finished test ("running 3/12"), and
        # the dashboard, at the bottom of the stack, keeps its header for the app's life.
        self._header: DashboardHeader | None = None

    def text(self) -> str | None:
        """ "tests: 1 failed, 4 passed · watch on", or None before any run and watch."""
        session = self.session
        parts = []
        if session.run is not None:
            parts.append(session.run.summary())
        if session.watching:
            parts.append("watch on")
        return f"tests: {' · '.join(parts)}" if parts else None

    def changed(self) -> None:
        text = self.text()
        if text == self._shown:
            return
        self._shown = text
        header = self._dashboard_header()
        if header is not None:
            header.set_item(TESTS_ITEM, text)

    def _dashboard_header(self) -> DashboardHeader | None:
        if self._header is None or not self._header.is_attached:
            found = [h for screen in self.app.screen_stack for h in screen.query(DashboardHeader)]
            self._header = found[0] if found else None
        return self._header
