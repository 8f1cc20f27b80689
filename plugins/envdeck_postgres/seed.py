"""Seed files for the PostgreSQL plugin: a SQL file run against the service's database.

The file runs in one transaction, as the `run_sql_file` action runs it: all of it or
nothing. A failing statement comes back as an InspectorError naming the file, the line
the server's error position points at, and the server's message; nothing of the file is
committed then. psql's meta-commands (`\\connect`, `\\copy`...) are not SQL and fail.
"""

from __future__ import annotations

import time
from pathlib import Path

from envdeck_postgres.actions import run_sql_file
from envdeck_postgres.cells import plain
from envdeck_postgres.session import open_session
from tui.plugins.api import ServiceTarget


def apply_seed(target: ServiceTarget, path: Path) -> str:
    started = time.monotonic()
    with open_session(target, read_only=False) as session:
        run_sql_file(session, str(path))
    ms = (time.monotonic() - started) * 1000
    return f"applied {plain(path.name)} ({ms:.0f} ms)"
