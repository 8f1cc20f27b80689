"""The core layer works without a terminal: importing it loads neither Textual nor Rich."""

from __future__ import annotations

import subprocess
import sys

CORE_MODULES = [
    "tui.config.settings",
    "tui.core.compose_cli",
    "tui.core.compose_model",
    "tui.core.doctor",
    "tui.core.engine",
    "tui.core.environment",
    "tui.core.monitor",
    "tui.core.status",
    "tui.core.text",
    "tui.presentation.status_text",
    "tui.cli",
]


def test_core_imports_no_textual_or_rich() -> None:
    code = (
        f"import sys\nfor m in {CORE_MODULES!r}: __import__(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
