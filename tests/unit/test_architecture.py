"""The backend's layout: packages import one way, modules stay small, the map is complete.

These read the source as text (``ast``): they fail when a change adds an import that closes a
cycle between packages, grows a module past the size the team agreed without saying why, or adds,
moves or deletes a module without its line in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "stellarstream"
MIGRATIONS = PACKAGE / "db" / "migrations"
MAX_LINES = 450
LONG_REASON = "# Longer than 450 lines:"


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if MIGRATIONS not in p.parents)


def _unit(path: Path) -> str:
    """The package a module belongs to (``chain``), or the module's own name at the top level."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _module_name(path: Path) -> str:
    parts = ("stellarstream", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> set[str]:
    """Every stellarstream module ``path`` imports, at any depth, outside ``TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                found.add(node.module)
    return {m for m in found if m.startswith("stellarstream.")}


def _package_graph() -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the modules that make the edge."""
    graph: dict[str, dict[str, set[str]]] = {}
    for path in _modules():
        source = _unit(path)
        for target in _imported(path):
            unit = target.split(".")[1]
            if unit != source:
                graph.setdefault(source, {}).setdefault(unit, set()).add(_module_name(path))
    return graph


def _cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(set(graph) | {t for edges in graph.values() for t in edges}):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_packages() -> None:
    graph = _package_graph()
    cycles = _cycles(graph)
    detail = [
        f"{a} -> {b} via {sorted(graph[a][b])}"
        for component in cycles
        for a in component
        for b in component
        if b in graph.get(a, {})
    ]
    assert cycles == [], "\n".join(detail)


def test_the_cycle_check_sees_a_cycle() -> None:
    graph = {"a": {"b": {"x"}}, "b": {"c": {"y"}}, "c": {"a": {"z"}}, "d": {"a": {"w"}}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": {"x"}}}) == []


def test_long_modules_say_why() -> None:
    unexplained = [
        f"{path.relative_to(PACKAGE)}: {n} lines"
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and LONG_REASON not in path.read_text(encoding="utf-8")
    ]
    assert unexplained == [], f"over {MAX_LINES} lines without a '{LONG_REASON}' comment"


def _mapped() -> list[str]:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("\n## Modules\n", 1)
    assert len(section) == 2, "docs/ARCHITECTURE.md has no '## Modules' section"
    body = section[1].split("\n## ", 1)[0]
    return re.findall(r"^- `([\w/]+(?:\.py|/))`", body, flags=re.MULTILINE)


@pytest.mark.parametrize("kind", ["missing", "stale", "repeated"])
def test_architecture_lists_every_module_once(kind: str) -> None:
    listed = _mapped()
    modules = _modules()
    actual = {str(p.relative_to(PACKAGE)) for p in modules if p.name != "__init__.py"}
    packages = {f"{p.parent.relative_to(PACKAGE)}/" for p in modules if p.name == "__init__.py"}
    actual |= (packages - {"./"}) | {"db/migrations/"}
    if kind == "missing":
        assert sorted(actual - set(listed)) == []
    elif kind == "stale":
        assert sorted(set(listed) - actual) == []
    else:
        assert sorted({m for m in listed if listed.count(m) > 1}) == []
