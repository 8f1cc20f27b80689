"""Plugin sections as plain text, for `envdeck inspect` (control characters made safe)."""

from __future__ import annotations

from collections.abc import Sequence

from tui.core.text import safe_text
from tui.plugins.api import KeyValues, Section, Table, TextBlock


def _aligned(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]


def section_lines(section: Section, max_cell: int = 80) -> list[str]:
    def cell(value: str) -> str:
        value = safe_text(value).replace("\t", " ")
        return value if len(value) <= max_cell else value[: max_cell - 1] + "…"

    lines = [safe_text(section.title)]
    if isinstance(section, KeyValues):
        lines += _aligned([(cell(key), cell(value)) for key, value in section.items])
    elif isinstance(section, Table):
        header = tuple(cell(column) for column in section.columns)  # as the dashboard shows them
        lines += _aligned([header, *[tuple(cell(v) for v in row) for row in section.rows]])
        if not section.rows:
            lines.append("  (none)")
        if section.note:
            lines.append(f"  {safe_text(section.note)}")
    elif isinstance(section, TextBlock):
        lines += ["  " + safe_text(line) for line in section.text.splitlines() or [""]]
    return lines


def sections_text(sections: Sequence[Section]) -> str:
    blocks = ["\n".join(section_lines(section)) for section in sections]
    return "\n\n".join(blocks)
