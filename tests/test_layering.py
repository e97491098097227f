"""The layers of convcli, checked from the source with ``ast`` (docs/ARCHITECTURE.md draws them).

Every import counts: at the top of a module and inside functions, relative ones resolved. The
rules, strict, with no allow-list of exceptions:

* no import cycle between convcli's modules;
* Typer (and Click under it) only in convcli/cli/, Pillow only in convcli/imageio.py, Rich only in
  convcli/render/;
* convcli/ops/ imports, of convcli, only the layers below it and itself;
* every import goes downward: cli -> batch -> imageio / render / ... -> traces -> ops -> the base.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "convcli"

# What the third-party libraries with a home may be imported from: (top-level name, where, home).
HOMES = [
    ("typer", lambda m: m == "convcli.cli" or m.startswith("convcli.cli."), "convcli/cli/"),
    ("click", lambda m: m == "convcli.cli" or m.startswith("convcli.cli."), "convcli/cli/ (Typer's Click)"),
    ("PIL", lambda m: m == "convcli.imageio", "convcli/imageio.py"),
    ("rich", lambda m: m == "convcli.render" or m.startswith("convcli.render."), "convcli/render/"),
]

# What convcli/ops/ may import of convcli, besides convcli.ops itself.
OPS_MAY_IMPORT = {"convcli.errors", "convcli.limits", "convcli.shapes", "convcli.kernels", "convcli.matrices",
                  "convcli.numbers", "convcli._numba_env"}

# The layers, top to bottom; a module may import its own layer's modules and those below (cycles
# are caught separately). Anything not named here is a test failure: place a new module here.
LAYERS = [
    ("entry points", ["convcli", "convcli.__main__", "convcli.cli", "convcli.cli.*"]),
    ("batch", ["convcli.batch"]),
    ("input, output and rendering", ["convcli.imageio", "convcli.render", "convcli.render.*", "convcli.samples",
                                     "convcli.statsio"]),
    ("traces and layer stacks", ["convcli.traces", "convcli.traces.*", "convcli.layers"]),
    ("ops", ["convcli.ops", "convcli.ops.*"]),
    ("base", ["convcli.kernels", "convcli.matrices", "convcli.shapes", "convcli.limits", "convcli.errors",
              "convcli.numbers", "convcli.safeio", "convcli.colormaps", "convcli.png16", "convcli._numba_env",
              "convcli._private_api", "convcli._version"]),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name ``from <node.module>`` means inside ``module``."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str) -> list[tuple[str, int]]:
    """Every (imported module, line) of ``module``: top level and inside functions. ``from X import
    y`` imports X.y when that is a module of convcli, else X."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"), filename=str(MODULES[module]))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.append((sub if sub in MODULES else source, node.lineno))
    return found


def internal_edges(module: str) -> dict[str, int]:
    """The convcli modules ``module`` imports, each with the first line that does."""
    edges: dict[str, int] = {}
    for name, line in imports(module):
        while name and name not in MODULES and "." in name:      # import convcli.ops.conv.x -> the module
            name = name.rsplit(".", 1)[0]
        if name in MODULES and name != module:
            edges.setdefault(name, line)
    return edges


GRAPH = {m: internal_edges(m) for m in MODULES}


def _where(module: str, line: int) -> str:
    return f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}"


def _cycles() -> list[list[str]]:
    """The strongly connected groups of modules (Tarjan), as the shortest cycle through each member."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    found = []
    for group in groups:          # a shortest cycle through each module of each group, each once
        for start in group:
            cycle = _cycle_in(set(group), start)
            if not any(set(zip(cycle, cycle[1:])) == set(zip(c, c[1:])) for c in found):
                found.append(cycle)
    return found


def _cycle_in(group: set[str], start: str) -> list[str]:
    """A shortest cycle through ``start`` inside a strongly connected ``group`` (breadth first)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(GRAPH[v]):
            if w == start:
                return paths[v] + [start]
            if w in group and w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    raise AssertionError(f"no cycle found in {sorted(group)}")


def _describe(cycle: list[str]) -> str:
    return " -> ".join(cycle) + "  (" + ", ".join(_where(a, GRAPH[a][b]) for a, b in zip(cycle, cycle[1:])) + ")"


def _layer(module: str) -> int | None:
    for rank, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if module == pattern or (pattern.endswith(".*") and module.startswith(pattern[:-1])):
                return rank
    return None


def test_the_graph_sees_function_level_and_relative_imports():
    # kernels parses matrices (a relative import at the top); limits imports safeio inside from_env()
    assert "convcli.matrices" in GRAPH["convcli.kernels"]
    assert "convcli.safeio" in GRAPH["convcli.limits"]
    # "from .. import _numba_env" inside ops is the module, not the package
    assert "convcli._numba_env" in GRAPH["convcli.ops.conv"] and "convcli" not in GRAPH["convcli.ops.conv"]


def test_no_import_cycles():
    cycles = _cycles()
    assert not cycles, "import cycles between convcli's modules:\n" + "\n".join(_describe(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_third_party_libraries_stay_in_their_layer(module):
    wrong = [f"{_where(module, line)} imports {name} (only {home} may)"
             for name, line in imports(module) for lib, allowed, home in HOMES
             if name.split(".")[0] == lib and not allowed(module)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m == "convcli.ops" or m.startswith("convcli.ops.")))
def test_ops_import_only_the_layers_below_them(module):
    wrong = [f"{_where(module, line)} imports {name}" for name, line in GRAPH[module].items()
             if not (name in OPS_MAY_IMPORT or name == "convcli.ops" or name.startswith("convcli.ops."))]
    assert not wrong, ("convcli/ops/ may import only " + ", ".join(sorted(OPS_MAY_IMPORT)) + ":\n"
                       + "\n".join(wrong))


def test_every_module_has_a_layer():
    assert not [m for m in MODULES if _layer(m) is None], "place these modules in LAYERS"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_downward(module):
    mine = _layer(module)
    if mine is None:
        pytest.fail(f"{module} has no layer in LAYERS")
    wrong = [f"{_where(module, line)} imports {name} ({LAYERS[_layer(name)][0]}, above {LAYERS[mine][0]})"
             for name, line in GRAPH[module].items() if _layer(name) is not None and _layer(name) < mine]
    assert not wrong, "\n".join(wrong)
