"""``evidence`` is pure: it imports ``protocol`` and ``trust_registry`` only (never the node,
a database, an HTTP client or the clock's readers), so a bundle is checked with no node."""

from __future__ import annotations

import ast
from pathlib import Path

import evidence

FORBIDDEN = {"node", "clearance", "httpx", "sqlmodel", "sqlalchemy", "fastapi"}


def test_evidence_imports_only_the_pure_layers() -> None:
    root = Path(evidence.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                top = name.split(".")[0]
                assert top not in FORBIDDEN, f"{path.name} imports {name}"
