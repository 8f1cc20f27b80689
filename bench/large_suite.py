"""Benchmark of the tests screen on a large suite: the tree, the first save, the memory.

Run from the repository root (2-3 minutes with the defaults; no Docker needed):

    .venv/bin/python -m bench.large_suite [--rounds 3] [--open-seconds 30] [--out FILE]
        [--python venv|PATH] [--show FILE]

It writes a generated suite of 10,000 tests (`bench/generated_suite.py`: a `src/` library
of ~100 modules importing each other, 200 test files in 10 packages, plain, parametrized
and class tests) into a temporary folder, and a venv holding pytest alone (as test_loop.py
does). Then, round after round and side by side:

- `python -m pytest --collect-only -q` on the suite, from spawn to exit;
- the real app (`make_app`, a fixed monitor whose services are all ready) run headless
  (`App.run_test`): `t` pressed on the dashboard, until the tests screen's tree holds the
  10,000 tests and the screen has been refreshed after that ("tree shown"), with the
  steps of discovery timed in the same process for the breakdown (`discover()` alone,
  `CollectedTree.files()`, `TestTree.load`).

In the last round the screen stays open: `w` turns watch mode on as soon as the tree is
shown, and once the screen has been open `--open-seconds`, `src/suite_lib/edited.py` is
saved (imported by one test file of 50 tests) and the time to the first of those tests'
results in the tree is noted; then a second save, for comparison. A separate run with
tracemalloc on gives the tree's memory (see bench/README.md, "Large suites").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from bench.generated_suite import AFFECTED_FILE, EDITED, SuiteShape, write_suite
from bench.scaffold import REPO, RESULTS, head_commit, rerun_command, save_results, say
from bench.test_loop import interpreter_env, kill_marked, machine, minimal_venv, stats
from tests.ui.fixed_monitor import ENGINE, SERVICES, FixedMonitor
from tui.config.settings import load_settings
from tui.core.engine import DockerGateway
from tui.core.status import EnvironmentStatus
from tui.core.testrun import CollectedTree, discover, discovery
from tui.core.watch import ImportGraph, find_affected
from tui.ui.app import make_app
from tui.ui.screens.tests import TestsScreen
from tui.ui.widgets.tests_tree import TestTree

SIZE = (160, 45)
TREE_TIMEOUT = 180.0
RESULT_TIMEOUT = 60.0
# Every service ready: the health gate holds no run.
READY = EnvironmentStatus("suite", ENGINE, tuple(s for s in SERVICES if s.name == "postgres"))


def loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def children_cpu() -> float:
    """CPU seconds of the child processes that ended and were waited for (pytest's)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


# ---------------------------------------------------------------- plain pytest


def time_plain_collect(root: Path, python: Path) -> tuple[float, float]:
    """Seconds from spawn to exit of `python -m pytest --collect-only -q`, and its CPU."""
    cpu = children_cpu()
    started = time.monotonic()
    done = subprocess.run(
        [str(python), "-m", "pytest", "--collect-only", "-q"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"pytest --collect-only exited {done.returncode}: {done.stdout[-2000:]!r}"
        )
    return elapsed, children_cpu() - cpu


# ---------------------------------------------------------------- the screen


async def until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout:g} s")
        await asyncio.sleep(0.005)


async def refreshed(widget: Any) -> None:
    """Until the screen has been refreshed after now."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    widget.call_after_refresh(finish)
    await done


def tree_shown(screen: Any, tests: int) -> bool:
    data = getattr(screen, "tree_data", None)
    return data is not None and data.count == tests and screen.test_tree.last_line >= 0


async def open_tests_screen(pilot: Any, tests: int) -> tuple[Any, float, dict[str, float]]:
    """`t` on the dashboard; (the screen, seconds until its tree is shown, other figures:
    RSS growth, CPU of this process and of pytest's meanwhile)."""
    app = pilot.app
    await until(lambda: app.screen.query("ServicesTable"), 30, "dashboard")
    await pilot.pause()
    gc.collect()
    rss_before = rss_mb()
    cpu, pytest_cpu = time.process_time(), children_cpu()
    started = time.monotonic()
    await pilot.press("t")
    await until(lambda: isinstance(app.screen, TestsScreen), 30, "tests screen")
    screen = app.screen
    await until(lambda: tree_shown(screen, tests), TREE_TIMEOUT, "tree")
    await refreshed(screen)
    elapsed = time.monotonic() - started
    envdeck_cpu = time.process_time() - cpu  # every thread of the app
    # The tree is shown once pytest has collected; its process ends meanwhile: its CPU
    # counts once it has exited and been waited for, all of it (as collect-only's does).
    await until(lambda: not discovery_finishing(), RESULT_TIMEOUT, "discovery's pytest exit")
    return (
        screen,
        elapsed,
        {
            "rss_growth_mb": rss_mb() - rss_before,
            "envdeck_cpu_s": envdeck_cpu,
            "pytest_cpu_s": children_cpu() - pytest_cpu,  # discovery's pytest
        },
    )


def discovery_finishing() -> bool:
    """Whether a discovery's pytest is still exiting (`discover` answered before)."""
    return bool(getattr(discovery, "_finishing", ()))


def make_bench_app(root: Path) -> Any:
    gateway = DockerGateway("unix:///nonexistent")
    return make_app(load_settings(root), gateway, FixedMonitor(READY))


async def time_screen(root: Path, tests: int) -> dict[str, float]:
    app = make_bench_app(root)
    async with app.run_test(size=SIZE) as pilot:
        _, elapsed, figures = await open_tests_screen(pilot, tests)
        await pilot.press("escape")
    return {"tree_shown_s": elapsed, **figures}


def affected_results(screen: Any) -> dict[str, object]:
    return {
        nodeid: result
        for nodeid, result in screen.test_tree.results.items()
        if nodeid.startswith(f"{AFFECTED_FILE}::")
    }


async def save_and_time(screen: Any, root: Path, counter: int) -> float:
    before = affected_results(screen)
    started = time.monotonic()
    (root / EDITED).write_text(f'"""Saved by the benchmark."""\n\nVALUE = {counter}\n')

    def new_result() -> bool:
        now = affected_results(screen)
        return any(before.get(nodeid) is not result for nodeid, result in now.items())

    await until(new_result, RESULT_TIMEOUT, "result of the affected tests")
    return time.monotonic() - started


def watch_on(screen: Any) -> bool:
    return getattr(screen, "watching", None) is not None


async def time_watch(root: Path, tests: int, open_seconds: float) -> dict[str, Any]:
    """Tree shown, `w`, then saves once the screen has been open `open_seconds`."""
    app = make_bench_app(root)
    async with app.run_test(size=SIZE) as pilot:
        opened = time.monotonic()
        screen, elapsed, figures = await open_tests_screen(pilot, tests)
        await pilot.press("w")
        await until(lambda: watch_on(screen), 10, "watch mode")
        await asyncio.sleep(max(0.0, open_seconds - (time.monotonic() - opened)))
        load = loadavg()
        first = await save_and_time(screen, root, 1)
        await asyncio.sleep(2.0)  # the run is over: the next save is not a cancel
        second = await save_and_time(screen, root, 2)
        await asyncio.sleep(1.0)
        await pilot.press("w")
        await pilot.press("escape")
    return {
        "tree_shown_s": elapsed,
        **figures,
        "open_before_save_s": open_seconds,
        "first_save_to_first_result_s": first,
        "second_save_to_first_result_s": second,
        "loadavg_at_first_save": load,
    }


async def tree_memory(root: Path, tests: int) -> dict[str, float]:
    """tracemalloc on from `t` to the tree shown: what stays allocated (the collection,
    the screen's model and the tree widget's nodes and labels) and the peak."""
    app = make_bench_app(root)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.screen.query("ServicesTable"), 30, "dashboard")
        await pilot.pause()
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.take_snapshot()
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TestsScreen), 30, "tests screen")
        screen = app.screen
        await until(lambda: tree_shown(screen, tests), TREE_TIMEOUT * 3, "tree")
        await refreshed(screen)
        # The discovery's run (its output, its events) is let go once its pytest exits.
        await until(lambda: not discovery_finishing(), RESULT_TIMEOUT, "discovery's pytest exit")
        await pilot.pause(0.5)
        gc.collect()
        after = tracemalloc.take_snapshot()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        retained = sum(stat.size_diff for stat in after.compare_to(base, "filename"))
        top = [
            (str(stat.traceback[0].filename).replace(str(REPO) + "/", ""), stat.size_diff)
            for stat in after.compare_to(base, "filename")[:6]
        ]
        await pilot.press("escape")
    return {
        "retained_mb": retained / 1e6,
        "peak_mb": peak / 1e6,
        "retained_by_file_mb": {name: size / 1e6 for name, size in top},  # type: ignore[dict-item]
    }


