"""``tradeaccord inbox …`` (through a node's API) and ``tradeaccord audit …`` (the node's own
database, in its authority directory)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from node.cli.common import (
    AuthorityDirOption,
    JsonOption,
    UsageProblem,
    handle_errors,
    print_json,
)
from node.cli.doc_cmd import KeyOption, NodeOption

inbox_app = typer.Typer(help="Documents received from peers.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


class Outcome(StrEnum):
    """A received document's outcome (the inbox filter)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    HELD_FOR_REVIEW = "held-for-review"


@inbox_app.command("list")
@handle_errors
def list_inbox(
    node: NodeOption = None,
    api_key: KeyOption = None,
    outcome: Annotated[Outcome | None, typer.Option(
        help="accepted, rejected or held-for-review")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many")] = 100,
    after: Annotated[int | None, typer.Option(
        min=0, help="Paging: the documents after this cursor (the CURSOR column)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Received documents, newest first, with their verification and recognition result
    (a header line, or "no documents found")."""
    from node.cli.remote import connect  # httpx, only for commands that call a node
    from node.cli.views import table

    with connect(node, api_key) as client:
        documents = client.inbox(outcome=outcome.value if outcome else None, limit=limit,
                                 after=after)
    if as_json:
        print_json(documents)
        return
    for line in table([("CURSOR", "cursor"), ("ID", "id"), ("TYPE", "type"),
                       ("FROM", "receivedFrom"), ("OUTCOME", "outcome"),
                       ("REASONS", "reasons"), ("RECOGNISED AS", "recognisedAs"),
                       ("AGREEMENT", "agreementId")], documents,
                      "no documents found in the inbox"):
        typer.echo(line)
    if len(documents) == limit:
        typer.echo(f"(more may follow: --after {documents[-1]['cursor']})")


@inbox_app.command("show")
@handle_errors
def show(document_id: Annotated[str, typer.Argument(metavar="ID")],
         node: NodeOption = None, api_key: KeyOption = None,
         as_json: JsonOption = False) -> None:
    """One received document, readable: its checks, recognition, the officer's decision
    and reason, and its content."""
    from node.cli.remote import connect
    from node.cli.views import document_lines

    with connect(node, api_key) as client:
        view = client.document(document_id, direction="inbound")
    if as_json:
        print_json(view)
        return
    for line in document_lines(view):
        typer.echo(line)


def _decided(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    typer.echo(f"{result['id']}: {result['outcome']}")


@inbox_app.command("release")
@handle_errors
def release(document_id: Annotated[str, typer.Argument(metavar="ID")],
            node: NodeOption = None, api_key: KeyOption = None,
            reason: Annotated[str | None, typer.Option(
                help="A note (the sender's trader reads it)")] = None,
            as_json: JsonOption = False) -> None:
    """Officer: accept a document held for review."""
    from node.cli.remote import connect  # httpx, only for commands that call a node

    with connect(node, api_key) as client:
        _decided(client.release(document_id, reason), as_json)


@inbox_app.command("reject")
@handle_errors
def reject(document_id: Annotated[str, typer.Argument(metavar="ID")],
           reason: Annotated[str, typer.Option(
               help="Why (recorded in the audit log; the sender's trader reads it)")],
           node: NodeOption = None, api_key: KeyOption = None,
           as_json: JsonOption = False) -> None:
    """Officer: reject a document held for review."""
    from node.cli.remote import connect  # httpx, only for commands that call a node

    with connect(node, api_key) as client:
        _decided(client.reject(document_id, reason), as_json)


@audit_app.command("verify")
@handle_errors
def audit_verify(authority_dir: AuthorityDirOption, as_json: JsonOption = False) -> None:
    """Check the audit log's hash chain; exit 1 naming the first broken entry. Before
    `node init`: exit 2 saying to run it."""
    from node.cli.local import node_engine
    from node.services.audit import verify_chain
    from node.storage.database import read_session

    with node_engine(authority_dir) as engine, read_session(engine) as session:
        count = verify_chain(session)
    if as_json:
        print_json({"valid": True, "events": count})
        return
    typer.echo(f"audit log intact: {count} events")


@audit_app.command("log")
@handle_errors
def audit_log(
    authority_dir: AuthorityDirOption,
    event: Annotated[str | None, typer.Option(
        help="Only this event, or events starting with it when it ends in '.' "
        "(e.g. document.)")] = None,
    actor: Annotated[str | None, typer.Option(help="Only events by this actor")] = None,
    subject: Annotated[str | None, typer.Option(
        help="Only events about this subject (e.g. document:ID)")] = None,
    since: Annotated[str | None, typer.Option(
        help="Only events at or after this time (RFC 3339)")] = None,
    after: Annotated[int | None, typer.Option(
        min=0, help="Paging: events after this sequence number")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Read the audit log, oldest first (a header line, or "no audit events found"); page
    on with --after the last SEQ shown."""
    from node.cli.local import node_engine
    from node.cli.views import table
    from node.services.audit import list_events
    from node.storage.database import read_session
    from protocol.timeutil import parse_time

    try:
        since_at = parse_time(since) if since else None
    except ValueError as exc:
        raise UsageProblem(f"--since: {exc}") from exc
    with node_engine(authority_dir) as engine, read_session(engine) as session:
        events = list_events(session, after=after, limit=limit, event=event, actor=actor,
                             subject=subject, since=since_at)
    if as_json:
        print_json(events)
        return
    rows = [{**item, "details": _details(item["details"])} for item in events]
    for line in table([("SEQ", "seq"), ("AT", "at"), ("EVENT", "event"), ("ACTOR", "actor"),
                       ("SUBJECT", "subject"), ("DETAILS", "details")], rows,
                      "no audit events found"):
        typer.echo(line)
    if len(events) == limit:
        typer.echo(f"(more may follow: --after {events[-1]['seq']})")


def _details(details: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in details.items())
