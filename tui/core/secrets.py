"""Masking secrets in a container's environment, command line and healthcheck.

Masked by default, revealed only on an explicit key: screens get shared and recorded.
One rule, `mask_secrets`, for every text that may carry one (an env value, the command and
entrypoint, the healthcheck's test and its output), so no view masks less than another.
Over-masking is the safe mistake, so names match generously. What it masks:

- a URL's password: everything between the first ':' after `scheme://` and the LAST '@'
  before the host (`postgres://u:p@ss@h`, `redis://:pa/ss@h`: passwords are often pasted
  unencoded). A path holding '@' after a port (`http://h:80/a/@b`) is masked too: safe;
- a value whose name looks secret: `PGPASSWORD=x psql`, `?token=x&`, `password=x` in a
  libpq keyword string, `-Ddb.password=x`;
- long flags naming a secret: `--password x`, `--password=x`, `--requirepass x`,
  `--api-key x`; `--no-auth-warning` is a switch, and a value never starts with '-';
- `Authorization: Bearer x`;
- per program, the short flags that can only mean a password: `redis-cli -a x` and
  `curl -u user:x`. A bare `-p` is not masked: it is the port for psql and redis-cli and a
  password only when glued on for mysql (`-px`), too ambiguous to guess at.
"""

from __future__ import annotations

import re

MASK = "••••••"

_SECRET_NAME = re.compile(
    r"PASSW(OR)?D|PASS$|^PASS|PWD|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|PRIVATE|SIGNATURE"
    r"|^SIG$|_SIG$|SALT|DSN|COOKIE|SESSION",
    re.IGNORECASE,
)
# A value ends where a shell word or a query parameter does.
_VALUE = r"(?:\"[^\"]*\"|'[^']*'|[^\s\"'&;|]+)"
_SCHEME = r"[a-z][a-z0-9+.-]*://"
# scheme://user:password@host. Greedy up to the last '@' of the URL, which ends at
# whitespace, a quote, or the next URL (`redis://:a@h1,redis://:b@h2`).
_URL_PASSWORD = re.compile(
    rf"(?P<head>{_SCHEME}[^:@/\s\"']*:)(?P<secret>(?:(?!{_SCHEME})[^\s\"'])+?)"
    rf"(?=@(?:(?:(?!{_SCHEME})[^\s\"'@])*)(?:[\s\"']|{_SCHEME}|$))",
    re.IGNORECASE,
)
# NAME=value where NAME looks secret: an assignment, a query parameter, a keyword string.
_ASSIGNMENT = re.compile(rf"(?<![\w.-])(?P<name>[A-Za-z_][\w.-]*)=(?P<secret>{_VALUE})")
# --password=x, --requirepass x, --masterauth x.
_FLAG = re.compile(
    r"(?<![\w-])(?P<head>--?(?!no-)[\w.-]*(?:pass|secret|token|api-?key|auth|credential)"
    rf"[\w.-]*(?:=|\s+(?=[^\s-])))(?P<secret>{_VALUE})",
    re.IGNORECASE,
)
_AUTHORIZATION = re.compile(
    r"(?P<head>\b(?:proxy-)?authorization\s*:\s*(?:(?:bearer|basic|token|digest)\s+)?)"
    r"(?P<secret>[^\s\"']+)",
    re.IGNORECASE,
)
# Short flags that mean a password for one program only, within one shell command of it.
_PROGRAM_FLAG = re.compile(
    rf"(?P<head>\bredis-cli\b[^;|&\n]*?\s-a\s+)(?P<secret>{_VALUE})"
    rf"|(?P<head2>\bcurl\b[^;|&\n]*?\s(?:-u|--user)(?:\s+|=)[\"']?[^\s:\"']*:)"
    r"(?P<secret2>[^\s\"']+)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def _mask_named(match: re.Match[str]) -> str:
    if not is_secret_name(match.group("name")):
        return match.group()
    return f"{match.group('name')}={MASK}"


def _mask_program_flag(match: re.Match[str]) -> str:
    head = match.group("head") if match.group("head") is not None else match.group("head2")
    return head + MASK


def mask_secrets(text: str) -> str:
    """`text` (an env value, a command line, a healthcheck or its output) with every
    secret the module docstring lists replaced by MASK."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    text = _PROGRAM_FLAG.sub(_mask_program_flag, text)
    text = _FLAG.sub(lambda m: m.group("head") + MASK, text)
    text = _AUTHORIZATION.sub(lambda m: m.group("head") + MASK, text)
    return _ASSIGNMENT.sub(_mask_named, text)


def find_secrets(text: str) -> list[str]:
    """The secret values `mask_secrets` would hide in `text`, quotes taken off: to hide the
    same values where they appear without a telltale (a service logging its password)."""
    found = [m.group("secret") for m in _URL_PASSWORD.finditer(text)]
    for match in _PROGRAM_FLAG.finditer(text):
        found.append(match.group("secret") or match.group("secret2") or "")
    found += [m.group("secret") for m in _FLAG.finditer(text)]
    found += [m.group("secret") for m in _AUTHORIZATION.finditer(text)]
    found += [m.group("secret") for m in _ASSIGNMENT.finditer(text) if is_secret_name(m["name"])]
    return [value.strip("\"'") for value in found if value.strip("\"'")]


def mask_env_value(name: str, value: str) -> str:
    """An env variable's value as shown: all of it when its name looks secret."""
    if is_secret_name(name):
        return MASK if value else ""
    return mask_secrets(value)


def split_env(entries: list[str]) -> list[tuple[str, str]]:
    """Docker's ["NAME=value", ...] as pairs, in order."""
    pairs = []
    for entry in entries:
        name, _, value = entry.partition("=")
        pairs.append((name, value))
    return pairs
