"""The tests screen: the project's tests as a tree, run live, failures with service logs.

Two status lines on top: what the project holds (tests, collection errors, the selection,
the filter, watch mode), then what the runs do (what started the current one, its
progress, the last result, or the service a watch-mode run waits for and why). The detail
pane follows the cursor: a failure with every service's logs of its time window, a file's
collection error, a file's or class's outcomes. pytest runs in workers; `P` and `o` hand
the terminal over (`hand_over`, which tests replace to see the exact command).

The screen is a face of the app's `TestSession` (tui/core/testrun/session.py), which
holds the tree, the results, the runs and watch mode: leaving the screen keeps them all,
and watch-mode runs go on while the dashboard is shown. The screen draws what the
session tells it and turns keys into the session's commands; it has no watch logic.

One screen, written in parts that each keep one concern (as the dashboard is):

- `bindings`: every key of the screen, with its id;
- `base`: the state the parts share, the status lines, the detail pane's one write;
- `listener`: what the session says, drawn;
- `browse`: the selection, the filter, the jumps to matches and failures;
- `runs`: collect, run, cancel, watch mode, reset;
- `detail`: the detail pane, a failure's service logs;
- `reports`: the data diff and the failure bundle;
- `terminal`: pdb and $EDITOR with the terminal handed over;
- `wiring`: the session the app makes for the project;
- `screen`: the screen itself, which composes the widgets and the parts.
"""

from tui.core.testrun.session import GATE_POLL_SECONDS
from tui.ui.screens.tests.screen import TestsScreen
from tui.ui.screens.tests.terminal import error_line
from tui.ui.screens.tests.wiring import new_session

__all__ = ["GATE_POLL_SECONDS", "TestsScreen", "error_line", "new_session"]