# ---------------------------------------------------------------- the steps, in the core


async def breakdown(root: Path, python: Path) -> dict[str, float]:
    """Discovery's steps without the screen, and the import graph's build."""
    figures: dict[str, float] = {}
    started = time.monotonic()
    collected: CollectedTree = await discover(root, str(python))
    collected_at = time.monotonic()
    figures["discover() (pytest until collected, events)"] = collected_at - started
    await until(lambda: not discovery_finishing(), RESULT_TIMEOUT, "discovery's pytest exit")
    figures["… then pytest's exit (in the background)"] = time.monotonic() - collected_at
    started = time.monotonic()
    collected.files()
    figures["CollectedTree.files()"] = time.monotonic() - started
    started = time.monotonic()
    graph = ImportGraph(root)
    graph.ensure_built()
    figures["ImportGraph.ensure_built() (cold)"] = time.monotonic() - started
    figures["ImportGraph parses"] = float(graph.parse_count)
    (root / EDITED).write_text('"""Saved by the breakdown."""\n\nVALUE = 3\n')
    started = time.monotonic()
    find_affected(graph, [root / EDITED])
    figures["find_affected() on a built graph"] = time.monotonic() - started
    return figures


async def time_tree_load(root: Path, python: Path) -> float:
    """TestTree.load of the collection, in a mounted tree (the widget's own cost)."""
    collected = await discover(root, str(python))
    await until(lambda: not discovery_finishing(), RESULT_TIMEOUT, "discovery's pytest exit")

    class TreeApp(App[None]):
        def compose(self) -> ComposeResult:
            yield TestTree()

    app = TreeApp()
    async with app.run_test(size=SIZE) as pilot:
        tree = app.query_one(TestTree)
        started = time.monotonic()
        tree.load(collected)
        await refreshed(tree)
        elapsed = time.monotonic() - started
        await pilot.pause()
    return elapsed


