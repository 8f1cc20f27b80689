"""Helpers for plugins that build a `ServiceDiff`: bounded groups and one-line previews.

Pure functions over the data-only types of `tui.plugins.api`; a third-party plugin may
use them or build its dataclasses by hand.
"""

from __future__ import annotations

from collections.abc import Iterable

from tui.core.text import safe_text
from tui.plugins.api import Change, DiffGroup, DiffItem

PREVIEW_CHARS = 80  # one value in a diff: enough to recognise it


def bounded_group(
    change: Change, title: str, items: Iterable[DiffItem], count: int, limit: int
) -> DiffGroup:
    """A group of `count` changes keeping only the first `limit` of `items`."""
    kept: list[DiffItem] = []
    for item in items:
        if len(kept) >= max(0, limit):
            break
        kept.append(item)
    return DiffGroup(change, title, count, tuple(kept))


def groups_with_changes(groups: Iterable[DiffGroup]) -> tuple[DiffGroup, ...]:
    return tuple(group for group in groups if group.count)


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """Untrusted text on one line, escaped (`safe_text`) and cut to `limit` characters."""
    shown = safe_text(text, keep="")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
