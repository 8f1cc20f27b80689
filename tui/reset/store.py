"""Where saved states live: `<state_dir>/states/<project>/<name>/`, one folder a service.

A state's manifest.json is written last, into a temporary folder that is then renamed
into place, so a save that fails half-way never leaves a state that looks complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tui.reset.state_folder import ensure_state_folder

BASELINE = "baseline"
MANIFEST = "manifest.json"
LAST_RESET = "last-reset.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class StateStoreError(Exception):
    """A state cannot be read or written; the message says which and why."""


def check_name(name: str) -> str:
    """A snapshot name as given, or StateStoreError saying what names may be."""
    if not _NAME.match(name):
        raise StateStoreError(
            f"{name!r} cannot name a snapshot: use up to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class SavedPart:
    """One service's part of a saved state."""

    plugin: str
    location: str
    size_bytes: int
    summary: str
    fingerprint: str


@dataclass(frozen=True)
class VolumeMark:
    """What tells one of the project's volumes from a volume of the same name created again
    later (how it is judged: tui.reset.recreation)."""

    created_at: str  # the engine's CreatedAt (on Docker before 23: its folder's mtime)
    containers: tuple[str, ...] = ()  # ids of the containers that mounted it

    @classmethod
    def from_json(cls, raw: Any) -> VolumeMark:
        if isinstance(raw, str):  # records before the containers were kept: CreatedAt only
            return cls(created_at=raw)
        return cls(
            created_at=str(raw["created_at"]),
            containers=tuple(str(container) for container in raw.get("containers") or ()),
        )


@dataclass(frozen=True)
class StateRecord:
    """A saved state: which services it holds and what each part is."""

    name: str
    project: str
    created_at: float  # seconds since the epoch
    parts: dict[str, SavedPart]
    skipped: dict[str, str] = field(default_factory=dict)  # service -> why it has no part
    volumes: dict[str, VolumeMark] = field(default_factory=dict)  # the project's, when saved

    @property
    def size_bytes(self) -> int:
        return sum(part.size_bytes for part in self.parts.values())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StateRecord:
        return cls(
            name=str(raw["name"]),
            project=str(raw["project"]),
            created_at=float(raw["created_at"]),
            parts={str(k): SavedPart(**v) for k, v in dict(raw["parts"]).items()},
            skipped={str(k): str(v) for k, v in dict(raw.get("skipped") or {}).items()},
            volumes={
                str(k): VolumeMark.from_json(v) for k, v in dict(raw.get("volumes") or {}).items()
            },
        )


@dataclass(frozen=True)
class LastReset:
    kind: str
    at: float  # seconds since the epoch, when it ended
    seconds: float
    ok: bool
    failure: str = ""


class StateStore:
    def __init__(self, root: Path, project: str) -> None:
        self.root = root
        self.project = project
        self.folder = root / "states" / project

    def path(self, name: str) -> Path:
        return self.folder / check_name(name)

    def begin(self, name: str) -> Path:
        """A new empty folder to save `name` into; `commit` puts it in place."""
        check_name(name)
        staging = self.folder / f".{name}.saving-{uuid.uuid4().hex[:8]}"
        try:
            ensure_state_folder(self.root)
            staging.mkdir(parents=True)
        except OSError as error:
            raise StateStoreError(f"cannot create {staging}: {error.strerror}") from None
        return staging

    def commit(self, staging: Path, record: StateRecord) -> Path:
        """Write the manifest and swap the staged folder in for any older state."""
        final = self.path(record.name)
        manifest = staging / MANIFEST
        manifest.write_text(json.dumps(record.to_json(), indent=2, sort_keys=True))
        retired = None
        if final.exists():
            retired = self.folder / f".{record.name}.retired-{uuid.uuid4().hex[:8]}"
            final.rename(retired)
        staging.rename(final)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
        return final

    def abandon(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def read(self, name: str) -> StateRecord | None:
        manifest = self.path(name) / MANIFEST
        try:
            raw = json.loads(manifest.read_text())
            return StateRecord.from_json(raw)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise StateStoreError(f"{manifest} is unreadable ({error}): save it again") from None

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.folder.iterdir()
            if entry.is_dir() and not entry.name.startswith(".") and (entry / MANIFEST).is_file()
        )

    def records(self) -> list[StateRecord]:
        records = []
        for name in self.names():
            try:
                record = self.read(name)
            except StateStoreError:
                continue  # listed by `names`, reported when used
            if record is not None:
                records.append(record)
        return records

    def remove(self, name: str) -> None:
        shutil.rmtree(self.path(name), ignore_errors=True)

    def record_reset(self, last: LastReset) -> None:
        ensure_state_folder(self.root)
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / LAST_RESET
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(asdict(last)))
        temporary.replace(target)

    def last_reset(self) -> LastReset | None:
        try:
            return LastReset(**json.loads((self.folder / LAST_RESET).read_text()))
        except (OSError, ValueError, TypeError):
            return None


def now() -> float:
    return time.time()