# ---------------------------------------------------------------- the run


async def measure(root: Path, python: Path, args: argparse.Namespace, tests: int) -> dict[str, Any]:
    rounds: list[dict[str, Any]] = []
    for number in range(args.rounds):
        load = loadavg()
        plain, plain_cpu = await asyncio.to_thread(time_plain_collect, root, python)
        say(f"round {number + 1}: pytest --collect-only -q {plain:.2f} s (load {' '.join(load)})")
        last = number == args.rounds - 1
        if last:
            screen = await time_watch(root, tests, args.open_seconds)
        else:
            screen = await time_screen(root, tests)
        say(f"round {number + 1}: tree shown {screen['tree_shown_s']:.2f} s")
        if last:
            say(
                f"first save → first result {screen['first_save_to_first_result_s']:.2f} s,"
                f" second {screen['second_save_to_first_result_s']:.2f} s"
            )
        rounds.append(
            {"loadavg_start": load, "plain_collect_s": plain, "plain_collect_cpu_s": plain_cpu}
            | screen
        )
    steps = await breakdown(root, python)
    steps["TestTree.load + first refresh"] = await time_tree_load(root, python)
    say("breakdown done; measuring the tree's memory (tracemalloc: slow)")
    memory = await tree_memory(root, tests)
    return {"rounds": rounds, "breakdown": steps, "memory": memory}


