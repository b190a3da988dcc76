"""The import rule of cluster/__init__.py, enforced: every import of every module in
slots/, gossip/, cluster/, sentinel/ and cli/ (function-level ones included) points down
the layers, and no import cycle exists anywhere."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import cluster

ROOT = Path(__file__).resolve().parents[2]
# Top-level packages, lowest first: a package may import only itself and those before it.
PACKAGES = ("slots", "gossip", "cluster", "sentinel", "cli")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _known(name: str) -> str | None:
    """The module of ours that importing `name` loads last (a name imported from a module
    resolves to that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _ancestors(name: str):
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = name.split(".")
    for i in range(1, len(parts)):
        yield ".".join(parts[:i])


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, module of ours) for every import statement anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _known(name)
            if target is None:
                continue
            for one in (*_ancestors(target), target):
                if one != module and not module.startswith(one + "."):
                    found.append((node.lineno, one))
    return found


def _graph() -> dict[str, list[tuple[int, str]]]:
    return {module: _imports(module, path) for module, path in MODULES.items()}


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {m: sorted({t for _, t in targets}) for m, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for j in range(i, len(edges[node])):
                nxt = edges[node][j]
                if nxt not in index:
                    work.append((node, j + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def _layer(module: str) -> int | None:
    """cluster.LAYERS index of a cluster module (None for cluster/__init__ itself)."""
    parts = module.split(".")
    if parts[0] != "cluster" or len(parts) == 1:
        return None
    return cluster.LAYERS.index(parts[1])


def test_every_cluster_module_belongs_to_a_layer():
    strays = [m for m in MODULES if m.startswith("cluster.")
              and m.split(".")[1] not in cluster.LAYERS]
    assert strays == [], f"modules outside cluster.LAYERS: {strays}"


def test_no_import_cycles_anywhere():
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_cluster_imports_point_down_the_layers():
    wrong = []
    for module, targets in _graph().items():
        mine = _layer(module)
        if mine is None:
            continue
        for line, target in targets:
            theirs = _layer(target)
            if theirs is not None and theirs > mine:
                wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {target} "
                             f"({cluster.LAYERS[mine]} -> {cluster.LAYERS[theirs]})")
    assert wrong == [], "imports pointing up:\n" + "\n".join(wrong)


def test_packages_import_only_lower_packages():
    wrong = []
    for module, targets in _graph().items():
        mine = PACKAGES.index(module.split(".")[0])
        for line, target in targets:
            theirs = PACKAGES.index(target.split(".")[0])
            if theirs > mine:
                wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}")
    assert wrong == [], "imports pointing up:\n" + "\n".join(wrong)


def test_the_checker_sees_function_level_imports_and_cycles():
    graph = {"a": [(1, "b")], "b": [(5, "c")], "c": [(9, "a")], "d": [(1, "a")]}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": [(1, "b")], "b": []}) == []
    source = ROOT / "cluster" / "node.py"
    assert any(t == "cluster.execution.dispatch" for _, t in _imports("cluster.node", source))
    assert "cluster.execution" in [t for _, t in _imports("cluster.node", source)]
