"""Textual's Footer, recomposed once for a burst of binding changes.

The stock Footer rebuilds all its keys for every change of the screen's bindings, and
start-up alone brings three (the screen stack, the focus, the first idle): a tenth of a
second here, before the first frame. Here a burst queues one rebuild."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class CoalescingFooter(Footer):
    _rebuild_queued = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._rebuild_queued:
            return
        if self.is_attached and screen is self.screen:
            self._rebuild_queued = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_queued = False
        await self.recompose()
