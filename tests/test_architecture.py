"""Dependencies point one way (web -> engine -> the rest), checked by walking the imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sandbox"
# Each module may import only modules of a lower rank; a new module must be placed here.
RANKS = {
    "version": 0,
    "resources": 0,
    "config": 0,
    "problems": 0,
    "clock": 0,
    "store": 0,
    "transport": 0,
    "signing": 0,
    "events": 0,
    "client": 0,
    "message": 0,
    "channels": 1,
    "spec": 1,
    "auth": 1,
    "dispatcher": 1,
    "validation": 2,
    "scenarios": 2,
    "inspection": 2,
    "feed": 1,
    "conversations": 1,
    "scenario_files": 3,
    "webhooks": 3,
    "error_table": 3,
    "engine": 4,
    "web.errors": 5,
    "web.api": 5,
    "web.admin": 5,
    "web.ui": 5,
    "web": 6,
    "server": 7,
    "cli": 8,
    "pytest_plugin": 8,
    "__main__": 9,
    "": 9,
}
ONLY_IN = {
    "flask": {"web", "web.api", "web.admin", "web.errors", "web.ui"},
    "werkzeug": {"web", "web.api", "web.admin", "web.errors"},
    "waitress": {"server"},
    "pytest": {"pytest_plugin"},
    "http.client": {"transport"},
    "urllib.request": {"client"},
    "requests": set(),
}


def modules() -> dict[str, tuple[ast.Module, list[str]]]:
    """name -> (its syntax tree, the package its relative imports start from)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        package = parts[:-1] if is_package else parts[:-1]
        found[name] = (ast.parse(path.read_text()), package)
    return found


def imports(tree: ast.Module, package: list[str]) -> tuple[set[str], set[str]]:
    """(modules of the package it imports, outside modules it imports)."""
    inside, outside = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            for alias in node.names:  # `from . import problems` imports the module problems
                candidate = f"{target}.{alias.name}".lstrip(".")
                inside.add(candidate if candidate in RANKS else target)
        elif isinstance(node, ast.ImportFrom):
            outside.add(node.module)
        elif isinstance(node, ast.Import):
            outside.update(a.name for a in node.names)
    return inside, outside


def test_every_module_is_placed():
    assert set(modules()) <= set(RANKS), set(modules()) - set(RANKS)


@pytest.mark.parametrize("name", sorted(RANKS))
def test_imports_point_down(name):
    if name not in modules():
        pytest.skip(f"{name} does not exist")
    inside, outside = imports(*modules()[name])
    upward = {m for m in inside if RANKS.get(m, 99) >= RANKS[name] and m != name}
    assert not upward, f"{name} imports {upward}"
    for library, allowed in ONLY_IN.items():
        used = {m for m in outside if m == library or m.startswith(library + ".")}
        assert not used or name in allowed, f"{name} imports {used}"
