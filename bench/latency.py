"""Start-up and command latency (issue 17), side by side in one run, as ratios.

Run from the repository root, with the sample environment up (`make demo`, or
`envdeck up` here; its compose project is `envdeck-sample`). Read-only: it starts
dashboards and commands against the running stack and never changes it.

    .venv/bin/python -m bench.latency [--runs 7] [--selections 30] [--only PHASE] [--out FILE]
    .venv/bin/python -m bench.latency --show bench/results/latency-<date>.json

1. First frame naming a service, fresh process: from fork to the last of the sample's
   service names drawn on a pseudo-terminal (160x45), for `python -m tui` (the dashboard),
   a minimal Textual app this script writes (an App drawing the same names in a Static:
   the floor, what any Textual app costs here), and lazydocker when installed. Each is
   quit with `q` once drawn. Rounds take the tools in a random order, so a load that
   comes and goes falls on all alike.
2. Selecting a service until its log shows: the real dashboard in-process under Textual's
   headless driver (`run_test`, 160x45): from pressing `j`/`k` (the services table's
   cursor) to the log pane holding the newly selected service's lines and the screen
   refreshed after that. Walks down and up the table.
3. `envdeck status` (and `--json`, `--stats`) against `docker compose ps` with the same
   files: a fresh process each, from start to exit.

Every figure goes with the load average (`os.getloadavg`, i.e. `uptime`'s) before and
after its phase. See bench/README.md, "Start-up and command latency".
"""

# envdeck is imported inside the functions: with --code, only after the re-exec that puts
# the measured code first on the path.
# ruff: noqa: PLC0415
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App

from bench.terminal import SIZE, TerminalApp

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
PROJECT = "envdeck-sample"
TARGETS = {"first_frame_ratio": 1.3, "selection_median_s": 0.05, "status_ratio": 1.5}
PHASES = ("first-frame", "selection", "status")

MINIMAL_APP = """
import sys
from textual.app import App, ComposeResult
from textual.widgets import Static

NAMES = sys.argv[1:]


class Minimal(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static("\\n".join(NAMES))


Minimal().run()
"""


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def summary(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "median_s": round(statistics.median(ordered), 4),
        "min_s": round(ordered[0], 4),
        "max_s": round(ordered[-1], 4),
        "all_s": [round(value, 4) for value in values],
    }


# ---------------------------------------------------------------- the sample stack


def sample_services() -> tuple[list[str], list[str]]:
    """The sample's service names and the compose argv prefix (`docker compose -f … -p …`)
    with the files envdeck resolves here; exits when the stack is not up and ready."""
    from tui.config.settings import load_settings
    from tui.core.engine import DockerGateway
    from tui.core.monitor import DockerEnvironmentMonitor

    settings = load_settings(REPO)
    gateway = DockerGateway(timeout=settings.engine_timeout)
    monitor = DockerEnvironmentMonitor(settings, gateway)
    status = monitor.snapshot()
    if status.project != PROJECT or status.exit_code != 0:
        raise SystemExit(
            f"bench: the sample environment is not up and ready ({status.project}: exit "
            f"{status.exit_code}); bring it up with `make demo` or `.venv/bin/envdeck up`"
        )
    files = monitor.environment(engine_connected=True).compose.files
    argv = ["docker", "compose"]
    for file in files:
        argv += ["-f", str(file)]
    argv += ["-p", PROJECT]
    gateway.reset()
    return sorted(service.name for service in status.services), argv


# ---------------------------------------------------------------- 1. first frame


def first_frame(argv: list[str], names: Sequence[str]) -> FrameRun:
    """One fresh process on a pty: until every name is drawn, its CPU by then, and `q`."""
    terminal = TerminalApp(argv, REPO, names, SIZE)
    terminal.start()
    try:
        shown = terminal.wait_for_names(30.0)
    finally:
        began = time.perf_counter()
        status = terminal.stop()
        quit_s = time.perf_counter() - began if status is not None else None
    return FrameRun(shown, terminal.names_cpu if shown is not None else None, quit_s)


