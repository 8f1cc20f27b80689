#!/usr/bin/env bash
# A second Docker engine for the remote-engine tests, by hand (README: "Remote engines:
# the test harness"; the code is tests/remote/). Needs root, like the tests that use it.
#
#   scripts/remote-engine.sh up                  start it (or keep the one running)
#   eval "$(scripts/remote-engine.sh env ssh)"   use it: ssh (default), tls, tcp or unix
#   scripts/remote-engine.sh status              what runs, and how to reach it
#   scripts/remote-engine.sh cut | restore       drop the link / bring it back
#   scripts/remote-engine.sh slow MS [LOSS%]     round trips MS longer, LOSS% packets lost
#   scripts/remote-engine.sh files shared|hidden let it see this checkout and /tmp, or not
#   scripts/remote-engine.sh down [--purge]      stop it all (--purge: its image cache too)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .venv/bin/python ]]; then
    printf 'envdeck: no .venv here: run `make setup` first (the harness runs in it)\n' >&2
    exit 1
fi
exec .venv/bin/python -m tests.remote "$@"
