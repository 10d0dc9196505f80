"""``tradeaccord inbox …`` and ``tradeaccord audit …``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node.cli.common import handle_errors, load_settings, print_json
from node.cli.doc_cmd import KeyOption, NodeOption

inbox_app = typer.Typer(help="Documents received from peers.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@inbox_app.command("list")
@handle_errors
def list_inbox(
    node: NodeOption = None,
    api_key: KeyOption = None,
    outcome: Annotated[str | None, typer.Option(
        help="accepted, rejected or held-for-review")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Received documents with their verification and recognition result."""
    from node.cli.remote import connect  # httpx, only for commands that call a node

    with connect(node, api_key) as client:
        documents = client.inbox(outcome=outcome)
    if as_json:
        print_json(documents)
        return
    for item in documents:
        recognised = f"as {item['recognisedAs']} ({item['agreementId']})" \
            if item["recognisedAs"] else ""
        typer.echo(f"{item['id']}  {item['type']:<26} from {item['receivedFrom']:<12} "
                   f"{item['outcome']:<16} {' '.join(item['reasons'])} {recognised}")


@inbox_app.command("release")
@handle_errors
def release(document_id: Annotated[str, typer.Argument(metavar="ID")],
            node: NodeOption = None, api_key: KeyOption = None,
            reason: Annotated[str | None, typer.Option(help="A note")] = None) -> None:
    """Officer: accept a document held for review."""
    from node.cli.remote import connect  # httpx, only for commands that call a node

    with connect(node, api_key) as client:
        result = client.release(document_id, reason)
    typer.echo(f"{result['id']}: {result['outcome']}")


@inbox_app.command("reject")
@handle_errors
def reject(document_id: Annotated[str, typer.Argument(metavar="ID")],
           reason: Annotated[str, typer.Option(help="Why (recorded in the audit log)")],
           node: NodeOption = None, api_key: KeyOption = None) -> None:
    """Officer: reject a document held for review."""
    from node.cli.remote import connect  # httpx, only for commands that call a node

    with connect(node, api_key) as client:
        result = client.reject(document_id, reason)
    typer.echo(f"{result['id']}: {result['outcome']}")


@audit_app.command("verify")
@handle_errors
def audit_verify(authority_dir: Annotated[Path, typer.Option(help="The authority directory")]
                 ) -> None:
    """Check the audit log's hash chain; exit 1 naming the first broken entry."""
    from node.services.audit import verify_chain
    from node.storage.database import make_engine, read_session

    settings = load_settings(authority_dir)
    engine = make_engine(settings.resolved_database_url(authority_dir))
    try:
        with read_session(engine) as session:
            count = verify_chain(session)
    finally:
        engine.dispose()
    typer.echo(f"audit log intact: {count} events")
