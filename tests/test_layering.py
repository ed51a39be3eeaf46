"""The layers, read from every import of every module (lazy ones inside functions included; only
``if TYPE_CHECKING:`` blocks, which never run, are left out):

    api  →  analyzer  →  models (inference)  →  analyzer.resources (imports nothing of ours)
    training (models.train …, corpora checkers) on top: it may use everything but the service

and no import cycle between modules.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("analyzer", "api", "models", "corpora")
LEAF = "analyzer.resources"
INFERENCE = {"models", "models.base", "models.baseline", "models.classifier", "models.tagger", "models.vocab"}
ALLOWED = {  # layer → the layers it may import
    "leaf": set(),
    "models": {"leaf", "models"},
    "analyzer": {"leaf", "models", "analyzer"},
    "api": {"leaf", "analyzer", "api"},
    "training": {"leaf", "models", "analyzer", "training"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str:
    if module == LEAF:
        return "leaf"
    top = module.split(".")[0]
    if top == "models":
        return "models" if module in INFERENCE else "training"
    if top == "corpora":
        return "training"
    return top


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Our modules that ``path`` imports anywhere (``from . import x`` resolved: ``from pkg import
    module`` depends on ``pkg.module``, ``from pkg.module import name`` on ``pkg.module``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    todo: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo += node.orelse
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            submodules = {f"{prefix}.{a.name}" for a in node.names} & known
            found |= submodules if len(submodules) == len(node.names) else {prefix, *submodules}
        todo += list(ast.iter_child_nodes(node))
    return found


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    known = set(files)
    edges = {}
    for module, path in files.items():
        targets = set()
        for name in imports(path, module, known):
            while name and name not in known:  # `from pkg.mod import function` → pkg.mod
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        edges[module] = targets
    return edges


GRAPH = graph()


def test_the_graph_reads_the_code():
    assert "analyzer.pipeline" in GRAPH["analyzer.cli"]  # a lazy import inside a function
    assert "analyzer.engine" in GRAPH["analyzer.pipeline"]
    assert "api.analysis" in GRAPH["api.jobs"]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_layers(module):
    bad = sorted(t for t in GRAPH[module]
                 if layer(t) not in ALLOWED[layer(module)] and not _package_init(t, module))
    assert bad == [], f"{module} ({layer(module)}) imports {bad}"


def _package_init(target: str, module: str) -> bool:
    """Importing ``models.base`` runs ``models/__init__.py``: a package's own ``__init__`` is fine."""
    return module.startswith(target + ".")


def test_no_import_cycles():
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
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
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert cycles == []


def test_only_the_configuration_reads_huashu_variables():
    """``analyzer/config.py`` is the one reader of ``HUASHU_*`` (the service's settings extend it)."""
    import re

    readers = re.compile(r"(os\.environ|getenv)[^\n]*HUASHU_")
    offenders = sorted(str(p.relative_to(REPO)) for pkg in ("analyzer", "api", "models")
                       for p in (REPO / pkg).rglob("*.py")
                       if p.name != "config.py" and readers.search(p.read_text(encoding="utf-8")))
    assert offenders == []
