"""An image with pytest, for a compose "tests" service, built without any network.

The offline base image has Python but no pytest, and a `docker build` cannot reach PyPI
here (no registry; only the host has PyPI). So the image is the base image plus the files
of pytest and its dependencies as installed in our own venv (pure Python wheels: the same
minor Python as the base image's, 3.11). The files are the ones each distribution's RECORD
lists, its dist-info included, so `importlib.metadata` works there too. The tag names the
versions and the base image, so the build runs once per machine and pytest version.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

from tui.core.engine import DockerGateway

SITE = "/usr/local/lib/python3.11/dist-packages"  # on Debian's sys.path, empty in the base


def distributions(root: str = "pytest") -> list[metadata.Distribution]:
    """`root` and what it requires on a Python like the base image's, no extras."""
    environment = {key: str(value) for key, value in default_environment().items()}
    environment["extra"] = ""
    found: dict[str, metadata.Distribution] = {}
    queue = [root]
    while queue:
        name = queue.pop()
        if name.lower() in found:
            continue
        distribution = metadata.distribution(name)
        found[name.lower()] = distribution
        for text in distribution.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                queue.append(requirement.name)
    return sorted(found.values(), key=lambda d: d.metadata["Name"].lower())


def pytest_image(gateway: DockerGateway, base: str) -> str:
    """The tag of `base` with pytest added, built when it is not there yet."""
    if sys.version_info[:2] != (3, 11):
        raise RuntimeError("the files are copied from a 3.11 venv into Debian's 3.11")
    included = distributions()
    base_id = gateway.client.images.get(base).id
    versions = " ".join(f"{d.metadata['Name']}=={d.version}" for d in included)
    tag = (
        f"envdeck-pytest-runner:{hashlib.sha256(f'{base_id} {versions}'.encode()).hexdigest()[:12]}"
    )
    if gateway.image_exists(tag):
        return tag
    with tempfile.TemporaryDirectory(prefix="envdeck-pytest-image-") as folder:
        context = Path(folder)
        for distribution in included:
            for file in distribution.files or ():
                source = Path(str(distribution.locate_file(file)))
                if file.suffix == ".pyc" or not source.is_file():
                    continue
                target = context / "site" / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        (context / "Dockerfile").write_text(
            f"FROM {base}\nCOPY site {SITE}\nENV PYTHONDONTWRITEBYTECODE=1\n"
        )
        gateway.client.images.build(path=str(context), tag=tag, rm=True, pull=False)
    return tag
