"""What one test changed in a Qdrant server: collections created or deleted, points
added, removed or changed (payload, vector), per collection.

How it stays bounded. Before the test, the collections are listed with their exact point
counts and essential config. After it, created and deleted collections come from the two
listings. Qdrant's REST API tells nothing of when a point was written (no per-point
version in a scroll, no write counter in a collection's info), so a collection that is
there before and after is compared point by point: its saved points are read from the
state file envdeck wrote just before the test, its points now by scroll, matched by id.
That is exact for collections of up to COMPARE_POINTS_MAX points on both sides; a larger
one is compared by its count and config only, and the diff says so in a note (the
approximate case). Vectors and payloads are compared as the JSON Qdrant returns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envdeck_qdrant.state_api import (
    StateApi,
    essential_config,
    exact_count,
    page_size,
    saved_point,
    scroll_points,
)
from envdeck_qdrant.state_file import STATE_FILE
from envdeck_qdrant.views import collection_info, collection_names
from tui.plugins.api import (
    Change,
    DiffGroup,
    DiffItem,
    InspectorError,
    Problem,
    ServiceDiff,
    ServiceTarget,
    StateRef,
)
from tui.plugins.diff_build import bounded_group, groups_with_changes, preview

COMPARE_POINTS_MAX = 100_000  # per collection, on each side
VECTOR_NUMBERS_SHOWN = 4

PointId = int | str
Point = dict[str, Any]  # {"id", "vector", "payload"}


@dataclass(frozen=True)
class _Seen:
    count: int
    config: Any  # the essential config, as the fingerprint takes it


def point_changes(
    before: dict[PointId, Point], after: dict[PointId, Point]
) -> tuple[list[Point], list[Point], list[tuple[Point, Point]]]:
    """(added, removed, changed) points, by id, in id order."""
    added = [after[i] for i in _ordered(set(after) - set(before))]
    removed = [before[i] for i in _ordered(set(before) - set(after))]
    changed = [
        (before[i], after[i])
        for i in _ordered(set(before) & set(after))
        if _content(before[i]) != _content(after[i])
    ]
    return added, removed, changed


def _content(point: Point) -> tuple[str, str]:
    return (
        json.dumps(point.get("vector"), sort_keys=True),
        json.dumps(point.get("payload"), sort_keys=True),
    )


def _ordered(ids: set[PointId]) -> list[PointId]:
    """Qdrant's order: integer ids, then UUIDs."""
    return sorted(ids, key=lambda i: (isinstance(i, str), i if isinstance(i, int) else 0, str(i)))


class QdrantDiffWatch:
    def __init__(self, target: ServiceTarget, before: StateRef) -> None:
        self._target = target
        self._file = before.folder / STATE_FILE
        with StateApi(target) as api:
            self._before = _listing(api)

    def close(self) -> None:
        """Nothing to undo: beginning only read the collections."""

    def finish(self, limit: int) -> ServiceDiff:
        groups: list[DiffGroup] = []
        notes: list[str] = []
        with StateApi(self._target) as api:
            after = _listing(api)
            created = sorted(set(after) - set(self._before))
            deleted = sorted(set(self._before) - set(after))
            groups.append(_names(Change.ADDED, "collections created", created, after, limit))
            groups.append(
                _names(Change.REMOVED, "collections deleted", deleted, self._before, limit)
            )
            common = sorted(set(after) & set(self._before))
            reconfigured = [n for n in common if after[n].config != self._before[n].config]
            groups.append(
                bounded_group(
                    Change.CHANGED,
                    "collections reconfigured",
                    (
                        DiffItem(
                            preview(n),
                            (("config", preview(json.dumps(self._before[n].config))),),
                            (("config", preview(json.dumps(after[n].config))),),
                        )
                        for n in reconfigured
                    ),
                    len(reconfigured),
                    limit,
                )
            )
            compared = [
                name
                for name in common
                if max(after[name].count, self._before[name].count) <= COMPARE_POINTS_MAX
            ]
            for name in common:
                if name in compared:
                    continue
                was, now = self._before[name], after[name]
                notes.append(
                    f"collection {preview(name)} holds more than {COMPARE_POINTS_MAX:,} points: "
                    f"only its count and config were compared ({was.count:,} -> {now.count:,}"
                    f"{', config the same' if was.config == now.config else ', config changed'})"
                )
            saved = _saved_points(self._file, set(compared))
            for name in compared:
                info = collection_info(api, name)
                now_points = {
                    point["id"]: saved_point(point)
                    for point in scroll_points(api, name, page_size(info))
                }
                added, removed, changed = point_changes(saved.get(name, {}), now_points)
                where = preview(name)
                groups += [
                    bounded_group(
                        Change.ADDED,
                        f"points added to {where}",
                        (DiffItem(_label(p), (), _fields(p)) for p in added),
                        len(added),
                        limit,
                    ),
                    bounded_group(
                        Change.REMOVED,
                        f"points removed from {where}",
                        (DiffItem(_label(p), _fields(p), ()) for p in removed),
                        len(removed),
                        limit,
                    ),
                    bounded_group(
                        Change.CHANGED,
                        f"points changed in {where}",
                        (DiffItem(_label(now), *_differing(was, now)) for was, now in changed),
                        len(changed),
                        limit,
                    ),
                ]
        return ServiceDiff(groups_with_changes(groups), tuple(notes))


