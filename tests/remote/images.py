"""The sample stack's images on the second engine: no registry answers here, so they come
from the first engine (`docker save | docker load`), built there first if need be."""

from __future__ import annotations

import shutil
import subprocess
import time

from tests.remote import layout
from tests.remote.processes import HarnessError, run, say

BUILD_BASE = layout.REPO / "compose" / "images" / "build-base.sh"
TRANSFER_SECONDS = 600


def image_id(name: str, host: str | None = None) -> str | None:
    """The image's ID on the first engine (the one `docker` answers by default) or `host`."""
    where = [] if host is None else ["-H", host]
    found = run([_docker(), *where, "image", "inspect", "--format", "{{.Id}}", name], check=False)
    return found.stdout.strip() if found.returncode == 0 else None


def ensure_sample_images() -> None:
    """Load each sample image the second engine lacks (or has older than the first's)."""
    if any(image_id(name) is None for name in layout.SAMPLE_IMAGES):
        say("building the sample images on the first engine (compose/images/build-base.sh)")
        run(["bash", BUILD_BASE], timeout=TRANSFER_SECONDS)
    missing = [
        name for name in layout.SAMPLE_IMAGES if image_id(name, layout.UNIX_URL) != image_id(name)
    ]
    if missing:
        transfer(missing)


def transfer(names: list[str]) -> None:
    """`docker save NAMES | docker -H second load`, timed."""
    began = time.monotonic()
    docker = _docker()
    save = subprocess.Popen(
        [docker, "save", *names], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    load = subprocess.run(
        [docker, "-H", layout.UNIX_URL, "load", "--quiet"],
        stdin=save.stdout,
        capture_output=True,
        text=True,
        timeout=TRANSFER_SECONDS,
        check=False,
    )
    if save.stdout is not None:
        save.stdout.close()
    try:
        save_error = save.communicate(timeout=30)[1].decode(errors="replace").strip()
    except subprocess.TimeoutExpired:
        save.kill()
        save_error = "did not finish"
    if save.returncode != 0 or load.returncode != 0:
        raise HarnessError(
            f"copying {', '.join(names)} to the second engine failed: "
            f"save: {save_error or 'ok'}; load: {load.stderr.strip() or 'ok'}"
        )
    say(f"loaded {', '.join(names)} into the second engine in {time.monotonic() - began:.1f} s")


def _docker() -> str:
    docker = shutil.which("docker")
    if docker is None:
        raise HarnessError("the docker CLI is not on PATH (`make engine` installs the engine)")
    return docker
