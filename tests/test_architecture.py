"""The package graph points one way: core ← auth ← services ← search ← document, exports, review ← edges.

Every import of every module under catalogue/ is read from its source (ast), including imports inside
functions and under TYPE_CHECKING: a deferred import still makes one module depend on another. A module
may import its own layer or any layer below, never one above, and no chain of imports may come back to
where it started.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "catalogue"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # What every part shares: the database's base and sessions, the event log, the domain's exceptions,
    # the reference models, and the migrations that make the schema.
    (
        "core",
        (
            "catalogue.db",
            "catalogue.events",
            "catalogue.exceptions",
            "catalogue.reference",
            "catalogue.migrations",
            "catalogue.resources",
            "catalogue.wording",
            "catalogue.timing",
        ),
    ),
    ("auth", ("catalogue.auth",)),
    ("services", ("catalogue.services",)),
    ("search", ("catalogue.search",)),
    ("document, exports and review", ("catalogue.document", "catalogue.exports", "catalogue.review")),
    ("notifications", ("catalogue.notify",)),
)
"""Layers from the bottom up, each named by its module prefixes. Everything else is an edge (below)."""

EDGE_MODULES = (
    "catalogue",
    "catalogue.auth",
    "catalogue.cli",
    "catalogue.conditional",
    "catalogue.config",
    "catalogue.errors",
    "catalogue.gunicorn_conf",
    "catalogue.migrations.env",
    "catalogue.openapi",
    "catalogue.ops",
    "catalogue.security",
)
"""The edges by name: the app factory, the command line, settings, HTTP wiring and error pages, the API's own
OpenAPI description, probes, and the Alembic environment (run by Alembic like a command). `catalogue.auth` is the package's __init__: it binds
sign-in and CSRF protection to the app and registers the auth pages."""

EDGE_NAMES = ("views", "api", "forms")
"""A module with one of these names is an HTTP edge, whatever package it is in."""

KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}
"""Imports against the direction, each with its reason. A fixed one must leave this list (the test says so)."""

KNOWN_CYCLES: dict[frozenset[str], str] = {}
"""Import circles left for now, each with its reason; a broken one must leave this list."""


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """The dotted name of the module in path."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(path, package): path for path in sorted(package.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The catalogue modules that module name (at path) imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == "catalogue")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "catalogue":
                continue
            for alias in node.names:
                # `from catalogue.auth import accounts` depends on the submodule, not on the package's __init__.
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in known else base


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the catalogue modules it imports (itself left out)."""
    found = modules(package)
    known = set(found)
    return {name: {m for m in imported(name, path, known) if m != name} for name, path in found.items()}


def layer_of(name: str) -> int:
    """The layer of a module, counted from the bottom (core is 0); edges are above every layer."""
    if name in EDGE_MODULES or name.rpartition(".")[2] in EDGE_NAMES:
        return len(LAYERS)
    for index, (_label, prefixes) in enumerate(LAYERS):
        if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes):
            return index
    return len(LAYERS)


def layer_label(index: int) -> str:
    """The name of a layer, for messages."""
    return LAYERS[index][0] if index < len(LAYERS) else "edges"


def upward_imports(graph: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """Every import from a lower layer to a higher one, with a sentence saying so."""
    found = {}
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if layer_of(target) > layer_of(module):
                found[(module, target)] = (
                    f"{module} ({layer_label(layer_of(module))}) imports {target} ({layer_label(layer_of(target))})"
                )
    return found


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The import circles: strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_every_module_has_a_layer_or_is_an_edge() -> None:
    # A new top-level module is an edge until someone decides otherwise: say so here, not by accident.
    top_level = {name for name in modules() if name.count(".") == 1}
    placed = {prefix for _label, prefixes in LAYERS for prefix in prefixes} | set(EDGE_MODULES)
    assert top_level - placed == set(), "place each new top-level module in LAYERS or EDGE_MODULES"


def test_no_layer_imports_a_layer_above_it() -> None:
    found = upward_imports(import_graph())
    unexpected = [sentence for pair, sentence in found.items() if pair not in KNOWN_EXCEPTIONS]
    assert unexpected == [], "imports against the direction of the package graph:\n" + "\n".join(unexpected)
    fixed = sorted(set(KNOWN_EXCEPTIONS) - set(found))
    assert fixed == [], f"these imports are gone: remove them from KNOWN_EXCEPTIONS: {fixed}"


def test_search_reads_no_document_module() -> None:
    # The app factory hands the document's chapters to the index; search never imports them itself.
    graph = import_graph()
    reaching = sorted(
        f"{m} imports {t}"
        for m, targets in graph.items()
        if m.startswith("catalogue.search") and layer_of(m) < len(LAYERS)
        for t in targets
        if t.startswith("catalogue.document")
    )
    assert reaching == []


def test_there_is_no_import_cycle() -> None:
    graph = import_graph()
    for module, target in KNOWN_EXCEPTIONS:  # told once already, as imports against the direction
        graph[module].discard(target)
    found = cycles(graph)
    unexpected = [sorted(group) for group in found if group not in KNOWN_CYCLES]
    assert unexpected == [], f"import circles: {unexpected}"
    broken = [sorted(group) for group in KNOWN_CYCLES if group not in found]
    assert broken == [], f"these circles are broken: remove them from KNOWN_CYCLES: {broken}"


def _write(root: Path, name: str, source: str) -> None:
    path = root.joinpath(*name.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, "utf-8")


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """A toy catalogue package with one lower module importing a higher one, and a circle."""
    root = tmp_path / "catalogue"
    _write(tmp_path, "catalogue.__init__", "")
    _write(tmp_path, "catalogue.db", "def f():\n    from catalogue.services import workflow\n")
    _write(tmp_path, "catalogue.services.__init__", "")
    _write(tmp_path, "catalogue.services.workflow", "from catalogue.db import f\nfrom . import reads\n")
    _write(tmp_path, "catalogue.services.reads", "from .workflow import x\n")
    return root


def test_the_checks_catch_an_upward_import_and_a_circle(toy: Path) -> None:
    # The rules above are only as good as the graph they read: a deferred import and relative imports count.
    graph = import_graph(toy)
    assert graph["catalogue.db"] == {"catalogue.services.workflow"}
    assert graph["catalogue.services.reads"] == {"catalogue.services.workflow"}
    assert ("catalogue.db", "catalogue.services.workflow") in upward_imports(graph)
    assert cycles(graph) == [frozenset({"catalogue.db", "catalogue.services.workflow", "catalogue.services.reads"})]
