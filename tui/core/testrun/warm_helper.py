"""envdeck's warm start: a Python that has imported pytest and waits to become a pytest run.

Watch mode starts this, ahead of time, exactly as it would start the next run, with the
same interpreter, folder, environment (the run's marker and event pipe included), process
session and pipes, but as `python -m envdeck_warm_helper` instead of `python -m pytest ...`.
It imports pytest and pytest's own plugins, then blocks reading its stdin. When a run is
wanted, envdeck writes that run's pytest arguments on one line (JSON) and closes the pipe;
the helper then runs pytest's `__main__` the way `python -m pytest ARGS` does
(`runpy._run_module_as_main`), in the process it already is. Interpreter start and those
imports are then behind it: a run's first result comes ~0.3 s sooner here.

Nothing of the project is imported ahead of time (no conftest.py, no test, no module of its
own, no third-party pytest plugin: pytest must mark those for assertion rewriting before
they are imported). What was imported is checked before running: if a file of an imported
module changed, a new file would now shadow one, or site-packages changed (an install)
since, the helper replaces itself with a plain `python -m pytest ARGS` (exec: the same
process, pipes and environment), so the run is exactly a cold one. It does the same if the
imports failed. With EOF instead of arguments (envdeck discarded it, or exited), it exits.

*Prepared* spares go further (`{"prepare": ARGS, "marker": M}` as the first line): the
helper becomes `python -m pytest ARGS` for the arguments envdeck expects next (the last
run's: a save of the same file again) and pytest parses them, loads every plugin and the
initial conftest.py files, with whatever those import, then pauses in our plugin's
`pytest_cmdline_main`, before `pytest_configure` and the session (`wait_for_go`): the
process is a cold run that has not yet done anything that depends on when it runs. At
`{"go": ARGS}` it goes on if ARGS are the same and nothing it read has changed (every
module imported so far, each file it opened, site-packages, the conftest.py and
__init__.py files pytest looked for, none written since the helper started); otherwise it
execs a cold `python -m pytest ARGS`. Either way it first writes `M:go` or `M:cold` on a
line to the stdout envdeck reads (a copy taken at start, before pytest's capture): before a
cold start envdeck drops what the paused pytest printed, since the cold run prints it again
(`warm_output.py`).

Like the pytest plugin, this file runs in the project's interpreter: it is copied alone
into envdeck's private plugin folder (`command.plugin_directory`) as
`envdeck_warm_helper.py`, needs nothing but the standard library, and keeps to Python 3.8.
A prepared helper imports its own file again as `envdeck_warm_helper`, where the pause
lives: running pytest's `__main__` empties this `__main__` module (the plugin finds the
pause in `sys.modules` and calls it; the pause then removes that module).

One file (~420 lines) on purpose: it is copied alone into the user's interpreter, where it
can import nothing of envdeck, so it cannot be split into modules that import each other.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import json
import os
import runpy
import site
import sys
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

# A file written after this (less the clock's coarseness) may have been read before it was
# written, or after: a prepared run of it could be stale. Module level: the first thing run.
STARTED_NS = time.time_ns() - 20_000_000

MAX_GO_BYTES = 16 * 1024 * 1024
SUFFIXES = tuple(importlib.machinery.all_suffixes())  # .py, .pyc, .so and its variants
STANDARD_FINDERS = [
    importlib.machinery.BuiltinImporter,
    importlib.machinery.FrozenImporter,
    importlib.machinery.PathFinder,
]
# Imported by our event plugin (`pytest_plugin.py`) at its first use: no need to wait.
PLUGIN_STDLIB = ("contextlib", "ctypes", "datetime", "json", "time")


def preimport() -> None:
    """pytest, the plugins it always loads, and what our plugin needs."""
    importlib.import_module("pytest")
    config = importlib.import_module("_pytest.config")
    for name in (*config.essential_plugins, *config.default_plugins):
        importlib.import_module("_pytest." + name)
    for name in PLUGIN_STDLIB:
        importlib.import_module(name)


def stamp(path: str) -> tuple[int, int] | None:
    """A file's identity now: (mtime_ns, size), None if it is not there."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size)


