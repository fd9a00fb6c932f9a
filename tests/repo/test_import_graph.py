"""The package's import graph: subpackages and top-level modules import each other in one direction only."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

_SRC = Path(__file__).resolve().parents[2] / "src"
_PACKAGE = _SRC / "lc_otel"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(_SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _node(module: str) -> str:
    """``lc_otel._tracing.model`` -> ``lc_otel._tracing``; top-level modules (``lc_otel.handler``) stand alone."""
    return ".".join(module.split(".")[:2])


def _imported(path: Path, module: str) -> set[str]:
    """Every lc_otel module ``path`` imports, at the top or inside a function (a lazy import is still an edge)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for statement in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(statement, ast.Import):
            found.update(alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            base = statement.module or ""
            if statement.level:
                anchor = package.split(".")[: len(package.split(".")) - statement.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            found.add(base)
            # ``from lc_otel._tracing import run_table`` imports the module run_table.
            found.update(f"{base}.{alias.name}" for alias in statement.names)
    return {name for name in found if name.startswith("lc_otel.") and _exists(name)}


def _exists(module: str) -> bool:
    relative = Path(*module.split("."))
    return (_SRC / relative).with_suffix(".py").is_file() or (_SRC / relative / "__init__.py").is_file()


def _module_graph() -> dict[str, set[str]]:
    """Module -> the lc_otel modules it imports (the facade, ``lc_otel`` itself, is left out: it is above all)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in sorted(_PACKAGE.rglob("*.py")):
        module = _module_name(path)
        if module == "lc_otel":
            continue
        edges[module].update(target for target in _imported(path, module) if target != module)
    return edges


def _graph() -> dict[str, set[str]]:
    """Subpackage or top-level module -> the others it imports (edges inside one subpackage left out)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in _module_graph().items():
        for target in targets:
            if _node(target) != _node(module):
                edges[_node(module)].add(_node(target))
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the nodes along it, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_graph_sees_the_package() -> None:
    """The walk finds the edges that exist (a walk that found nothing would pass the cycle test vacuously)."""
    edges = _graph()
    assert "lc_otel._attributes" in edges["lc_otel._tracing"]
    assert "lc_otel._tracing" in edges["lc_otel.handler"]
    assert "lc_otel._propagation" in edges["lc_otel.handler"]
    modules = _module_graph()
    assert "lc_otel._attributes.usage" in modules["lc_otel._attributes.genai"]
    assert "lc_otel._export.endpoints" in modules["lc_otel._export.metrics_setup"]
    assert "lc_otel._metrics.run_telemetry" in modules["lc_otel._tracing.run_table"]  # a type-checking import
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_between_packages() -> None:
    """Each subpackage and top-level module imports only those below it, also lazily inside a function."""
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_no_import_cycle_between_modules() -> None:
    """Inside a subpackage too, modules import one another one way, lazy and type-checking imports included."""
    cycle = _cycle(_module_graph())
    assert cycle is None, " -> ".join(cycle or [])


# docs/design.md's order, top first: a package or top-level module imports only those in later rows.
_LAYERS = (
    ("lc_otel.__main__",),
    ("lc_otel.cli",),
    ("lc_otel._cli",),
    ("lc_otel.testing", "lc_otel.instrumentor"),
    ("lc_otel._instrument",),
    ("lc_otel.handler", "lc_otel._token_usage", "lc_otel._export"),
    ("lc_otel._propagation",),
    ("lc_otel._tracing",),
    ("lc_otel._metrics",),
    ("lc_otel._attributes",),
    ("lc_otel._settings", "lc_otel._internal_errors", "lc_otel._version"),
)


def test_packages_import_in_the_documented_direction() -> None:
    """Each import goes down docs/design.md's map, and every package and top-level module has its place there."""
    row = {node: index for index, nodes in enumerate(_LAYERS) for node in nodes}
    nodes = {_node(_module_name(path)) for path in _PACKAGE.rglob("*.py")} - {"lc_otel"}
    assert sorted(nodes - row.keys()) == []
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in _graph().items()
        for target in targets
        if row[target] <= row[source]
    )
    assert upward == []
