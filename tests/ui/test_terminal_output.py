"""What reaches the real terminal: no data-borne escape, C1 or BEL, ever."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import sys
import time

from tests.conftest import REPO

# Bytes that only data could have put there: the app itself never sets the title, writes
# the clipboard, rings the bell or uses C1 controls.
FORBIDDEN = {
    b"\x1b]": "an OSC sequence (title, clipboard, hyperlink...) other than Textual's own",
    b"\xc2\x9b": "C1 CSI as UTF-8",
    b"\x9b32m": "raw C1 byte",
    b"\x07": "BEL",
    b"\x1b[2J\x1b[Hclear-screen": "the data's own clear-screen",
}


def run_in_pty(keys: list[bytes], ready: bytes, seconds: float = 30.0) -> bytes:
    """The app's raw output; `keys` are typed one by one once `ready` is on screen."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the app, in a 120x40 terminal
        os.chdir(REPO)
        os.environ.update({"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"})
        os.execv(sys.executable, [sys.executable, "-m", "tests.ui.hostile_app"])  # noqa: S606
    output = bytearray()
    deadline = time.monotonic() + seconds
    pending = list(keys)
    next_key_at = float("inf")
    try:
        while time.monotonic() < deadline:
            readable, _, _ = select.select([fd], [], [], 0.1)
            if readable:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break  # the app exited and closed the terminal
                if not chunk:
                    break
                output += chunk
                if next_key_at == float("inf") and ready in output:
                    next_key_at = time.monotonic() + 0.5
            if pending and time.monotonic() >= next_key_at:
                os.write(fd, pending.pop(0))
                next_key_at = time.monotonic() + 0.7
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return bytes(output)


def test_hostile_logs_env_and_names_never_reach_the_terminal_raw() -> None:
    # Logs of the first service, the merged view, the Env tab with secrets revealed.
    output = run_in_pty([b"a", b"e", b"v", b"q"], ready=b"clear-screen")
    assert b"clear-screen" in output, "the hostile log lines were not on screen at all"
    assert b"EVIL" in output, "the hostile environment was not on screen"
    assert "␛]0;pwned-title␇".encode() in output, "hostile text is shown, made visible"
    # Textual sets the mouse pointer shape with OSC 22 (ended by BEL): the app's, not data's.
    own = re.sub(rb"\x1b\]22;[\w-]*\x07", b"", output)
    for sequence, what in FORBIDDEN.items():
        assert sequence not in own, f"{what} reached the terminal"


# Bidi controls and marks, zero-width characters: as UTF-8, as data would bring them.
BIDI_OR_INVISIBLE = [
    chr(code).encode()
    for code in (0x061C, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065))
] + [chr(code).encode() for code in (*range(0x2066, 0x206A), 0xFEFF)]


def test_hostile_plugin_headers_titles_and_names_never_reach_the_terminal_raw() -> None:
    # The redis row, its Inspect tab: a table whose headers, title and cells are hostile.
    output = run_in_pty([b"j", b"j", b"j", b"j", b"i", b"q"], ready=b"clear-screen")
    assert b"[@click=app.quit]x[/]" in output, "the hostile plugin's table was not on screen"
    for sequence in BIDI_OR_INVISIBLE:
        assert sequence not in output, f"{sequence!r} reached the terminal"
    assert b"bidi\\u202eevil" in output, "shown by the display rule"
