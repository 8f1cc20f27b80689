"""The command handlers: each takes the settings and parsed arguments, returns an exit code.

One module (~400 lines) of short handlers, one per subcommand, each importing only what it
needs; the longer commands already have modules of their own (`*_command.py`).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeError

if TYPE_CHECKING:  # each command imports what only it needs: every start pays for the rest
    from tui.core.engine import DockerGateway
    from tui.core.environment import Environment
    from tui.core.plugin_session import Inspector
    from tui.core.status import EnvironmentStatus
    from tui.core.status_snapshot import StatusReader

Handler = Callable[[EnvdeckSettings, argparse.Namespace], int]


def say(message: str) -> None:
    print(f"envdeck: {message}", file=sys.stderr, flush=True)


def gateway_for(settings: EnvdeckSettings) -> DockerGateway:
    from tui.core.engine import DockerGateway

    return DockerGateway(timeout=settings.engine_timeout)


def run_dashboard(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    from tui.core.monitor import DockerEnvironmentMonitor

    monitor = DockerEnvironmentMonitor(settings)  # its docker-py gateway after the first frame
    # While Textual imports (a second or more), the engine is reached, `compose config`
    # runs in its own process and the containers are listed: the first frame has them.
    monitor.prefetch()
    from tui.ui.app import make_app  # Textual only when the UI opens

    app = make_app(settings, monitor=monitor)
    return app.run_for_exit_code()


def run_demo(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    from tui.core.sample_environment import sample_settings
    from tui.core.status import EXIT_UNKNOWN

    settings = sample_settings(settings)
    gateway = gateway_for(settings)
    if not gateway.info().connected:
        say("no Docker engine answers: start one (`make engine` in a checkout), then retry")
        return EXIT_UNKNOWN
    say("bringing up the sample environment")
    up_and_prepare(settings, gateway, ())
    return run_dashboard(settings, args)


def run_up(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    gateway = gateway_for(settings)
    started = time.monotonic()
    environment = up_and_prepare(settings, gateway, args.services)
    mode = " (offline images)" if environment.offline else ""
    say(f"{environment.project.name} is up{mode} in {time.monotonic() - started:.1f} s")
    return 0


def up_and_prepare(
    settings: EnvdeckSettings, gateway: DockerGateway, services: Sequence[str]
) -> Environment:
    """`compose up --wait`; then seed what was created from nothing, and take the
    baseline the first time the environment is healthy. A baseline that cannot be
    taken is said once, as advice with the fix, not as a failure of `up`."""
    from tui.core.environment import bring_up, resolve_environment
    from tui.presentation.reset_text import step_line
    from tui.reset.baseline_notice import BaselineNotices, baseline_advice
    from tui.reset.hard import BASELINE_STEP, prepare_new_environment
    from tui.reset.state_folder import default_state_dir
    from tui.reset.steps import StepEvent, StepState
    from tui.reset.store import StateStore

    def report(event: StepEvent) -> None:
        baseline_failed = event.title == BASELINE_STEP and event.state is StepState.FAILED
        if event.state is not StepState.RUNNING and not baseline_failed:
            say(step_line(event))

    project = resolve_environment(settings, gateway).project.name
    fresh = not gateway.project_containers(project)
    environment = bring_up(settings, gateway, services, report=say)
    if services:
        return environment  # part of the project: its baseline is not known yet
    outcome = prepare_new_environment(settings, environment, gateway, fresh=fresh, progress=report)
    for step in outcome.failed:
        if step.title != BASELINE_STEP:
            say(f"up, but {step.title} failed (above)")
            continue
        advice = baseline_advice(step.detail)
        say(advice)
        # The dashboard need not say it again.
        store = StateStore(default_state_dir(settings, environment), project)
        BaselineNotices(store).remember(advice)
    return environment


def run_down(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    from tui.cli.down_command import run_down as down

    return down(settings, args)


def run_status(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    # A command that answers once: the collector's passes over everything the imports
    # made would free nothing it needs (~6 ms of CPU of a ~0.25 s `status`, measured).
    gc.disable()
    from tui.core.status_snapshot import StatusReader

    reader = StatusReader(settings)
    try:
        return _report_status(reader, args)
    finally:
        reader.close()


def _report_status(reader: StatusReader, args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.timeout
    status = reader.snapshot()
    gc.freeze()  # --wait may poll for minutes: collect again, but not the imports
    gc.enable()
    while args.wait and status.exit_code != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        status = reader.snapshot()
    if args.stats and status.services:
        from tui.core.status import with_resource_usage

        # Only on request: Docker answers a stats request when its collector next runs.
        services = with_resource_usage(reader.gateway(), status.services)
        status = dataclasses.replace(status, services=services)
    if status.problem is not None:
        say(status.problem)
        if args.json:
            print(json.dumps(status.to_json(), indent=2))
        return status.exit_code
    reasons = _missing_reasons(reader, status) | _unstarted_reasons(reader, status)
    reasons |= {
        service.name: reader.unhealthy[service.name]
        for service in status.services
        if service.health == "unhealthy" and service.name in reader.unhealthy
    }
    if args.json:
        document = status.to_json()
        for service in document["services"]:
            if service["name"] in reasons:
                service["reason"] = reasons[service["name"]]
        print(json.dumps(document, indent=2))
    else:
        print(format_status(status, resources=args.stats))
        for name, reason in reasons.items():
            print(f"{name}: {reason}")
    if status.foreign is not None:
        # Up and healthy, but not from this checkout: a gate here must not pass on it.
        say(f"not this checkout's environment: {status.foreign}")
    return status.exit_code


def _missing_reasons(reader: StatusReader, status: EnvironmentStatus) -> dict[str, str]:
    """Why each service with no container has none (its image, asked of the registry)."""
    names = [service.name for service in status.services if service.state == "missing"]
    if not names or not status.engine.connected:
        return {}
    from tui.core.engine import EngineUnavailable
    from tui.core.images import why_missing

    environment = reader.environment(engine_connected=True)
    try:
        return why_missing(
            reader.settings,
            environment.project,
            reader.gateway(),
            names,
            offline=environment.offline,
        )
    except EngineUnavailable:
        return {}


def _unstarted_reasons(reader: StatusReader, status: EnvironmentStatus) -> dict[str, str]:
    """Why a container created but never started is not: most often compose could not
    publish a port another holds. Asked only when there is such a container."""
    names = [service.name for service in status.services if service.state == "created"]
    if not names or not status.engine.connected:
        return {}
    from tui.core.port_holders import held_ports

    conflicts = held_ports(
        reader.environment(engine_connected=True).project, reader.gateway(), names
    )
    reasons: dict[str, str] = {}
    for conflict in conflicts:
        reasons.setdefault(
            conflict.service, f"created, not started: {conflict.what}; fix: {conflict.fix}"
        )
    return reasons


def format_status(status: EnvironmentStatus, *, resources: bool = True) -> str:
    from tui.presentation.status_text import status_table

    return status_table(status, resources=resources)


def run_logs(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    import re
    import threading

    from tui.core.log_buffer import LogLine
    from tui.core.logs import FollowOptions
    from tui.core.monitor import DockerEnvironmentMonitor
    from tui.core.status import EXIT_UNKNOWN
    from tui.presentation.log_format import format_line, window_or_time

    gateway = gateway_for(settings)
    monitor = DockerEnvironmentMonitor(settings, gateway)
    status = monitor.snapshot()
    if status.exit_code == EXIT_UNKNOWN and not status.services:
        say(status.problem or status.engine.error or "cannot reach the engine")
        return EXIT_UNKNOWN
    known = sorted({service.name for service in status.services})
    unknown = [name for name in args.services if name not in known]
    if unknown:
        say(f"no service {', '.join(unknown)} in {status.project} ({', '.join(known)})")
        return 2
    services = args.services or known
    try:
        pattern = re.compile(args.grep) if args.grep else None
        options = FollowOptions(
            tail=args.tail,
            since=window_or_time(args.since) if args.since else None,
            until=window_or_time(args.until) if args.until else None,
            follow=args.follow,
        )
    except (re.error, ValueError) as error:
        say(f"bad option: {error}")
        return 2
    width = max(len(name) for name in services) if len(services) > 1 else None
    lock = threading.Lock()

    def emit(lines: Sequence[LogLine]) -> None:
        with lock:  # followers call from their own threads
            for line in lines:
                if pattern is None or line.stream == "envdeck" or pattern.search(line.text):
                    print(format_line(line, timestamps=args.timestamps, prefix_width=width))
            sys.stdout.flush()

    follower = monitor.follow_logs(services, emit, options)
    follower.start()
    try:
        if args.follow:
            threading.Event().wait()  # until ctrl+c
        elif hasattr(follower, "wait"):
            follower.wait(timeout=300)
    finally:
        follower.stop(timeout=2.0)
    return 0


def run_inspect(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    from tui.core.monitor import DockerEnvironmentMonitor
    from tui.core.plugin_registry import PluginLoadError, PluginRegistry
    from tui.core.plugin_session import NoInspector, inspector_for, result_to_json
    from tui.plugins.api import InspectorError
    from tui.presentation.sections_text import sections_text

    gateway = gateway_for(settings)
    monitor = DockerEnvironmentMonitor(settings, gateway)
    status = monitor.snapshot()
    live = {service.name: service for service in status.services}
    try:
        inspector = inspector_for(
            settings,
            monitor.environment(status.engine.connected),
            PluginRegistry(),
            args.service,
            live.get(args.service),
            gateway=gateway,
        )
        if inspector.target.route:  # a remote engine: how its ports are reached
            say(f"{args.service}: {inspector.target.route}")
        if args.action:
            return _run_plugin_action(inspector, args)
        views = {view.id for view in inspector.views()}
        if args.view not in views:
            say(f"{inspector.plugin.name} has no view {args.view!r}: {', '.join(sorted(views))}")
            return 2
        result = inspector.show(args.view, args.query, cursor=args.cursor, limit=args.limit)
    except (NoInspector, PluginLoadError) as error:
        say(str(error))
        return 2
    except InspectorError as error:
        if args.json:
            print(
                json.dumps(
                    {
                        "service": args.service,
                        "plugin": inspector.plugin.name,
                        "error": {"problem": error.problem.value, "message": str(error)},
                    }
                )
            )
        say(f"{args.service}: {error}")
        return 1
    if args.json:
        document = {
            "service": args.service,
            "plugin": inspector.plugin.name,
            "view": args.view,
            **result_to_json(result),
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(sections_text(result.sections))
    return 0


def _run_plugin_action(inspector: Inspector, args: argparse.Namespace) -> int:
    from tui.plugins.api import InspectorError

    actions = {action.id: action for action in inspector.plugin.actions(inspector.target)}
    action = actions.get(args.action)
    if action is None:
        say(
            f"{inspector.plugin.name} has no action {args.action!r}: {', '.join(actions) or 'none'}"
        )
        return 2
    params = dict(param.partition("=")[::2] for param in args.param)
    missing = [name for name in action.params if not params.get(name)]
    if missing:
        say(f"{action.id} needs --param {'=… --param '.join(missing)}=…")
        return 2
    if action.destructive and inspector.guard is not None:
        from tui.core.guard import GuardRefused

        try:  # refused before the user is asked, not after they said yes
            inspector.guard.check_plugin_action(args.service)
        except GuardRefused as error:
            say(f"{action.title} was not run: {error}")
            return 1
    if action.destructive and not args.yes:
        if not sys.stdin.isatty():
            say(f"{action.title} is destructive: add --yes to run it without a terminal")
            return 2
        answer = input(f"{action.title} on {args.service} ({params or 'no parameters'})? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            say("cancelled")
            return 1
    try:
        print(inspector.run_action(action.id, params))
    except InspectorError as error:
        say(f"{args.service}: {error}")
        return 1
    return 0


def run_test(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    from tui.cli.test_command import run_test_command
    from tui.cli.test_report import HeadlessOptions

    bundle = Path(args.bundle) if getattr(args, "bundle", None) else None
    options = HeadlessOptions(
        json=args.json,
        service_logs=args.service_logs,
        wait=args.wait,
        bundle=bundle,
        diff=getattr(args, "diff", None),
        keep=getattr(args, "keep", False),
    )
    return run_test_command(settings, args.watch, args.pytest_args, options)


def run_reset(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    from tui.cli.reset_command import run_reset as reset

    return reset(settings, args)


def run_snapshot(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    from tui.cli.reset_command import run_snapshot as snapshot

    return snapshot(settings, args)


def run_bundle(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    from tui.cli.bundle_command import run_bundle as bundle

    return bundle(settings, args)


def run_doctor(settings: EnvdeckSettings, args: argparse.Namespace) -> int:
    from tui.core.doctor import Verdict, run_checks

    keys = None
    if settings.keymap:  # the UI's keys (Textual) are imported only to check a keymap
        from tui.ui.keymap import key_catalogue

        keys = key_catalogue()
    checks = run_checks(settings, gateway_for(settings), keys)
    marks = {Verdict.OK: "ok  ", Verdict.WARN: "warn", Verdict.FAIL: "FAIL"}
    for check in checks:
        print(f"[{marks[check.verdict]}] {check.name}: {check.detail}")
        if check.fix and check.verdict is not Verdict.OK:
            print(f"       fix: {check.fix}")
    return 1 if any(check.verdict is Verdict.FAIL for check in checks) else 0


HANDLERS: dict[str, Handler] = {
    "dashboard": run_dashboard,
    "demo": run_demo,
    "up": run_up,
    "down": run_down,
    "status": run_status,
    "doctor": run_doctor,
    "inspect": run_inspect,
    "logs": run_logs,
    "test": run_test,
    "reset": run_reset,
    "snapshot": run_snapshot,
    "bundle": run_bundle,
}

__all__ = ["HANDLERS", "ComposeError"]
