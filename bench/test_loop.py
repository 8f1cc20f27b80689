"""Benchmark of the watch loop: from a file save to the first result of the test it affects.

Run from the repository root (about 2 minutes with the defaults):

    .venv/bin/python -m bench.test_loop [--iterations 10] [--tools envdeck-warm,ptw-file]
        [--projects tiny,plugins] [--python venv|PATH] [--baseline REV] [--out FILE]
        [--show FILE]

It writes throwaway projects into a temporary folder: `tiny` (a package of five modules
under `src/shop`, 20 test files, one of which imports `shop.prices`, the module that is
edited) in a venv holding pytest alone, and `plugins`, the same project in a venv with the
plugins real projects have (pytest-asyncio, pytest-timeout, and a plugin that imports heavy
libraries: numpy and pydantic), an async test, and a conftest.py whose fixtures import the
project's modules. Each tool gets a copy of its own, started with the project's interpreter:
`envdeck test --watch -v` (warm start on; off with envdeck-cold) and pytest-watcher (`ptw`),
given the affected file (ptw-file) or over the whole suite (ptw-suite). Then, round after
round, each tool of both projects in turn gets a save of `src/shop/prices.py`, and the time
from the write to the first line of output showing the affected test's result is noted.
Rounds interleave the tools, so a load that comes and goes on a shared machine falls on all
of them alike. Every process started is killed at the end (process groups, then anything
still carrying the run's marker in its environment), also on Ctrl-C.

See bench/README.md ("The watch loop") for what the figures mean and the latest results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.scaffold import (
    REPO,
    RESULTS,
    head_commit,
    rerun_command,
    save_results,
    say,
    write_git_tree,
)
from tui.core.testrun import (
    CollectionFinishedEvent,
    FinishedEvent,
    SessionStartedEvent,
    TestRun,
)
from tui.core.testrun.warm import WarmStarts
from tui.core.watch import ImportGraph, SourceWatcher, find_affected, narrow

VENV_BIN = Path(sys.executable).parent  # the repository's .venv: envdeck and ptw live here
UV = REPO / ".tools" / "bin" / "uv"
MARKER_ENV = "ENVDECK_BENCH_RUN"  # in the environment of every process the benchmark starts
TOOLS = ("envdeck-cold", "envdeck-warm", "ptw-suite", "ptw-file")
DEFAULT_TOOLS = ("envdeck-warm", "ptw-file")  # the comparison
PROJECTS = ("tiny", "plugins")
# The plugins project's venv: versions of our own venv, so uv finds them in its cache.
PLUGIN_PACKAGES = (
    "pytest-asyncio==1.5.0",
    "pytest-timeout==2.4.0",
    "numpy==2.4.6",
    "pydantic==2.14.3",
)
TARGET_RATIO = 0.5  # envdeck's median at most half of ptw-file's
TARGET_TINY_S = 0.2
EDITED = "src/shop/prices.py"
AFFECTED_FILE = "tests/test_10_prices.py"  # the 10th of 20 files: mid-suite for ptw-suite
AFFECTED_TEST = f"{AFFECTED_FILE}::test_price"
PYTEST_ARGS = ("-v",)  # ptw needs -v to name the test; envdeck gets it too, the same run
PTW_DELAY = "0"
# watchdog 7 matches a pattern against the whole path: ptw's default `*.py` then matches
# top-level files only, and a save in src/ or tests/ would never trigger it.
PTW_PATTERNS = "*.py,**/*.py"
START_TIMEOUT = 120.0
RESULT_TIMEOUT = 30.0


# ---------------------------------------------------------------- the throwaway project


PYPROJECT = """
    [project]
    name = "shop"
    version = "0"

    [tool.pytest.ini_options]
    testpaths = ["tests"]
    pythonpath = ["src"]
"""

MODULES = {
    "src/shop/__init__.py": '"""A small shop."""\n',
    "src/shop/util.py": """
        def norm(text):
            return text.strip().lower()
    """,
    "src/shop/catalog.py": """
        from shop.util import norm

        ITEMS = {norm(" Apple "): 3, norm("pear"): 2, norm("Plum "): 1}
    """,
    "src/shop/cart.py": """
        from shop.catalog import ITEMS

        def total(names):
            return sum(ITEMS[name] for name in names)
    """,
    EDITED: "VALUE = 0\n",
    "tests/conftest.py": """
        import pytest

        @pytest.fixture
        def basket():
            return ["apple", "pear"]
    """,
    "pyproject.toml": PYPROJECT,
}

OTHER_TEST = """
    import pytest

    from shop.cart import total
    from shop.util import norm


    def test_total_{n}(basket):
        assert total(basket) == 5


    @pytest.mark.parametrize("text", [" A", "a ", "A"])
    def test_norm_{n}(text):
        assert norm(text) == "a"
