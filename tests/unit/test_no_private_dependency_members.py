"""envdeck uses Textual and urllib3 through their public API: Textual is allowed a whole
major version (`textual>=8.2,<9`), and private members change without notice. The one
exception, urllib3's `HTTPResponse._fp` for the log stream, is named here and pinned.

Found by reading the source, not by running it: a private member used on a rare path
(text selection, a stream closed under a read) must fail here too.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import re
import textwrap
from pathlib import Path

import tui.ui
from tests.conftest import REPO

# What the log view took from Textual's Log before it was rebuilt on ScrollView (issue 14).
LOG_PRIVATES = (
    "_lines",
    "_render_line_cache",
    "_width",
    "_updates",
    "_clear_y",
    "_process_line",
    "_render_line_strip",
    "_scroll_update",
)


def sources(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def test_no_module_of_the_ui_names_a_private_member_of_textuals_log() -> None:
    pattern = re.compile(r"\.(" + "|".join(LOG_PRIVATES) + r")\b")
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sources("tui/ui")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []


def textual_privates(cls: type) -> set[str]:
    """The private names of the Textual classes `cls` derives from: their class members and
    the attributes their methods set or read on `self`."""
    names: set[str] = set()
    for base in cls.__mro__:
        if base.__module__.startswith("textual."):
            names |= privates_of(base)
    return names


@functools.cache
def privates_of(textual_class: type) -> frozenset[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(textual_class)))
    return frozenset(name for name in vars(textual_class) if is_private(name)) | {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and is_private(node.attr)
    }


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def ui_classes_on_textual() -> list[type]:
    modules = [tui.ui.__name__] + [
        module.name for module in pkgutil.walk_packages(tui.ui.__path__, prefix="tui.ui.")
    ]
    classes = []
    for name in modules:
        for value in vars(importlib.import_module(name)).values():
            if (
                inspect.isclass(value)
                and value.__module__ == name
                and any(base.__module__.startswith("textual.") for base in value.__mro__)
            ):
                classes.append(value)
    return classes


def uses_of(cls: type, private: set[str]) -> list[str]:
    """`self.X`, `super().X` and methods named X in `cls`, for X in `private`."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in private:
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "self") or (
                isinstance(owner, ast.Call)
                and isinstance(owner.func, ast.Name)
                and owner.func.id == "super"
            ):
                found.append(f"{cls.__qualname__}: {ast.unparse(node)}")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in private:
            found.append(f"{cls.__qualname__}: overrides {node.name}")
    return found


def test_the_walk_finds_the_widgets() -> None:
    names = {cls.__name__ for cls in ui_classes_on_textual()}
    assert {"LogLines", "LogView", "EnvdeckApp", "ServicesTable"} <= names
    assert "_render_line_strip" in textual_privates(importlib.import_module("textual.widgets").Log)


def test_no_ui_class_touches_a_private_member_of_the_textual_class_it_extends() -> None:
    found = [use for cls in ui_classes_on_textual() for use in uses_of(cls, textual_privates(cls))]
    assert found == []


def test_nothing_imports_a_private_module_of_textual_or_urllib3() -> None:
    found = []
    for path in sources("tui"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [
                f"{path.relative_to(REPO)}: {name}"
                for name in names
                if name.split(".")[0] in ("textual", "urllib3")
                and any(is_private(part) for part in name.split("."))
            ]
    assert found == []


def test_the_log_stream_reads_one_private_member_of_urllib3_and_no_other() -> None:
    """urllib3's and http.client's responses, sockets and readers: `x._y` or
    `getattr(x, "_y")` on anything but the code's own `self`. The one allowed is urllib3's
    `HTTPResponse._fp`, for reading a chunked body in bulk: pinned in pyproject.toml and
    checked against the engine by tests/integration/test_log_transport.py."""
    found = []
    for path in sources("tui/core/logs"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and is_private(node.attr)
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ) or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr", "setattr")
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and is_private(str(node.args[1].value))
            ):
                found.append(f"{path.relative_to(REPO)}: {ast.unparse(node)}")
    assert found == ["tui/core/logs/transport.py: getattr(response.raw, '_fp', None)"]