def module_files() -> Iterator[tuple[str, str]]:
    """(module name, file) of every imported module that came from a file."""
    for name, module in list(sys.modules.items()):
        origin = getattr(getattr(module, "__spec__", None), "origin", None)
        if isinstance(origin, str) and os.path.isabs(origin):
            yield name, origin


def site_folders() -> list[str]:
    """Where an install lands: its .pth files run at start, its packages may shadow."""
    folders = list(getattr(site, "getsitepackages", list)())
    user = getattr(site, "getusersitepackages", lambda: None)()
    if isinstance(user, str):
        folders.append(user)
    return folders


class Snapshot:
    """What the imports relied on, to tell later whether a fresh start would differ.

    `read`: more files the process read, with their stamps when it read them (a prepared
    spare's, see `Prepared`). With `written_after` (ns), a file whose stamp says it was
    written since then counts as changed: it may have been read before that write."""

    def __init__(
        self, read: dict[str, tuple[int, int] | None] | None = None, written_after: int = 0
    ) -> None:
        self.files = {path: stamp(path) for _, path in module_files()}
        self.files.update(read or {})
        self.folders = {path: stamp(path) for path in site_folders()}
        self.origins = {  # top-level modules, which a new file on sys.path could shadow
            name: path for name, path in module_files() if "." not in name and name != "__main__"
        }
        self.written_after = written_after

    def changed(self) -> str | None:
        """Why a cold start would not import the same files now, or None."""
        for path, was in self.files.items():
            if stamp(path) != was:
                return f"{path} changed"
            if self.written_after and was is not None and was[0] >= self.written_after:
                return f"{path} was written while it was being read"
        for path, was in self.folders.items():
            if stamp(path) != was:
                return f"{path} changed"
        sys.path_importer_cache.clear()  # a fresh interpreter starts with none
        importlib.invalidate_caches()
        return shadowed(self.origins)


def shadowed(origins: dict[str, str]) -> str | None:
    """Which of these top-level modules a new file now hides, or None.

    The import system would ask every folder on sys.path in turn, ~60 us a module; this
    lists each folder once instead, which is what that amounts to for the standard finders
    (a module or a package with an __init__ in an earlier folder wins; a namespace folder
    does not). Anything else on the way (another finder, a zip) is asked the slow way.
    """
    finders = [type(f) if not isinstance(f, type) else f for f in sys.meta_path]
    # pytest's assertion rewriter (a prepared spare's) finds modules with PathFinder.
    finders = [f for f in finders if f.__name__ != "AssertionRewritingHook"]
    if finders != STANDARD_FINDERS:
        return slowly_shadowed(origins)
    folders = [os.path.normpath(entry or os.getcwd()) for entry in sys.path]
    listings: dict[int, set[str] | None] = {}
    for name, origin in origins.items():
        home = os.path.dirname(origin)
        if os.path.splitext(os.path.basename(origin))[0] == "__init__":
            home = os.path.dirname(home)
        if home not in folders:
            return slowly_shadowed({name: origin})
        for index in range(folders.index(home)):
            if index not in listings:
                listings[index] = importable_names(folders[index])
            listing = listings[index]
            if listing is None:  # a zip, say: ask the import system
                return slowly_shadowed({name: origin})
            if name in listing:
                return f"{name} would now come from {folders[index]}"
    return None


def importable_names(folder: str) -> set[str] | None:
    """The top-level modules a folder on sys.path holds: files with an import suffix, and
    folders with an __init__ file. None if it is there but cannot be listed (a zip)."""
    try:
        entries = os.listdir(folder)
    except FileNotFoundError:
        return set()
    except OSError:
        return None
    names: set[str] = set()
    for entry in entries:
        suffix = next((s for s in SUFFIXES if entry.endswith(s)), None)
        if suffix is not None:
            names.add(entry[: -len(suffix)])
        elif any(os.path.isfile(os.path.join(folder, entry, f"__init__{s}")) for s in SUFFIXES):
            names.add(entry)
    return names


def slowly_shadowed(origins: dict[str, str]) -> str | None:
    for name, path in origins.items():
        found = find_origin(name)
        if found != path:
            return f"{name} would now come from {found}"
    return None


