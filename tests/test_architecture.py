"""Dependencies point one way (web -> engine -> the rest), checked by walking the imports."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sandbox"
# Each module may import only modules of a lower rank; a new module must be placed here.
RANKS = {
    "version": 0,
    "resources": 0,
    "problems": 1,
    "clock": 0,
    "jsontext": 0,
    "ids": 0,
    "states": 0,
    "message": 0,
    "placeholders": 0,
    "webhook_urls": 0,
    "migrations": 0,
    "transport": 0,
    "signing": 0,
    "events": 0,
    "client": 0,
    "web.budget": 0,
    "web.guard": 11.5,
    "tls": 2,
    "parties": 0,
    "receive": 0,
    "exposure": 0,
    "config": 1,
    "json_body": 2,
    "store": 1,
    "channels": 2,
    "spec": 2,
    "auth": 3,
    "validation": 3,
    "scenarios": 3,
    "runtime": 4,
    "versions.v0_1": 4,
    "versions.v1_document": 3,
    "versions.v1_errors": 3.5,
    "versions.v1": 4,
    "versions.v1_webhooks": 4,
    "versions": 5,
    "scenario_files": 5,
    "webhooks": 6,
    "error_table": 5,
    "lifecycle": 7,
    "dispatcher": 8,
    "timeline": 9,
    "inspection": 10,
    "feed": 2,
    "customer_facts": 0,
    "conversations": 2,
    "engine": 11,
    "web.errors": 12,
    "web.api": 12,
    "web.admin": 12,
    "web.v1": 12.5,
    "web.ui": 12,
    "web": 13,
    "server": 14,
    "cli": 15,
    "pytest_plugin": 15,
    "__main__": 16,
    "": 16,
}
ONLY_IN = {
    "flask": {"web", "web.api", "web.admin", "web.errors", "web.v1", "web.ui", "web.guard"},
    "werkzeug": {"web", "web.api", "web.admin", "web.errors", "web.v1"},
    "granian": {"server"},
    "pytest": {"pytest_plugin"},
    "http.client": {"transport"},
    "urllib3": {"transport"},
    "urllib.request": {"client"},
    "requests": set(),
}


@cache
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
