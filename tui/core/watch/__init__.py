"""Watch mode's core: save a file, and the tests it affects run again.

- `IgnoreRules` (ignore.py): what never triggers a run.
- `ImportGraph` (graph.py; imports read in imports.py, resolved in resolve.py, module
  names from layout.py) and `find_affected`/`narrow` (affected.py): which tests a change
  affects, and which of the user's selection to run.
- `SourceWatcher` (watcher.py): one `ChangeBatch` per burst of saves, holding only files
  whose content changed (`ContentHashes`, content.py: a bare touch runs nothing).
- `RunScheduler` (scheduler.py): when to start, cancel, hold or merge runs.

No Textual or Rich here; the UI and the CLI wire these together.
"""

from __future__ import annotations

from tui.core.watch.affected import Affected, find_affected, narrow
from tui.core.watch.content import ContentHashes
from tui.core.watch.graph import ImportGraph
from tui.core.watch.ignore import IgnoreRules
from tui.core.watch.layout import ProjectLayout, read_layout
from tui.core.watch.scheduler import Action, Decision, RunScheduler, SchedulerStatus
from tui.core.watch.watcher import ChangeBatch, SourceWatcher

__all__ = [
    "Action",
    "Affected",
    "ChangeBatch",
    "ContentHashes",
    "Decision",
    "IgnoreRules",
    "ImportGraph",
    "ProjectLayout",
    "RunScheduler",
    "SchedulerStatus",
    "SourceWatcher",
    "find_affected",
    "narrow",
    "read_layout",
]
