"""The ``tradeaccord`` command: one typer app, one module per command group.

Starting fast: ``main`` runs a root group that lists the command groups from the table
below and imports a group's module only when that group is invoked, so ``tradeaccord
--help`` imports no command module, and a command imports only its own group (whose
module imports heavy libraries — FastAPI, SQLAlchemy, httpx, rich — inside the commands
that use them). ``build_app`` assembles the same tree eagerly, as a ``typer.Typer`` (tests
and documentation checks use it); a test holds the two to the same commands and help.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer

# typer 0.29 vendors click as typer._click: its exceptions are the ones raised here.
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

HELP = "TradeAccord: cross-border paperless trade with mutual recognition."


@dataclass(frozen=True)
class _Entry:
    """A top-level command: where it lives, and its help (shown without importing it)."""

    module: str
    attribute: str
    help: str
    is_group: bool = True


COMMANDS: dict[str, _Entry] = {
    "demo": _Entry("node.cli.demo_cmd", "demo",
                   "Run the single-declaration pilot: SG-CUSTOMS, CN-CUSTOMS, SG-CHAMBER and "
                   "SG-NPPO as\nreal processes, four consignments declared once and cleared on "
                   "both sides.", is_group=False),
    "authority": _Entry("node.cli.authority_cmd", "authority_app",
                        "Authority keys and certificates."),
    # doc_convert_cmd adds export/import (ePhyto) to the doc group it imports, and
    # lifecycle_cmd adds revoke/replace/statements to it.
    "doc": _Entry("node.cli.lifecycle_cmd", "doc_app",
                  "Trade documents: sign, verify, submit, send, status, list, get, export, "
                  "import, revoke, replace."),
    "declaration": _Entry("node.cli.declaration_cmd", "declaration_app",
                          "Single declaration, bilateral clearance: submit once, cleared on "
                          "both sides."),
    "title": _Entry("node.cli.title_cmd", "title_app",
                    "Transferable records (e-bills of lading): issue, transfer, surrender, "
                    "show, export."),
    "node": _Entry("node.cli.node_cmd", "node_app", "Run an authority's node."),
    "inbox": _Entry("node.cli.inbox_cmd", "inbox_app", "Documents received from peers."),
    "outbox": _Entry("node.cli.outbox_cmd", "outbox_app",
                     "Outbound messages: states, dead letters, retry."),
    "audit": _Entry("node.cli.inbox_cmd", "audit_app", "The hash-chained audit log."),
    "registry": _Entry("node.cli.registry_cmd", "registry_app",
                       "The trust registry: authorities, agreements, snapshots."),
    "agreement": _Entry("node.cli.agreement_cmd", "agreement_app",
                        "Bilateral agreements: propose, countersign, show, status."),
    "webhook": _Entry("node.cli.webhook_cmd", "webhook_app",
                      "Webhooks: callback URLs notified of documents and declarations."),
    "negotiation": _Entry("node.cli.negotiation_cmd", "negotiation_app",
                          "Agreements negotiated node to node: propose, list, show, countersign, "
                          "decline."),
    "evidence": _Entry("node.cli.evidence_cmd", "evidence_app",
                       "Evidence bundles: export a decision's sealed evidence, verify it "
                       "offline."),
    "conformance": _Entry("node.cli.conformance_cmd", "conformance_app",
                          "Conformance kit: prove a node speaks the peer protocol."),
}
"""Every top-level command, in the order ``--help`` lists them (typer's: commands, then
groups)."""


def _load(entry: _Entry) -> Any:
    return getattr(importlib.import_module(entry.module), entry.attribute)


def build_app() -> typer.Typer:
    """Assemble the whole command tree (explicitly, so importing this module has no side
    effects), importing every command module."""
    app = typer.Typer(
        name="tradeaccord",
        help=HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    for name, entry in COMMANDS.items():
        if entry.is_group:
            app.add_typer(_load(entry), name=name)
        else:
            app.command(name)(_load(entry))
    return app


class _LazyCommands(Mapping[str, Any]):
    """The root's commands by name; a command's module is imported on first access."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            command: Any
            entry = COMMANDS[name]  # KeyError for an unknown name, as a dict would
            if entry.is_group:
                command = typer.main.get_group(_load(entry))
            else:
                single = typer.Typer(add_completion=False)
                single.command(name)(_load(entry))
                command = typer.main.get_command(single)
            self._loaded[name] = command
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


def _print_version(value: bool) -> None:
    """``--version``: the installed distribution's version (package metadata: cheap)."""
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("tradeaccord")
    except PackageNotFoundError:  # running from a source tree that was never installed
        number = "unknown (not installed)"
    typer.echo(f"tradeaccord {number}")
    raise typer.Exit(0)


def _root_options() -> list[Any]:
    """The root's own options (``--version``), built by typer from a callback's signature."""
    holder = typer.Typer()

    @holder.callback(invoke_without_command=True)
    def _root(version: Annotated[bool, typer.Option(
            "--version", is_eager=True, callback=_print_version,
            help="Print the installed version and exit.")] = False) -> None:
        del version  # handled by the eager callback

    return list(typer.main.get_group(holder).params)


class _LazyRoot(TyperGroup):
    """The root group of ``main``: lists commands from ``COMMANDS`` and loads one only to
    run it (or to show its own help)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        """As click's, except that a usage error of a command given ``--json`` is a JSON
        error object on stdout (exit 2), as the commands' own errors are."""
        argv = list(sys.argv[1:] if args is None else args)
        extra["windows_expand_args"] = windows_expand_args
        if not standalone_mode or "--json" not in argv:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            # Without standalone mode click answers an exit (typer.Exit) with its code.
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            sys.exit(code if isinstance(code, int) else 0)
        except UsageError as error:
            from node.cli.common import USAGE_CODE, error_object, print_json

            print_json(error_object(USAGE_CODE, error.format_message()))
            sys.exit(error.exit_code)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, _short(entry.help, limit)) for name, entry in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 3, 0)].rstrip() + "..."


def lazy_root() -> TyperGroup:
    """The root group ``main`` runs (plain help: no rich at start)."""
    root = _LazyRoot(name="tradeaccord", help=HELP, no_args_is_help=True, rich_markup_mode=None,
                     params=_root_options())
    root.commands = _LazyCommands()  # type: ignore[assignment]
    return root


def main() -> None:
    """Console-script entry point."""
    lazy_root().main(prog_name="tradeaccord")
