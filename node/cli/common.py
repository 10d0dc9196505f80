"""Shared CLI plumbing: one place that turns errors into diagnostics and exit codes.

Exit codes (the public contract): 0 success; 1 a refusal (the reason code is printed);
2 usage errors, unreadable input, or a node that cannot be reached.

Under ``--json`` (every command that prints data takes it) an error is one JSON object on
standard output, ``{"error": {"code", "message", "reasons"}}``, with the same exit codes;
``code`` is a reason code for a refusal (exit 1) and ``USAGE`` for exit 2 (see
docs/decisions/0032-cli-conventions.md).
"""

from __future__ import annotations

import contextvars
import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer

from protocol.errors import CodedError

if TYPE_CHECKING:
    from node.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
USAGE_CODE = "USAGE"
"""The ``code`` of a JSON error with exit 2 (not a reason code: nothing was refused)."""

AuthorityDirOption = Annotated[Path, typer.Option(
    "--authority-dir", envvar="TRADEACCORD_AUTHORITY_DIR",
    help="The authority directory (default: TRADEACCORD_AUTHORITY_DIR)")]

JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print JSON (an error too: {\"error\": {code, message, reasons}} on stdout)")]

# Whether the running command was given --json: set by ``handle_errors`` around the command,
# read by ``fail`` and ``refuse`` (also when a command calls them directly).
_json_errors: contextvars.ContextVar[bool] = contextvars.ContextVar("json_errors", default=False)


class UsageProblem(Exception):
    """Unreadable input or a connection failure: exit 2."""


def error_object(code: str, message: str, reasons: list[str] | None = None) -> dict[str, Any]:
    """The JSON form of an error (``--json``)."""
    return {"error": {"code": code, "message": message, "reasons": list(reasons or [])}}


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    if _json_errors.get():
        print_json(error_object(USAGE_CODE, message))
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def refuse(error: CodedError) -> NoReturn:
    if _json_errors.get():
        print_json(error_object(error.code.value, error.message,
                                [code.value for code in error.codes]))
    else:
        typer.echo(error.diagnostics(), err=True)
    raise typer.Exit(EXIT_REFUSED)


@contextmanager
def json_errors(enabled: bool) -> Iterator[None]:
    """Within: errors are reported as JSON on stdout when ``enabled``."""
    token = _json_errors.set(enabled)
    try:
        yield
    finally:
        _json_errors.reset(token)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Catch the domain errors once: diagnostics on stderr (a JSON object on stdout when the
    command was given ``--json``, i.e. ``as_json=True``), exit 1 (or 2 for usage)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with json_errors(bool(kwargs.get("as_json", False))):
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


STDOUT = Path("-")
"""``-o -``: write to standard output (then messages go to stderr, so the output stays
clean for a pipe)."""


def write_output(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, or to standard output when ``path`` is ``-``."""
    if path == STDOUT:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    from node.authority import write_atomic

    write_atomic(path, data)


def note(message: str, output: Path | None = None) -> None:
    """A status line: on stdout, or on stderr when the command's output went to stdout."""
    typer.echo(message, err=output == STDOUT)
