"""No function of convcli outside its compiled kernels is longer than 60 lines, counted from the
``def`` line to the last line (docstring and comments included). Methods and nested functions
count on their own (a nested function's lines also count toward the function around it).
Functions compiled by Numba (decorated with ``njit``/``jit``, called or not) are exempt: their
loops are written out on purpose, and everything nested in them with them. Strict: no allow-list."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "convcli"
LIMIT = 60
COMPILED = {"njit", "jit", "vectorize", "guvecturize", "stencil", "cfunc"}
FILES = sorted(PACKAGE.rglob("*.py"))


def _compiled(node: ast.AST) -> bool:
    for deco in getattr(node, "decorator_list", []):
        target = deco.func if isinstance(deco, ast.Call) else deco
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in COMPILED:
            return True
    return False


def long_functions(path: Path) -> list[str]:
    """``name (line N): L lines`` for every function of ``path`` over the limit."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if _compiled(child):
                    continue
                name = prefix + child.name
                length = child.end_lineno - child.lineno + 1
                if length > LIMIT:
                    found.append(f"{name} (line {child.lineno}): {length} lines")
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def test_the_count_runs_from_def_to_last_line_and_skips_compiled_kernels(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT - 1))
    src = tmp_path / "m.py"
    src.write_text(f"def ok():\n{body}\n\n\ndef long():\n{body}\n    x = 0\n\n\n"
                   f"@njit(cache=True)\ndef kernel():\n{body}\n    x = 0\n\n\n"
                   f"class C:\n    def method(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n        x = 0\n")
    assert long_functions(src) == [f"long (line {LIMIT + 3}): {LIMIT + 1} lines",
                                   f"C.method (line {3 * LIMIT + 11}): {LIMIT + 1} lines"]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PACKAGE.parent)) for p in FILES])
def test_no_function_is_longer_than_60_lines(path):
    offenders = long_functions(path)
    assert not offenders, (f"{path.relative_to(PACKAGE.parent)}: functions over {LIMIT} lines (split them into "
                           f"their natural parts):\n" + "\n".join(offenders))
