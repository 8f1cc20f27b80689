"""What the test-runner benchmarks (test_loop, large_suite and the suite it generates)
share: writing a throwaway project as a git work tree, and the results file's frame."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def write_git_tree(root: Path, files: Mapping[str, str], message: str) -> None:
    """`files` (path: text, dedented) written under `root`, committed as one commit."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    # A git work tree, as most projects are: envdeck then asks git what .gitignore ignores.
    (root / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", message], cwd=root, check=True)


def rerun_command(module: str, argv: Sequence[str] | None) -> str:
    """The command line that runs benchmark `module` again with these arguments."""
    given = argv if argv is not None else sys.argv[1:]
    return f".venv/bin/python -m {module} {shlex.join(given)}".strip()


def head_commit() -> str:
    """This repository's commit, short ("" outside git)."""
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def save_results(
    results: dict[str, Any], out: Path, table: Callable[[dict[str, Any]], str]
) -> None:
    """Write `results` as JSON to `out`, and print their table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    say(f"results in {out}")
