"""``tradeaccord doc revoke | replace | statements``: withdraw a document this node issued.

Added to the ``doc`` group (which ``doc_convert_cmd`` and ``doc_cmd`` define): the ``doc``
entry of the lazy COMMANDS table names this module. Every command goes through the node's
API (``--node``/``--api-key`` or the environment); exit 0 done, 1 refused (reason code
printed), 2 usage or an unreachable node.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

import node.cli.doc_convert_cmd  # noqa: F401 (adds export and import to the doc group)
from node.cli.common import JsonOption, UsageProblem, handle_errors, print_json, read_bytes
from node.cli.doc_cmd import KeyOption, NodeOption, doc_app
from protocol.strict_json import parse_json
from protocol.timeutil import format_time, parse_time

__all__ = ["doc_app"]

EffectiveOption = Annotated[str | None, typer.Option(
    "--effective", help="When it takes effect (RFC 3339 with offset); default now")]
AlsoOption = Annotated[list[str] | None, typer.Option(
    "--also-to", help="Also tell this authority (beyond the nodes it was sent to); "
    "repeatable")]


def _effective(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return format_time(parse_time(value))
    except ValueError as exc:
        raise UsageProblem(f"--effective: {exc}") from exc


def _print_statement(view: dict[str, Any]) -> None:
    typer.echo(f"document {view['documentId']} {view['state']} with effect from "
               f"{view['effectiveAt']}"
               + (f", replaced by {view['replacementId']}" if view.get("replacementId")
                  else ""))
    if not view["deliveries"]:
        typer.echo("  sent to no node (it went to none from here)")
    for delivery in view["deliveries"]:
        typer.echo(f"  {delivery['to']:<16} {delivery['state']:<10} "
                   f"{delivery.get('lastError') or ''}")


@doc_app.command("revoke")
@handle_errors
def revoke(
    document_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option("--reason", help="Why (travels in the statement)")],
    effective: EffectiveOption = None,
    also_to: AlsoOption = None,
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a document this node issued (officer): a signed status statement goes to
    every node that received it, directly or forwarded."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        view = client.revoke(document_id, reason, effective_at=_effective(effective),
                             also_to=list(also_to or []))
    if as_json:
        print_json(view)
    else:
        _print_statement(view)


@doc_app.command("replace")
@handle_errors
def replace(
    document_id: Annotated[str, typer.Argument(metavar="ID")],
    new_file: Annotated[Path | None, typer.Argument(
        metavar="NEW.json", help="The corrected document (signed by the node)")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why")] = "corrected document",
    existing: Annotated[str | None, typer.Option(
        "--existing", help="Instead of NEW.json: the id of a corrected document already "
        "issued here that names ID in its references")] = None,
    effective: EffectiveOption = None,
    also_to: AlsoOption = None,
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace a document this node issued by a corrected one (officer): the new document
    names the one it replaces (the node adds the reference), is sent where the original
    went, and a signed status statement follows it."""
    from node.cli.remote import connect

    if (new_file is None) == (existing is None):
        raise UsageProblem("give NEW.json or --existing ID (one of them)")
    document = parse_json(read_bytes(new_file)) if new_file is not None else None
    with connect(node, api_key) as client:
        view = client.replace(document_id, reason, document=document, replacement_id=existing,
                              effective_at=_effective(effective), also_to=list(also_to or []))
    if as_json:
        print_json(view)
    else:
        _print_statement(view)


@doc_app.command("statements")
@handle_errors
def statements(
    document_id: Annotated[str | None, typer.Argument(metavar="[ID]")] = None,
    undelivered: Annotated[bool, typer.Option(
        "--undelivered", help="Only statements that have not arrived everywhere")] = False,
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Status statements at this node and where each has (not yet) arrived."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        views = client.statements(document_id, undelivered=undelivered)
    if as_json:
        print_json(views)
        return
    if not views:
        typer.echo("no statements")
    for view in views:
        _print_statement(view)
        if view["pending"]:
            typer.echo(f"  not yet arrived at: {', '.join(view['pending'])}")
