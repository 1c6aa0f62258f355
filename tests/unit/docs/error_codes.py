"""Every error code paysim can report, read from the source rather than listed by hand.

A code is the first argument of a `PaysimError` (or of a subclass: `HubError`, `SqlFileError`, ...), or
of `super().__init__` inside such a subclass. A code written `f"{code}_failed"` is resolved through the
calls of the function it is in (`start_service(..., code="azurite")` gives `azurite_failed`). A code
that is a variable (`error.code`, a worker's report) travels: it was made, and is found, elsewhere.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[3]
SOURCES = (PROJECT / "paysim_cli", PROJECT / "function")


@dataclass(frozen=True)
class CodeSite:
    code: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.code} ({self.path.relative_to(PROJECT)}:{self.line})"


def modules() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for root in SOURCES
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
    ]


def error_classes(trees: list[tuple[Path, ast.Module]]) -> set[str]:
    """PaysimError and every class that derives from it, by name, however deep."""
    bases = {
        node.name: {_name(base) for base in node.bases}
        for _, tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }
    found = {"PaysimError"}
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return found
        found |= more


def error_codes() -> list[CodeSite]:
    trees = modules()
    classes = error_classes(trees)
    sites = []
    for path, tree in trees:
        for scope, call in _calls(tree):
            if _name(call.func) in classes or _is_super_init(call, scope, classes):
                argument = _code_argument(call)
                sites += [CodeSite(code, path, call.lineno) for code in _codes(argument, scope, trees)]
    return sites


def _calls(tree: ast.Module) -> Iterator[tuple[list[ast.AST], ast.Call]]:
    """Every call, with the class and function definitions around it (outermost first)."""

    def walk(node: ast.AST, scope: list[ast.AST]) -> Iterator[tuple[list[ast.AST], ast.Call]]:
        if isinstance(node, ast.Call):
            yield scope, node
        inner = [*scope, node] if isinstance(node, ast.ClassDef | ast.FunctionDef) else scope
        for child in ast.iter_child_nodes(node):
            yield from walk(child, inner)

    return walk(tree, [])


def _is_super_init(call: ast.Call, scope: list[ast.AST], classes: set[str]) -> bool:
    func = call.func
    is_super = (
        isinstance(func, ast.Attribute)
        and func.attr == "__init__"
        and isinstance(func.value, ast.Call)
        and _name(func.value.func) == "super"
    )
    owners = [node.name for node in scope if isinstance(node, ast.ClassDef)]
    return is_super and bool(owners) and owners[-1] in classes


def _code_argument(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((keyword.value for keyword in call.keywords if keyword.arg == "code"), None)


def _codes(
    argument: ast.expr | None, scope: list[ast.AST], trees: list[tuple[Path, ast.Module]]
) -> list[str]:
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return [argument.value]
    if isinstance(argument, ast.JoinedStr):
        return _formatted_codes(argument, scope, trees)
    return []  # a code that travels: made, and found, where it was raised first


def _formatted_codes(
    argument: ast.JoinedStr, scope: list[ast.AST], trees: list[tuple[Path, ast.Module]]
) -> list[str]:
    """`f"{code}_failed"` in `def start_service(..., code)`: one code per `code="..."` its callers pass."""
    parts = argument.values
    function = next(node for node in reversed(scope) if isinstance(node, ast.FunctionDef))
    head = parts[0]
    if not (isinstance(head, ast.FormattedValue) and isinstance(head.value, ast.Name)):
        raise AssertionError(f"{function.name}: cannot resolve the error code {ast.unparse(argument)}")
    suffix = "".join(str(part.value) for part in parts[1:] if isinstance(part, ast.Constant))
    return [
        f"{value}{suffix}"
        for _, tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _name(node.func) == function.name
        for keyword in node.keywords
        if keyword.arg == head.value.id and isinstance(keyword.value, ast.Constant)
        for value in [keyword.value.value]
    ]


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""
