"""`envdeck bundle open DIR`: show failure bundles read-only, on any machine.

DIR is one bundle (a folder with bundle.json) or a `envdeck test --bundle DIR` folder of
them. Needs no engine and no compose project. Bundles are read before the UI starts, so a
folder that holds none is said plainly (exit 2) without opening a screen; Textual is
imported only then.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `envdeck --help` imports this module: it stays light
    from tui.config.settings import EnvdeckSettings
    from tui.core.bundle import FailureBundle


def add_bundle_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bundle = commands.add_parser("bundle", help="show a failure bundle read-only, on any machine")
    actions = bundle.add_subparsers(dest="bundle_action", metavar="open", required=True)
    opened = actions.add_parser("open", help="the failure view of a bundle (or a folder of them)")
    opened.add_argument("directory", metavar="DIR", type=Path)


def read_bundles(directory: Path) -> tuple[list[FailureBundle], list[str]]:
    """The bundles in `directory` that read, and a sentence for each that did not;
    BundleError when it holds none."""
    from tui.core.bundle import BundleError, find_bundles, read_bundle
    from tui.core.text import safe_text

    bundles: list[FailureBundle] = []
    problems: list[str] = []
    for path in find_bundles(directory):
        try:
            bundles.append(read_bundle(path))
        except BundleError as error:
            problems.append(f"{safe_text(path.name)}: {error}")
    return bundles, problems


def run_bundle(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    from tui.core.bundle import BundleError

    try:
        bundles, problems = read_bundles(args.directory)
    except BundleError as error:
        print(f"envdeck: {error}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"envdeck: cannot read {problem}", file=sys.stderr)
    if not bundles:
        return 2
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # A script or CI job: a full-screen view would wait for keys nobody presses.
        readme = Path(args.directory) / "README.md"
        print(
            f"envdeck: bundle open shows the bundle in a terminal; without one, read {readme}",
            file=sys.stderr,
        )
        return 2
    from tui.ui.screens.bundle import open_bundles_app  # Textual only when the UI opens

    result = open_bundles_app(bundles, problems).run()
    return result if isinstance(result, int) else 0
