"""Untrusted text made inert in Markdown, for READMEs that a code-hosting site renders.

A test id or a service name can hold `|`, `*`, `[x](javascript:…)`, `<script>` or a run of
backticks: each helper shows it as the characters it is. Control characters are made
visible first (`tui.core.text.safe_text`), so the file is safe to `cat` too.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from tui.core.text import safe_text

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>|~&])")
_BACKTICKS = re.compile(r"`+")


def md_text(text: str) -> str:
    """Inline text, every Markdown-special character escaped, on one line."""
    return _SPECIAL.sub(r"\\\1", safe_text(text, keep=""))


def md_code(text: str, *, in_table: bool = False) -> str:
    """An inline code span that no backtick in `text` can close early. In a table a pipe
    ends the cell even inside code, so there it is escaped (GFM shows `\\|` as `|`)."""
    shown = safe_text(text, keep="")
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(shown)), default=0) + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") or not shown else ""
    if in_table:
        shown = shown.replace("|", "\\|")
    return f"{fence}{pad}{shown}{pad}{fence}"


def md_block(text: str) -> str:
    """A fenced code block that no line of `text` can close early."""
    shown = safe_text(text, keep="\t\n")
    longest = max((len(run) for run in re.findall(r"~+", shown)), default=0)
    fence = "~" * max(3, longest + 1)
    return f"{fence}text\n{shown}\n{fence}"


def md_link(label: str, path: str) -> str:
    """A link to a file of the bundle, relative, its path percent-encoded."""
    return f"[{md_text(label)}]({quote(path)})"
