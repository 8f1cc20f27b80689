"""What to say when the baseline cannot be taken by itself (after `envdeck up`, or when
the dashboard first sees the environment healthy), and saying it once.

On a project envdeck did not write, credentials often live where no plugin looks (a
secrets file, another variable's name). A failed automatic baseline is then nothing the
user did wrong: it is said calmly, with the setting that fixes it, and once per reason.
The memory is one small file in the project's state folder, dropped once a baseline is
taken; `envdeck up` and the dashboard share it, so what one said the other does not
repeat.
"""

from __future__ import annotations

import os

from tui.reset.state_folder import ensure_state_folder
from tui.reset.steps import Outcome
from tui.reset.store import StateStore

NOTICE_FILE = "baseline-notice.txt"
NO_BASELINE_TITLE = "No baseline"
SERVICE_TABLE = "[tool.envdeck.services."
OWNERSHIP = "is not this checkout's"  # tui.core.ownership's refusal


def baseline_advice(failure: str) -> str:
    """The calm text for a baseline that could not be taken, `failure` being what
    failed (e.g. `save db: PostgreSQL refused user 'postgres': ...`)."""
    advice = f"No baseline yet, so a fast reset has nothing to return to. {failure.rstrip('.')}."
    if OWNERSHIP in failure:  # credentials are not the problem: the message says what is
        return advice
    if SERVICE_TABLE not in failure:  # the plugin's message did not name the fix itself
        advice += (
            " Tell envdeck how to reach the service under [tool.envdeck.services.NAME]"
            " (user, password, database, port)."
        )
    return f"{advice} Or set `protected = true` there to leave a service out of resets."


def automatic_baseline_notice(store: StateStore, outcome: Outcome) -> str | None:
    """The advice for a baseline taken by itself that failed, unless said already."""
    notices = BaselineNotices(store)
    if outcome.ok:
        notices.clear()
        return None
    advice = baseline_advice(outcome.failure_summary)
    return advice if notices.first_time(advice) else None


class BaselineNotices:
    """Which baseline advice was already given for one project (its state folder)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.path = store.folder / NOTICE_FILE

    def first_time(self, advice: str) -> bool:
        """True, and remembered, when `advice` was not the last thing said."""
        if self.said(advice):
            return False
        self.remember(advice)
        return True

    def said(self, advice: str) -> bool:
        try:
            return self.path.read_text(encoding="utf-8") == advice
        except (OSError, UnicodeDecodeError):
            return False  # never said (or unreadable): say it

    def remember(self, advice: str) -> None:
        try:
            ensure_state_folder(self.store.root)  # never a bare .envdeck in git status
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(advice, encoding="utf-8")
            temporary.replace(self.path)
        except OSError:
            pass  # a read-only checkout: said again next time, no worse than that

    def clear(self) -> None:
        """A baseline was taken: a later failure is news again."""
        self.path.unlink(missing_ok=True)
