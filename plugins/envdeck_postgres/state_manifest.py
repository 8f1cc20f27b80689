"""A saved state's manifest: postgres-state.json in the state's folder.

It says which databases the state holds, under which copy names, their properties kept
outside the database (`state_databases`), and what was saved (sizes, tables, rows, the
fingerprint). The data itself stays in the server, in the copies.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envdeck_postgres.state_copies import TEMPLATES, copy_name, is_envdecks
from envdeck_postgres.state_databases import Database
from tui.plugins.api import InspectorError, Problem, StateRef

MANIFEST = "postgres-state.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class SavedDatabase:
    database: Database
    copy: str
    size_bytes: int
    tables: int
    rows: int

    def to_json(self) -> dict[str, Any]:
        return {
            **self.database.to_json(),
            "copy": self.copy,
            "size_bytes": self.size_bytes,
            "tables": self.tables,
            "rows": self.rows,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SavedDatabase:
        return cls(
            Database.from_json(raw),
            str(raw["copy"]),
            int(raw["size_bytes"]),
            int(raw["tables"]),
            int(raw["rows"]),
        )


@dataclass(frozen=True)
class Manifest:
    snapshot: str
    saved_at: str
    server_version: int
    fingerprint: str
    databases: tuple[SavedDatabase, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "plugin": "postgres",
            "snapshot": self.snapshot,
            "saved_at": self.saved_at,
            "server_version": self.server_version,
            "fingerprint": self.fingerprint,
            "databases": [saved.to_json() for saved in self.databases],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Manifest:
        if raw.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, not {MANIFEST_FORMAT}")
        return cls(
            snapshot=str(raw["snapshot"]),
            saved_at=str(raw["saved_at"]),
            server_version=int(raw["server_version"]),
            fingerprint=str(raw["fingerprint"]),
            databases=tuple(SavedDatabase.from_json(entry) for entry in raw["databases"]),
        )

    @property
    def copies(self) -> list[str]:
        return [saved.copy for saved in self.databases]


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Written aside, then moved in place: never a half-written manifest."""
    path = folder / MANIFEST
    partial = folder / f".{MANIFEST}.{secrets.token_hex(4)}"
    try:
        partial.write_text(json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InspectorError(Problem.ERROR, f"cannot write {path}: {error.strerror}") from None


def read_manifest(ref: StateRef) -> Manifest | None:
    """The state's manifest; None when there is none; InspectorError when it is unusable."""
    path = ref.folder / MANIFEST
    try:
        manifest = Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InspectorError(Problem.ERROR, f"{path} is unreadable ({error})") from None
    for saved in manifest.databases:
        name = saved.database.name
        if name in TEMPLATES or is_envdecks(name):
            raise InspectorError(Problem.ERROR, f"{path} lists {name!r}: not a user database")
        # Only envdeck's own copies of this snapshot are ever used, or dropped.
        if saved.copy != copy_name(ref.name, name):
            raise InspectorError(
                Problem.ERROR,
                f"{path} names {saved.copy!r} as the copy of {name!r} in "
                f"{ref.name!r}: not envdeck's name for it",
            )
    return manifest
