"""Benchmark of the live dashboard against the targets of the issue "The live dashboard".

Run from the repository root (about 4 minutes; `--quick` about 75 s):

    .venv/bin/python -m bench.dashboard [--quick] [--only NAME ...] [--out FILE]

It brings up a throwaway compose project (`envdeck-bench-<pid>`: a log flooder and idle
services, all from the local `envdeck-base:bookworm` image), measures the real app
against it, and removes the project again, whatever happens. No other container is
touched. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import textual

from bench import death, scenarios, terminal
from bench.report import table
from bench.stack import BenchStack

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = ("first-frame", "idle", "death", "follow", "ramp", "terminal")


@dataclass(frozen=True)
class Plan:
    idle_services: int = 9  # plus the (quiet) flooder: 10 running services
    first_frame_runs: int = 5
    idle_seconds: float = 30.0
    deaths: int = 10
    follow_rate: int = 10_000
    follow_seconds: float = 20.0
    core_follow_seconds: float = 8.0  # the follower alone, without the UI
    ramp_rates: tuple[int, ...] = (10_000, 25_000, 50_000, 100_000, 200_000)
    ramp_step_seconds: float = 10.0
    terminal_idle_seconds: float = 30.0
    terminal_follow_seconds: float = 15.0


FULL = Plan()
QUICK = Plan(
    first_frame_runs=1,
    idle_seconds=6.0,
    deaths=3,
    follow_seconds=5.0,
    core_follow_seconds=0.0,  # skipped
    ramp_rates=(10_000, 50_000),
    ramp_step_seconds=4.0,
    terminal_idle_seconds=3.0,
    terminal_follow_seconds=4.0,
)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def run(plan: Plan, only: Sequence[str], stack: BenchStack) -> dict[str, Any]:
    results: dict[str, Any] = {}
    began = time.monotonic()

    def say(message: str) -> None:
        print(f"bench: [{time.monotonic() - began:5.1f} s] {message}", file=sys.stderr, flush=True)

    if "first-frame" in only:
        say("first frame: in-process")
        in_process = await scenarios.first_frame_in_process(stack, plan.first_frame_runs)
        say("first frame: fresh process in a pty")
        fresh = await terminal.first_frame_fresh_process(stack, plan.first_frame_runs)
        results["first_frame"] = {"in_process": in_process, "fresh_process": fresh}
    if "idle" in only:
        say(f"idle: {plan.idle_seconds:.0f} s with {len(stack.services)} running services")
        results["idle"] = await scenarios.idle(stack, plan.idle_seconds)
    if "death" in only:
        say(f"death: {plan.deaths} kills")
        results["death"] = await death.deaths(stack, plan.deaths)
    if "follow" in only:
        say(f"follow: {plan.follow_rate:,} lines/s for {plan.follow_seconds:.0f} s")
        results["follow"] = await scenarios.follow(
            stack, plan.follow_rate, plan.follow_seconds, plan.core_follow_seconds
        )
    if "ramp" in only:
        say(f"ramp: {', '.join(f'{r:,}' for r in plan.ramp_rates)} lines/s")
        results["ramp"] = await scenarios.ramp(stack, plan.ramp_rates, plan.ramp_step_seconds)
    if "terminal" in only:
        say("terminal: a fresh process in a pty, idle then following the flood")
        results["terminal"] = await terminal.terminal_session(
            stack, plan.terminal_idle_seconds, plan.follow_rate, plan.terminal_follow_seconds
        )
    return results


def machine() -> dict[str, Any]:
    def first(path: str, prefix: str) -> str | None:
        try:
            with open(path) as lines:
                return next(
                    (line.split(":", 1)[1].strip() for line in lines if line.startswith(prefix)),
                    None,
                )
        except OSError:
            return None

    docker = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        debian = Path("/etc/debian_version").read_text().strip()
    except OSError:
        debian = None
    return {
        "commit": revision(),
        "cpus": os.cpu_count(),
        "cpu_model": first("/proc/cpuinfo", "model name"),
        "memory_total_kb": first("/proc/meminfo", "MemTotal"),
        "debian": debian,
        "kernel": platform.release(),
        "docker": docker.stdout.strip() or None,
        "python": platform.python_version(),
        "textual": textual.__version__,
        "load_average_at_start": os.getloadavg(),
    }


def revision() -> str | None:
    """The commit of the app measured, `+changes` when its code (not the benchmark's)
    differs from it in the work tree."""

    def git(*args: str) -> str:
        found = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return found.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return None
    changed = git("status", "--porcelain", "--", "tui", "plugins", "pyproject.toml", "uv.lock")
    return f"{commit}+changes" if changed else commit


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run of about 75 s instead of 4 min"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=NAMES,
        metavar="NAME",
        help=f"run only these measurements (repeatable): {', '.join(NAMES)}",
    )
    parser.add_argument("--out", type=Path, help="results JSON (default bench/results/…)")
    parser.add_argument(
        "--show", type=Path, metavar="JSON", help="print the table of earlier results, run nothing"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.show:
        print(table(json.loads(args.show.read_text())["results"]))
        return 0
    plan = QUICK if args.quick else FULL
    only = args.only or list(NAMES)
    started = datetime.now(UTC)
    began = time.monotonic()
    host = machine()
    stack = BenchStack(plan.idle_services)
    say(f"bringing up {stack.project} ({len(stack.services)} services)")
    try:
        stack.up()
        results = asyncio.run(run(plan, only, stack))
    finally:
        say(f"removing {stack.project}")
        stack.down()
    report = {
        "benchmark": "dashboard",
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.dashboard", *(argv or sys.argv[1:])]),
        "quick": args.quick,
        "plan": asdict(plan),
        "machine": {**host, "load_average_at_end": os.getloadavg()},
        "duration_s": round(time.monotonic() - began, 1),
        "results": results,
    }
    out = args.out or RESULTS / f"dashboard-{started.date().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results))
    say(f"results written to {out} ({report['duration_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