def find_origin(name: str) -> str | None:
    """Where the import system would find top-level module `name` now."""
    for finder in sys.meta_path:
        find_spec: Callable[..., Any] | None = getattr(finder, "find_spec", None)
        if find_spec is None:
            return "a finder that cannot be asked"  # a doubt: never equal to a path
        spec = find_spec(name, None)
        if spec is not None:
            origin = spec.origin
            return origin if isinstance(origin, str) else repr(origin)
    return None


def read_message(fd: int, pending: bytearray) -> Any:
    """The next JSON line from `fd`, or None at EOF (not wanted). `pending` holds what was
    read past that line: the run's go may come in the same read as the prepare."""
    while b"\n" not in pending:
        chunk = os.read(fd, 65536)
        if not chunk or len(pending) > MAX_GO_BYTES:
            return None
        pending += chunk
    line, _, rest = bytes(pending).partition(b"\n")
    pending[:] = rest
    return json.loads(line.decode("utf-8"))


def as_arguments(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        return None
    return value


def stdin_from_devnull() -> None:
    """A run's stdin is /dev/null (input() and pdb end, never hang), as for a cold one."""
    null = os.open(os.devnull, os.O_RDONLY)
    if null != 0:
        os.dup2(null, 0)
        os.close(null)


def cold(arguments: list[str]) -> None:
    """Become `python -m pytest ARGS`: the same process, a fresh interpreter."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *arguments])  # noqa: S606


def become_pytest(arguments: list[str], main: ModuleType) -> None:
    """Run pytest's __main__ in this process exactly as `python -m pytest ARGS` would:
    in the interpreter's own __main__ module, emptied of this helper first."""
    run_as_main = getattr(runpy, "_run_module_as_main", None)
    if run_as_main is None:  # not in any CPython 3.8-3.13; still, never guess
        cold(arguments)
        return
    sys.argv[:] = ["-m", *arguments]  # as the interpreter sets it for `-m`
    orig_argv = getattr(sys, "orig_argv", None)
    if isinstance(orig_argv, list) and orig_argv:
        orig_argv[1:] = ["-m", "pytest", *arguments]
    namespace = main.__dict__
    builtins = namespace["__builtins__"]
    namespace.clear()  # from here on, only locals: this module's globals are gone
    namespace.update(
        __name__="__main__",
        __doc__=None,
        __package__=None,
        __spec__=None,
        __annotations__={},
        __builtins__=builtins,
    )
    run_as_main("pytest")  # raises SystemExit with pytest's exit code, as a cold run does


HELPER_MODULE = "envdeck_warm_helper"  # this file's name in the plugin folder
PREPARED: Prepared | None = None  # set in the module of that name, when prepared


class Prepared:
    """A prepared spare between its start and its run: what it read, and the pause."""

    def __init__(  # noqa: PLR0917
        self,
        arguments: list[str],
        marker: bytes,
        go_fd: int,
        say_fd: int,
        started_ns: int,
        pending: bytearray,
    ) -> None:
        self.arguments = arguments
        self.pending = pending  # read from the pipe past the prepare line
        self.marker = marker
        self.go_fd = go_fd  # the pipe from envdeck (fd 0 is /dev/null, as in a cold run)
        self.say_fd = say_fd  # stdout as it was before pytest
        self.started_ns = started_ns
        self.read: dict[str, tuple[int, int] | None] = {}
        self.recording = True

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        """An audit hook: notes each file opened for reading, and its stamp then."""
        if event != "open" or not self.recording:
            return
        with contextlib.suppress(Exception):  # an audit hook's exception fails the open
            path, mode, flags = (*args, None, None, None)[:3]
            if isinstance(mode, str):
                writes = any(c in mode for c in "wax+")
            else:
                writes = isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR) != 0
            if isinstance(path, (str, bytes)) and not writes:
                where = os.path.abspath(os.fsdecode(path))
                # Bytecode is checked through its source (module_files); the import writes
                # a missing or stale .pyc itself after trying to read it.
                if where not in self.read and not where.endswith(".pyc"):
                    self.read[where] = stamp(where)

    def wait_for_go(self, config: Any) -> None:
        """Called by our pytest plugin before the session: returns to run it, or execs a
        cold pytest if the run's arguments differ or something read has changed."""
        self.recording = False
        snapshot = Snapshot({**self.read, **conftest_stamps(config)}, self.started_ns)
        looked_at = existing(config)
        try:
            message = read_message(self.go_fd, self.pending)
        finally:
            os.close(self.go_fd)
        arguments = as_arguments(message.get("go")) if isinstance(message, dict) else None
        if arguments is None:
            os._exit(0)  # not wanted: nothing of a session has begun
        why = "other arguments" if arguments != self.arguments else None
        why = why or snapshot.changed() or (existing(config) != looked_at and "paths") or None
        self.say(b"cold" if why else b"go")
        if why:
            cold(arguments)
        sys.modules.pop(HELPER_MODULE, None)

    def say(self, word: bytes) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        line = self.marker + b":" + word + b"\n"
        try:
            while line:
                line = line[os.write(self.say_fd, line) :]
        finally:
            os.close(self.say_fd)


