"""Benchmark of issue #6: fast reset, snapshot restore and hard reset of the sample
environment, each against doing the same by hand in the same run.

    .venv/bin/python -m bench.reset [--rounds N] [--hard-rounds N]

It runs the sample environment as its own project (`envdeck-bench-reset`, on free
loopback ports), so a running `envdeck demo` is not touched, and removes it with
`down -v` at the end whatever happens. Before each timed reset it dirties every service
(rows, a table, keys, a collection), so every reset has real work to undo.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from tui.config.settings import load_settings
from tui.core.engine import DockerGateway
from tui.core.environment import Environment, resolve_environment
from tui.core.sample_environment import sample_settings
from tui.reset.hard import HardReset
from tui.reset.states import StateManager
from tui.reset.steps import Outcome

REPO = Path(__file__).resolve().parent.parent
PROJECT = "envdeck-bench-reset"
PORT_VARIABLES = (
    "ENVDECK_REDIS_PORT",
    "ENVDECK_POSTGRES_PORT",
    "ENVDECK_QDRANT_PORT",
    "ENVDECK_MOCK_API_PORT",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def checked(outcome: Outcome) -> Outcome:
    if not outcome.ok:
        raise SystemExit(f"{outcome.kind} failed: {outcome.failure_summary}")
    return outcome


def dirty(environment: Environment, round_: int) -> None:
    """Rows, a table, keys and a collection: what a test run leaves behind."""
    services = environment.project.services
    redis_port = services["redis"].published_port(6379)
    pg_port = services["postgres"].published_port(5432)
    qdrant_port = services["qdrant"].published_port(6333)
    client = redis.Redis(port=redis_port or 0, socket_timeout=5)
    client.mset({f"bench:{round_}:{i}": "x" * 100 for i in range(1000)})
    client.close()
    with psycopg.connect(
        host="127.0.0.1",
        port=pg_port,
        user="test_user",
        password="test_password",  # noqa: S106 - the sample's published test password
        dbname="test_crawl4ai",
    ) as connection:
        connection.execute(
            "INSERT INTO documents (url, content_hash) SELECT 'https://bench/' || %s || '/' || g, "
            "md5(g::text) FROM generate_series(1, 1000) g",
            (round_,),
        )
        connection.execute(f"CREATE TABLE bench_{round_} (id int)")
    with httpx.Client(base_url=f"http://127.0.0.1:{qdrant_port}", timeout=10) as http:
        http.put(f"/collections/bench_{round_}", json={"vectors": {"size": 4, "distance": "Dot"}})


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(values), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
        "runs": len(values),
    }


def measure(
    args: argparse.Namespace,
    environment: Environment,
    manager: StateManager,
    hard: HardReset,
    state_dir: Path,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    say("fast reset")
    fast = []
    for round_ in range(args.rounds):
        dirty(environment, round_)
        fast.append(timed(lambda: checked(manager.fast_reset())))
    results["fast_reset"] = summary(fast)

    say("fast reset from the command line (a new process each time)")
    cli = []
    env = {**os.environ, "ENVDECK_STATE_DIR": str(state_dir)}
    command = [sys.executable, "-m", "tui", "-p", PROJECT, "reset", "--yes"]
    for round_ in range(args.rounds):
        dirty(environment, round_)
        cli.append(
            timed(
                lambda: subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
            )
        )
    results["fast_reset_cli"] = summary(cli)

    say("snapshot save and restore")
    dirty(environment, 99)
    results["snapshot_save"] = summary([timed(lambda: checked(manager.save("bench")))])
    restores = []
    for round_ in range(args.rounds):
        dirty(environment, round_)
        restores.append(timed(lambda: checked(manager.restore("bench"))))
    results["snapshot_restore"] = summary(restores)

    say("hard reset")
    hards = []
    for _ in range(args.hard_rounds):
        plan = hard.plan()
        hards.append(timed(partial(lambda shown: checked(hard.run(shown)), plan)))
    results["hard_reset"] = summary(hards)

    say("by hand: compose down -v && compose up -d --wait")
    compose = environment.compose
    manual = []
    for _ in range(args.hard_rounds):
        manual.append(
            timed(
                lambda: (
                    compose.run("down", "-v", "--remove-orphans", timeout=300),
                    compose.run("up", "-d", "--wait", timeout=300),
                )
            )
        )
    results["by_hand_down_v_up_wait"] = summary(manual)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reset")
    parser.add_argument("--rounds", type=int, default=7, help="fast resets and restores")
    parser.add_argument("--hard-rounds", type=int, default=3, help="hard resets and by hand")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    args = parser.parse_args()

    for variable in PORT_VARIABLES:
        os.environ[variable] = str(free_port())
    state_dir = Path(tempfile.mkdtemp(prefix=f"{PROJECT}-"))
    settings = sample_settings(load_settings(REPO, project_name=PROJECT)).replace(
        **{"project_name": PROJECT, "state_dir": state_dir}
    )
    gateway = DockerGateway(timeout=settings.engine_timeout)
    environment = resolve_environment(settings, gateway)
    results: dict[str, Any] = {"cpus": os.cpu_count(), "offline_images": environment.offline}
    try:
        say(f"bringing up {PROJECT} (offline images: {environment.offline})")
        environment.compose.run("up", "-d", "--wait", timeout=300)
        manager = StateManager(settings, environment, gateway)
        hard = HardReset(manager)
        checked(hard.run(hard.plan()))  # seeds and the baseline, as after a first `up`
        results |= measure(args, environment, manager, hard, state_dir)
    finally:
        say(f"removing {PROJECT}")
        environment.compose.run("down", "-v", "--remove-orphans", timeout=300)
        shutil.rmtree(state_dir, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
