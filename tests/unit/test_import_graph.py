"""The module import graph of src/stocky has no cycle.

Every import statement counts: module level, inside functions (lazy imports) and under
`if TYPE_CHECKING:` (a type-only cycle still ties the modules together for readers, for mypy
and for the next edit that moves an import to runtime). Parent packages are not implied: an
edge exists only where a statement names the module.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import stocky

ROOT = Path(stocky.__file__).resolve().parent
PACKAGE = "stocky"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The stocky modules `name` imports, as the nearest existing module of each target."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, name, path.name == "__init__.py")
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in known else base)
    edges = set()
    for target in targets:
        while target and target not in known:  # `import stocky.a.b` names a.b, or a symbol
            target = target.rpartition(".")[0]
        if target.startswith(PACKAGE) and target != name:
            edges.add(target)
    return edges


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def test_the_graph_covers_every_module_and_sees_known_edges():
    graph = import_graph()
    assert len(graph) > 50, "the walk found too few modules: is ROOT the package folder?"
    assert "stocky.core.metrics" in graph["stocky.pipelines.train"]
    # a lazy import inside a function counts, and so does a type-only one
    assert "stocky.report.build" in graph["stocky.cli.report"]
    assert "stocky.report.model" in graph["stocky.report.figures"]


def test_src_stocky_has_no_import_cycle():
    graph = import_graph()
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise AssertionError(
            f"import cycle: {cycle}: move the shared part to a lower module"
        ) from None
