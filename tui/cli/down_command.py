"""`envdeck down [-v]`: compose down through the one destructive guard.

It lists exactly what goes before it goes, refuses another checkout's containers and
protected services' containers and volumes, and with -v first proves compose can create
the project again; -v asks before removing data (or takes --yes).
"""

from __future__ import annotations

import argparse

from tui.cli.reset_command import confirm, say
from tui.config.settings import EnvdeckSettings
from tui.core.engine import DockerGateway
from tui.core.environment import resolve_environment
from tui.core.guard import (
    DestructiveGuard,
    GuardRefused,
    Operation,
    RemovalFailed,
    remove_planned,
)
from tui.core.status import EXIT_UNKNOWN
from tui.reset.states import StateManager


def run_down(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    gateway = DockerGateway(timeout=settings.engine_timeout)
    engine = gateway.info()
    if not engine.connected:
        say(f"{engine.error}: nothing was removed")
        return EXIT_UNKNOWN
    environment = resolve_environment(settings, gateway)
    recorded = StateManager(settings, environment, gateway).recorded_volumes()
    guard = DestructiveGuard(settings, environment, gateway, recorded)
    operation = Operation.DOWN_VOLUMES if args.volumes else Operation.DOWN
    try:
        plan = guard.plan(operation)
    except GuardRefused as error:
        say(f"nothing was removed: {error}")
        return 1
    print(f"{operation.value} {plan.project}:", flush=True)
    for line in plan.lines():
        print(f"  {line}", flush=True)
    if args.volumes and plan.volumes:
        answer = confirm("Remove these containers and volumes (their data is lost)?", args)
        if answer is None:
            say("down -v destroys data: add --yes to run it without a terminal")
            return 2
        if not answer:
            say("cancelled: nothing was removed")
            return 1
    try:
        summary = guard.run(
            plan, lambda confirmed: remove_planned(confirmed, environment, gateway, attached=True)
        )
    except GuardRefused as error:
        say(f"nothing was removed: {error}")
        return 1
    except RemovalFailed as error:
        say(f"down failed: {error}")
        return 1
    say(summary)
    return 0
