"""Column values as short, single-line, plain strings.

Every value arrives as PostgreSQL's own text output (see `session.TEXT_ONLY`), so no
Python conversion can fail on `infinity`, BC dates, NaN or an extension's type. Then:

- SQL NULL is shown as `∅`, so it stays distinct from the text 'NULL';
- bytea as a hex preview: `\\x0102` whole when short, else `\\x0102… (N bytes)`;
- json/jsonb as compact JSON (whitespace outside strings dropped, numbers untouched);
- timestamps as ISO 8601 (`2024-05-06T07:08:09+00`);
- anything longer than `MAX_CHARS` cut, with `… (N chars)` giving the full length;
- control characters made visible (`␛`, `␊`...), so a value cannot drive the terminal.
"""

from __future__ import annotations

import re

from tui.core.text import safe_text

NULL = "∅"
MAX_CHARS = 200
BYTEA_PREVIEW_BYTES = 16

# Type OIDs are fixed in PostgreSQL's catalog for built-in types.
BOOL_OID = 16
BYTEA_OID = 17
JSON_OID = 114
JSONB_OID = 3802
TIMESTAMP_OIDS = frozenset({1114, 1184})  # timestamp, timestamptz

_ISO_DATE_SPACE = re.compile(r"^(\d{4,}-\d{2}-\d{2}) (?=\d)")
_JSON_COMPACT_LIMIT = 100_000  # past this, compacting costs more than it shows


def render_cell(value: str | None, type_oid: int) -> str:
    """One column value, as PostgreSQL wrote it in text, ready for a table cell."""
    if value is None:
        return NULL
    if type_oid == BYTEA_OID:
        return render_bytea(value)
    if type_oid in (JSON_OID, JSONB_OID):
        value = compact_json(value)
    elif type_oid in TIMESTAMP_OIDS:
        value = _ISO_DATE_SPACE.sub(r"\1T", value)
    elif type_oid == BOOL_OID:
        value = {"t": "true", "f": "false"}.get(value, value)
    return plain(value)


def plain(text: str | None, limit: int = MAX_CHARS) -> str:
    """Untrusted text, cut to `limit` characters and with control characters visible."""
    return safe_text(truncate(text or "", limit))


def truncate(text: str, limit: int = MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} chars)"


def render_bytea(hex_text: str) -> str:
    """bytea's hex output (`\\x0102...`) as a preview with the size in bytes."""
    digits = hex_text[2:] if hex_text.startswith("\\x") else hex_text
    size = len(digits) // 2
    if size <= BYTEA_PREVIEW_BYTES:
        return "\\x" + digits
    return f"\\x{digits[: BYTEA_PREVIEW_BYTES * 2]}… ({size:,} bytes)"


def compact_json(text: str) -> str:
    """JSON without the whitespace between tokens. Not parsed and re-dumped: that would
    turn 1.10 into 1.1 and big numbers into floats."""
    if len(text) > _JSON_COMPACT_LIMIT:
        return text
    out: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif not char.isspace():
            out.append(char)
    return "".join(out)


def rows_note(offset: int, shown: int, more: bool, estimate: int | None = None) -> str:
    """`rows 101-200 of about 5,000, more on the next page` for a page of a listing."""
    if not shown:
        return "no rows" if offset == 0 else f"no rows after {offset:,}"
    note = f"rows {offset + 1:,}-{offset + shown:,}"
    if estimate is not None and estimate >= 0:
        note += f" of about {estimate:,}"
    return f"{note}, more on the next page" if more else note
