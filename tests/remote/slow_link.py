"""A slow, lossy link to the second engine (this kernel has no netem to do it).

Two tun devices, one here and one in the engine's namespace, with this process between
them holding every packet for half the added round trip and dropping some if asked. While
it runs, a /32 route each way sends the two addresses' traffic through it (more specific
than the veth's /30, so open connections move over too). When it exits, for whatever
reason, its tun devices vanish with their routes and the veth carries the traffic again.

    python -m tests.remote.slow_link --delay-ms 300 [--loss-percent 5] --pidfile FILE
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import fcntl
import os
import random
import select
import signal
import struct
import subprocess
import time
from pathlib import Path
from types import FrameType

from tests.remote import layout

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
MTU = "1500"  # the veth's: a connection that moves between the paths keeps its segment size
READS_PER_WAKE = 256


def open_tun(name: str) -> int:
    """A tun device of that name in this thread's network namespace, gone when closed."""
    device = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(device, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return device


def set_network_namespace(namespace: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(namespace, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


def open_link() -> tuple[int, int]:
    """Both ends, routed: (this machine's, the remote's)."""
    host = open_tun(layout.HOST_SLOW_LINK)
    with open("/proc/self/ns/net") as own, open(layout.NETNS_PATH) as remote_namespace:
        set_network_namespace(remote_namespace.fileno())
        try:
            remote = open_tun(layout.REMOTE_SLOW_LINK)
        finally:
            set_network_namespace(own.fileno())
    for ip, device, peer, source in (
        (("ip",), layout.HOST_SLOW_LINK, layout.ADDRESS, layout.HOST_ADDRESS),
        (("ip", "-n", layout.NETNS), layout.REMOTE_SLOW_LINK, layout.HOST_ADDRESS, layout.ADDRESS),
    ):
        subprocess.run([*ip, "link", "set", device, "mtu", MTU, "up"], check=True)
        subprocess.run(
            [*ip, "route", "replace", f"{peer}/32", "dev", device, "src", source], check=True
        )
    return host, remote


def forward(host: int, remote: int, delay_ms: int, loss_percent: float) -> None:
    """Hold each packet for half the round-trip delay, in order, each way; drop some."""
    one_way = delay_ms / 2000
    other = {host: remote, remote: host}
    # Packets read from a device, waiting for their time to be written to the other one.
    waiting: dict[int, collections.deque[tuple[float, bytes]]] = {
        host: collections.deque(),
        remote: collections.deque(),
    }
    while True:
        now = time.monotonic()
        for source, queue in waiting.items():
            while queue and queue[0][0] <= now:
                with contextlib.suppress(OSError):  # a packet the kernel refuses is lost
                    os.write(other[source], queue.popleft()[1])
        due = [queue[0][0] for queue in waiting.values() if queue]
        timeout = max(0.0, min(due) - now) if due else None
        readable, _, _ = select.select([host, remote], [], [], timeout)
        arrived = time.monotonic()
        for device in readable:
            for _ in range(READS_PER_WAKE):
                try:
                    packet = os.read(device, 65536)
                except BlockingIOError:
                    break
                if loss_percent and random.random() * 100 < loss_percent:
                    continue
                waiting[device].append((arrived + one_way, packet))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay-ms", type=int, required=True)
    parser.add_argument("--loss-percent", type=float, default=0.0)
    parser.add_argument("--pidfile", type=Path, required=True)
    options = parser.parse_args()

    def exit_on_term(_signal: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, exit_on_term)
    host, remote = open_link()
    options.pidfile.write_text(f"{os.getpid()}\n")
    try:
        forward(host, remote, options.delay_ms, options.loss_percent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            options.pidfile.unlink()


if __name__ == "__main__":
    main()
