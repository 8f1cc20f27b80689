"""pytest's own words about a run it refused or cut short (exit codes 2-5).

Our plugin's events say which tests ran; they cannot say why none did: pytest refuses a
command line (exit 4) before our plugin hears of a session, and says why in a line or two
of its output. The runner keeps that output (stdout and stderr on one pipe, in the order
pytest wrote them), and this module cuts pytest's message out of it, by the marks pytest
itself writes:

- exit 4 (usage error): from pytest's `ERROR: ` line (unknown option, bad value, file or
  directory not found) or `ImportError while loading conftest` to the end;
- exit 3 (internal error): its `INTERNALERROR>` lines;
- exit 2 (interrupted, collection errors) and 5 (no tests collected): the end of its report,
  from the short test summary or the `collected` line.

The text stays pytest's, verbatim; a caller makes it safe to show (`safe_text`).
"""

from __future__ import annotations

EXIT_MEANINGS = {
    2: "interrupted",
    3: "internal error",
    4: "usage error",
    5: "no tests collected",
}
MAX_LINES = 40  # a message, not a report: the longest is an internal error's traceback
TAIL_LINES = 12
USAGE_MARKS = ("ERROR: ", "ImportError while loading conftest")
SKIPPED_IN_HEADLINE = ("ERROR: usage:", "short test summary info", "inifile:", "rootdir:")


def pytest_message(output: str, exit_code: int) -> str:
    """What pytest said about ending with `exit_code`; "" for the other codes."""
    if exit_code not in EXIT_MEANINGS:
        return ""
    lines = output.splitlines()
    if exit_code == 3:
        chosen = [line for line in lines if line.startswith("INTERNALERROR>")]
    elif exit_code == 4:
        start = next((i for i, line in enumerate(lines) if line.startswith(USAGE_MARKS)), None)
        chosen = lines[start:] if start is not None else []
    else:
        marks = [i for i, line in enumerate(lines) if _summary_mark(line)]
        chosen = lines[marks[-1] :] if marks else []
    chosen = _trimmed(chosen or lines[-TAIL_LINES:])
    if len(chosen) > MAX_LINES:
        cut = len(chosen) - MAX_LINES + 1
        chosen = [chosen[0], f"… ({cut} lines more) …", *chosen[-(MAX_LINES - 2) :]]
    return "\n".join(chosen)


def exit_meaning(exit_code: int) -> str:
    """pytest's name for an exit code: "usage error"; "" for 0, 1 and the unknown."""
    return EXIT_MEANINGS.get(exit_code, "")


def headline(message: str, exit_code: int) -> str:
    """One line of the message for a status line: the error itself, not the usage line or
    the banners around it."""
    lines = [line.strip(" =!") for line in message.splitlines()]
    lines = [line for line in lines if line and not line.startswith(SKIPPED_IN_HEADLINE)]
    if not lines:
        return ""
    if exit_code == 3:
        return lines[-1].removeprefix("INTERNALERROR>").strip()  # the exception, at the end
    if lines[0].startswith(USAGE_MARKS[1]):  # which conftest, and why it does not import
        reason = next((line[1:].strip() for line in reversed(lines) if line[:2] == "E "), "")
        return f"{lines[0]} — {reason}" if reason else lines[0]
    telling = ("Interrupted:",) if exit_code == 2 else ()
    return next((line for line in lines if line.startswith(telling) or "error:" in line), lines[0])


def _summary_mark(line: str) -> bool:
    return line.startswith("collected ") or "short test summary info" in line


def _trimmed(lines: list[str]) -> list[str]:
    """Without the blank lines around it."""
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    end = len(lines) - next((i for i, line in enumerate(reversed(lines)) if line.strip()), 0)
    return [line.rstrip() for line in lines[start:end]]
