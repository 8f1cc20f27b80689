#!/usr/bin/env bash
# Build the offline base image from Debian's archive when no registry answers.
# One image serves every sample service (Redis, PostgreSQL 15, the mock API) with
# different commands; the Qdrant stand-in's image adds Qdrant's engine to it
# (build-qdrant-standin.sh, run last). Built only when missing: a warm machine skips both.
#
# usage: build-base.sh [IMAGE]   (default envdeck-base:bookworm)
set -euo pipefail
IMAGE="${1:-envdeck-base:bookworm}"
PACKAGES="redis-server,postgresql-15,curl,python3,ca-certificates"
MIRROR="${ENVDECK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HERE="$(cd "$(dirname "$0")" && pwd)"

say() { printf 'envdeck: %s\n' "$*" >&2; }

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    exec bash "$HERE/build-qdrant-standin.sh" "$IMAGE"
fi
if [[ "$(id -u)" != 0 ]]; then
    say "image $IMAGE is missing and building it needs root (debootstrap); run: sudo $0 $IMAGE"
    exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap to build $IMAGE"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
        || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
fi

ROOTFS="$(mktemp -d /var/tmp/envdeck-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT
say "building $IMAGE from Debian bookworm (debootstrap, about a minute; once per machine)"
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 \
    || { tail -20 "$ROOTFS.log" >&2; rm -f "$ROOTFS.log"; exit 1; }
rm -f "$ROOTFS.log"
# Trim what a container never needs; keeps the import small.
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/*
tar -C "$ROOTFS" -c . | docker import \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$IMAGE" >/dev/null
say "built $IMAGE"
exec bash "$HERE/build-qdrant-standin.sh" "$IMAGE"
