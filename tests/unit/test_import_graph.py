"""The import graph of every first-party package: no cycle anywhere (type-only imports and imports
inside functions included), and each package imports only the packages below it:

    flowgen_faults ─┐
    flowgen_capacity┼─> flowgen_local ─> flowgen_stand_in
                    │        └────────> flowgen_ops ─> flowgen (the layer)
    functions/* ────┴──────────────────────────────────> flowgen

The operator tool (flowgen_ops) imports only the layer: an operator's venv needs no dev extra.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "flowgen": ROOT / "layers" / "flowgen" / "flowgen",
    "flowgen_ops": ROOT / "ops" / "flowgen_ops",
    "flowgen_local": ROOT / "dev" / "flowgen_local",
    "flowgen_stand_in": ROOT / "dev" / "flowgen_stand_in",
    "flowgen_capacity": ROOT / "dev" / "flowgen_capacity",
    "flowgen_faults": ROOT / "dev" / "flowgen_faults",
}
ALLOWED = {  # package -> the first-party packages it may import
    "flowgen": set(),
    "flowgen_ops": {"flowgen"},
    "flowgen_stand_in": set(),
    "flowgen_local": {"flowgen", "flowgen_ops", "flowgen_stand_in"},
    "flowgen_capacity": {"flowgen_local"},
    "flowgen_faults": {"flowgen", "flowgen_ops", "flowgen_local", "flowgen_stand_in"},
    "functions": {"flowgen"},
}


def _modules() -> Iterator[tuple[str, Path]]:
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            yield ".".join((package, *parts)), path
    for path in sorted((ROOT / "functions").glob("*/*.py")):
        yield f"functions.{path.parent.name}.{path.stem}", path


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Every first-party module `path` imports, wherever the import statement stands."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: a relative import; name the module in full")
        for name in names:
            if module.startswith("functions."):  # a function's own modules are imported by their bare name
                sibling = f"{module.rsplit('.', 1)[0]}.{name.split('.')[0]}"
                if sibling in known:
                    found.add(sibling)
                    continue
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


@functools.cache  # parsed once for the module's tests (1.8 s a parse of every first-party file)
def _graph() -> dict[str, set[str]]:
    modules = dict(_modules())
    known = set(modules)
    return {module: _imports(module, path, known) for module, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package(module: str) -> str:
    return module.split(".")[0]


def test_no_module_imports_itself_back_through_others() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_type_only_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_the_packages_below_it(package: str) -> None:
    crossing = {
        (module, target)
        for module, targets in _graph().items()
        if _package(module) == package
        for target in targets
        if _package(target) != package and _package(target) not in ALLOWED[package]
    }
    assert crossing == set()
