"""Seed hooks: the configured steps that put data into a freshly created environment."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from functools import partial

from tui.config.settings import EnvdeckSettings, SeedHook
from tui.core.compose_cli import ComposeError
from tui.core.engine_choice import current_engine
from tui.core.environment import Environment
from tui.core.guard import is_protected
from tui.core.plugin_registry import PluginRegistry, build_target
from tui.core.service_routes import route_service
from tui.plugins.api import SeedablePlugin
from tui.reset.steps import StepFailed, StepRunner

OUTPUT_TAIL = 400  # characters of a failing hook's output kept in its message


def port_variables(environment: Environment) -> dict[str, str]:
    """ENVDECK_<SERVICE>_HOST and ENVDECK_<SERVICE>_PORT_<N>: where a seed command on this
    host reaches each published port (127.0.0.1 for a local engine; the engine's host or
    an ssh tunnel for a remote one: `tui.core.service_routes`)."""
    variables = {}
    engine = current_engine()
    for name, spec in environment.project.services.items():
        bindings = {
            port.container_port: (port.host_ip, port.host_port)
            for port in spec.ports
            if port.host_port
        }
        if not bindings:
            continue
        route = route_service(engine, bindings)
        key = "".join(char if char.isalnum() else "_" for char in name.upper())
        variables[f"ENVDECK_{key}_HOST"] = route.host
        for container_port, port in route.ports.items():
            variables[f"ENVDECK_{key}_PORT_{container_port}"] = str(port)
    return variables


def run_seeds(
    steps: StepRunner,
    settings: EnvdeckSettings,
    environment: Environment,
    registry: PluginRegistry,
) -> bool:
    """Every configured hook in order, one step each; False at the first that fails."""
    for hook in settings.seed:
        if hook.service is not None and is_protected(settings, hook.service):
            steps.skip(hook.title, f"{hook.service} is protected in the config")
            continue
        if not steps.run(hook.title, partial(run_seed, hook, settings, environment, registry)):
            return False
    return True


def run_seed(
    hook: SeedHook,
    settings: EnvdeckSettings,
    environment: Environment,
    registry: PluginRegistry,
) -> str:
    """Run one hook; StepFailed with its output's tail when it fails."""
    if hook.command:
        return _run_command(hook, settings, port_variables(environment))
    if hook.exec:
        return _run_exec(hook, environment)
    return _apply_file(hook, settings, environment, registry)


def _run_command(hook: SeedHook, settings: EnvdeckSettings, variables: Mapping[str, str]) -> str:
    try:
        result = subprocess.run(
            hook.command,
            cwd=settings.config_dir,
            env={**os.environ, **variables},
            capture_output=True,
            text=True,
            errors="replace",
            timeout=hook.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise StepFailed(f"took longer than {hook.timeout:.0f} s") from None
    except OSError as error:
        raise StepFailed(f"cannot run {hook.command[0]}: {error.strerror}") from None
    return _result(result.returncode, result.stdout + result.stderr)


def _run_exec(hook: SeedHook, environment: Environment) -> str:
    assert hook.service is not None  # checked by SeedHook
    try:
        output = environment.compose.run(
            "exec", "-T", hook.service, *hook.exec, timeout=hook.timeout
        )
    except ComposeError as error:
        raise StepFailed(_tail(str(error))) from None
    return _result(0, output)


def _apply_file(
    hook: SeedHook,
    settings: EnvdeckSettings,
    environment: Environment,
    registry: PluginRegistry,
) -> str:
    assert hook.service is not None  # checked by SeedHook
    assert hook.file is not None
    spec = environment.project.services.get(hook.service)
    if spec is None:
        raise StepFailed(f"no service {hook.service!r} in {environment.project.name}")
    if not hook.file.is_file():
        raise StepFailed(f"{hook.file} does not exist")
    options = settings.service(hook.service).plugin_options()
    target = build_target(spec, None, options, timeout=hook.timeout)  # a whole file's time
    plugin = registry.for_target(target)
    if not isinstance(plugin, SeedablePlugin):
        name = plugin.name if plugin is not None else "no plugin"
        raise StepFailed(f"{name} cannot apply seed files to {hook.service}")
    return plugin.apply_seed(target, hook.file)


def _result(code: int, output: str) -> str:
    if code != 0:
        raise StepFailed(f"exit {code}: {_tail(output)}")
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return _tail(lines[-1]) if lines else "done"


def _tail(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= OUTPUT_TAIL else "…" + text[-OUTPUT_TAIL:]
