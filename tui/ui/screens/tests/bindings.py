"""Every key of the tests screen, with its id (the help screen and the palette list them;
a new key is one line here and one `action_` method in a part)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

TESTS_BINDINGS: list[BindingType] = [
    Binding("escape", "back", "Back", id="tests.back"),  # or clears the filter
    Binding("space", "toggle_select", "Select", id="tests.select"),
    Binding("enter", "run_or_open", "Run / open", id="tests.run"),
    Binding("a", "run_all", "Run all", id="tests.run_all"),
    Binding("F", "rerun_failures", "Rerun failed", id="tests.rerun_failed"),
    Binding("w", "toggle_watch", "Watch", id="tests.watch"),
    Binding("slash", "filter", "Filter", id="tests.filter"),
    Binding("n", "next_match", "Next filter match", show=False, id="tests.next"),
    Binding("N", "previous_match", "Previous filter match", show=False, id="tests.previous"),
    # Failures have keys of their own: `n` keeps to the filter's matches (k9s, vim).
    Binding(
        "right_square_bracket",
        "next_failure",
        "Next failure (wraps round)",
        show=False,
        id="tests.next_failure",
    ),
    Binding(
        "left_square_bracket",
        "previous_failure",
        "Previous failure (wraps round)",
        show=False,
        id="tests.previous_failure",
    ),
    Binding("c", "cancel", "Cancel run", show=False, id="tests.cancel"),
    Binding("P", "debug", "Debug (pdb)", id="tests.debug"),
    Binding("o", "open_editor", "Open in $EDITOR", id="tests.edit"),
    Binding("ctrl+r", "discover", "Rediscover", show=False, id="tests.rediscover"),
    Binding("X", "reset_environment", "Reset environment", show=False, id="tests.reset"),
    Binding("B", "bundle_failure", "Failure bundle", show=False, id="tests.bundle"),
    Binding("d", "data_diff", "Data diff (data put back)", show=False, id="tests.diff"),
    Binding("K", "data_diff_keep", "Data diff, keeping the data", show=False, id="tests.diff_keep"),
]
