"""Where each service's image would come from if its container were created now.

A hard reset or `down -v` is only safe when compose can create every container again, and
`doctor`, `status` and `up` owe the user the same answer before compose prints raw pull
errors. An image is fine when it is here, when compose builds it, or when the configured
offline setup makes it; otherwise the registry is asked (Docker's distribution endpoint: a
few milliseconds, and no layers are downloaded) and its answer becomes the reason and fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from tui.config.settings import EnvdeckSettings
from tui.core.compose_model import ComposeProject
from tui.core.engine import (
    ENGINE_GONE,
    DockerGateway,
    EngineUnavailable,
    describe_engine_error,
    docker,
)


class ImageSource(Enum):
    PRESENT = "present"  # in the engine already
    BUILD = "build"  # compose builds it from the service's build context
    OFFLINE = "offline"  # the configured offline setup builds it
    PULL = "pull"  # not here; the registry has it
    MISSING = "missing"  # none of the above: a container of it cannot be created


@dataclass(frozen=True)
class ImageAvailability:
    service: str
    image: str
    source: ImageSource
    detail: str  # said as is: "present", "the registry has it", why it cannot be had
    fix: str | None = None

    @property
    def can_create(self) -> bool:
        return self.source is not ImageSource.MISSING

    def line(self) -> str:
        text = f"{self.service}: {self.image}: {self.detail}"
        return text + (f" (fix: {self.fix})" if self.fix and not self.can_create else "")


def image_of(project: ComposeProject, service: str) -> str:
    """The image compose runs for `service` (a built one is named project-service)."""
    spec = project.services[service]
    return spec.image or f"{project.name}-{service}"


def image_availability(
    settings: EnvdeckSettings,
    project: ComposeProject,
    gateway: DockerGateway,
    services: Iterable[str] | None = None,
    *,
    offline: bool = False,
    ask_registry: bool = True,
) -> list[ImageAvailability]:
    """One answer per service (every service of the project when `services` is None);
    `offline` when the project runs from the offline override files. EngineUnavailable
    when the engine does not answer."""
    names = list(project.services) if services is None else list(services)
    registry: dict[str, tuple[bool, str, str | None]] = {}
    found = []
    for name in names:
        spec = project.services.get(name)
        if spec is None:
            continue
        image = image_of(project, name)
        policy = spec.pull_policy
        present = gateway.image_exists(image)
        if policy == "build" and spec.build_context is not None:
            # compose builds it at every up, present or not: the build must be able to run.
            found.append(
                _buildable(name, image, spec.build_context, spec.build_dockerfile, gateway)
            )
        elif policy == "never" and not present:
            found.append(
                ImageAvailability(
                    name,
                    image,
                    ImageSource.MISSING,
                    "not here, and pull_policy: never forbids pulling it",
                    f"build or `docker load` {image} here",
                )
            )
        elif policy == "always" and ask_registry:
            # compose pulls it at every up even when it is here: the registry must answer.
            if image not in registry:
                registry[image] = _ask_registry(gateway, image)
            pullable, detail, fix = registry[image]
            why = "pulled at every up (pull_policy: always)"
            if pullable:
                found.append(ImageAvailability(name, image, ImageSource.PULL, why))
            else:
                reason = detail.split(", and ", 1)[-1]  # "no registry answers (…)"
                found.append(
                    ImageAvailability(name, image, ImageSource.MISSING, f"{why}, and {reason}", fix)
                )
        elif present:
            found.append(ImageAvailability(name, image, ImageSource.PRESENT, "present"))
        elif spec.build_context is not None:
            found.append(
                _buildable(name, image, spec.build_context, spec.build_dockerfile, gateway)
            )
        elif offline and settings.offline_setup:
            setup = " ".join(settings.offline_setup)
            found.append(
                ImageAvailability(
                    name,
                    image,
                    ImageSource.OFFLINE,
                    f"not here; the offline setup builds it ({setup})",
                )
            )
        elif not ask_registry:
            found.append(ImageAvailability(name, image, ImageSource.PULL, "not here; to be pulled"))
        else:
            if image not in registry:
                registry[image] = _ask_registry(gateway, image)
            pullable, detail, fix = registry[image]
            source = ImageSource.PULL if pullable else ImageSource.MISSING
            found.append(ImageAvailability(name, image, source, detail, fix))
    choice = gateway.choice
    if choice is not None and choice.remote:
        return [_on_the_engine(item, choice.host) for item in found]
    return found


def _on_the_engine(item: ImageAvailability, host: str) -> ImageAvailability:
    """ "Here" is the engine's machine, not this one: say which (a `docker load` or build
    must go to that engine)."""

    def there(text: str) -> str:
        return _HERE.sub("on that engine", _NOT_HERE.sub(f"not on the engine at {host}", text))

    return replace(
        item, detail=there(item.detail), fix=None if item.fix is None else there(item.fix)
    )


_NOT_HERE = re.compile(r"\bnot here\b")
_HERE = re.compile(r"\bhere\b")


def missing(availability: Sequence[ImageAvailability]) -> list[ImageAvailability]:
    return [item for item in availability if not item.can_create]


def _buildable(
    service: str, image: str, context: str, dockerfile: str, gateway: DockerGateway
) -> ImageAvailability:
    """Buildable when its context and Dockerfile are here and every image its FROM lines
    name is here or pullable (a git or URL context is taken on trust)."""
    if "://" in context or context.startswith("git@"):
        return ImageAvailability(service, image, ImageSource.BUILD, f"built from {context}")
    recipe = Path(context) / dockerfile
    problem = None
    if not Path(context).is_dir():
        problem = f"its build context {context} does not exist"
    elif not recipe.is_file():
        problem = f"its Dockerfile {recipe} does not exist"
    else:
        for base in base_images(recipe.read_text(errors="replace")):
            if gateway.image_exists(base):
                continue
            pullable, detail, _ = _ask_registry(gateway, base)
            if not pullable:
                problem = f"the image its Dockerfile starts FROM, {base}, is {detail}"
                break
    if problem is None:
        return ImageAvailability(service, image, ImageSource.BUILD, f"built from {recipe}")
    return ImageAvailability(
        service,
        image,
        ImageSource.MISSING,
        f"not here, and compose cannot build it: {problem}",
        "restore what the build needs, or build the image elsewhere and `docker load` it",
    )


_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE | re.MULTILINE)


def base_images(dockerfile: str) -> list[str]:
    """The images a Dockerfile's FROM lines pull in: not its own earlier stages, not
    `scratch`, not a reference built from ARGs (which only the build can resolve)."""
    stages: set[str] = set()
    found = []
    for match in _FROM.finditer(dockerfile):
        reference, stage = match.group(1), match.group(2)
        if reference.lower() not in stages and reference != "scratch" and "$" not in reference:
            found.append(reference)
        if stage:
            stages.add(stage.lower())
    return found


def _ask_registry(gateway: DockerGateway, image: str) -> tuple[bool, str, str | None]:
    """(pullable, what was found, how to fix it)."""
    try:
        gateway.client.api.inspect_distribution(image)  # type: ignore[no-untyped-call]
    except docker.errors.APIError as error:
        return (False, *_registry_refusal(image, error))
    except ENGINE_GONE as error:
        raise EngineUnavailable(describe_engine_error(error)) from None
    return True, "not here; the registry has it (compose pulls it)", None


_NO_REGISTRY = re.compile(
    r"no such host|dial tcp|i/o timeout|connection refused|network is unreachable|"
    r"TLS handshake|server misbehaving|context deadline exceeded",
    re.IGNORECASE,
)
_REFUSED = re.compile(r"unauthorized|denied|authentication required|\b401\b|\b403\b", re.IGNORECASE)
_UNKNOWN = re.compile(
    r"manifest unknown|not found|\b404\b|name unknown|does not exist", re.IGNORECASE
)


def _registry_refusal(image: str, error: docker.errors.APIError) -> tuple[str, str]:
    # The whole answer: a registry's multi-error reply starts with "errors:" on its own line.
    reason = " ".join(str(error.explanation or error).split())[:300]
    registry = _registry_of(image)
    offline = (
        "or set offline_compose_files (and offline_setup) in [tool.envdeck] "
        "to run it from images built here"
    )
    if _NO_REGISTRY.search(reason):
        return (
            f"not here, and no registry answers ({reason})",
            f"build or load it here (`docker build -t {image} …`, `docker load -i …`), {offline}",
        )
    if _REFUSED.search(reason):
        # Docker Hub also says "denied" for a repository that does not exist.
        return (
            f"not here, and {registry} refuses to serve it ({reason})",
            f"check the image name, or `docker login {registry}` if it is private",
        )
    if _UNKNOWN.search(reason):
        return (
            f"not here, and {registry} has no such image or tag ({reason})",
            "check the image name and tag in the compose file",
        )
    return f"not here, and it cannot be pulled ({reason})", f"build or load it here, {offline}"


def _registry_of(image: str) -> str:
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return first
    return "Docker Hub"


class ImagesMissing(Exception):
    """Compose could not create these services: the message says why and how to fix it."""


def check_can_create(
    settings: EnvdeckSettings,
    project: ComposeProject,
    gateway: DockerGateway,
    services: Iterable[str] | None = None,
    *,
    offline: bool = False,
) -> None:
    """ImagesMissing, before compose starts pulling, for images that cannot be had."""
    found = image_availability(settings, project, gateway, services, offline=offline)
    lacking = missing(found)
    if lacking:
        raise ImagesMissing(
            "cannot create "
            + ", ".join(item.service for item in lacking)
            + ": "
            + "; ".join(item.line() for item in lacking)
        )


def why_missing(
    settings: EnvdeckSettings,
    project: ComposeProject,
    gateway: DockerGateway,
    services: Iterable[str],
    *,
    offline: bool = False,
) -> dict[str, str]:
    """Why each of `services` has no container, and what creates it (for `status`)."""
    reasons = {}
    for item in image_availability(settings, project, gateway, services, offline=offline):
        if item.can_create:
            reasons[item.service] = f"no container yet ({item.image}: {item.detail}); `envdeck up`"
        else:
            reasons[item.service] = f"cannot be created: {item.image} is {item.detail}" + (
                f"; fix: {item.fix}" if item.fix else ""
            )
    return reasons
