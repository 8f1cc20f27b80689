"""Untrusted text (container names, labels, logs, values) made safe to display.

Control characters (C0 except tab, DEL, C1) never reach a terminal: they are shown as
visible escapes, so a container cannot set the window title or write the clipboard.
Markup is never parsed from such text; widgets receive it as plain strings.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code == 0x1B:
        return "␛"
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control pictures: ␀ ␁ … ␟
    if code == 0x7F:
        return "␡"
    return f"\\x{code:02x}"


def safe_text(text: str) -> str:
    """`text` with every control character except tab made visible."""
    return _CONTROL.sub(_visible, text)


def safe_bytes(data: bytes) -> str:
    """Bytes from a container: invalid UTF-8 replaced, control characters made visible."""
    return safe_text(data.decode("utf-8", errors="replace"))


def safe_text_lines(data: bytes) -> list[str]:
    """Lines joined by newlines, each as `safe_bytes` makes it: one decode and one scan for
    the whole chunk rather than one per line."""
    text = data.decode("utf-8", errors="replace")
    if _CONTROL_BUT_NEWLINE.search(text) is not None:
        text = _CONTROL_BUT_NEWLINE.sub(_visible, text)
    return text.split("\n")
