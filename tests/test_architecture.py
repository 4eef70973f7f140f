"""Structural rules of the package (docs/architecture.md), checked on the source.

- No import cycle among ``runway_nb`` modules. Imports inside functions count, and so do the lazy
  re-exports of a package ``__init__`` (``import_module`` over a table of module names), since
  they run as soon as the name is used. Imports under ``if TYPE_CHECKING:`` never run and do not
  count.
- Waiting lives in one place: outside the simulator, at most four functions contain a loop that
  sleeps (the sync and async drivers of the retry flow and of the watch engine), all of them in
  ``runway_nb/client/flow.py`` and ``runway_nb/client/watch.py``.

ruff, mypy and import-linter run in ``.ci/run`` rather than here.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "runway_nb"

SLEEP_LOOPS_ALLOWED = 4
SLEEP_LOOP_MODULES = ("runway_nb.client.flow", "runway_nb.client.watch")


def _module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (a package is its ``__init__.py``)."""
    files = {}
    for path in sorted((REPO / PACKAGE).rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = path
    return files


# ---------------------------------------------------------------------------------------------
# Import cycles


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    line: int
    text: str


def _lazy_imports(module: str, path: Path, known: set[str]) -> Iterator[Edge]:
    """Imports by name: in a module that calls ``import_module``, each string naming one of our
    modules (absolute, or relative to the package as ``import_module(name, __name__)`` takes it)."""
    tree = ast.parse(path.read_text("utf-8"))
    calls_import_module = any(
        isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) == "import_module" or getattr(node.func, "attr", None) == "import_module")
        for node in ast.walk(tree))
    if not calls_import_module:
        return
    anchor = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = anchor + node.value if node.value.startswith(".") else node.value
            if name in known and name != module:
                yield Edge(module, name, node.lineno, f"import_module({node.value!r})  (lazy re-export)")


def import_edges() -> dict[str, list[Edge]]:
    """Each module's imports of other package modules: grimp's static graph (function-level imports
    included, TYPE_CHECKING imports left out) plus the lazy re-exports grimp cannot see."""
    import grimp  # installed with import-linter

    graph = grimp.build_graph(PACKAGE, exclude_type_checking_imports=True, cache_dir=None)
    files = _module_files()
    assert set(graph.modules) == set(files), "grimp read another copy of the package than this checkout"
    edges: dict[str, list[Edge]] = {m: [] for m in files}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            details = graph.get_import_details(importer=importer, imported=imported)
            first = min(details, key=lambda d: d["line_number"]) if details else None
            edges[importer].append(Edge(importer, imported, first["line_number"] if first else 0,
                                        first["line_contents"] if first else "(import)"))
    for module, path in files.items():
        seen = {e.imported for e in edges[module]}
        for edge in _lazy_imports(module, path, set(files)):
            if edge.imported not in seen:
                seen.add(edge.imported)
                edges[module].append(edge)
    return edges