def _listing(api: StateApi) -> dict[str, _Seen]:
    return {
        name: _Seen(exact_count(api, name), essential_config(collection_info(api, name)))
        for name in collection_names(api)
    }


def _names(
    change: Change, title: str, names: list[str], seen: dict[str, _Seen], limit: int
) -> DiffGroup:
    items = (
        DiffItem(preview(name), *_sides(change, (("points", f"{seen[name].count:,}"),)))
        for name in names
    )
    return bounded_group(change, title, items, len(names), limit)


def _sides(
    change: Change, fields: tuple[tuple[str, str], ...]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    return ((), fields) if change is Change.ADDED else (fields, ())


def _saved_points(file: Path, wanted: set[str]) -> dict[str, dict[PointId, Point]]:
    """The saved points of the `wanted` collections, from the state file."""
    found: dict[str, dict[PointId, Point]] = {}
    current: dict[PointId, Point] | None = None
    try:
        with file.open("rb") as handle:
            for line in _lines(handle):
                if line.startswith(b'{"point"'):
                    if current is not None:
                        point = json.loads(line)["point"]
                        current[point["id"]] = point
                    continue
                if line.startswith(b'{"collection"'):
                    name = json.loads(line)["collection"]["name"]
                    current = found.setdefault(name, {}) if name in wanted else None
    except OSError as error:
        raise InspectorError(Problem.ERROR, f"cannot read {file}: {error.strerror}") from None
    return found


def _lines(handle: Any) -> Iterator[bytes]:
    yield from handle


def _label(point: Point) -> str:
    return preview(f"point {point['id']}")


def _fields(point: Point) -> tuple[tuple[str, str], ...]:
    return (("payload", _payload_text(point)), ("vector", _vector_text(point.get("vector"))))


def _differing(
    was: Point, now: Point
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    before: list[tuple[str, str]] = []
    after: list[tuple[str, str]] = []
    if json.dumps(was.get("payload"), sort_keys=True) != json.dumps(
        now.get("payload"), sort_keys=True
    ):
        before.append(("payload", _payload_text(was)))
        after.append(("payload", _payload_text(now)))
    if json.dumps(was.get("vector"), sort_keys=True) != json.dumps(
        now.get("vector"), sort_keys=True
    ):
        before.append(("vector", _vector_text(was.get("vector"))))
        after.append(("vector", _vector_text(now.get("vector"))))
    return tuple(before), tuple(after)


def _payload_text(point: Point) -> str:
    return preview(json.dumps(point.get("payload") or {}, sort_keys=True, ensure_ascii=False))


def _vector_text(vector: Any) -> str:
    if isinstance(vector, dict):
        return preview(
            ", ".join(f"{name}: {_vector_text(value)}" for name, value in sorted(vector.items()))
        )
    if isinstance(vector, list):
        shown = ", ".join(
            f"{number:.4g}" if isinstance(number, float) else str(number)
            for number in vector[:VECTOR_NUMBERS_SHOWN]
        )
        more = ", …" if len(vector) > VECTOR_NUMBERS_SHOWN else ""
        return f"[{shown}{more}] ({len(vector)} dims)"
    return preview(json.dumps(vector))
