"""The second engine's network: a namespace joined to this machine by a veth pair.

10.213.0.1 here, 10.213.0.2 there; nothing else is routed, and the namespace
has its own loopback, so a port published on the remote's 127.0.0.1 is not ours.

The link can be cut (every packet between the two dropped, as a dead link does: clients
time out, nothing refuses) and slowed (slow_link.py; this kernel has no netem).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path

from tests.remote import layout
from tests.remote.processes import (
    HarnessError,
    pid_from,
    run,
    start_daemon,
    stop,
    wait_until,
)

# Rules in the namespace's own firewall (the host's is never touched): what arrives from
# this machine is dropped before anything sees it, what leaves for it just before it goes.
# By address, not by interface, so a cut also holds on the slow link's path.
CUT_RULES = (
    ("raw", "PREROUTING", "-s", layout.HOST_ADDRESS),
    ("mangle", "POSTROUTING", "-d", layout.HOST_ADDRESS),
)
NEEDED_TOOLS = ("ip", "nsenter", "unshare", "mount", "umount", "iptables")


def create() -> None:
    """The namespace and the link between it and this machine."""
    run(["ip", "netns", "add", layout.NETNS])
    run(
        [
            *("ip", "link", "add", layout.HOST_LINK, "type", "veth"),
            *("peer", "name", layout.REMOTE_LINK, "netns", layout.NETNS),
        ]
    )
    run(["ip", "addr", "add", f"{layout.HOST_ADDRESS}/{layout.PREFIX}", "dev", layout.HOST_LINK])
    run(["ip", "link", "set", layout.HOST_LINK, "up"])
    remote = ("ip", "-n", layout.NETNS)
    run([*remote, "addr", "add", f"{layout.ADDRESS}/{layout.PREFIX}", "dev", layout.REMOTE_LINK])
    run([*remote, "link", "set", layout.REMOTE_LINK, "up"])
    run([*remote, "link", "set", "lo", "up"])


def delete() -> None:
    """Undo `create`, whatever part of it happened. Processes in the namespace are the
    caller's to stop first."""
    stop_slow_link()
    if Path(f"/sys/class/net/{layout.HOST_LINK}").exists():
        # Both ends at once, now: `ip netns del` leaves the kernel to free them later.
        run(["ip", "link", "del", layout.HOST_LINK])
    if layout.NETNS_PATH.exists():
        run(["ip", "netns", "del", layout.NETNS])


def exists() -> bool:
    return layout.NETNS_PATH.exists()


def cut() -> None:
    """Drop every packet between this machine and the remote, both ways, until `restore`."""
    for table, chain, match, address in CUT_RULES:
        rule = [chain, match, address, "-j", "DROP"]
        if not _rule_present(table, rule):
            run(_firewall(table, "-I", *rule))


def restore() -> None:
    """The link as it was made: not cut, not slow."""
    for table, chain, match, address in CUT_RULES:
        rule = [chain, match, address, "-j", "DROP"]
        while _rule_present(table, rule):
            run(_firewall(table, "-D", *rule))
    stop_slow_link()


def is_cut() -> bool:
    return any(
        _rule_present(table, [chain, match, address, "-j", "DROP"])
        for table, chain, match, address in CUT_RULES
    )


def _firewall(table: str, *args: str) -> list[str]:
    return ["nsenter", f"--net={layout.NETNS_PATH}", "iptables", "-w", "5", "-t", table, *args]


def _rule_present(table: str, rule: list[str]) -> bool:
    return run(_firewall(table, "-C", *rule), check=False).returncode == 0


def slow(delay_ms: int, loss_percent: float = 0.0) -> None:
    """Every round trip `delay_ms` longer, and `loss_percent` of the packets lost each way
    (0, 0: the plain link again). Connections already open keep going, on the slow path."""
    if delay_ms < 0 or not 0 <= loss_percent <= 100:
        raise ValueError(f"delay {delay_ms} ms, loss {loss_percent} %: out of range")
    stop_slow_link()
    if delay_ms == 0 and loss_percent == 0:
        return
    log = layout.LOG_DIR / "slow-link.log"
    pid = start_daemon(
        [
            *(sys.executable, "-m", "tests.remote.slow_link"),
            *("--delay-ms", str(delay_ms), "--loss-percent", str(loss_percent)),
            *("--pidfile", str(layout.SLOW_LINK_PIDFILE)),
        ],
        log=log,
        cwd=layout.REPO,
    )
    # It writes its pid file once both routes go through it.
    wait_until(
        lambda: pid_from(layout.SLOW_LINK_PIDFILE) == pid,
        timeout=10,
        what="the slow link",
        log=log,
        process=pid,
    )


def stop_slow_link() -> None:
    pid = pid_from(layout.SLOW_LINK_PIDFILE)
    if pid is not None:
        stop(pid, "the slow link")
    with contextlib.suppress(FileNotFoundError):
        layout.SLOW_LINK_PIDFILE.unlink()


def require_tools() -> None:
    missing = [tool for tool in NEEDED_TOOLS if shutil.which(tool) is None]
    if missing:
        raise HarnessError(f"the second engine needs {', '.join(missing)} (iproute2, util-linux)")
