"""Which interpreter runs a project's tests (which of its pytest arguments are tests:
`arguments.py`, as pytest reads them)."""

from __future__ import annotations

import sys
from pathlib import Path


def project_python(root: Path, configured: Path | None) -> str:
    """The project's own interpreter: configured, its .venv, or the one running envdeck."""
    if configured is not None:
        return str(configured)
    for candidate in (root / ".venv" / "bin" / "python", root / "venv" / "bin" / "python"):
        if candidate.exists():
            return str(candidate)
    return sys.executable