def anchors(config: Any) -> list[str]:
    """The paths pytest anchors its initial conftest.py files on (its arguments)."""
    invocation = str(config.invocation_params.dir)
    found = [os.path.join(invocation, str(arg).split("::")[0]) for arg in config.args]
    return [os.path.abspath(path) for path in (*found, invocation)]


def existing(config: Any) -> list[bool]:
    """Whether each anchor exists (pytest skips those that do not)."""
    return [os.path.exists(path) for path in anchors(config)]


def conftest_stamps(config: Any) -> dict[str, tuple[int, int] | None]:
    """The conftest.py and __init__.py files pytest looked for (in each anchor's folder and
    those above it, and in an anchor folder's test* folders), there or not."""
    folders: set[str] = set()
    for anchor in anchors(config):
        folder = anchor
        if os.path.isdir(anchor):
            with os.scandir(anchor) as entries:
                folders.update(e.path for e in entries if e.name.startswith("test") and e.is_dir())
        else:
            folder = os.path.dirname(anchor)
        while folder not in folders:
            folders.add(folder)
            folder = os.path.dirname(folder)
    files = (os.path.join(f, name) for f in folders for name in ("conftest.py", "__init__.py"))
    return {path: stamp(path) for path in files}


def prepare(arguments: list[str], marker: bytes, pending: bytearray) -> None:
    """Become `python -m pytest ARGS` up to the pause (see the module's docstring)."""
    go_fd, say_fd = os.dup(0), os.dup(1)  # not inherited: a cold exec closes them
    helper: Any = importlib.import_module(HELPER_MODULE)  # this file again, a module of its own
    prepared = helper.Prepared(arguments, marker, go_fd, say_fd, STARTED_NS, pending)
    helper.PREPARED = prepared
    sys.addaudithook(prepared.audit)
    stdin_from_devnull()
    become_pytest(arguments, sys.modules["__main__"])


def wait_then_run() -> None:
    snapshot: Snapshot | None
    try:
        preimport()
        snapshot = Snapshot(written_after=STARTED_NS)
    except Exception:  # pytest missing or broken: a cold run reports it in its own words
        snapshot = None
    pending = bytearray()
    message = read_message(0, pending)
    if isinstance(message, dict) and "prepare" in message:
        arguments = as_arguments(message["prepare"])
        marker = str(message.get("marker", "")).encode()
        if arguments is not None and snapshot is not None:
            prepare(arguments, marker, pending)
            return
        go = read_message(0, pending)  # cannot prepare: wait for the run, to run it cold
        arguments = as_arguments(go.get("go")) if isinstance(go, dict) else None
        if arguments is not None:
            os.write(1, marker + b":cold\n")
            stdin_from_devnull()
            cold(arguments)
        return
    arguments = as_arguments(message)
    if arguments is None:
        return
    stdin_from_devnull()
    if snapshot is None or snapshot.changed() is not None:
        cold(arguments)
    become_pytest(arguments, sys.modules["__main__"])


if __name__ == "__main__":
    wait_then_run()
