"""The `envdeck` command line. Textual is imported only by the commands that open the UI."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tui import __version__
from tui.cli.bundle_command import add_bundle_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="envdeck",
        description="A terminal dashboard for local Docker Compose integration environments.",
    )
    parser.add_argument("--version", action="version", version=f"envdeck {__version__}")
    parser.add_argument(
        "-f",
        "--file",
        dest="files",
        action="append",
        default=[],
        metavar="FILE",
        help="compose file (repeatable), like `docker compose -f`",
    )
    parser.add_argument("-p", "--project-name", metavar="NAME", help="compose project name")
    parser.add_argument(
        "--context",
        metavar="NAME",
        help="Docker context to use, like `docker --context` (default: as the Docker CLI "
        "chooses: DOCKER_HOST, DOCKER_CONTEXT, `docker context use`)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("demo", help="bring up the bundled sample environment and open it")

    up = commands.add_parser("up", help="bring the project up and wait until it is healthy")
    up.add_argument("services", nargs="*", metavar="SERVICE")

    down = commands.add_parser("down", help="stop and remove the project's containers")
    down.add_argument("-v", "--volumes", action="store_true", help="remove its volumes too")
    down.add_argument("--yes", action="store_true", help="do not ask before removing volumes")

    status = commands.add_parser(
        "status", help="state of every service (exit 0 healthy, 1 not, 2 cannot tell)"
    )
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.add_argument(
        "--stats",
        action="store_true",
        help="CPU and memory of the running services too (Docker takes 1-2 s to measure them)",
    )
    status.add_argument("--wait", action="store_true", help="wait until every service is ready")
    status.add_argument("--timeout", type=float, default=120.0, metavar="S", help="for --wait")

    logs = commands.add_parser("logs", help="merged, service-prefixed logs")
    logs.add_argument("services", nargs="*", metavar="SERVICE", help="default: every service")
    logs.add_argument("-f", "--follow", action="store_true", help="keep following")
    logs.add_argument("--since", metavar="T", help="RFC3339 time or a window: 30s, 5m, 1h, 2d")
    logs.add_argument("--until", metavar="T", help="RFC3339 time or a window ago")
    logs.add_argument("--tail", type=int, metavar="N", help="the last N lines of each service")
    logs.add_argument("--grep", metavar="RE", help="only lines matching this regex")
    logs.add_argument("-t", "--timestamps", action="store_true", help="show Docker's timestamps")

    inspect = commands.add_parser("inspect", help="what the service's plugin sees")
    inspect.add_argument("service", metavar="SERVICE")
    inspect.add_argument("--json", action="store_true", help="one JSON object")
    inspect.add_argument("--view", default="overview", help="a view the plugin offers")
    inspect.add_argument("--query", default="", help="the view's pattern, table or SQL")
    inspect.add_argument("--limit", type=int, default=100, help="rows per page")
    inspect.add_argument("--cursor", default=None, help="next_cursor of the previous page")
    inspect.add_argument("--action", metavar="ID", help="run one of the plugin's actions")
    inspect.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="action parameter"
    )
    inspect.add_argument("--yes", action="store_true", help="do not ask before a destructive one")

    add_test_parser(commands)

    reset = commands.add_parser(
        "reset", help="data back to the baseline (fast), or --hard: recreate containers+volumes"
    )
    reset.add_argument(
        "--hard", action="store_true", help="down -v, up, wait, seed hooks, new baseline"
    )
    reset.add_argument("--yes", action="store_true", help="do not ask (for scripts)")

    snapshot = commands.add_parser("snapshot", help="named data states across services")
    snapshot.add_argument(
        "snapshot_action",
        choices=("save", "restore", "list", "delete", "baseline"),
        metavar="save|restore|list|delete|baseline",
        help="baseline: retake the automatic baseline from the data as it is now",
    )
    snapshot.add_argument("name", nargs="?", metavar="NAME")
    snapshot.add_argument("--json", action="store_true", help="list: one JSON array")
    snapshot.add_argument("--yes", action="store_true", help="restore/delete without asking")

    commands.add_parser("doctor", help="check engine, compose and config; say how to fix")
    add_bundle_parser(commands)
    return parser


def add_test_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`envdeck test`'s own flags (everything else goes to pytest: `parse`)."""
    test = commands.add_parser(
        "test", help="run the project's tests (headless); --watch reruns on changes"
    )
    test.add_argument("--watch", action="store_true", help="rerun affected tests on save")
    test.add_argument(
        "--wait",
        metavar="[=SECONDS]",
        help="wait (up to 300 s, or SECONDS) for a service that is not ready instead of"
        " refusing (exit 6)",
    )
    test.add_argument(
        "--json", action="store_true", help="JSON events on stdout (lines go to stderr)"
    )
    test.add_argument(
        "--no-service-logs",
        action="store_true",
        help="no service log lines of each failure's time window",
    )
    test.add_argument(
        "--bundle",
        metavar="DIR",
        help="write a failure bundle per failure under DIR (for CI artifacts)",
    )
    test.add_argument(
        "--diff",
        metavar="NODEID",
        help="rerun one test and show what it changed in every stateful service",
    )
    test.add_argument(
        "--keep", action="store_true", help="--diff: leave the data as the test left it"
    )
    test.add_argument("pytest_args", nargs="*", metavar="PYTEST ARGS", help="passed to pytest")


