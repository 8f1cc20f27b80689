"""HTTP answers turned into display strings: pure functions, no I/O.

Bodies and headers are untrusted: everything leaves through `safe_text`, line by line
where line breaks should survive.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from envdeck_http.history import HistoryEntry
from tui.core.text import safe_text

PREVIEW_CHARS = 120  # a body in one key/value line
BODY_CHARS = 8_000  # a body in its own text block
HISTORY_COLUMNS = ("time", "method", "path", "status", "latency ms")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_label(status: int, reason: str) -> str:
    return f"{status} {safe_text(reason)}".strip()


def latency_label(latency_ms: float) -> str:
    return f"{latency_ms:.1f} ms"


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


def decode(body: bytes, content_type: str) -> str:
    try:
        return body.decode(_charset(content_type), errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def is_binary(body: bytes, content_type: str) -> bool:
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if kind.startswith("text/") or "json" in kind or "xml" in kind:
        return False
    return b"\x00" in body[:1024]


def safe_multiline(text: str) -> str:
    """Like `safe_text`, but line breaks stay line breaks."""
    return "\n".join(safe_text(line) for line in text.splitlines())


def body_preview(body: bytes, content_type: str, limit: int = PREVIEW_CHARS) -> str:
    """One line: the start of the body, whitespace squeezed."""
    if not body:
        return "(empty)"
    if is_binary(body, content_type):
        return f"(binary, {len(body):,} bytes)"
    return truncate(safe_text(" ".join(decode(body, content_type).split())), limit)


def pretty_json(text: str) -> str | None:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return None  # not JSON, or cut short by the size cap


def body_text(body: bytes, content_type: str, truncated: bool, limit: int = BODY_CHARS) -> str:
    """The body for reading: JSON pretty-printed, everything made safe and cut to `limit`."""
    if not body:
        return "(empty body)"
    if is_binary(body, content_type):
        return f"(binary body, {len(body):,}{'+' if truncated else ''} bytes)"
    text = decode(body, content_type)
    looks_json = "json" in content_type.lower() or text.lstrip()[:1] in ("{", "[")
    pretty = pretty_json(text) if looks_json else None
    shown = safe_multiline(pretty if pretty is not None else text)
    if len(shown) > limit:
        return shown[:limit] + "\n… (truncated)"
    return shown + ("\n… (truncated)" if truncated else "")


def headers_rows(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((safe_text(name), truncate(safe_text(value), 200)) for name, value in headers)


def history_rows(entries: Iterable[HistoryEntry]) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            time.strftime("%H:%M:%S", time.localtime(entry.at)),
            entry.method,
            truncate(safe_text(entry.path), 80),
            entry.status,
            "—" if entry.latency_ms is None else f"{entry.latency_ms:.1f}",
        )
        for entry in entries
    )