@dataclass(frozen=True)
class FrameRun:
    shown_s: float | None  # from fork to every name drawn; None: not within 30 s
    cpu_s: float | None  # the process's own CPU by then (all its threads, not its children)
    quit_s: float | None  # from `q` to its exit


def first_frames(runs: int, names: list[str]) -> dict[str, Any]:
    from bench.listing_given import record

    folder = Path(tempfile.mkdtemp(prefix="envdeck-latency-"))
    minimal = folder / "minimal_app.py"
    minimal.write_text(MINIMAL_APP)
    recorded = folder / "first_listing.pickle"
    record(recorded)
    tools: dict[str, list[str]] = {
        "envdeck": [sys.executable, "-P", "-m", "tui"],
        # The decomposition: the same dashboard with its first listing given (no engine or
        # Compose work before the first frame): what the UI costs alone.
        "envdeck_listing_given": [
            sys.executable,
            "-P",
            str(REPO / "bench" / "listing_given.py"),
            str(recorded),
        ],
        "minimal_textual_app": [sys.executable, str(minimal), *names],
    }
    lazydocker = shutil.which("lazydocker")
    if lazydocker:
        tools["lazydocker"] = [lazydocker]
    frames: dict[str, list[FrameRun]] = {tool: [] for tool in tools}
    before = load()
    try:
        for _ in range(runs):
            for tool in random.sample(list(tools), len(tools)):
                frames[tool].append(first_frame(tools[tool], names))
                time.sleep(0.3)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result: dict[str, Any] = {}
    for tool, runs_of_tool in frames.items():
        result[tool] = {
            **summary([run.shown_s for run in runs_of_tool if run.shown_s is not None]),
            "timeouts": sum(run.shown_s is None for run in runs_of_tool),
            "cpu": summary([run.cpu_s for run in runs_of_tool if run.cpu_s is not None]),
            "quit": summary([run.quit_s for run in runs_of_tool if run.quit_s is not None]),
        }
    if not lazydocker:
        result["lazydocker"] = "not installed (`which lazydocker` finds nothing)"
    result["ratio_envdeck_to_minimal"] = ratio(result["envdeck"], result["minimal_textual_app"])
    result["ratio_listing_given_to_minimal"] = ratio(
        result["envdeck_listing_given"], result["minimal_textual_app"]
    )
    result["cpu_ratio_listing_given_to_minimal"] = ratio(
        result["envdeck_listing_given"]["cpu"], result["minimal_textual_app"]["cpu"]
    )
    result["cpu_ratio_envdeck_to_minimal"] = ratio(
        result["envdeck"]["cpu"], result["minimal_textual_app"]["cpu"]
    )
    result["load_before"], result["load_after"] = before, load()
    return result


def ratio(ours: dict[str, Any], floor: dict[str, Any]) -> float | None:
    """Median over median, when both are there."""
    top, bottom = ours.get("median_s"), floor.get("median_s")
    return round(top / bottom, 2) if top and bottom else None


# ---------------------------------------------------------------- 2. selection → log


