"""The package layout is the data flow: no module imports one that comes later in it.

declare -> compile -> catalog -> plan -> apply, with the runtime apart (it reads declarations,
never the reconcile layer). Parsed from the source, no import executed: a new upward import
fails here with the two module names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pgtrigger_live"

#: Bottom-up: a module may import, at module level, only modules listed before it.
ORDER = [
    "exceptions",
    "sql",
    "citus",
    "conf",
    "naming",
    "routing",
    "declare",
    "declare.clauses",
    "declare.references",
    "declare.fields",
    "declare.conditions",
    "declare.changes",
    "declare.triggers",
    "declare.raising",
    "declare.contrib",
    "declare.registry",
    "declare.meta",
    "declare.ordering",
    "reconcile",
    "reconcile.state",
    "reconcile.fingerprint",
    "reconcile.operations",
    "reconcile.ddl",
    "reconcile.compiler",
    "reconcile.digest",
    "reconcile.desired",
    "reconcile.schemas",
    "reconcile.overlap",
    "reconcile.catalog",
    "reconcile.planner",
    "reconcile.nochange",
    "reconcile.citus_safety",
    "reconcile.reporting",
    "reconcile.applier",
    "reconcile.installation",
    "reconcile.stats",
    "runtime.statements",
    "runtime.context",
    "runtime.wrapper",
    "runtime.api",
    "runtime.errors",
    "runtime",
]
#: The shells: they compose the layers and may import any of them.
EDGE = ("", "apps", "checks", "models", "management", "compat", "testing")
#: Imports inside functions that reach a later layer, each with its reason.
LAZY = {
    # django-pgtrigger's Trigger.install()/uninstall()/... delegate to the reconciler and the
    # runtime when called; the declaration layer must not load them at import time.
    "declare.triggers",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(tree: ast.Module, *, top_level: bool) -> set[str]:
    """Package modules a module imports (``from pgtrigger_live.x import y`` counts y when y
    is a module of the package, else x)."""
    nodes = tree.body if top_level else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            if base != "pgtrigger_live" and not base.startswith("pgtrigger_live."):
                continue
            base = base.removeprefix("pgtrigger_live").lstrip(".")
            for alias in node.names:
                candidate = f"{base}.{alias.name}".lstrip(".")
                path = PACKAGE.joinpath(*candidate.split("."))
                known = path.with_suffix(".py").exists() or path.is_dir()
                found.add(candidate if known else base)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pgtrigger_live."):
                    found.add(alias.name.removeprefix("pgtrigger_live."))
    return found


def layer_of(name: str) -> int | None:
    return ORDER.index(name) if name in ORDER else None


MODULES = sorted(module_name(p) for p in PACKAGE.rglob("*.py"))


def test_every_module_has_a_place() -> None:
    placed = set(ORDER)
    loose = [m for m in MODULES if m not in placed and not any(m.split(".")[0] == e for e in EDGE)]
    assert loose == [], "add these modules to ORDER (or EDGE) in tests/test_layout.py"


@pytest.mark.parametrize("name", [m for m in MODULES if m in ORDER])
def test_no_module_imports_a_later_one(name: str) -> None:
    path = PACKAGE.joinpath(*name.split(".")) if name else PACKAGE
    source = (path / "__init__.py") if path.is_dir() else path.with_suffix(".py")
    tree = ast.parse(source.read_text())
    mine = ORDER.index(name)
    # Function-level imports count too, except in the LAZY modules (module level only).
    upward = sorted(
        other
        for other in imported(tree, top_level=name in LAZY)
        if (layer := layer_of(other)) is not None and layer > mine
    )
    assert upward == [], f"pgtrigger_live.{name} imports later modules: {upward}"


def test_the_runtime_never_imports_the_reconcile_layer() -> None:
    for name in MODULES:
        if not name.startswith("runtime"):
            continue
        path = PACKAGE.joinpath(*name.split("."))
        source = (path / "__init__.py") if path.is_dir() else path.with_suffix(".py")
        reached = imported(ast.parse(source.read_text()), top_level=False)
        assert not [m for m in reached if m.startswith("reconcile")], name
