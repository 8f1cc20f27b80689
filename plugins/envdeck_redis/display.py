"""Redis bytes and numbers as text a person can read and a terminal can show.

Keys and values are arbitrary bytes. They come back as `str`, never bytes: bytes that are
not UTF-8 become `\\xNN`, and every character unsafe on a terminal is shown as the core's
one rule shows it everywhere (`tui.core.text.safe_text`: `␛`, `\\u202e`). For key names
the escaping is reversible (`key_candidates`), so a key shown in the browser can be typed
back to open or delete it, even when its name is binary.
"""

from __future__ import annotations

import codecs
import re

from tui.core.text import safe_text, unescape_text

# The bytes that were not UTF-8 (decoded with backslashreplace). The core's own escapes
# never take this form, so a shown name leads back to one key.
_BYTE_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")

# redis-py types replies as bytes or str, as decode_responses may be set; ours are bytes.
Raw = bytes | str

CELL_CHARS = 200  # one table cell: enough to recognise a value, not a wall of text


def as_bytes(raw: Raw) -> bytes:
    return raw.encode("utf-8", errors="backslashreplace") if isinstance(raw, str) else raw


def key_text(raw: Raw) -> str:
    """A key name on one line; `key_candidates` turns it back into the key's bytes."""
    return safe_text(as_bytes(raw).decode("utf-8", errors="backslashreplace"), keep="")


def value_text(raw: Raw, *, complete: bool = True) -> str:
    """A value as text. `complete=False` for a prefix: a multi-byte character cut at the
    end is dropped rather than shown as broken bytes."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="backslashreplace")
    # In a value, tabs and line breaks keep their meaning.
    return safe_text(decoder.decode(as_bytes(raw), final=complete), keep="\t\n")


def cell_text(raw: Raw, limit: int = CELL_CHARS) -> str:
    """A key, field or element for one table cell: one line, at most `limit` characters."""
    return truncated(key_text(raw), limit)


def truncated(text: str, limit: int = CELL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def key_candidates(text: str) -> list[bytes]:
    """The keys `text` may name: itself, then with `key_text`'s escapes undone."""
    literal = text.encode("utf-8", errors="backslashreplace")
    unescaped = _unescape(text)
    return [literal] if unescaped == literal else [literal, unescaped]


def _unescape(text: str) -> bytes:
    parts: list[bytes] = []
    position = 0
    for match in _BYTE_ESCAPE.finditer(text):
        parts.append(_text_bytes(text[position : match.start()]))
        parts.append(bytes([int(match.group(1), 16)]))
        position = match.end()
    parts.append(_text_bytes(text[position:]))
    return b"".join(parts)


def _text_bytes(text: str) -> bytes:
    return unescape_text(text).encode("utf-8", errors="surrogatepass")


def is_glob(pattern: str) -> bool:
    """Whether a SCAN MATCH pattern can match more than one name."""
    return any(char in pattern for char in "*?[\\")


# ---------------------------------------------------------------- numbers


_SINGULAR = {"entries": "entry", "fields": "field", "items": "item", "keys": "key"}


def count_text(number: int, noun: str = "") -> str:
    """1234, "keys" -> "1,234 keys"; 1, "keys" -> "1 key"."""
    if number == 1 and noun:
        noun = _SINGULAR.get(noun, noun.removesuffix("s"))
    return f"{number:,} {noun}" if noun else f"{number:,}"


def bytes_text(size: int | float | None) -> str:
    """1536 -> "1.5 KiB"."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def duration_text(seconds: float) -> str:
    """3725 -> "1h 02m"; the two largest units are enough to judge an age or a TTL."""
    if seconds < 10:
        return f"{seconds:.1f}s" if seconds % 1 else f"{int(seconds)}s"
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def ttl_text(pttl_ms: int | None) -> str:
    """PTTL's answer: -1 is "no expiry" ("-"), -2 means the key is gone."""
    if pttl_ms is None:
        return "?"
    if pttl_ms == -1:
        return "-"
    if pttl_ms < 0:
        return "vanished"
    return duration_text(pttl_ms / 1000)


def micros_text(micros: int) -> str:
    """A command's duration from the slow log."""
    if micros < 1000:
        return f"{micros} µs"
    if micros < 1_000_000:
        return f"{micros / 1000:.1f} ms"
    return f"{micros / 1_000_000:.2f} s"


def percent_text(part: int, whole: int) -> str:
    return "-" if whole <= 0 else f"{100 * part / whole:.1f}%"
