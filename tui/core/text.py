"""Untrusted text (container names, labels, logs, values, column names) made safe to show.

One rule for every piece of data that reaches a terminal, whichever plugin or widget shows
it. Three kinds of character are never shown as they are:

- control characters (C0 but the whitespace a caller keeps, DEL, C1): a container could set
  the window title, write the clipboard or clear the screen;
- bidi controls (embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069, the marks
  U+200E, U+200F, U+061C): they reorder what follows, so `evil\\u202egpj.exe` reads as
  `evilexe.jpg` (Trojan Source);
- invisible characters (zero-width space and joiners U+200B-U+200D, U+2060-U+2064, U+FEFF,
  U+180E, the line and paragraph separators U+2028-U+2029, interlinear annotations
  U+FFF9-U+FFFB, tags U+E0000-U+E007F): two names that look the same differ, or hidden
  text rides along.

Each becomes a visible escape: C0 its Unicode control picture (`␛`, `␊`), DEL `␡`, any other
by code point (`\\u202e`). `unescape_text` undoes it, for a name typed back from the screen.
Markup is the UI's concern: it hands the result to Textual as `Text`, never as markup
(tui/ui/safe.py).
"""

from __future__ import annotations

import functools
import re

# Besides C0: DEL and C1, bidi controls and marks, invisible characters.
_UNSAFE_ABOVE_C0 = (
    "\x7f-\x9f"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u180e\u200b-\u200d\u2060-\u2064\ufeff\u2028\u2029\ufff9-\ufffb\U000e0000-\U000e007f"
)
_DEL = "\\x7f"
_PICTURE_DEL = "␡"
_ESCAPE = re.compile(r"[\u2400-\u241f\u2421]|\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})")


@functools.cache
def _unsafe(keep: str, ascii_only: bool) -> re.Pattern[str]:
    """The characters to escape, but for the C0 whitespace in `keep` (tab, newline).
    `ascii_only`: the same rule for a text known to be ASCII, a smaller class to scan."""
    c0 = "".join(f"\\x{code:02x}" for code in range(0x20) if chr(code) not in keep)
    return re.compile(f"[{c0}{_DEL if ascii_only else _UNSAFE_ABOVE_C0}]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control pictures: ␀ ␁ … ␛ … ␟
    if code == 0x7F:
        return _PICTURE_DEL
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def safe_text(text: str, *, keep: str = "\t") -> str:
    """`text` with every unsafe character made visible. `keep` names the C0 whitespace
    that stays as it is: a tab by default; "" for one line of a name; "\\t\\n" for a
    value shown over several lines."""
    # Most data is ASCII (a flag CPython keeps on every str): it scans the smaller class.
    return _unsafe(keep, text.isascii()).sub(_visible, text)


def safe_bytes(data: bytes) -> str:
    """Bytes from a container: invalid UTF-8 replaced, unsafe characters made visible."""
    return safe_text(data.decode("utf-8", errors="replace"))


def safe_text_lines(data: bytes) -> list[str]:
    """Lines joined by newlines, each as `safe_bytes` makes it: one decode and one scan for
    the whole chunk rather than one per line."""
    text = data.decode("utf-8", errors="replace")
    unsafe = _unsafe("\t\n", text.isascii())
    if unsafe.search(text) is not None:
        text = unsafe.sub(_visible, text)
    return text.split("\n")


def _original(match: re.Match[str]) -> str:
    short, long = match.groups()
    if short is not None or long is not None:
        return chr(int(short or long, 16))
    picture = match.group()
    return "\x7f" if picture == _PICTURE_DEL else chr(ord(picture) - 0x2400)


def unescape_text(text: str) -> str:
    """What `safe_text` may have been given to show `text`: its escapes undone. A text
    can carry a `␛` of its own, so callers try `text` itself first."""
    return _ESCAPE.sub(_original, text)
