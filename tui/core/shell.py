"""The command that opens an interactive shell in a container (the `E` key)."""

from __future__ import annotations

import shutil

# The first shell that exists, so Alpine (ash), Debian (bash) and busybox images all work.
FIRST_SHELL = (
    "for s in bash ash sh; do command -v $s >/dev/null 2>&1 && exec $s; done; "
    'echo "envdeck: no shell in this container" >&2; exit 127'
)


def shell_argv(container: str) -> list[str]:
    docker = shutil.which("docker") or "docker"
    return [docker, "exec", "-it", container, "sh", "-c", FIRST_SHELL]
