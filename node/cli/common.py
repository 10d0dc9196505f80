"""Shared CLI plumbing: one place that turns errors into diagnostics and exit codes.

Exit codes (the public contract): 0 success; 1 a refusal (the reason code is printed);
2 usage errors, unreadable input, or a node that cannot be reached.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import typer

from protocol.errors import CodedError

if TYPE_CHECKING:
    from node.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2



class UsageProblem(Exception):
    """Unreadable input or a connection failure: exit 2."""


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def refuse(error: CodedError) -> NoReturn:
    typer.echo(error.diagnostics(), err=True)
    raise typer.Exit(EXIT_REFUSED)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Catch the domain errors once: diagnostics on stderr, exit 1 (or 2 for usage)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except UsageProblem as problem:
            fail(str(problem))
        except CodedError as error:
            refuse(error)

    return wrapper


def load_settings(authority_dir: Path | None = None) -> Settings:
    """``node.settings.load_settings``, imported when a command first needs settings (not
    when the command module is imported: pydantic-settings is slow to import)."""
    from node.settings import load_settings as load

    return load(authority_dir)


def read_bytes(path: Path) -> bytes:
    """Read an input file, or exit 2 saying why."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageProblem(f"cannot read {path}: {exc.strerror or exc}") from exc


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