async def selections(count: int, names: list[str]) -> dict[str, Any]:
    from tui.config.settings import load_settings
    from tui.core.engine import DockerGateway
    from tui.ui.app import make_app
    from tui.ui.screens.dashboard import DashboardScreen

    settings = load_settings(REPO)
    gateway = DockerGateway(timeout=settings.engine_timeout)
    app = make_app(settings, gateway)
    before = load()
    shown: list[float] = []
    in_pane: list[float] = []
    loop_cpu: list[float] = []
    timeouts = 0
    try:
        async with app.run_test(size=SIZE):
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            dashboard = Dashboard(app, screen)
            if not await until(
                lambda: dashboard.table.row_count >= len(names) and screen.details_ready, 30
            ):
                raise RuntimeError("the services were not listed within 30 s")
            await until(dashboard.showing(dashboard.selected_name()), 10)
            await asyncio.sleep(1.0)  # the first listing's follow-ups settle
            row, step = 0, 1
            for _ in range(count):
                if not 0 <= row + step < dashboard.table.row_count:
                    step = -step
                row += step
                timed = await dashboard.select("j" if step > 0 else "k")
                if timed is None:
                    timeouts += 1
                    continue
                in_pane.append(timed[0])
                shown.append(timed[1])
                loop_cpu.append(timed[2])
                await asyncio.sleep(0.25 + random.random() * 0.1)  # noqa: S311 - jitter
    finally:
        gateway.reset()
    return {
        "log_shown": summary(shown),
        "lines_in_pane": summary(in_pane),
        "event_loop_cpu": summary(loop_cpu),
        "timeouts": timeouts,
        "key": "sent as the terminal driver's input thread does (not Pilot.press)",
        "load_before": before,
        "load_after": load(),
    }


class Dashboard:
    """The dashboard screen of an app under `run_test`, as the selection figure reads it."""

    def __init__(self, app: App[Any], screen: Any) -> None:
        from tui.ui.widgets.services_table import ServicesTable

        self.app, self.screen = app, screen
        self.table = screen.query_one(ServicesTable)

    @property
    def view(self) -> Any:
        """The log pane: mounted once the first rows are drawn."""
        from tui.ui.widgets.log_view import LogView

        return self.screen.query_one(LogView)

    def selected_name(self) -> str | None:
        return self.table.selected.name if self.table.selected is not None else None

    def showing(self, name: str | None) -> Callable[[], bool]:
        """The pane follows `name` and holds lines of it."""
        return lambda: (
            name is not None
            and self.screen.logs_service == name
            and self.view.lines_widget.line_count > 0
        )

    async def select(self, key: str) -> tuple[float, float, float] | None:
        """Press `key` (a cursor move); seconds until the newly selected service's lines
        are in the pane, until the screen has refreshed after that, and the CPU of the
        event loop's thread meanwhile (Textual's work, and this polling). None on timeout."""
        began, began_cpu = time.perf_counter(), time.thread_time()
        previous = self.selected_name()
        press(self.app, key)
        if not await until(lambda: self.selected_name() not in (None, previous), 5):
            return None
        if not await until(self.showing(self.selected_name()), 5):
            return None
        in_pane = time.perf_counter() - began
        refreshed = asyncio.Event()
        self.view.call_after_refresh(refreshed.set)
        await asyncio.wait_for(refreshed.wait(), 5)
        return in_pane, time.perf_counter() - began, time.thread_time() - began_cpu


def press(app: App[Any], key: str) -> None:
    """The key as the terminal driver's input thread hands it over. Not `Pilot.press`:
    it returns only once the whole process is idle (Textual's `wait_for_idle`), i.e. after
    the new follower has read its 500 lines of history, which a user does not wait for."""
    driver = app._driver
    assert driver is not None
    event = events.Key(key, key)
    event.set_sender(app)
    driver.send_message(event)


async def until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.001)
    return True


# ---------------------------------------------------------------- 3. status vs compose ps


