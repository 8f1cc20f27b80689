"""The log stream's transport: reading what has arrived of the chunked body at once (below
urllib3, through its private `HTTPResponse._fp`) against urllib3's public API, which hands
over one HTTP chunk, i.e. one log message, per call.

    .venv/bin/python -m bench.log_transport [--rates 10000 30000 50000] [--seconds 8]
        [--rounds 2] [--out FILE]

The follower alone, no UI (`scenarios.follow_core`: the dashboard's follower and options),
on the benchmark's flooder, for each rate and transport; rounds alternate the transports
so a load that comes and goes falls on both. The public variant reads with urllib3's
`HTTPResponse.stream()` in a thread of its own and hands the follower everything pulled
since its last read: the follower reads whatever has arrived every few milliseconds, so a
message a read would cap it near 100 messages a second. See bench/README.md, "The log
transport". Results go to bench/results/log-transport-<date>.json by default.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import urllib3.exceptions

import tui.core.logs.source
from bench import scenarios
from bench.dashboard import machine
from bench.stack import BenchStack
from tui.core.logs.transport import READ_BYTES, HttpLogStream

PULL_AHEAD = 4 * READ_BYTES  # the public variant's reader waits beyond this, as a socket would


class PublicChunkStream:
    """The same stream through urllib3's public API only: a thread pulls chunk after chunk
    (`stream()`), `read` takes all pulled so far. `interrupt` shuts the socket down
    (`shutdown()`); only the reading thread closes."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self._pulled: list[bytes] = []
        self._size = 0
        self._ended = False
        self._reader_waits = self._puller_waits = False  # notify only who waits: per chunk
        self._changed = threading.Condition()
        self._puller = threading.Thread(target=self._pull, name="envdeck-logs-pull", daemon=True)
        self._puller.start()

    def _pull(self) -> None:
        try:
            for chunk in self.response.raw.stream(READ_BYTES, decode_content=False):
                with self._changed:
                    while self._size >= PULL_AHEAD and not self._ended:
                        self._puller_waits = True
                        self._changed.wait()
                        self._puller_waits = False
                    self._pulled.append(chunk)
                    self._size += len(chunk)
                    if self._reader_waits:
                        self._changed.notify_all()
        except (OSError, ValueError, urllib3.exceptions.HTTPError):
            pass
        finally:
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    def read(self) -> bytes:
        with self._changed:
            while not self._pulled and not self._ended:
                self._reader_waits = True
                self._changed.wait()
                self._reader_waits = False
            pulled, self._pulled, self._size = self._pulled, [], 0
            if self._puller_waits:
                self._changed.notify_all()
        return b"".join(pulled)

    def interrupt(self) -> None:
        with contextlib.suppress(RuntimeError, ValueError, OSError):
            self.response.raw.shutdown()

    def close(self) -> None:
        self.interrupt()
        with self._changed:
            self._ended = True
            self._changed.notify_all()
        self._puller.join(timeout=5)
        self.response.close()


TRANSPORTS: dict[str, type[Any]] = {"bulk": HttpLogStream, "public": PublicChunkStream}


@contextlib.contextmanager
def transport(name: str) -> Iterator[None]:
    """DockerLogSource.open_logs makes its streams of the class named `name`."""
    namespace = vars(tui.core.logs.source)
    original = namespace["HttpLogStream"]
    namespace["HttpLogStream"] = TRANSPORTS[name]
    try:
        yield
    finally:
        namespace["HttpLogStream"] = original


async def measure(
    stack: BenchStack, rates: Sequence[int], seconds: float, rounds: int
) -> list[dict[str, Any]]:
    results = []
    for round_ in range(rounds):
        order = list(TRANSPORTS) if round_ % 2 == 0 else list(reversed(TRANSPORTS))
        for rate in rates:
            for name in order:
                with transport(name):
                    result = await scenarios.follow_core(stack, rate, seconds)
                results.append({"round": round_, "transport": name, **result})
                cpu = result["cpu"]
                print(
                    f"bench: round {round_} {name:6} {rate:>6,}/s: ingested "
                    f"{result['ingested_lines_per_s']:,}/s, CPU {cpu['cpu_percent']}%, "
                    f"lag per batch {result['lag_per_batch']}, load {cpu['load_average_1m']}",
                    file=sys.stderr,
                    flush=True,
                )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.log_transport", description=__doc__)
    parser.add_argument("--rates", type=int, nargs="+", default=[10_000, 30_000, 50_000])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    began = time.monotonic()
    host = machine()
    stack = BenchStack(0)
    try:
        stack.up()
        results = asyncio.run(measure(stack, args.rates, args.seconds, args.rounds))
    finally:
        stack.down()
    out = args.out or Path("bench/results") / f"log-transport-{started.date()}.json"
    report = {
        "benchmark": "log_transport",
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.log_transport", *(argv or sys.argv[1:])]),
        "machine": {**host, "load_average_at_end": os.getloadavg()},
        "seconds": round(time.monotonic() - began, 1),
        "results": results,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    for rate in args.rates:
        for name in TRANSPORTS:
            cpus = [
                r["cpu"]["cpu_percent"]
                for r in results
                if r["transport"] == name and r["requested_lines_per_s"] == rate
            ]
            print(f"{rate:>6,}/s {name:6} CPU {' / '.join(f'{c}%' for c in cpus)}")
    print(f"bench: results written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
