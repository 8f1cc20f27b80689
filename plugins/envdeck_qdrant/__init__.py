"""envdeck's Qdrant inspector: collections, points, snapshots, over Qdrant's REST API.

It is also a `StatefulPlugin`: saved states are files of its own (see `state`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from envdeck_qdrant import state as qdrant_state
from envdeck_qdrant import views as qdrant_views
from envdeck_qdrant.client import QDRANT_PORT, QdrantApi, collection_path
from envdeck_qdrant.diff import QdrantDiffWatch
from envdeck_qdrant.state_fingerprint import fingerprint as qdrant_fingerprint
from tui.core.text import safe_text
from tui.plugins.api import (
    Action,
    InspectorError,
    Match,
    Problem,
    SavedState,
    ServiceTarget,
    StateRef,
    View,
    ViewRequest,
    ViewResult,
    image_or_port_match,
)

__all__ = ["QdrantPlugin"]

_VIEWS: dict[str, Callable[[QdrantApi, ViewRequest], ViewResult]] = {
    "overview": qdrant_views.overview,
    "collection": qdrant_views.collection,
    "points": qdrant_views.points,
    "snapshots": qdrant_views.snapshots,
}


class QdrantPlugin:
    name: ClassVar[str] = "qdrant"
    title: ClassVar[str] = "Qdrant"

    def matches(self, target: ServiceTarget) -> Match:
        return image_or_port_match(target, ("qdrant",), QDRANT_PORT)

    def views(self, target: ServiceTarget) -> Sequence[View]:
        return (
            View("overview", "Overview"),
            View("collection", "Collection", takes_query=True, query_hint="collection name"),
            View(
                "points",
                "Points",
                takes_query=True,
                query_hint=f"collection name [{qdrant_views.WITH_VECTORS_FLAG}]",
            ),
            View("snapshots", "Snapshots", takes_query=True, query_hint="collection name"),
        )

    def show(self, target: ServiceTarget, request: ViewRequest) -> ViewResult:
        view = _VIEWS.get(request.view)
        if view is None:
            raise InspectorError(Problem.ERROR, f"unknown view {request.view!r}")
        with QdrantApi(target) as api:
            return view(api, request)

    def actions(self, target: ServiceTarget) -> Sequence[Action]:
        return (
            Action(
                "delete_collection", "Delete collection", destructive=True, params=("collection",)
            ),
        )

    def run_action(self, target: ServiceTarget, action: str, params: Mapping[str, str]) -> str:
        if action != "delete_collection":
            raise InspectorError(Problem.ERROR, f"unknown action {action!r}")
        name = params.get("collection", "").strip()
        if not name:
            raise InspectorError(Problem.ERROR, "name the collection to delete")
        with QdrantApi(target) as api:
            deleted = api.delete(collection_path(name))
        # Qdrant answers `false`, not 404, when there was no such collection.
        if deleted is not True:
            raise InspectorError(Problem.ERROR, f"Qdrant has no collection {safe_text(name)!r}")
        return f"deleted collection {safe_text(name)}"

    # ------------------------------------------------------------ saved states

    def save_state(self, target: ServiceTarget, ref: StateRef) -> SavedState:
        return qdrant_state.save_state(target, ref)

    def restore_state(self, target: ServiceTarget, ref: StateRef) -> str:
        return qdrant_state.restore_state(target, ref)

    def state_exists(self, target: ServiceTarget, ref: StateRef) -> bool:
        return qdrant_state.state_exists(target, ref)

    def delete_state(self, target: ServiceTarget, ref: StateRef) -> None:
        qdrant_state.delete_state(target, ref)

    def begin_diff(self, target: ServiceTarget, before: StateRef) -> QdrantDiffWatch:
        """What one test changes (diff.py), compared with the state saved in `before`."""
        return QdrantDiffWatch(target, before)

    def fingerprint(self, target: ServiceTarget) -> str:
        return qdrant_fingerprint(target)