def timed_run(argv: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the command and every child it waited for, exit)."""
    cpu_before = children_cpu()
    began = time.perf_counter()
    result = subprocess.run(argv, cwd=REPO, capture_output=True, check=False)
    return time.perf_counter() - began, children_cpu() - cpu_before, result.returncode


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def status_commands(runs: int, compose_argv: list[str]) -> dict[str, Any]:
    envdeck = [sys.executable, "-P", "-m", "tui", "status"]
    commands = {
        "envdeck_status": envdeck,
        "envdeck_status_json": [*envdeck, "--json"],
        "envdeck_status_stats": [*envdeck, "--stats"],
        "docker_compose_ps": [*compose_argv, "ps"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    codes: dict[str, set[int]] = {name: set() for name in commands}
    before = load()
    for argv in commands.values():  # one untimed run each: page cache, compose's first start
        timed_run(argv)
    # `--stats` in rounds of its own, after the others: Docker's stats collector keeps
    # polling every container's cgroups for a while after a stats request, and the commands
    # timed right after one (envdeck's more than compose's: it asks the engine more) paid
    # for it (2026-12-07: status 0.34 s in that mix, 0.20 s without).
    quick = [name for name in commands if name != "envdeck_status_stats"]
    for group in (quick, ["envdeck_status_stats"]):
        for _ in range(runs):
            for name in random.sample(group, len(group)):
                seconds, cpu, code = timed_run(commands[name])
                times[name].append(seconds)
                cpus[name].append(cpu)
                codes[name].add(code)
                time.sleep(0.1)
    result: dict[str, Any] = {
        name: {
            **summary(times[name]),
            "cpu": summary(cpus[name]),
            "exit_codes": sorted(codes[name]),
        }
        for name in commands
    }
    ps = result["docker_compose_ps"]
    for name in ("envdeck_status", "envdeck_status_json", "envdeck_status_stats"):
        result[f"ratio_{name}_to_compose_ps"] = ratio(result[name], ps)
        result[f"cpu_ratio_{name}_to_compose_ps"] = ratio(result[name]["cpu"], ps["cpu"])
    result["commands"] = {name: " ".join(argv) for name, argv in commands.items()}
    result["load_before"], result["load_after"] = before, load()
    return result


# ---------------------------------------------------------------- report


def table(results: dict[str, Any]) -> str:
    rows = [
        ("Figure", "envdeck", "compared with", "ratio / target", "CPU ratio", "load before → after")
    ]
    frame = results.get("first_frame")
    if frame:
        lazy = frame["lazydocker"]
        lazy_text = (
            f"; lazydocker {lazy['median_s']:.3f} s"
            if isinstance(lazy, dict)
            else "; no lazydocker"
        )
        rows.append(
            (
                "1. First frame naming a service (median)",
                f"{frame['envdeck']['median_s']:.3f} s",
                f"minimal Textual app {frame['minimal_textual_app']['median_s']:.3f} s{lazy_text}",
                f"{frame['ratio_envdeck_to_minimal']}x / ≤ {TARGETS['first_frame_ratio']}x",
                cpu_text(frame.get("cpu_ratio_envdeck_to_minimal")),
                f"{frame['load_before']} → {frame['load_after']}",
            )
        )
        given = frame.get("envdeck_listing_given")
        if given:
            rows.append(
                (
                    "1b. … with the first listing given (the UI alone)",
                    f"{given['median_s']:.3f} s",
                    f"minimal Textual app {frame['minimal_textual_app']['median_s']:.3f} s",
                    f"{frame['ratio_listing_given_to_minimal']}x",
                    cpu_text(frame.get("cpu_ratio_listing_given_to_minimal")),
                    f"{frame['load_before']} → {frame['load_after']}",
                )
            )
    selection = results.get("selection")
    if selection:
        shown = selection["log_shown"]
        rows.append(
            (
                "2. Select a service → its log shown (median, max)",
                f"{shown['median_s']:.3f} s, {shown['max_s']:.3f} s (n={shown['n']})",
                loop_cpu_text(selection.get("event_loop_cpu")),
                f"≤ {TARGETS['selection_median_s']} s",
                "",
                f"{selection['load_before']} → {selection['load_after']}",
            )
        )
    status = results.get("status")
    if status:
        ps = status["docker_compose_ps"]["median_s"]
        for name in ("envdeck_status", "envdeck_status_json", "envdeck_status_stats"):
            rows.append(
                (
                    f"3. `{status['commands'][name].split(' -m tui ')[-1].replace('tui ', '')}`",
                    f"{status[name]['median_s']:.3f} s"
                    + (
                        ""
                        if status[name]["exit_codes"] == [0]
                        else f" exit {status[name]['exit_codes']}"
                    ),
                    f"docker compose ps {ps:.3f} s",
                    f"{status[f'ratio_{name}_to_compose_ps']}x"
                    + (
                        " (on request)"
                        if name == "envdeck_status_stats"
                        else f" / ≤ {TARGETS['status_ratio']}x"
                    ),
                    cpu_text(status.get(f"cpu_ratio_{name}_to_compose_ps")),
                    f"{status['load_before']} → {status['load_after']}",
                )
            )
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(widths[index]) for index, cell in enumerate(row)).rstrip()
        for row in rows
    )


def loop_cpu_text(cpu: dict[str, Any] | None) -> str:
    return "" if not cpu else f"event loop's CPU {cpu['median_s'] * 1000:.0f} ms"


def cpu_text(value: float | None) -> str:
    return "" if value is None else f"{value}x"


def compile_bytecode(code: Path) -> None:
    """Bytecode for the measured code, as an installed envdeck has it: with
    PYTHONDONTWRITEBYTECODE set (as in this project's shells), every fresh process would
    otherwise compile each module edited since the last compile (0.02-0.1 s each start)."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    folders = [str(code / "tui"), str(REPO / "plugins")]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *folders],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def revision() -> str:
    def git(*args: str) -> str:
        found = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return found.stdout.strip()

    changed = git("status", "--porcelain", "--", "tui", "plugins", "pyproject.toml", "uv.lock")
    return git("rev-parse", "--short", "HEAD") + ("+changes" if changed else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per tool")
    parser.add_argument("--selections", type=int, default=30, help="cursor moves timed")
    parser.add_argument("--out", type=Path, help="results JSON (default bench/results/…)")
    parser.add_argument("--show", type=Path, metavar="JSON", help="print earlier results")
    parser.add_argument(
        "--only",
        action="append",
        choices=PHASES,
        help="measure only this figure (repeatable; default: all three)",
    )
    parser.add_argument(
        "--code",
        type=Path,
        metavar="DIR",
        help="measure the tui package in DIR instead (e.g. `git archive REV tui | tar -x -C DIR`)",
    )
    args = parser.parse_args(argv)
    if args.show:
        print(table(json.loads(args.show.read_text())["results"]))
        return 0
    if args.code is not None and os.environ.get("PYTHONPATH") != str(args.code.resolve()):
        # Again with DIR's tui first on the path, for this process and every envdeck it
        # starts (`-P`: the working directory, this checkout, is not put first).
        env = {**os.environ, "PYTHONPATH": str(args.code.resolve())}
        again = [sys.executable, "-P", "-m", "bench.latency", *sys.argv[1:]]
        os.execve(sys.executable, again, env)  # noqa: S606 - our own argv
    started = datetime.now(UTC)
    compile_bytecode(args.code.resolve() if args.code is not None else REPO)
    names, compose_argv = sample_services()
    say(f"{PROJECT}: {', '.join(names)}; load {load()}")
    phases = args.only or PHASES
    results: dict[str, Any] = {}
    if "first-frame" in phases:
        say(f"1. first frame: {args.runs} runs of each tool")
        results["first_frame"] = first_frames(args.runs, names)
    if "selection" in phases:
        say(f"2. selection → log: {args.selections} moves")
        results["selection"] = asyncio.run(selections(args.selections, names))
    if "status" in phases:
        say(f"3. status vs compose ps: {args.runs} runs each")
        results["status"] = status_commands(args.runs, compose_argv)
    report = {
        "benchmark": "latency",
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.latency", *(argv or sys.argv[1:])]),
        "commit": revision() if args.code is None else "see code",
        "code": str(args.code.resolve()) if args.code else str(REPO),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "bytecode": "compiled before measuring (tui, plugins)",
        "results": results,
    }
    out = args.out or RESULTS / f"latency-{started.date().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results))
    say(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
