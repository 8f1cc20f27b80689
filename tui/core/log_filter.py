"""Log search: a text or regex pattern that either highlights matches or hides the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class FilterMode(Enum):
    HIGHLIGHT = "highlight"  # every line stays; matches are marked; n / N jump
    HIDE = "hide"  # only matching lines stay


class BadPattern(ValueError):
    """The regex does not compile; the message says why, for the user."""


@dataclass(frozen=True)
class LogFilter:
    pattern: str
    regex: bool = False
    mode: FilterMode = FilterMode.HIGHLIGHT
    case_sensitive: bool = False

    def compiled(self) -> re.Pattern[str]:
        flags = 0 if self.case_sensitive else re.IGNORECASE
        source = self.pattern if self.regex else re.escape(self.pattern)
        try:
            return re.compile(source, flags)
        except re.error as error:
            raise BadPattern(f"not a valid regex: {error}") from None

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the pattern matches in `text` (empty matches skipped)."""
        if not self.pattern:
            return []
        return [m.span() for m in self.compiled().finditer(text) if m.end() > m.start()]

    def matches(self, text: str) -> bool:
        return bool(self.pattern) and self.compiled().search(text) is not None


def parse_filter(text: str, mode: FilterMode = FilterMode.HIGHLIGHT) -> LogFilter:
    """`/pattern/` is a regex, anything else is plain text; `!` in front hides the rest."""
    if text.startswith("!"):
        mode, text = FilterMode.HIDE, text[1:]
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        return LogFilter(text[1:-1], regex=True, mode=mode)
    return LogFilter(text, regex=False, mode=mode)
