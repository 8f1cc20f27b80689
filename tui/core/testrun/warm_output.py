"""The console output of a prepared warm start: what its paused pytest printed, kept or not.

A prepared spare (warm_helper.py) is a pytest that has parsed its arguments and imported
its plugins and initial conftest.py files before the run was wanted; whatever that printed
is already in the pipe when the run takes it. When the run is handed over the helper writes
one line, `MARKER:go` or `MARKER:cold`, to that pipe: with `go` what came before is the
run's own output (the line itself is dropped); with `cold` the helper is about to exec a
fresh pytest, which prints it all again, so what came before is dropped too. `MARKER` is
a random token of that spare's, so a test's own output cannot pass for it.
"""

from __future__ import annotations

MAX_HELD_BYTES = 4 * 1024 * 1024  # past this, the output is passed on (it cannot be a prelude)


class PreludeFilter:
    """Holds the output back until the helper's line says what it was."""

    def __init__(self, marker: bytes) -> None:
        self._marker = marker + b":"
        self._held = bytearray()
        self._decided = False

    def feed(self, chunk: bytes) -> bytes:
        """What of the output so far can be shown (b"" while it is held)."""
        if self._decided:
            return chunk
        self._held += chunk
        start = self._held.find(self._marker)
        end = self._held.find(b"\n", start) if start >= 0 else -1
        if end < 0:
            if len(self._held) <= MAX_HELD_BYTES:
                return b""
            return self._release(bytes(self._held))
        word = bytes(self._held[start + len(self._marker) : end])
        before = bytes(self._held[:start]) if word == b"go" else b""
        return self._release(before + bytes(self._held[end + 1 :]))

    def end(self) -> bytes:
        """At the end of the output: anything still held (the helper never said)."""
        return b"" if self._decided else self._release(bytes(self._held))

    def _release(self, data: bytes) -> bytes:
        self._decided = True
        self._held = bytearray()
        return data
