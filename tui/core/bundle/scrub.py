"""Secrets out of everything a bundle holds: the compose config, logs, the test's report.

A bundle is made to be handed on (a CI artifact, an issue attachment), so nothing in it may
hold a secret in the clear. Two rules, both over-masking rather than under:

1. Structure: in the effective compose config, a value whose key looks secret (an
   environment variable, a label, a build arg: `tui.core.secrets.is_secret_name`) is
   masked whole; every list of strings (command, entrypoint, healthcheck test) is read as
   an argv, so a secret in the word after `--requirepass` or `redis-cli -a` is masked;
   every other string goes through `mask_secrets` (URL passwords, `NAME=value`, flags).
2. Known values: every secret value found by rule 1 is replaced wherever it appears in
   free text: service log lines, the test's report and captured output, the data diff.
   A service that logs its own password, or a test that prints the DSN, gives nothing
   away. Values shorter than MIN_KNOWN_CHARS are left to rule 1's patterns (replacing
   "pw" everywhere would garble every log). A value cut short by a tool (pytest shortens
   a long repr to its start, `...`, and its end: `{'requirepass...is-Pass-9931'}`) is
   masked too: any start or end of a known value of MIN_FRAGMENT_CHARS or more beside
   an ellipsis.

The test's own output is the user's, but it lands in the same artifact: it is masked by
both rules like any other text (`PASSWORD=...`, `postgres://user:pass@host`, and the
stack's known secret values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tui.core.secrets import MASK, find_secrets, is_secret_name, mask_secrets

MIN_KNOWN_CHARS = 4
MIN_FRAGMENT_CHARS = 3  # of a known value cut short beside an ellipsis
_ELLIPSIS = r"(?:\.\.\.|…)"
_PROBE = "envdeck-probe-value"
_ARGV_CONTEXT = 8  # words before a value that can make it a secret (`redis-cli -h h -a x`)


class Scrubber:
    """Masks the known secret values, then every pattern `mask_secrets` knows."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        values = sorted({v for v in known if len(v) >= MIN_KNOWN_CHARS}, key=len, reverse=True)
        self.known = tuple(values)
        self._known = re.compile("|".join(map(re.escape, values))) if values else None
        self._cut = _fragments(values)

    def text(self, text: str) -> str:
        if self._known is not None:
            text = self._known.sub(MASK, text)
        if self._cut is not None:
            text = self._cut.sub(_mask_fragment, text)
        return mask_secrets(text)

    def data(self, value: Any) -> Any:
        """A JSON-like value with every string masked by `text`."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {key: self.data(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        return value


def _fragments(values: Sequence[str]) -> re.Pattern[str] | None:
    """Starts of known values before an ellipsis, ends after one (longest first)."""
    starts: set[str] = set()
    ends: set[str] = set()
    for value in values:
        for size in range(MIN_FRAGMENT_CHARS, len(value)):
            starts.add(value[:size])
            ends.add(value[-size:])
    if not starts:
        return None

    def either(parts: set[str]) -> str:
        return "|".join(map(re.escape, sorted(parts, key=len, reverse=True)))

    return re.compile(
        rf"(?P<start>{either(starts)})(?P<cut1>{_ELLIPSIS})|(?P<cut2>{_ELLIPSIS})(?P<end>{either(ends)})"
    )


def _mask_fragment(match: re.Match[str]) -> str:
    if match.group("start") is not None:
        return MASK + match.group("cut1")
    return match.group("cut2") + MASK


def mask_config(config: Any) -> tuple[Any, set[str]]:
    """`docker compose config --format json`'s document with every secret masked (rule 1),
    and the secret values it found (for rule 2)."""
    found: set[str] = set()
    return _mask_value(config, found), found


def _mask_value(value: Any, found: set[str]) -> Any:
    if isinstance(value, str):
        found.update(find_secrets(value))
        return mask_secrets(value)
    if isinstance(value, Mapping):
        masked: dict[str, Any] = {}
        for key, item in value.items():
            scalar = isinstance(item, str | int | float) and not isinstance(item, bool)
            if is_secret_name(str(key)) and scalar and item != "":
                found.add(str(item))
                masked[key] = MASK
            else:
                masked[key] = _mask_value(item, found)
        return masked
    if isinstance(value, list | tuple):
        if all(isinstance(item, str) for item in value):
            return mask_argv(list(value), found)
        return [_mask_value(item, found) for item in value]
    return value


def mask_argv(words: Sequence[str], found: set[str] | None = None) -> list[str]:
    """An argv with its secrets masked: those inside a word, and a whole word that is the
    value of the flag before it (`["--requirepass", "x"]`, `["redis-cli", "-a", "x"]`)."""
    found = set() if found is None else found
    masked: list[str] = []
    for index, word in enumerate(words):
        if index and _value_is_secret(words[max(0, index - _ARGV_CONTEXT) : index]):
            found.add(word)
            masked.append(MASK if word else word)
        else:
            found.update(find_secrets(word))
            masked.append(mask_secrets(word))
    return masked


def _value_is_secret(before: Sequence[str]) -> bool:
    """Whether `mask_secrets` masks a word put after `before`: the one rule for flags."""
    if before[-1].startswith("-") and "=" in before[-1]:
        return False  # `--password=x` carries its own value
    shown = mask_secrets(" ".join([*before, _PROBE]))
    return not shown.endswith(_PROBE)
