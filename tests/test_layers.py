"""The layout's import rule, read from the source: a module imports only from its own layer's
package or from a lower layer, and no modules import each other in a cycle.

Every import counts, the ones inside functions too: a lazy import from a higher layer is still
a lower layer reaching up. docs/architecture.md draws the same layers.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "accounts", "trades", "snapshots", "tradebook")

# Lowest first. A module belongs to the longest prefix listed here.
LAYERS = {
    "core": 0,  # amounts, times, exact JSON, errors, progress, SQL helpers: no models
    "accounts": 1,
    "trades.models": 2, "snapshots.models": 2, "trades.apps": 2, "snapshots.apps": 2, "trades": 2,
    "snapshots": 2,
    "trades.books": 3,  # positions, PnL, valuation, roll-up, reports
    "trades.ingest": 4, "snapshots.take": 4, "snapshots.retention": 4,  # the write service; a snapshot
    "trades.sources": 5,  # followed stores, booked through the write service
    # the doors: HTTP, admin, commands, tasks
    "trades.api": 6, "trades.admin": 6, "trades.management": 6, "snapshots.management": 6,
    "accounts.management": 6, "trades.tasks": 6,
    "trades.templatetags": 7, "snapshots.tasks": 7,  # the admin's tags; the snapshot round asks for roll-ups
    "tradebook": 8,  # settings, URLs, WSGI, the Celery app
}
# The management commands of every app are one door: they share the account look-up and its wording.
ONE_DOOR = {"accounts.management": "commands", "trades.management": "commands", "snapshots.management": "commands"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imported(module: str, path: Path) -> set[str]:
    """The project modules `module` imports (`from a import b` is a.b where that is a module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    found = set()
    for name in names:
        while name not in MODULES and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in MODULES and name != module:
            found.add(name)
    return found


IMPORTS = {module: _imported(module, path) for module, path in MODULES.items()}


def layer_of(module: str) -> tuple[str, int]:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return ONE_DOOR.get(prefix, prefix), LAYERS[prefix]
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS (and to docs/architecture.md)")


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_or_stay_in_their_package(module):
    package, layer = layer_of(module)
    upward = []
    for target in IMPORTS[module]:
        their_package, their_layer = layer_of(target)
        if their_layer > layer or (their_layer == layer and their_package != package):
            upward.append(f"{target} ({their_package}, layer {their_layer})")
    assert not upward, f"{module} ({package}, layer {layer}) imports from above or beside it: {upward}"


def test_no_import_cycle():
    """Tarjan's strongly connected components over the module graph: every one is a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in IMPORTS[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in MODULES:
        if module not in index:
            visit(module)
    assert not cycles, f"modules that import each other: {cycles}"


def test_the_rule_sees_an_upward_import():
    """The check itself: a books module that reached into the ingest service would be caught."""
    assert layer_of("trades.books.state")[1] < layer_of("trades.ingest.service")[1]
    assert "trades.books.fills" in IMPORTS["trades.books.state"]
