"""core <- accounts <- customers <- tickets <- {channels, sla, ...} <- insights; api/desk/portal on top.

A context may import only the contexts below it. This walks every module's imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "regulars"
LAYERS = {
    "core": 0,
    "accounts": 1,
    "customers": 2,
    "tickets": 3,
    "channels": 4,
    "sla": 4,
    "knowledge": 4,
    "community": 4,
    "outreach": 4,
    "insights": 5,
    "api": 9,
    "desk": 9,
    "portal": 9,
    "demo": 9,
}


def imported_contexts(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "regulars" and len(parts) > 1 and parts[1] in LAYERS:
                found.add(parts[1])
    return found


def test_it_knows_every_context_package() -> None:
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYERS), f"add {packages - set(LAYERS)} to LAYERS"


def test_it_never_imports_against_the_dependency_direction() -> None:
    offences = []
    for path in ROOT.rglob("*.py"):
        context = path.relative_to(ROOT).parts[0]
        if context not in LAYERS or "/tests/" in str(path) or path.name == "testing.py":
            continue
        for other in imported_contexts(path):
            same_level_peer = LAYERS[other] == LAYERS[context] and other != context
            if LAYERS[other] > LAYERS[context] or (same_level_peer and LAYERS[context] < 9):
                offences.append(f"{path.relative_to(ROOT)} imports regulars.{other}")
    assert offences == []
