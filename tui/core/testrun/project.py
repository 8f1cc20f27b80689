"""Which interpreter runs a project's tests, and how its pytest arguments split."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def split_args(pytest_args: Sequence[str]) -> tuple[list[str], list[str]]:
    """(selection, options): node ids, files and folders apart from pytest's options."""
    selection: list[str] = []
    options: list[str] = []
    takes_value = {"-k", "-m", "-c", "-p", "-W", "-o", "--rootdir", "--maxfail", "--tb"}
    expect_value = False
    for arg in pytest_args:
        if expect_value:
            options.append(arg)
            expect_value = False
        elif arg.startswith("-"):
            options.append(arg)
            expect_value = arg in takes_value
        else:
            selection.append(arg)
    return selection, options


def project_python(root: Path, configured: Path | None) -> str:
    """The project's own interpreter: configured, its .venv, or the one running envdeck."""
    if configured is not None:
        return str(configured)
    for candidate in (root / ".venv" / "bin" / "python", root / "venv" / "bin" / "python"):
        if candidate.exists():
            return str(candidate)
    return sys.executable
