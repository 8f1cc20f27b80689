"""The imports one Python file makes, read with `ast` (never by importing it).

Every `import`/`from ... import` anywhere in the tree counts: at module level, inside
functions, under `if TYPE_CHECKING:` (annotations evaluated at run time by pydantic or
typing.get_type_hints can import them for real) and in `try:` fallbacks. So do
`importlib.import_module(...)`, `__import__(...)`, `pytest.importorskip(...)` and a
conftest's `pytest_plugins` when their module names are string literals. A name built at
run time is recorded as a `DynamicImport`: nobody can tell what it loads.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

_IMPORT_CALLS = frozenset({"import_module", "__import__", "importorskip"})


@dataclass(frozen=True)
class ImportRef:
    """`import a.b` -> ("a.b", 0, ()); `from ..x import y` -> ("x", 2, ("y",))."""

    module: str  # dotted, "" for `from . import y`
    level: int  # 0 absolute, else the number of leading dots
    names: tuple[str, ...]  # the imported names of a from-import: each may be a submodule
    line: int


@dataclass(frozen=True)
class DynamicImport:
    """An import whose module is only known at run time, or only by its prefix."""

    line: int
    how: str  # the function called: "import_module", "__import__", "importorskip"
    prefix: str  # f"pkg.plugins.{name}" -> "pkg.plugins."; "" when nothing is known


@dataclass(frozen=True)
class FileImports:
    refs: tuple[ImportRef, ...] = ()
    dynamic: tuple[DynamicImport, ...] = ()
    syntax_error: str | None = None  # "line 3: invalid syntax" when the file does not parse


def read_imports(source: str | bytes, filename: str = "<unknown>") -> FileImports:
    try:
        tree = ast.parse(source, filename)
    except (SyntaxError, ValueError) as error:  # ValueError: NUL bytes in the source
        line = getattr(error, "lineno", None)
        return FileImports(syntax_error=f"line {line}: {error}" if line else str(error))
    refs: list[ImportRef] = []
    dynamic: list[DynamicImport] = []
    for statement in _statements(tree.body):
        if isinstance(statement, ast.Import):
            refs.extend(ImportRef(alias.name, 0, (), statement.lineno) for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            names = tuple(alias.name for alias in statement.names if alias.name != "*")
            refs.append(ImportRef(statement.module or "", statement.level, names, statement.lineno))
    # Walking every expression costs 3x the parse: only where an import call may be.
    text = source if isinstance(source, bytes) else source.encode()
    if any(name.encode() in text for name in _IMPORT_CALLS):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node.func) in _IMPORT_CALLS:
                _read_import_call(node, refs, dynamic)
    for statement in tree.body:  # pytest reads `pytest_plugins` at a conftest's top level only
        if isinstance(statement, ast.Assign | ast.AnnAssign) and _assigns_pytest_plugins(statement):
            refs.extend(_pytest_plugins(statement))
    return FileImports(tuple(refs), tuple(dynamic))


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included (functions, classes, if/try/with/match...)."""
    for statement in body:
        yield statement
        for field in _BODIES:
            for child in getattr(statement, field, ()):
                # except handlers and match cases are not statements, but hold a body of them
                yield from _statements([child] if isinstance(child, ast.stmt) else child.body)


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _read_import_call(call: ast.Call, refs: list[ImportRef], dynamic: list[DynamicImport]) -> None:
    how = _call_name(call.func)
    if not call.args:
        return
    target = call.args[0]
    if isinstance(target, ast.Constant) and isinstance(target.value, str):
        name = target.value
        level = len(name) - len(name.lstrip("."))
        # import_module(".x", __package__): relative to the caller's package, as `from . import`.
        refs.append(ImportRef(name.lstrip("."), level, (), call.lineno))
        return
    dynamic.append(DynamicImport(call.lineno, how, _literal_prefix(target)))


def _literal_prefix(target: ast.expr) -> str:
    """The constant start of an f-string or a `"..." + x` sum, when it ends at a dot."""
    first: ast.expr | None = None
    if isinstance(target, ast.JoinedStr) and target.values:
        first = target.values[0]
    elif isinstance(target, ast.BinOp) and isinstance(target.op, ast.Add):
        first = target.left
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        prefix = first.value
        if not prefix.startswith(".") and "." in prefix:
            return prefix[: prefix.rindex(".") + 1]
    return ""


def _assigns_pytest_plugins(node: ast.Assign | ast.AnnAssign) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return any(isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in targets)


def _pytest_plugins(node: ast.Assign | ast.AnnAssign) -> list[ImportRef]:
    value = node.value
    items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
    return [
        ImportRef(item.value, 0, (), node.lineno)
        for item in items
        if isinstance(item, ast.Constant) and isinstance(item.value, str)
    ]
