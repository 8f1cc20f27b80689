"""A data diff of one test as plain text, for `envdeck test --diff NODEID`.

Every name and value comes from a service (keys, values, table and column names) or a
third-party plugin: each goes through `safe_text` on its way out, so no control sequence
reaches the terminal and nothing is read as markup.
"""

from __future__ import annotations

from collections.abc import Iterator

from tui.core.testrun.data_diff import DataDiffReport, ServiceDataDiff
from tui.core.text import safe_text
from tui.plugins.api import Change, DiffGroup, DiffItem

MARKS = {Change.ADDED: "+", Change.REMOVED: "-", Change.CHANGED: "~"}


def diff_report_lines(report: DataDiffReport) -> Iterator[str]:
    outcome = report.outcome.value if report.outcome is not None else "did not run"
    yield f"Data diff of {_safe(report.nodeid)}: {outcome}"
    for answer in report.services:
        yield ""
        yield from _service_lines(answer)
    for name, reason in sorted(report.skipped.items()):
        yield ""
        yield f"{_safe(name)}: not diffed: {_safe(reason)}"
    yield ""
    yield _data_line(report)


def format_diff_report(report: DataDiffReport) -> str:
    return "\n".join(diff_report_lines(report)) + "\n"


def _data_line(report: DataDiffReport) -> str:
    if report.kept:
        return "The data was kept as the test left it."
    if report.restored:
        return "The data was put back as it was before the test (checked)."
    return f"The data could NOT be put back: {_safe(report.restore_problem)}"


def _service_lines(answer: ServiceDataDiff) -> Iterator[str]:
    head = f"{_safe(answer.service)} ({_safe(answer.plugin)})"
    if answer.diff is None:
        yield f"{head}: {_safe(answer.problem)}"
        return
    if not answer.diff.changed:
        yield f"{head}: no changes"
    else:
        yield head
    for note in answer.diff.notes:
        yield f"  note: {_safe(note)}"
    for group in answer.diff.groups:
        yield from _group_lines(group)


def _group_lines(group: DiffGroup) -> Iterator[str]:
    yield f"  {MARKS[group.change]} {_safe(group.title)}: {group.count:,}"
    for item in group.items:
        yield f"      {_item_text(group.change, item)}"
    if group.more:
        yield f"      … and {group.more:,} more"


def _item_text(change: Change, item: DiffItem) -> str:
    label = _safe(item.label)
    if change is Change.ADDED:
        return f"{label}  {_fields(item.after)}".rstrip()
    if change is Change.REMOVED:
        return f"{label}  {_fields(item.before)}".rstrip()
    after = dict(item.after)
    parts = [
        f"{_safe(name)}: {_safe(value)} → {_safe(after.get(name, '∅'))}"
        for name, value in item.before
        if after.get(name) != value
    ]
    before_names = {name for name, _ in item.before}
    parts += [
        f"{_safe(name)}: ∅ → {_safe(value)}"
        for name, value in item.after
        if name not in before_names
    ]
    return f"{label}  {' · '.join(parts)}".rstrip()


def _fields(fields: tuple[tuple[str, str], ...]) -> str:
    return " · ".join(f"{_safe(name)} {_safe(value)}" for name, value in fields)


def _safe(text: str) -> str:
    return safe_text(text, keep="")