VALUE_OPTIONS = ("-f", "--file", "-p", "--project-name", "--context")


def no_words() -> argparse.Namespace:
    """`build_parser().parse_args([])`, as a test checks: the global options' defaults."""
    return argparse.Namespace(files=[], project_name=None, context=None, command=None)


def split_test_command(argv: list[str]) -> tuple[list[str], list[str]] | None:
    """(envdeck's argv up to `test`, pytest's) — argparse cannot pass `-k x` through."""
    for index, word in enumerate(argv):
        if word == "test" and (index == 0 or argv[index - 1] not in VALUE_OPTIONS):
            return argv[: index + 1], argv[index + 1 :]
        if not word.startswith("-") and (index == 0 or argv[index - 1] not in VALUE_OPTIONS):
            return None  # another command
    return None


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    tokens = list(sys.argv[1:] if argv is None else argv)
    if not tokens:
        # Plain `envdeck`, the dashboard: what the parser answers to no words, without
        # building its dozen subcommands first (~5 ms of the first frame; issue 17).
        return no_words()
    parser = build_parser()
    test_split = split_test_command(tokens)
    if test_split is None:
        return parser.parse_args(tokens)
    head, rest = test_split
    args = parser.parse_args(head)
    ours, args.pytest_args = split_envdeck_test_flags(rest)
    values = test_flag_values(ours)
    for flag in TEST_VALUE_FLAGS:
        if flag in ours:
            what = "DIR" if flag == "--bundle" else "NODEID"
            parser.error(f"{flag} needs a value: {flag} {what}")
    args.bundle = values.get("--bundle")
    args.diff = values.get("--diff")
    args.watch = "--watch" in ours
    args.keep = "--keep" in ours
    args.json = "--json" in ours
    args.service_logs = "--no-service-logs" not in ours
    args.wait = None
    for flag in ours:
        if flag == "--wait" or flag.startswith("--wait="):
            seconds = flag.partition("=")[2]
            try:
                args.wait = float(seconds) if seconds else DEFAULT_WAIT_SECONDS
            except ValueError:
                parser.error(f"--wait=SECONDS needs a number of seconds, not {seconds!r}")
    return args


TEST_FLAGS = ("--watch", "--wait", "--json", "--no-service-logs", "--keep")
TEST_VALUE_FLAGS = ("--bundle", "--diff")  # each takes a value: `--bundle DIR`, `--bundle=DIR`
DEFAULT_WAIT_SECONDS = 300.0


def test_flag_values(ours: list[str]) -> dict[str, str]:
    """The values of envdeck test's flags that take one (`--bundle=DIR` as split)."""
    values: dict[str, str] = {}
    for flag in ours:
        name, equals, value = flag.partition("=")
        if name in TEST_VALUE_FLAGS and equals:
            values[name] = value
    return values


def split_envdeck_test_flags(words: list[str]) -> tuple[list[str], list[str]]:
    """(envdeck test's own flags, pytest's arguments): ours anywhere before a `--`,
    everything after it pytest's (pytest has no option of these names)."""
    ours: list[str] = []
    theirs: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            return ours, theirs + words[index + 1 :]
        name = word.partition("=")[0]
        if word in TEST_VALUE_FLAGS and index + 1 < len(words):
            ours.append(f"{word}={words[index + 1]}")  # `--bundle DIR` as `--bundle=DIR`
            index += 1
        elif word in TEST_FLAGS or word.startswith("--wait=") or name in TEST_VALUE_FLAGS:
            ours.append(word)
        else:
            theirs.append(word)
        index += 1
    return ours, theirs


# Commands that resolve the project from the configured files first thing.
RESOLVES_THE_PROJECT = frozenset(
    {"dashboard", "status", "logs", "inspect", "up", "down", "reset", "snapshot", "doctor"}
)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # Whoever read our output stopped (`envdeck status --json | head`): end quietly,
        # as a tool killed by SIGPIPE does, and let nothing flush into the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _main(argv: Sequence[str] | None) -> int:
    args = parse(argv)
    if (args.command or "dashboard") == "dashboard":
        # No collection while the imports and the first frame make objects that all live
        # on: the app freezes them and collects again after its first refresh (ui/app.py).
        gc.disable()
    # Imported here so `envdeck --version` and `--help` stay instant.
    from tui.config.settings import ConfigError, load_settings
    from tui.core.compose_cli import ComposeError

    try:
        if args.context:
            # Before anything runs Compose: its environment must name the same engine.
            from tui.core.engine_choice import EngineChoiceError, select_engine

            try:
                select_engine(args.context)
            except EngineChoiceError as error:
                print(f"envdeck: {error}", file=sys.stderr)
                return 2
        settings = load_settings(
            compose_files=[Path(file).resolve() for file in args.files],
            project_name=args.project_name,
        )
        command = args.command or "dashboard"
        if command in RESOLVES_THE_PROJECT:
            # `compose config` runs while docker-py (and Textual) import.
            from tui.core.project_files import config_ahead

            config_ahead(settings)
        from tui.cli import commands

        handler = commands.HANDLERS[command]
        return handler(settings, args)
    except (ConfigError, ComposeError) as error:
        print(f"envdeck: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        gc.enable()  # in case the dashboard ended before its first frame


if __name__ == "__main__":
    sys.exit(main())