def summary(results: dict[str, Any]) -> dict[str, Any]:
    rounds = results["rounds"]
    ratios = [r["tree_shown_s"] / r["plain_collect_s"] for r in rounds]
    cpu_ratios = [
        (r["envdeck_cpu_s"] + r["pytest_cpu_s"]) / r["plain_collect_cpu_s"] for r in rounds
    ]
    watch = rounds[-1]
    return {
        "plain_collect": stats([r["plain_collect_s"] for r in rounds]),
        "tree_shown": stats([r["tree_shown_s"] for r in rounds]),
        "ratio_per_round": [round(x, 3) for x in ratios],
        "ratio_median": sorted(ratios)[len(ratios) // 2],
        "cpu_ratio_per_round": [round(x, 3) for x in cpu_ratios],
        "cpu_ratio_median": sorted(cpu_ratios)[len(cpu_ratios) // 2],
        "first_save_to_first_result_s": watch["first_save_to_first_result_s"],
        "second_save_to_first_result_s": watch["second_save_to_first_result_s"],
    }


def table(results: dict[str, Any]) -> str:
    s = results["summary"]
    memory = results["memory"]
    lines = [
        f"{'round':6} {'load':16} {'collect-only':>13} {'tree shown':>11} {'ratio':>6}"
        f"   {'CPU: collect-only':>18} {'pytest + envdeck':>17} {'ratio':>6}",
    ]
    for number, r in enumerate(results["rounds"], 1):
        cpu = r["pytest_cpu_s"] + r["envdeck_cpu_s"]
        lines.append(
            f"{number:<6} {' '.join(r['loadavg_start']):16} {r['plain_collect_s']:12.2f}s"
            f" {r['tree_shown_s']:10.2f}s {r['tree_shown_s'] / r['plain_collect_s']:6.2f}"
            f"   {r['plain_collect_cpu_s']:17.2f}s"
            f" {r['pytest_cpu_s']:7.2f}s + {r['envdeck_cpu_s']:5.2f}s"
            f" {cpu / r['plain_collect_cpu_s']:6.2f}"
        )
    watch = results["rounds"][-1]
    lines += [
        "",
        f"tree shown / collect-only, median of rounds: {s['ratio_median']:.2f}x"
        f" (target ≤ 1.15x); CPU, pytest's and envdeck's: {s['cpu_ratio_median']:.2f}x",
        f"first save → first result after {watch['open_before_save_s']:g} s open:"
        f" {s['first_save_to_first_result_s'] * 1000:.0f} ms (target ≤ 1000 ms;"
        f" load {' '.join(watch['loadavg_at_first_save'])}); second save"
        f" {s['second_save_to_first_result_s'] * 1000:.0f} ms",
        f"tree of {results['tests']:,} tests: {memory['retained_mb']:.1f} MB retained,"
        f" {memory['peak_mb']:.1f} MB peak (tracemalloc, `t` → tree shown);"
        f" RSS growth {results['rounds'][0]['rss_growth_mb']:.0f} MB (round 1)",
        "",
        "steps (in-process, one each):",
    ]
    for name, value in results["breakdown"].items():
        shown = f"{value:.0f}" if "parses" in name else f"{value * 1000:.0f} ms"
        lines.append(f"  {name:45} {shown:>9}")
    env = results["machine"]
    lines += [
        "",
        f"Python {env['python']}, {env['cores']} cores, load {' '.join(env['loadavg_start'])}"
        f" → {' '.join(env['loadavg_end'])}; commit {results['commit']}.",
        f"rerun: {results['command']}",
    ]
    return "\n".join(lines)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.large_suite", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="collect-only / screen pairs")
    parser.add_argument(
        "--open-seconds", type=float, default=30.0, help="screen open before the first save"
    )
    parser.add_argument(
        "--python",
        default="venv",
        help="the suite's interpreter: 'venv' (a new venv with pytest alone) or a path",
    )
    parser.add_argument("--out", type=Path, help="JSON results (default bench/results/…)")
    parser.add_argument("--show", type=Path, help="print the table of a results file, and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    if args.show:
        print(table(json.loads(args.show.read_text())))
        return 0
    command = rerun_command("bench.large_suite", argv)
    marker = uuid.uuid4().hex
    started = datetime.now(UTC)
    host = machine()
    shape = SuiteShape()
    with tempfile.TemporaryDirectory(prefix="envdeck-bench-suite-") as tmp:
        workdir = Path(tmp)
        root = workdir / "suite"
        root.mkdir()
        try:
            write_suite(root, shape)
            given = Path(args.python).absolute() if args.python != "venv" else None
            python = given or minimal_venv(workdir / "venv") or Path(sys.executable)
            # The screen's pytest runs inherit this process's environment: the same
            # bytecode cache and marker as the plain runs, and the suite's interpreter.
            env = interpreter_env(workdir / "pycache", marker)
            os.environ.clear()
            os.environ.update(env)
            os.environ["ENVDECK_TEST_PYTHON"] = str(python)
            say(f"compiling the suite once ({shape.tests:,} tests)")
            time_plain_collect(root, python)
            measured = asyncio.run(measure(root, python, args, shape.tests))
        except KeyboardInterrupt:
            say("interrupted")
            return 130
        finally:
            with contextlib.suppress(Exception):
                if killed := kill_marked(marker):
                    say(f"killed {killed} leftover processes")
    results: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "command": command,
        "commit": head_commit(),
        "machine": {**host, "loadavg_end": loadavg()},
        "python": str(python),
        "tests": shape.tests,
        **measured,
    }
    results["summary"] = summary(results)
    save_results(results, args.out or RESULTS / f"large-suite-{started:%Y-%m-%d}.json", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
