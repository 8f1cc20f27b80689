"""Saved states of a Qdrant server, for envdeck's reset and snapshots (`StatefulPlugin`).

A state is one file of our own, `qdrant-state.jsonl` (`state_file`), in the state's
folder. It is written while the points are scrolled (`state_export`) under a temporary
name, then renamed; a restore reads it twice: once to check all of it, once to upload it,
so a file that was cut short, edited or damaged is refused before anything on the server
changes. A restore that fails midway (the server went away) leaves the server partly
restored: restore again.

Only Qdrant's REST API is used (`state_api`; no Qdrant snapshots, which the offline
stand-in cannot recover), so this works the same against the official server and the
stand-in. A collection is recreated from what `GET /collections/NAME` reports (vectors,
sparse vectors, HNSW, WAL, optimizer and quantization config, payload indexes). Not saved:
the shard keys of custom sharding, and anything outside collections and aliases (API keys,
cluster state, Qdrant's own snapshots). The fingerprint is `state_fingerprint`'s.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

from envdeck_qdrant.client import collection_path
from envdeck_qdrant.state_api import StateApi, aliases_of, recreate_collection
from envdeck_qdrant.state_export import export_state
from envdeck_qdrant.state_file import (
    FORMAT,
    STATE_FILE,
    PointBatch,
    SavedCollection,
    StateContents,
    StateWriter,
    check_state_file,
    open_state,
    state_entries,
)
from envdeck_qdrant.views import collection_names
from tui.plugins.api import InspectorError, Problem, SavedState, ServiceTarget, StateRef


def save_state(target: ServiceTarget, ref: StateRef) -> SavedState:
    final = ref.folder / STATE_FILE
    partial = ref.folder / f".{STATE_FILE}.partial"
    try:
        with StateApi(target) as api, partial.open("wb") as handle:
            writer = StateWriter(handle)
            counts, aliases, fingerprint = export_state(api, writer)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
        size = final.stat().st_size
    except OSError as error:
        raise InspectorError(
            Problem.ERROR, f"cannot write {final}: {error.strerror or error}"
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return SavedState(
        location=f"1 file in {ref.folder}",
        size_bytes=size,
        summary=_summary(counts, len(aliases)),
        fingerprint=fingerprint,
    )


def restore_state(target: ServiceTarget, ref: StateRef) -> str:
    path = ref.folder / STATE_FILE
    with open_state(path) as handle:
        contents = check_state_file(path, handle)  # before anything on the server changes
        handle.seek(0)  # the same open file: a state saved again meanwhile cannot mix in
        _replace_data(target, contents, state_entries(path, handle))
    return "restored " + _summary(contents.counts, len(contents.aliases))


def _replace_data(
    target: ServiceTarget, contents: StateContents, entries: Iterator[SavedCollection | PointBatch]
) -> None:
    with StateApi(target) as api:
        present = collection_names(api)
        present_aliases = aliases_of(api)
        if present_aliases is None and contents.aliases:
            raise InspectorError(
                Problem.ERROR, "this Qdrant has no aliases API, and the saved state has aliases"
            )
        if present_aliases:
            # First: a saved collection may be named like an alias of the moment.
            deletions = [{"delete_alias": {"alias_name": alias}} for alias, _ in present_aliases]
            api.post("/collections/aliases", {"actions": deletions})
        for name in present:
            if name not in contents.counts:
                api.delete(collection_path(name))
        for entry in entries:
            if isinstance(entry, SavedCollection):
                recreate_collection(api, entry)
            else:
                api.put(
                    collection_path(entry.collection, "points") + "?wait=true",
                    {"points": entry.points},
                )
        if contents.aliases:
            creations = [
                {"create_alias": {"collection_name": name, "alias_name": alias}}
                for alias, name in contents.aliases
            ]
            api.post("/collections/aliases", {"actions": creations})


def state_exists(target: ServiceTarget, ref: StateRef) -> bool:
    """Whether `ref` holds a state file that starts like ours (checked in full on restore)."""
    try:
        with (ref.folder / STATE_FILE).open("rb") as handle:
            first = handle.readline(4096)
    except OSError:
        return False
    try:
        header = json.loads(first).get("header")
    except (ValueError, AttributeError):
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT


def delete_state(target: ServiceTarget, ref: StateRef) -> None:
    for name in (STATE_FILE, f".{STATE_FILE}.partial"):
        try:
            (ref.folder / name).unlink(missing_ok=True)
        except OSError as error:
            raise InspectorError(
                Problem.ERROR, f"cannot delete {ref.folder / name}: {error.strerror}"
            ) from None


def _summary(counts: dict[str, int], aliases: int) -> str:
    collections = len(counts)
    points = sum(counts.values())
    text = (
        f"{collections:,} collection{'' if collections == 1 else 's'}, "
        f"{points:,} point{'' if points == 1 else 's'}"
    )
    if aliases:
        text += f", {aliases:,} alias{'' if aliases == 1 else 'es'}"
    return text
