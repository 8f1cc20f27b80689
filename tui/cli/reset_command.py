"""`envdeck reset` and `envdeck snapshot`: the same operations the dashboard's `X` runs."""

from __future__ import annotations

import argparse
import json
import sys
import time

from tui.config.settings import EnvdeckSettings
from tui.core.engine import DockerGateway, EngineUnavailable
from tui.core.environment import resolve_environment
from tui.core.guard import GuardRefused, Operation
from tui.core.status import EXIT_UNKNOWN
from tui.presentation.reset_text import describe_record, step_line
from tui.reset.hard import HardReset
from tui.reset.states import StateManager
from tui.reset.steps import Outcome, StepEvent, StepFailed, StepState
from tui.reset.store import StateStoreError


def say(message: str) -> None:
    print(f"envdeck: {message}", file=sys.stderr, flush=True)


def print_step(event: StepEvent) -> None:
    if event.state is not StepState.RUNNING or event.title.startswith("wait"):
        print(step_line(event), flush=True)


def confirm(question: str, args: argparse.Namespace) -> bool | None:
    """True to go on; False when the user said no; None when nobody can be asked."""
    if getattr(args, "yes", False):
        return True
    if not sys.stdin.isatty():
        return None
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _finish(outcome: Outcome) -> int:
    verdict = "done" if outcome.ok else "FAILED"
    print(f"{outcome.kind}: {verdict} in {outcome.seconds:.2f} s", flush=True)
    if not outcome.ok:
        say(f"{outcome.kind} failed at {outcome.failure_summary}")
    return 0 if outcome.ok else 1


def _manager(settings: EnvdeckSettings, gateway: DockerGateway) -> StateManager:
    environment = resolve_environment(settings, gateway)
    return StateManager(settings, environment, gateway)


def run_reset(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    gateway = DockerGateway(timeout=settings.engine_timeout)
    if not gateway.info().connected:
        say("no Docker engine answers: nothing was reset")
        return EXIT_UNKNOWN
    manager = _manager(settings, gateway)
    if args.hard:
        return _hard_reset(manager, args)
    try:  # another checkout's containers are the first thing to say, not a missing baseline
        manager.guard.plan(Operation.FAST_RESET)
    except GuardRefused as error:
        say(f"nothing was reset: {error}")
        return 1
    problem = manager.baseline_problem()
    if problem is not None:
        say(
            f"cannot fast-reset: {problem}. `envdeck snapshot baseline` takes it from the "
            "data as it is now; `envdeck reset --hard` recreates everything and takes it"
        )
        return 1
    baseline = manager.baseline()
    assert baseline is not None  # baseline_problem() said there is one
    print(f"fast reset of {manager.environment.project.name}: every service's data back to")
    print(describe_record(baseline))
    answer = confirm("Reset?", args)
    if answer is None:
        say("a reset destroys data: add --yes to run it without a terminal")
        return 2
    if not answer:
        say("cancelled: nothing was reset")
        return 1
    return _finish(manager.fast_reset(print_step))


def _hard_reset(manager: StateManager, args: argparse.Namespace) -> int:
    hard = HardReset(manager)
    try:
        plan = hard.plan()
    except (StepFailed, EngineUnavailable) as error:
        say(f"cannot plan the hard reset: {error}")
        return EXIT_UNKNOWN
    print(f"hard reset of {plan.project}:")
    for line in plan.lines():
        print(f"  {line}")
    answer = confirm("Destroy and recreate?", args)
    if answer is None:
        say("a hard reset destroys data: add --yes to run it without a terminal")
        return 2
    if not answer:
        say("cancelled: nothing was removed")
        return 1
    return _finish(hard.run(plan, print_step))


def run_snapshot(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    gateway = DockerGateway(timeout=settings.engine_timeout)
    manager = _manager(settings, gateway)
    action = args.snapshot_action
    try:
        if action == "list":
            return _list(manager, args)
        if not gateway.info().connected:
            say("no Docker engine answers")
            return EXIT_UNKNOWN
        if action == "baseline":
            return _finish(manager.take_baseline(print_step))
        if not args.name:
            say(f"snapshot {action} needs a NAME")
            return 2
        if action == "save":
            return _finish(manager.save(args.name, print_step))
        record = manager.store.read(args.name)
        if record is None:
            known = ", ".join(r.name for r in manager.snapshots()) or "none"
            say(f"no snapshot named {args.name!r} (saved: {known})")
            return 1
        print(describe_record(record))
        verb = (
            "Restore it (the services' current data is replaced)"
            if action == "restore"
            else ("Delete it")
        )
        answer = confirm(f"{verb}?", args)
        if answer is None:
            say(f"snapshot {action} needs --yes without a terminal")
            return 2
        if not answer:
            say("cancelled")
            return 1
        if action == "restore":
            return _finish(manager.restore(args.name, print_step))
        return _finish(manager.delete(args.name, print_step))
    except StateStoreError as error:
        say(str(error))
        return 2


def _list(manager: StateManager, args: argparse.Namespace) -> int:
    records = manager.store.records()
    if args.json:
        print(json.dumps([record.to_json() for record in records], indent=2))
        return 0
    if not records:
        print(f"no snapshots of {manager.environment.project.name} in {manager.store.folder}")
        return 0
    for record in records:
        print(describe_record(record))
    last = manager.store.last_reset()
    if last is not None:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last.at))
        print(
            f"last reset: {last.kind} at {when}, {last.seconds:.2f} s, "
            f"{'ok' if last.ok else 'failed: ' + last.failure}"
        )
    return 0