"""

AFFECTED = """
    from shop import prices


    def test_price():
        assert prices.VALUE >= 0
"""


PLUGIN_PROJECT = {
    "tests/conftest.py": """
        import pytest

        from shop.cart import total
        from shop.catalog import ITEMS


        @pytest.fixture
        def basket():
            assert total(["apple"]) == ITEMS["apple"]
            return ["apple", "pear"]
    """,
    "tests/test_21_async.py": """
        import asyncio


        async def test_sleeps():
            await asyncio.sleep(0)
    """,
    "pyproject.toml": textwrap.dedent(PYPROJECT) + 'asyncio_mode = "auto"\ntimeout = 30\n',
}

# A third-party pytest plugin importing heavy libraries at load time, as many do.
HEAVY_PLUGIN = """
    import numpy
    import pydantic


    class Settings(pydantic.BaseModel):
        seed: int = 0


    def pytest_configure(config):
        config.heavy_settings = Settings(seed=int(numpy.int64(1)))
"""


def write_project(root: Path, kind: str = "tiny") -> None:
    files = dict(MODULES)
    if kind == "plugins":
        files.update(PLUGIN_PROJECT)
    for n in range(1, 21):
        name = AFFECTED_FILE if n == 10 else f"tests/test_{n:02d}_cart.py"
        files[name] = AFFECTED if n == 10 else OTHER_TEST.format(n=n)
    write_git_tree(root, files, "project")


def plugin_venv(where: Path) -> Path | None:
    """A venv with pytest, pytest-asyncio, pytest-timeout and a plugin importing numpy and
    pydantic (an installed distribution with a pytest11 entry point), or None."""
    python = minimal_venv(where)
    if python is None:
        return None
    try:
        subprocess.run(
            [str(UV), "pip", "install", "-q", "--python", str(python), *PLUGIN_PACKAGES],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        say(f"cannot install the plugins project's packages ({error})")
        return None
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "heavy_plugin.py").write_text(textwrap.dedent(HEAVY_PLUGIN).lstrip())
    info = site / "heavy_plugin-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: heavy-plugin\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[pytest11]\nheavy = heavy_plugin\n")
    (info / "RECORD").write_text("heavy_plugin.py,,\n")
    return python


def minimal_venv(where: Path) -> Path | None:
    """A venv holding pytest alone (the version of ours, from uv's cache, offline), or None."""
    pytest_version = subprocess.run(
        [sys.executable, "-c", "import pytest; print(pytest.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    python = where / "bin" / "python"
    pin = f"pytest=={pytest_version}"
    try:
        subprocess.run(
            [str(UV), "venv", "-q", "--python", sys.executable, str(where)],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(UV), "pip", "install", "-q", "--offline", "--python", str(python), pin],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        say(f"cannot build a pytest-only venv offline ({error}); using {sys.executable}")
        return None
    return python


# ---------------------------------------------------------------- a tool's output


class Output:
    """A process's merged stdout and stderr, each chunk with the time it was read."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._chunks: list[tuple[float, int]] = []  # (time read, end offset in text)
        self.text = ""
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except OSError:
                data = b""
            now = time.monotonic()
            with self._changed:
                if data:
                    self.text += data.decode("utf-8", "replace")
                    self._chunks.append((now, len(self.text)))
                else:
                    self._chunks.append((now, -1))  # end of output
                self._changed.notify_all()
            if not data:
                return

    @property
    def offset(self) -> int:
        with self._changed:
            return len(self.text)

    @property
    def ended(self) -> bool:
        return bool(self._chunks) and self._chunks[-1][1] == -1

    def wait_for(self, pattern: re.Pattern[str], after: int, timeout: float) -> tuple[float, int]:
        """(when the first match after `after` was read, where it ends); TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                match = pattern.search(self.text, after)
                if match is not None:
                    read_at = next(t for t, end in self._chunks if end >= match.end())
                    return read_at, match.end()
                left = deadline - time.monotonic()
                if left <= 0 or self.ended:
                    tail = self.text[-2000:]
                    raise TimeoutError(f"no {pattern.pattern!r} within {timeout:g} s:\n{tail}")
                self._changed.wait(left)


# ---------------------------------------------------------------- the tools


@dataclass
class Tool:
    name: str
    argv: list[str]
    project: Path
    env: dict[str, str]
    ready: re.Pattern[str]  # once seen, the tool is watching
    result: re.Pattern[str]  # the affected test's result
    done: re.Pattern[str]  # the run is over
    note: str
    process: subprocess.Popen[bytes] | None = None
    output: Output | None = None
    latencies: list[float] = field(default_factory=list)
    warmup: list[float] = field(default_factory=list)
    misses: int = 0

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.project,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=write_fd,
            stderr=write_fd,
            start_new_session=True,  # its own process group: killed as one
        )
        os.close(write_fd)
        self.output = Output(read_fd)

    def wait_ready(self) -> None:
        assert self.output is not None
        self.output.wait_for(self.ready, 0, START_TIMEOUT)

    def save_and_time(self, counter: int) -> float:
        """Write the edited module; seconds until the affected test's result was read."""
        assert self.output is not None
        after = self.output.offset
        path = self.project / EDITED
        started = time.monotonic()
        path.write_text(f"VALUE = {counter}\n")
        seen_at, end = self.output.wait_for(self.result, after, RESULT_TIMEOUT)
        self.output.wait_for(self.done, end, RESULT_TIMEOUT)
        return seen_at - started

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)  # envdeck then ends its run itself
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def interpreter_env(cache: Path, marker: str) -> dict[str, str]:
    """The environment of every tool: bytecode cached (in a folder of the benchmark's own,
    so nothing is written into any venv) and the run's marker."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)  # the plugins project needs its plugins
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env["PYTHONUNBUFFERED"] = "1"  # ptw's pytest writes to a pipe: lines as they happen
    env[MARKER_ENV] = marker
    for name in [name for name in env if name.startswith("ENVDECK_") and name != MARKER_ENV]:
        del env[name]  # the user's own envdeck settings do not apply to the throwaway project
    return env


def baseline_tree(revision: str, where: Path) -> Path:
    """envdeck's `tui` package as it was at `revision` (git archive: the repository is not
    touched), to run as `python -m tui` with it first on PYTHONPATH."""
    where.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", revision, "tui"], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def make_tools(
    names: Sequence[str],
    workdir: Path,
    python: Path,
    env: dict[str, str],
    baseline: tuple[str, Path] | None = None,
    *,
    kind: str = "tiny",
) -> list[Tool]:
    tools = []
    envdeck_result = re.compile(rf"(?m)^(?:PASSED|FAILED|ERROR) {re.escape(AFFECTED_TEST)} ")
    envdeck_done = re.compile(r"(?m)^.* in \d+\.\d+s \((?:cancelled, )?exit code -?\d+\)$")
    ptw_result = re.compile(rf"{re.escape(AFFECTED_TEST)} (?:PASSED|FAILED|ERROR)")
    ptw_done = re.compile(r"(?m)^=+ .* in \d+\.\d+s.* =+$")
    if baseline is not None:
        names = [*names, f"envdeck@{baseline[0]}"]
    for short in names:
        name = f"{kind}/{short}"
        project = workdir / kind / short
        shutil.copytree(workdir / f"project-{kind}", project, symlinks=True)
        tool_env = dict(env)
        if short.startswith("envdeck"):
            tool_env["ENVDECK_TEST_PYTHON"] = str(python)
            if short.startswith("envdeck@") and baseline is not None:
                tool_env["PYTHONPATH"] = str(baseline[1])  # its runs see it too; never use it
                argv = [sys.executable, "-m", "tui", "test", "--watch", *PYTEST_ARGS]
                note = f"envdeck test --watch at {baseline[0]}"
            else:
                warm = short == "envdeck-warm"
                tool_env["ENVDECK_TEST_WARM_START"] = "1" if warm else "0"
                argv = [str(VENV_BIN / "envdeck"), "test", "--watch", *PYTEST_ARGS]
                note = f"envdeck test --watch, warm start {'on' if warm else 'off'}"
            tools.append(
                Tool(
                    name,
                    argv,
                    project,
                    tool_env,
                    ready=re.compile(r"envdeck: watching "),
                    result=envdeck_result,
                    done=envdeck_done,
                    note=note,
                )
            )
        else:
            only = [AFFECTED_FILE] if short == "ptw-file" else []
            argv = [str(VENV_BIN / "ptw"), ".", "--delay", PTW_DELAY, "--patterns", PTW_PATTERNS]
            argv += ["--runner", str(python)]
            tools.append(
                Tool(
                    name,
                    [*argv, "-m", "pytest", *PYTEST_ARGS, *only],
                    project,
                    tool_env,
                    ready=re.compile(r"Waiting for file changes"),
                    result=ptw_result,
                    done=ptw_done,
                    note="ptw, whole suite on every change"
                    if not only
                    else f"ptw, given {AFFECTED_FILE} (the affected file)",
                )
            )
    return tools


# ---------------------------------------------------------------- processes


def kill_marked(marker: str) -> int:
    """SIGKILL every process whose environment carries the benchmark's marker."""
    entry = f"{MARKER_ENV}={marker}".encode()
    killed = 0
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        try:
            environ = (pid_dir / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if entry in environ:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(pid_dir.name), signal.SIGKILL)
                killed += 1
    return killed


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------- measuring


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def busy_jiffies() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def stats(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[8] if len(ordered) > 1 else 0
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered) * 1000,
        "p90_ms": (p90 or ordered[0]) * 1000,
        "min_ms": ordered[0] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def measure(tools: list[Tool], iterations: int, warmup: int, pause: float, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 (reproducible pauses, not secrets)
    counter = 0
    for tool in tools:
        say(f"starting {tool.name}: {' '.join(tool.argv)}")
        tool.start()
    for tool in tools:
        tool.wait_ready()
        assert tool.output is not None
        if "/envdeck" in tool.name:  # its first run, of the whole suite, at start
            tool.output.wait_for(tool.done, 0, START_TIMEOUT)
        say(f"{tool.name} is watching")
    for round_no in range(warmup + iterations):
        order = list(tools)
        rng.shuffle(order)
        for tool in order:
            # A random pause: saves never fall in step with a watcher's polling period.
            time.sleep(pause + rng.uniform(0, 0.3))
            counter += 1
            try:
                latency = tool.save_and_time(counter)
            except TimeoutError as error:
                say(f"{tool.name}: round {round_no + 1}: {error}")
                tool.misses += 1
                continue
            (tool.warmup if round_no < warmup else tool.latencies).append(latency)
        shown = ", ".join(
            f"{t.name} {(t.warmup + t.latencies)[-1] * 1000:.0f} ms"
            for t in tools
            if t.warmup or t.latencies
        )
        say(f"round {round_no + 1}/{warmup + iterations}: {shown}")


# ---------------------------------------------------------------- where envdeck's time goes


async def breakdown(
    project: Path, python: Path, env: dict[str, str], rounds: int
) -> dict[str, Any]:
    """envdeck's steps one by one, in this process, on the same project and interpreter: the
    watcher (write → batch), the import graph (batch → tests to run), and a run (start →
    pytest's session started → collected → first result), cold and warm."""
    extra = {key: env[key] for key in ("PYTHONPYCACHEPREFIX", MARKER_ENV)}
    extra["PYTHONDONTWRITEBYTECODE"] = ""  # ours is set; the tools' environment is not
    figures: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        figures.setdefault(name, []).append(seconds)

    watcher = SourceWatcher(project)
    delivered: asyncio.Queue[tuple[float, frozenset[Path]]] = asyncio.Queue()

    async def follow() -> None:
        async for batch in watcher.abatches():
            delivered.put_nowait((time.monotonic(), batch.paths))

    following = asyncio.create_task(follow())
    graph = ImportGraph(project)
    await asyncio.to_thread(graph.ensure_built)
    await asyncio.to_thread(watcher.wait_ready, 10)
    targets: list[str] = []
    for counter in range(rounds):
        await asyncio.sleep(0.5 + random.random() * 0.2)  # noqa: S311
        written = time.monotonic()
        # Never the initial "VALUE = 0": a save of unchanged bytes makes no batch.
        (project / EDITED).write_text(f"VALUE = {counter + 1}\n")
        seen, paths = await asyncio.wait_for(delivered.get(), RESULT_TIMEOUT)
        note("watcher: write → batch", seen - written)
        affected = await asyncio.to_thread(find_affected, graph, paths)
        targets = narrow([], affected, root=project)
        note("import graph: batch → tests to run", time.monotonic() - seen)
    watcher.stop()
    following.cancel()
    for counter in range(rounds):
        for kind in ("cold", "warm", "prepared"):
            starts = WarmStarts() if kind != "cold" else None
            if starts is not None:
                if kind == "prepared":  # as after a run of the same tests
                    command = TestRun(project, python=str(python), nodeids=targets).command
                    starts.expect(command[3:])
                await starts.prepare(project, str(python), extra)
                await spare_waiting(starts, prepared=kind == "prepared")
            await asyncio.sleep(0.3)
            began = time.monotonic()
            marks: dict[str, float] = {}
            run = TestRun(project, python=str(python), nodeids=targets, env=extra, warm=starts)
            async with run:
                async for event in run.events():
                    for step, kinds in (
                        ("session started", SessionStartedEvent),
                        ("collected", CollectionFinishedEvent),
                        ("first result", FinishedEvent),
                    ):
                        if isinstance(event, kinds) and step not in marks:
                            marks[step] = time.monotonic() - began
            for step, seconds in marks.items():
                note(f"pytest {kind}: start → {step}", seconds)
            if starts is not None:
                await starts.aclose()
        say(f"breakdown: run {counter + 1}/{rounds}")
    return {name: stats(values) for name, values in figures.items()}


async def spare_waiting(starts: WarmStarts, timeout: float = 30, *, prepared: bool = False) -> None:
    """Until the spare blocks reading its arguments: pytest is imported (a prepared one:
    pytest has also parsed them and loaded the plugins and initial conftests)."""
    pid = starts.prepared_pid if prepared else starts.waiting_pid
    if pid is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            syscall = Path(f"/proc/{pid}/syscall").read_text().split()
            if syscall[:1] in (["0"], ["63"]):  # read(…): x86-64, arm64
                return
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- the report


def table(results: dict[str, Any]) -> str:
    rows = [("tool", "median", "p90", "min", "max", "n", "what runs")]
    for name, tool in results["tools"].items():
        figures = tool["latency"]
        if figures is None:
            rows.append((name, "—", "—", "—", "—", "0", tool["note"]))
            continue
        rows.append(
            (
                name,
                *(f"{figures[key]:.0f} ms" for key in ("median_ms", "p90_ms", "min_ms", "max_ms")),
                f"{figures['n']}" + (f" ({tool['misses']} missed)" if tool["misses"] else ""),
                tool["note"],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    env = results["machine"]
    for kind in results.get("projects", []):
        ours = results["tools"].get(f"{kind}/envdeck-warm", {}).get("latency")
        theirs = results["tools"].get(f"{kind}/ptw-file", {}).get("latency")
        if ours and theirs:
            ratio = ours["median_ms"] / theirs["median_ms"]
            verdict = "met" if ratio <= TARGET_RATIO else "missed"
            line = f"{kind}: envdeck / ptw-file = {ratio:.2f} (target ≤ {TARGET_RATIO}: {verdict})"
            if kind == "tiny":
                met = ours["median_ms"] <= TARGET_TINY_S * 1000
                line += f"; envdeck {ours['median_ms']:.0f} ms (target ≤ 200 ms: "
                line += f"{'met' if met else 'missed'})"
            lines.append(line)
    if steps := results.get("breakdown"):
        lines += ["", "where envdeck's time goes (in-process, median / min / max):"]
        for name, figures in steps.items():
            lines.append(
                f"  {name:45} {figures['median_ms']:6.0f} / {figures['min_ms']:4.0f} / "
                f"{figures['max_ms']:5.0f} ms"
            )
    lines += [
        "",
        f"save → first result of {AFFECTED_TEST}. Python {env['python']}, "
        f"{env['cores']} cores, load {' '.join(env['loadavg_start'])} → "
        f"{' '.join(env['loadavg_end'])}, machine {env['busy_percent']:.0f}% busy "
        f"(of {env['cores'] * 100}%).",
        f"rerun: {results['command']}",
    ]
    return "\n".join(lines)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.test_loop", description=__doc__)
    parser.add_argument("--iterations", type=int, default=10, help="measured saves per tool")
    parser.add_argument("--warmup", type=int, default=2, help="saves per tool not counted")
    parser.add_argument("--tools", default=",".join(DEFAULT_TOOLS), help=f"of {', '.join(TOOLS)}")
    parser.add_argument("--projects", default=",".join(PROJECTS), help=f"of {', '.join(PROJECTS)}")
    parser.add_argument(
        "--python",
        default="venv",
        help="the project's interpreter: 'venv' (a new venv with pytest alone) or a path",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure envdeck as it was at this git revision (e.g. HEAD~1)",
    )
    parser.add_argument(
        "--breakdown",
        type=int,
        default=0,
        metavar="N",
        help="also time envdeck's steps one by one, N times each, in this process",
    )
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between saves")
    parser.add_argument("--seed", type=int, default=1, help="of the order and pauses")
    parser.add_argument("--out", type=Path, help="JSON results (default bench/results/…)")
    parser.add_argument("--show", type=Path, help="print the table of a results file, and exit")
    return parser.parse_args(argv)


def build_project(kind: str, workdir: Path, python_arg: str, env: dict[str, str]) -> Path:
    """Write project `kind` and its venv (or take the given interpreter); compile its
    imports once, for every tool alike. Its interpreter."""
    write_project(workdir / f"project-{kind}", kind)
    given = Path(python_arg).absolute() if python_arg != "venv" else None  # a link: no resolve
    build = plugin_venv if kind == "plugins" else minimal_venv
    python = given or build(workdir / f"venv-{kind}") or Path(sys.executable)
    subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=workdir / f"project-{kind}",
        env=env,
        capture_output=True,
        check=False,
    )
    return python


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    if args.show:
        print(table(json.loads(args.show.read_text())))
        return 0
    names = [name.strip() for name in args.tools.split(",") if name.strip()]
    if unknown := set(names) - set(TOOLS):
        say(f"unknown tools: {', '.join(sorted(unknown))} (of {', '.join(TOOLS)})")
        return 2
    command = rerun_command("bench.test_loop", argv)
    marker = uuid.uuid4().hex
    tools: list[Tool] = []
    started = datetime.now(UTC)
    host = machine()
    kinds = [kind.strip() for kind in args.projects.split(",") if kind.strip()]
    pythons: dict[str, str] = {}
    with sigterm_as_interrupt(), tempfile.TemporaryDirectory(prefix="envdeck-bench-") as tmp:
        workdir = Path(tmp)
        try:
            env = interpreter_env(workdir / "pycache", marker)
            baseline = None
            if args.baseline:
                baseline = (args.baseline, baseline_tree(args.baseline, workdir / "baseline"))
            for kind in kinds:
                python = build_project(kind, workdir, args.python, env)
                pythons[kind] = str(python)
                tools += make_tools(names, workdir, python, env, baseline, kind=kind)
            busy_before = busy_jiffies()
            measure(tools, args.iterations, args.warmup, args.pause, args.seed)
            steps = None
            if args.breakdown:
                kind = kinds[0]
                shutil.copytree(workdir / f"project-{kind}", workdir / "breakdown", symlinks=True)
                python = Path(pythons[kind])
                steps = asyncio.run(breakdown(workdir / "breakdown", python, env, args.breakdown))
            busy_after = busy_jiffies()
        except KeyboardInterrupt:
            say("interrupted: stopping every process started")
            return 130
        finally:
            for tool in tools:
                tool.stop()
            if killed := kill_marked(marker):
                say(f"killed {killed} leftover processes")
    cores = os.cpu_count() or 1
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    results: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "command": command,
        "commit": head_commit(),
        "machine": {
            **host,
            "loadavg_end": Path("/proc/loadavg").read_text().split()[:3],
            "busy_percent": busy * 100 * cores,
        },
        "python": pythons,
        "projects": kinds,
        "ptw_delay": PTW_DELAY,
        "ptw_patterns": PTW_PATTERNS,
        "iterations": args.iterations,
        "breakdown": steps,
        "tools": {
            tool.name: {
                "argv": tool.argv,
                "note": tool.note,
                "latency": stats(tool.latencies),
                "latencies_ms": [round(x * 1000, 1) for x in tool.latencies],
                "warmup_ms": [round(x * 1000, 1) for x in tool.warmup],
                "misses": tool.misses,
            }
            for tool in tools
        },
    }
    save_results(results, args.out or RESULTS / f"test-loop-{started:%Y-%m-%d}.json", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