def strongly_connected(edges: dict[str, list[Edge]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for edge in edges[v]:
            w = edge.imported
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or any(e.imported == v for e in edges[v]):
                found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return sorted(found)


def shortest_cycle(start: str, component: list[str], edges: dict[str, list[Edge]]) -> list[Edge]:
    """The shortest import path from ``start`` back to itself inside one component."""
    members = set(component)
    came_from: dict[str, Edge] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for edge in edges[v]:
            w = edge.imported
            if w not in members:
                continue
            if w == start:
                path = [edge]
                while path[0].importer != start:
                    path.insert(0, came_from[path[0].importer])
                return path
            if w not in came_from:
                came_from[w] = edge
                queue.append(w)
    raise AssertionError(f"{start} is not on a cycle of {component}")


def _show(edge: Edge) -> str:
    return f"{edge.importer}:{edge.line}  {edge.text.strip()}  -> {edge.imported}"


def describe_cycle(component: list[str], edges: dict[str, list[Edge]]) -> str:
    """One shortest cycle through the component's first module, then every import inside the
    component (breaking the cycle means removing enough of these)."""
    members = set(component)
    lines = [f"cycle among {len(component)} modules: {', '.join(component)}", "  for example:"]
    lines += [f"    {_show(edge)}" for edge in shortest_cycle(component[0], component, edges)]
    lines.append("  all imports inside it:")
    lines += [f"    {_show(edge)}" for m in component for edge in edges[m] if edge.imported in members]
    return "\n".join(lines)


def test_no_import_cycles() -> None:
    edges = import_edges()
    cycles = strongly_connected(edges)
    if cycles:
        pytest.fail(f"{len(cycles)} import cycles in runway_nb (function-level imports and lazy re-exports "
                    "included):\n" + "\n".join(describe_cycle(component, edges) for component in cycles),
                    pytrace=False)


def test_cycle_finder_sees_a_planted_cycle() -> None:
    """The checker itself: a three-module ring (and a self-import) is found, a chain is not."""
    def graph(pairs: list[tuple[str, str]], modules: str) -> dict[str, list[Edge]]:
        edges: dict[str, list[Edge]] = {m: [] for m in modules}
        for a, b in pairs:
            edges[a].append(Edge(a, b, 1, f"import {b}"))
        return edges

    ring = graph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")], "abcd")
    assert strongly_connected(ring) == [["a", "b", "c"]]
    assert [e.importer for e in shortest_cycle("a", ["a", "b", "c"], ring)] == ["a", "b", "c"]
    assert strongly_connected(graph([("a", "b"), ("b", "c")], "abc")) == []
    assert strongly_connected(graph([("a", "a")], "a")) == [["a"]]


def test_lazy_re_exports_count_as_imports(tmp_path: Path) -> None:
    init = tmp_path / "__init__.py"
    init.write_text('from importlib import import_module\n_LAZY = {"A": "pkg.a", "B": ".b", "C": "not.ours"}\n'
                    "def __getattr__(name):\n    return import_module(_LAZY[name], __name__)\n")
    assert {e.imported for e in _lazy_imports("pkg", init, {"pkg", "pkg.a", "pkg.b"})} == {"pkg.a", "pkg.b"}
    plain = tmp_path / "plain.py"
    plain.write_text('NAMES = ["pkg.a"]\n')
    assert list(_lazy_imports("pkg.plain", plain, {"pkg", "pkg.a"})) == []


# ---------------------------------------------------------------------------------------------
# Loops that sleep


def _is_sleep_call(node: ast.AST) -> bool:
    """``time.sleep(...)``, ``asyncio.sleep(...)``, ``clock.sleep(...)``, an injected ``sleep(...)`` or
    ``_sleep(...)`` (awaited or not): any call whose callee's name ends with ``sleep``."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name.lower().endswith("sleep")


def _walk_same_function(node: ast.AST) -> Iterator[ast.AST]:
    """``node`` and what it contains, without entering nested functions, lambdas or classes
    (their loops and calls belong to them)."""
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield from _walk_same_function(child)


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method with its qualified name (``Class.method``, ``outer.inner``)."""
    def visit(node: ast.AST, prefix: str) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield prefix + child.name, child
                yield from visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")
            else:
                yield from visit(child, prefix)

    return visit(tree, "")


def sleeping_loops(source: str) -> list[tuple[str, int]]:
    """The functions of ``source`` with a loop that sleeps: (qualified name, line of the first such loop)."""
    found = []
    for name, function in _functions(ast.parse(source)):
        for node in _walk_same_function(function):
            if node is not function and isinstance(node, (ast.For, ast.AsyncFor, ast.While)) and any(
                    _is_sleep_call(inner) for inner in _walk_same_function(node)):
                found.append((name, node.lineno))
                break
    return found


def test_at_most_four_functions_loop_with_a_sleep() -> None:
    offenders = []  # (module, function, line)
    for module, path in _module_files().items():
        if module == f"{PACKAGE}.sim" or module.startswith(f"{PACKAGE}.sim."):
            continue
        offenders += [(module, name, line) for name, line in sleeping_loops(path.read_text("utf-8"))]
    listing = "\n".join(f"    {module}:{name}  ({module.replace('.', '/')}.py line {line})"
                        for module, name, line in offenders)
    misplaced = [f"{module}:{name}" for module, name, _ in offenders if module not in SLEEP_LOOP_MODULES]
    if len(offenders) > SLEEP_LOOPS_ALLOWED or misplaced:
        pytest.fail(
            f"{len(offenders)} functions outside runway_nb/sim/ loop with a sleep (at most {SLEEP_LOOPS_ALLOWED}: the "
            f"sync and async drivers of the retry flow and of the watch engine, in {' and '.join(SLEEP_LOOP_MODULES)});"
            f" {len(misplaced)} of them live elsewhere:\n{listing}", pytrace=False)


def test_sleep_loop_finder() -> None:
    source = '''
import asyncio, time

def plain(sleep):
    for _ in range(3):
        if True:
            sleep(1)

async def awaited(clock):
    while True:
        try:
            await clock.sleep(0.1)
        finally:
            pass

class Handle:
    def wait(self):
        while not self.done:
            time.sleep(self._interval)

    async def wait_async(self):
        async for _ in self.ticks():
            await asyncio.sleep(0)

def sleeps_once():
    time.sleep(1)
    for x in []:
        print(x)

def defines_a_closure():
    for x in []:
        def later():
            time.sleep(1)

def outer():
    def inner():
        while True:
            self._sleep(1)
    return inner
'''
    assert sleeping_loops(source) == [
        ("plain", 5), ("awaited", 10), ("Handle.wait", 18), ("Handle.wait_async", 22), ("outer.inner", 37)]
