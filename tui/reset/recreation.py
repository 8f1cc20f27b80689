"""Whether a baseline still describes this environment: were its volumes created again
since, and is every part of it still restorable here.

Why not the volume's CreatedAt alone. Before Docker 23.0 the local driver's CreatedAt is
the mtime of the volume's `_data` folder (moby#38274, fixed in 23.0 by moby#44719): any new
file at the top of a volume moves it, and PostgreSQL writes postmaster.pid there at every
start, so a plain `docker restart` made envdeck call the volume recreated. Measured on
Docker 20.10 (API 1.41): `docker restart` of PostgreSQL, `down` then `up`, a new Qdrant
collection and a Redis SAVE each moved CreatedAt; Labels, Options, Mountpoint, Driver and
Scope are identical for a volume removed and created again under its name. The API has no
other identity for a volume, and envdeck must work on a remote engine, so nothing on the
host is looked at.

What is used instead, per volume the baseline recorded, in this order:
1. Gone now: it was removed (and not created again yet).
2. A container that mounted it at the baseline still exists and mounts it now: the same
   volume, proven. Docker refuses to remove a volume any container (running or stopped)
   refers to, even with force (measured), and a container id never comes back. This also
   keeps a baseline across an engine upgrade past 23.0, which changes what CreatedAt is.
3. CreatedAt unchanged: the same volume (a new one would carry a later time).
4. Otherwise (CreatedAt moved and every container that mounted it replaced): where the
   engine's CreatedAt is the creation time (API 1.42, Docker 23.0, and later) it was
   recreated. On an older engine `down` then `up` looks exactly like `down -v` then `up`,
   and the volume is not called recreated: calling it so would have envdeck drop a good
   baseline and retake one from whatever data is there after an ordinary `down` and `up`.
Then each part of the baseline is asked of its plugin (`StatefulPlugin.state_exists`):
is the saved state still restorable here. For PostgreSQL, whose parts are template
databases in the server, that is exactly what a recreated volume loses (a new data
directory is a new cluster, with a new system_identifier and none of the copies); a part
kept in files (Redis, Qdrant) restores correctly into a new volume, so nothing is lost by
not seeing that volume's recreation on an old engine. A plugin that cannot answer (its
service is down) counts as restorable: the reset itself then says what it could not reach.

Records written before the containers were kept (CreatedAt only) still load and are
judged by steps 1, 3, 4 and the plugins: on Docker 20.10 they are stale only when a part
is gone. Calling every such record stale would do once what the bug did: have the
dashboard replace a good baseline with possibly dirty data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tui.plugins.api import StateRef
from tui.reset.scope import StatefulService
from tui.reset.store import StateRecord, VolumeMark

CREATED_AT_IS_CREATION = (1, 42)  # API version of Docker 23.0 (moby#44719)


def volume_marks(
    volumes: Iterable[Mapping[str, Any]], containers: Iterable[Mapping[str, Any]]
) -> dict[str, VolumeMark]:
    """Each volume's mark, from the engine's volume and container documents (inspect
    format: `Name`, `CreatedAt`; `Id`, `Mounts`)."""
    users: dict[str, list[str]] = {}
    for container in containers:
        for mount in container.get("Mounts") or ():
            if mount.get("Type") == "volume" and mount.get("Name"):
                users.setdefault(str(mount["Name"]), []).append(str(container["Id"]))
    return {
        str(volume["Name"]): VolumeMark(
            created_at=str(volume.get("CreatedAt") or ""),
            containers=tuple(sorted(users.get(str(volume["Name"]), ()))),
        )
        for volume in volumes
    }


def created_at_is_creation(api_version: str | None) -> bool:
    """Whether this engine's volume CreatedAt stays put when the volume is written to."""
    try:
        major, minor = (int(part) for part in (api_version or "").split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= CREATED_AT_IS_CREATION


def recreated_volumes(
    recorded: Mapping[str, VolumeMark],
    current: Mapping[str, VolumeMark],
    *,
    created_at_is_identity: bool,
) -> list[str]:
    """The recorded volumes that are gone or were created again since (module docstring)."""
    changed = []
    for name, then in recorded.items():
        now = current.get(name)
        if now is None:
            changed.append(name)
        elif set(then.containers) & set(now.containers) or now.created_at == then.created_at:
            continue
        elif created_at_is_identity:
            changed.append(name)
    return sorted(changed)


def parts_gone(record: StateRecord, folder: Path, services: Iterable[StatefulService]) -> list[str]:
    """The services whose part of `record` (saved in `folder`, one subfolder a service)
    their plugin says is no longer restorable here."""
    return sorted(
        item.service
        for item in services
        if item.service in record.parts
        and not _restorable(item, StateRef(record.name, folder / item.service))
    )


def _restorable(item: StatefulService, ref: StateRef) -> bool:
    try:
        return item.plugin.state_exists(item.target, ref)
    except Exception:  # cannot ask (service down, plugin broken): the reset itself will say
        return True
