"""Whose containers these are: this checkout's, or another's of the same project name.

Two checkouts in folders of the same name (or with the same `name:`) share a compose
project name, so the project label alone does not say the containers are ours: compose
also labels each container with its project's working directory and files, and those
must match this checkout's. Anything that removes, replaces or recreates containers asks
here first (the destructive guard, and `up`, which would recreate another checkout's
containers from this checkout's file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from tui.config.settings import EnvdeckSettings
from tui.core.compose_cli import ComposeCommand

WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"


class LabelledContainer(Protocol):
    """What ownership reads of a container: docker-py's `Container` has it, and so does
    `status_snapshot`'s view of an inspect document."""

    @property
    def name(self) -> str | None: ...

    @property
    def labels(self) -> Mapping[str, str]: ...


def project_directory(settings: EnvdeckSettings, compose: ComposeCommand) -> Path:
    """The folder compose records as the project's working_dir."""
    if settings.project_dir is not None:
        return settings.project_dir.resolve()
    if compose.files:
        return compose.files[0].resolve().parent
    return (settings.config_dir or Path.cwd()).resolve()


def foreign_containers(
    containers: Sequence[LabelledContainer], settings: EnvdeckSettings, compose: ComposeCommand
) -> list[tuple[str, str]]:
    """(name, where it was created from) of each container of the project name that
    another checkout created."""
    directory = project_directory(settings, compose)
    main_file = compose.files[0].resolve() if compose.files else None
    foreign = []
    for container in containers:
        labels: Mapping[str, str] = container.labels or {}
        working_dir = labels.get(WORKING_DIR_LABEL)
        files = [Path(part) for part in labels.get(CONFIG_FILES_LABEL, "").split(",") if part]
        if working_dir is not None and not _same_path(Path(working_dir), directory):
            foreign.append((container.name or "", working_dir))
        elif main_file is not None and files and not any(_same_path(main_file, f) for f in files):
            foreign.append((container.name or "", ", ".join(str(file) for file in files)))
    return foreign


def ownership_problem(
    containers: Sequence[LabelledContainer],
    settings: EnvdeckSettings,
    compose: ComposeCommand,
    project: str,
) -> str | None:
    """Why these containers are not this checkout's to touch, or None."""
    foreign = foreign_containers(containers, settings, compose)
    if not foreign:
        return None
    directory = project_directory(settings, compose)
    names = " ".join(sorted(name for name, _ in foreign))
    return (
        f"project {project} is not this checkout's ({directory}): "
        + "; ".join(f"{name} was created from {where}" for name, where in foreign[:3])
        + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        + ". Run envdeck from that checkout, or give this one its own name with -p"
        + f" (if that checkout is gone, `docker rm -f {names}` removes"
        + " its containers and keeps the volumes)."
    )


def _same_path(recorded: Path, ours: Path) -> bool:
    """The same folder or file, whichever way a symlink spelled it (macOS's /tmp and
    /var, home folders on links): compose records the path it was given."""
    if recorded == ours:
        return True
    try:
        return recorded.resolve() == ours.resolve()
    except OSError:
        return False
