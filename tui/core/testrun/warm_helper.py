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

Like the pytest plugin, this file runs in the project's interpreter: it is copied alone
into envdeck's private plugin folder (`command.plugin_directory`) as
`envdeck_warm_helper.py`, needs nothing but the standard library, and keeps to Python 3.8.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import os
import runpy
import site
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

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
    """What the imports relied on, to tell later whether a fresh start would differ."""

    def __init__(self) -> None:
        self.files = {path: stamp(path) for _, path in module_files()}
        self.folders = {path: stamp(path) for path in site_folders()}
        self.origins = {  # top-level modules, which a new file on sys.path could shadow
            name: path for name, path in module_files() if "." not in name and name != "__main__"
        }

    def changed(self) -> str | None:
        """Why a cold start would not import the same files now, or None."""
        for path, was in self.files.items():
            if stamp(path) != was:
                return f"{path} changed"
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
    if [type(f) if not isinstance(f, type) else f for f in sys.meta_path] != STANDARD_FINDERS:
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


def read_arguments() -> list[str] | None:
    """The run's pytest arguments, or None at EOF (not wanted)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(0, 65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > MAX_GO_BYTES:
            return None
    arguments = json.loads(data.decode("utf-8"))
    if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
        return None
    return arguments


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


def wait_then_run() -> None:
    snapshot: Snapshot | None
    try:
        preimport()
        snapshot = Snapshot()
    except Exception:  # pytest missing or broken: a cold run reports it in its own words
        snapshot = None
    arguments = read_arguments()
    if arguments is None:
        return
    stdin_from_devnull()
    if snapshot is None or snapshot.changed() is not None:
        cold(arguments)
    become_pytest(arguments, sys.modules["__main__"])


if __name__ == "__main__":
    wait_then_run()
