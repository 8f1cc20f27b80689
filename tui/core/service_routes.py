"""How this machine reaches the ports a service publishes on the engine's machine.

A local engine publishes on our own addresses: 127.0.0.1. A tcp engine publishes on its
host's: connect to that host's address, but a port published on its 127.0.0.1 is its
own, reachable from nowhere else. An ssh engine's ports are reached through ssh tunnels
(`tui.core.ssh_tunnels`), loopback ones included. `how` says which, for the Inspect tab.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tui.core.engine_choice import EngineChoice
from tui.core.ssh_tunnels import TunnelFailed, tunnels_for

LOCALHOST = "127.0.0.1"
_EVERY_ADDRESS = ("", "0.0.0.0", "::")  # noqa: S104 - how Docker writes "all interfaces"


@dataclass(frozen=True)
class ServiceRoute:
    host: str  # where a plugin connects
    ports: dict[int, int]  # container port -> port to connect to on `host`
    how: str = ""  # empty for a local engine


def is_loopback(host_ip: str) -> bool:
    return host_ip.startswith("127.") or host_ip in ("::1", "localhost")


def route_service(
    choice: EngineChoice | None, bindings: Mapping[int, tuple[str, int]]
) -> ServiceRoute:
    """`bindings`: container port -> (host ip, host port) as the engine published it."""
    if choice is None or not choice.remote:
        return ServiceRoute(
            LOCALHOST, {port: published for port, (_, published) in bindings.items()}
        )
    if choice.kind == "tcp":
        return _over_tcp(choice, bindings)
    return _over_ssh(choice, bindings)


def _over_tcp(choice: EngineChoice, bindings: Mapping[int, tuple[str, int]]) -> ServiceRoute:
    reachable = {
        port: published for port, (ip, published) in bindings.items() if not is_loopback(ip)
    }
    how = f"direct to {choice.address}, the tcp engine's host"
    hidden = sorted(published for ip, published in bindings.values() if is_loopback(ip))
    if hidden:
        how += (
            f"; port {', '.join(map(str, hidden))} is published on that host's 127.0.0.1 "
            "only, which no other machine reaches: use the engine over ssh "
            "(DOCKER_HOST=ssh://…, tunnels) or publish it on another address"
        )
    return ServiceRoute(choice.address, reachable, how)


def _over_ssh(choice: EngineChoice, bindings: Mapping[int, tuple[str, int]]) -> ServiceRoute:
    tunnels = tunnels_for(choice.host)
    ports: dict[int, int] = {}
    shown: list[str] = []
    failed: list[str] = []
    for port, (ip, published) in sorted(bindings.items()):
        remote_host = LOCALHOST if ip in _EVERY_ADDRESS or is_loopback(ip) else ip
        try:
            local = tunnels.local_port(remote_host, published)
        except TunnelFailed as error:
            failed.append(str(error))
            continue
        ports[port] = local
        shown.append(f"127.0.0.1:{local} → {remote_host}:{published}")
    how = f"ssh tunnel to {choice.address} ({', '.join(shown) or 'no port'})"
    if failed:
        how += "; " + "; ".join(failed)
    return ServiceRoute(LOCALHOST, ports, how)
