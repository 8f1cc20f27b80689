"""Masking secrets in a container's environment and command line.

Masked by default, revealed only on an explicit key: screens get shared and recorded.
Over-masking is the safe mistake, so names match generously.
"""

from __future__ import annotations

import re

MASK = "••••••"

_SECRET_NAME = re.compile(
    r"PASSW(OR)?D|PASS$|^PASS|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|PRIVATE|SIGNATURE|SALT|DSN"
    r"|COOKIE|SESSION",
    re.IGNORECASE,
)
# scheme://user:password@host — the password part only.
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@/\s]+)(?=@)", re.IGNORECASE
)
# --password=x, --requirepass x, --masterauth x; -ppassword is too ambiguous to guess at.
_ARG_SECRET = re.compile(
    r"(?P<head>--?[\w-]*(?:pass|secret|token|api-?key|auth|credential)[\w-]*(?:=|\s+))"
    r"(?P<secret>\"[^\"]*\"|'[^']*'|[^\s\"']+)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def mask_inline_secrets(text: str) -> str:
    """Passwords inside URLs and after --password-style flags, masked."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _ARG_SECRET.sub(lambda m: m.group("head") + MASK, text)


def mask_env_value(name: str, value: str) -> str:
    if is_secret_name(name):
        return MASK if value else ""
    return mask_inline_secrets(value)


def split_env(entries: list[str]) -> list[tuple[str, str]]:
    """Docker's ["NAME=value", ...] as pairs, in order."""
    pairs = []
    for entry in entries:
        name, _, value = entry.partition("=")
        pairs.append((name, value))
    return pairs
