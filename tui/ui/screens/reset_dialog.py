"""`X` from any screen: the reset dialog, and its outcome said in a notification.

The dashboard and the tests screen both offer it; the dialog itself (`ResetScreen`) is
imported only when asked for, so neither screen pays for it on its first frame."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from tui.reset.service import Resets

if TYPE_CHECKING:
    from tui.reset.steps import Outcome


def open_reset_dialog(
    screen: Screen[Any], resets: Resets | None, after: Callable[[], object] | None = None
) -> None:
    """Push the reset dialog over `screen`; `after` runs once a reset or snapshot is over."""
    from tui.ui.screens.reset import ResetScreen  # noqa: PLC0415 - not on the first frame

    if resets is None:
        screen.notify("Nothing to reset: no environment", severity="warning")
        return

    def closed(outcome: Outcome | None) -> None:
        if outcome is None:
            return
        if outcome.ok:
            screen.notify(f"{outcome.kind}: done in {outcome.seconds:.2f} s")
        else:
            screen.notify(
                f"{outcome.kind} failed: {outcome.failure_summary}",
                severity="error",
                markup=False,
                timeout=10,
            )
        if after is not None:
            after()

    screen.app.push_screen(ResetScreen(resets), closed)
