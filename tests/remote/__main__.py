"""The second engine by hand (scripts/remote-engine.sh runs this):

python -m tests.remote up [--shared-files]   start it (or keep the one running)
python -m tests.remote env [ROUTE]           `export` lines for ssh (default), tls, tcp, unix
python -m tests.remote status                what runs, and how to reach it
python -m tests.remote cut | restore         drop the link / bring it back (and un-slow it)
python -m tests.remote slow MS [LOSS%]       round trips MS longer, LOSS% packets lost
python -m tests.remote down [--purge]        stop it all (--purge: the image cache too)
"""

from __future__ import annotations

import argparse
import shlex
import sys

from tests.remote import engine, network, sharing
from tests.remote.processes import HarnessError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/remote-engine.sh",
        description="A second Docker engine for envdeck's remote-engine tests.",
        epilog=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start it, or keep the one running")
    env = commands.add_parser("env", help="export lines for a route")
    env.add_argument("route", nargs="?", default="ssh", choices=engine.ROUTES)
    commands.add_parser("status", help="what runs and how to reach it")
    commands.add_parser("cut", help="drop every packet between here and there")
    commands.add_parser("restore", help="the plain link again")
    slow = commands.add_parser("slow", help="a slower (and lossy) link")
    slow.add_argument("ms", type=int)
    slow.add_argument("loss_percent", type=float, nargs="?", default=0.0)
    files = commands.add_parser("files", help="whether it sees this checkout and /tmp")
    files.add_argument("visibility", choices=("shared", "hidden"))
    down = commands.add_parser("down", help="stop it all")
    down.add_argument("--purge", action="store_true", help="delete the image cache too")
    options = parser.parse_args(argv)
    try:
        return run(options)
    except HarnessError as error:
        print(f"envdeck-remote: {error}", file=sys.stderr)
        return 1


def run(options: argparse.Namespace) -> int:
    if options.command == "up":
        with sharing.setup_lock():
            engine.start(owner="hand")
        print('use it: eval "$(scripts/remote-engine.sh env ssh)"  (or tls, tcp, unix)')
        return 0
    if options.command == "down":
        with sharing.setup_lock():
            engine.stop(purge=options.purge)
        return 0
    running = engine.current()
    if running is None:
        print("envdeck-remote: not running (start it with `up`)", file=sys.stderr)
        return 1
    if options.command == "env":
        for name, value in running.env_for(options.route).items():
            print(f"export {name}={shlex.quote(value)}")
    elif options.command == "status":
        print(
            f"engine {running.engine_id} at {running.address}, started by "
            f"{engine.started_by()}, files shared: {running.files_shared}"
        )
        for route in engine.ROUTES:
            print(f"  {route:5} {running.url(route)}")
        print(f"  certs {running.cert_dir}\n  ssh   PATH={running.ssh_path_dir}:$PATH")
        print(f"  link  {'cut' if network.is_cut() else 'up'}")
    elif options.command == "cut":
        running.cut()
    elif options.command == "restore":
        running.restore()
    elif options.command == "slow":
        running.slow(options.ms, options.loss_percent)
    elif options.command == "files":
        running.share_files() if options.visibility == "shared" else running.hide_files()
    return 0


if __name__ == "__main__":
    sys.exit(main())
