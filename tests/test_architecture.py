"""The layering contract (docs/architecture.md), checked over the package's import graph.

- Every module lives in one layer: `git_elite/core/` (pure), `git_elite/edges/` (touches the
  world), `git_elite/cli/` (the command line), or is one of the entry points at the top.
- The core imports nothing from the edges or the command line, no module that reaches git,
  files, the network, other programs or the terminal, and calls no `open`/`print`/`input`; of
  `os` it uses only the environment, randomness and the CPU count; of `sys`, no stream.
- No edge imports the command line (or click).
- No import cycle anywhere, counting imports inside functions and under TYPE_CHECKING.
- The module map of docs/architecture.md names exactly the modules in the tree.

Imports are read from the source (ast), so an import inside a function counts as much as
one at the top. Each failure names the module, the line and the rule.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "git_elite"
LAYERS = ("core", "edges", "cli")
ENTRY_POINTS = {"git_elite", "git_elite.__main__", "git_elite.launcher", "git_elite.web"}
LAYER_PACKAGES = {f"git_elite.{name}" for name in LAYERS}  # their submodules are reported

# what the core may not import (top-level name of the import): git, files, programs,
# network, terminal, the command line
CORE_FORBIDDEN = {
    "pygit2", "subprocess", "pathlib", "shutil", "tempfile", "glob", "fcntl", "io",
    "socket", "ssl", "http", "urllib", "signal", "select", "threading", "asyncio",
    "click", "rich", "getpass", "webbrowser", "sqlite3", "selenium", "requests",
}
CORE_OS = {"environ", "urandom", "cpu_count", "getpid"}  # AGENTD_KEYGEN_SEED, keys, fanout
CORE_SYS = {"maxsize", "version_info", "byteorder"}
CORE_CALLS = {"open", "print", "input", "exit", "quit", "breakpoint"}
EDGE_FORBIDDEN = {"click"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@functools.cache
def parsed(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text())


def typing_only(tree: ast.Module) -> set[int]:
    """Lines of the imports under `if TYPE_CHECKING:` (names for annotations, never run)."""
    return {n.lineno for block in ast.walk(tree) if isinstance(block, ast.If)
            and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
            for stmt in block.body for n in ast.walk(stmt)
            if isinstance(n, ast.Import | ast.ImportFrom)}


def imports(name: str, typing: bool = True) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in the module, wherever it stands (without
    the TYPE_CHECKING ones when not `typing`)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = parsed(name)
    skip = set() if typing else typing_only(tree)
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            yield base, node.lineno
            for alias in node.names:  # `from git_elite.core import engine`: a module
                if f"{base}.{alias.name}" in MODULES:
                    yield f"{base}.{alias.name}", node.lineno


def layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def internal_graph() -> dict[str, set[str]]:
    return {m: {i for i, _ in imports(m) if i in MODULES and i != m} for m in MODULES}


def test_every_module_is_in_a_layer() -> None:
    loose = [m for m in MODULES if layer(m) is None and m not in ENTRY_POINTS]
    assert not loose, f"modules outside core/, edges/, cli/ (see docs/architecture.md): {loose}"


@pytest.mark.parametrize("name", sorted(m for m in MODULES if layer(m) == "core"))
def test_core_is_pure(name: str) -> None:
    found = []
    runs = set(imports(name, typing=False))
    for imported, line in imports(name):
        top = imported.split(".")[0]
        if imported.startswith("git_elite") and layer(imported) != "core" and \
                imported != "git_elite" and imported not in LAYER_PACKAGES:
            found.append(f"line {line}: imports {imported} (the core imports only the core)")
        elif top in CORE_FORBIDDEN and (imported, line) in runs:
            found.append(f"line {line}: imports {imported} (git, files, network, programs, "
                         "terminal or command line)")
    for node in ast.walk(parsed(name)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in CORE_CALLS:
            found.append(f"line {node.lineno}: calls {node.func.id}()")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            allowed = {"os": CORE_OS, "sys": CORE_SYS}.get(node.value.id)
            if allowed is not None and node.attr not in allowed:
                found.append(f"line {node.lineno}: uses {node.value.id}.{node.attr}")
    assert not found, f"{MODULES[name].relative_to(ROOT)} is in the pure core, but:\n" + \
        "\n".join(found)


@pytest.mark.parametrize("name", sorted(m for m in MODULES if layer(m) == "edges"))
def test_edges_do_not_import_the_command_line(name: str) -> None:
    found = [f"line {line}: imports {imported}" for imported, line in imports(name)
             if (layer(imported) == "cli" and imported not in LAYER_PACKAGES)
             or imported == "git_elite.launcher"
             or imported.split(".")[0] in EDGE_FORBIDDEN]
    assert not found, f"{MODULES[name].relative_to(ROOT)} is an edge, but:\n" + "\n".join(found)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    found = cycles(internal_graph())
    assert not found, "modules that import each other (directly or round a loop): " + \
        "; ".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


MAP_ROW = re.compile(r"^\|\s*`([a-z_/]+\.py)`\s*\|", re.MULTILINE)


def test_module_map_matches_the_tree() -> None:
    """docs/architecture.md has one table row per module (`| `core/engine.py` | … |`)."""
    mapped = MAP_ROW.findall((ROOT / "docs" / "architecture.md").read_text())
    tree = {p.relative_to(PACKAGE).as_posix() for p in MODULES.values()
            if p.name != "__init__.py"}
    assert len(mapped) == len(set(mapped)), "a module is mapped twice"
    assert sorted(tree - set(mapped)) == [], "modules missing from docs/architecture.md's map"
    assert sorted(set(mapped) - tree) == [], "docs/architecture.md maps modules not in the tree"
