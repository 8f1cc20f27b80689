"""The one way data reaches a widget: as `Text` made by `safe_label`, never as a `str`.

Textual parses a plain `str` as markup almost everywhere it takes one: DataTable column
headers and string cells, option and select prompts, tab, tree and button labels,
tooltips, `Static.update`, notifications. A PostgreSQL column named `x[/]` then raises
MarkupError and ends the app; one named `[@click=app.quit]x[/]` becomes a clickable
action. A `Text` is never parsed. Its characters still pass the core's one display rule
(`tui.core.text.safe_text`): no control, bidi or invisible character reaches the terminal.
"""

from __future__ import annotations

from rich.text import Text

from tui.core.text import safe_text


def safe_label(text: str, style: str = "", *, limit: int | None = None) -> Text:
    """`text` as literal characters for any widget, on one line (a newline shows as ␊);
    with `limit`, cut to that many characters as shown (an escape takes several)."""
    shown = safe_text(text)
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return Text(shown, style=style, end="")


def safe_block(text: str, style: str = "") -> Text:
    """`text` as literal characters over several lines (for a body, not a label)."""
    return Text(safe_text(text, keep="\t\n"), style=style, end="")
