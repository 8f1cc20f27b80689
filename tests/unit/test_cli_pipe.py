"""A command whose reader goes away ends quietly, as a tool killed by SIGPIPE does."""

from __future__ import annotations

import os
import subprocess
import sys


def test_output_into_a_closed_pipe_ends_quietly_with_141() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written: every write fails
    try:
        result = subprocess.run(
            # `status --json` prints its document with or without an engine.
            [sys.executable, "-m", "tui", "status", "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert result.stderr == ""  # no traceback, no "Exception ignored … BrokenPipeError"
