"""The CLI starts without the heavy libraries: an import test, not a timing test.

``tradeaccord --help`` and the offline command groups must not import FastAPI,
SQLAlchemy, httpx, rich or uvicorn (issue 11; ``bench/cli_start.py`` times the start).
Each check runs in a fresh interpreter, since this test process has them all imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from node.cli.main import COMMANDS, build_app, lazy_root

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("fastapi", "sqlalchemy", "httpx", "rich", "uvicorn")


def imported_after(code: str) -> list[str]:
    """The heavy modules present in ``sys.modules`` after running ``code`` afresh."""
    probe = (f"import sys\n{code}\n"
             f"print(__import__('json').dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            check=False)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_imports_no_heavy_library() -> None:
    assert imported_after("import node.cli.main") == []


def test_help_imports_no_heavy_library() -> None:
    code = ("from node.cli.main import main\nsys.argv = ['tradeaccord', '--help']\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 0\n")
    assert imported_after(code) == []


@pytest.mark.parametrize("module", ["authority_cmd", "doc_cmd", "inbox_cmd", "demo_cmd",
                                    "registry_cmd", "agreement_cmd", "node_cmd", "outbox_cmd",
                                    "views", "common"])
def test_offline_command_groups_import_no_heavy_library(module: str) -> None:
    # The commands that need one import it themselves (rich for the registry's tables,
    # httpx for the commands that call a node, the storage layer for `doc sign`'s prepare).
    assert imported_after(f"import node.cli.{module}") == []


@pytest.mark.parametrize("argv", [
    ["--version"], ["doc", "list", "--help"], ["doc", "get", "--help"],
    ["inbox", "show", "--help"], ["outbox", "list", "--help"], ["outbox", "retry", "--help"],
    ["audit", "log", "--help"], ["node", "--help"], ["node", "serve", "--help"],
    ["node", "apikey", "create", "--help"],
], ids=" ".join)
def test_new_commands_help_imports_no_heavy_library(argv: list[str]) -> None:
    # Issue 12: the commands added for a new user start without FastAPI, SQLAlchemy, httpx
    # or uvicorn (a group's own help is typer's, which renders it with rich).
    code = (f"from node.cli.main import main\nsys.argv = ['tradeaccord', *{argv!r}]\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n")
    assert [name for name in imported_after(code) if name != "rich"] == []


def test_the_lazy_root_lists_what_build_app_builds() -> None:
    eager: Any = typer.main.get_command(build_app())  # a group: it has ``commands``
    lazy = lazy_root()
    assert list(lazy.commands) == list(eager.commands) == list(COMMANDS)
    for name, entry in COMMANDS.items():
        full = eager.commands[name]
        loaded = lazy.commands[name]
        assert entry.help == (full.help or "").split("\n\n")[0].strip(), name
        assert [p.name for p in loaded.params] == [p.name for p in full.params], name
        assert sorted(getattr(loaded, "commands", {})) == sorted(getattr(full, "commands", {}))


def test_the_console_script_runs_a_command_through_the_lazy_root(tmp_path: Path) -> None:
    document = tmp_path / "doc.json"
    document.write_text("{}")
    result = subprocess.run([sys.executable, "-m", "node.cli", "doc", "verify", str(document)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert result.returncode == 2, result.stderr
    assert "--anchor" in result.stderr


def test_an_unknown_command_is_a_usage_error_with_a_suggestion() -> None:
    result = subprocess.run([sys.executable, "-m", "node.cli", "regsitry"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert result.returncode == 2
    assert "registry" in result.stderr
