"""``tradeaccord negotiation …``: agreements negotiated node to node (operator key).

``propose``, ``list``, ``show``, ``countersign``, ``decline``, ``status`` (suspend, resume,
terminate at both nodes) go through this node's API; ``compare PARTNER-URL`` fetches the
partner's published registry snapshot, checks it against the partner's roots in this node's
registry and shows, per agreement between the two, what each side holds. Exit 0 done, 1
refused (reason code printed), 2 usage or an unreachable node.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from node.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    JsonOption,
    UsageProblem,
    handle_errors,
    print_json,
)
from node.cli.doc_cmd import KeyOption, NodeOption

negotiation_app = typer.Typer(help="Agreements negotiated node to node: propose, list, show, "
                              "countersign, decline.", no_args_is_help=True)


def _line(view: dict[str, Any]) -> str:
    return (f"{view['agreementId']:<28} {view['side']:<9} {view['partner']:<14} "
            f"{view['state']:<10} {view.get('reason') or ''}")


def _show(view: dict[str, Any], as_json: bool) -> None:
    """One negotiation: the node's whole answer under ``--json``, else its line."""
    if as_json:
        print_json(view)
    else:
        typer.echo(_line(view))


@negotiation_app.command("propose")
@handle_errors
def propose(
    agreement_id: Annotated[str, typer.Argument(metavar="AGREEMENT-ID")],
    partner: Annotated[str, typer.Option(help="The partner authority")],
    document_type: Annotated[list[str], typer.Option(
        "--type", help="A document type covered (repeatable)")],
    valid_until: Annotated[str | None, typer.Option(help="End of validity (RFC 3339)")] = None,
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sign a proposal with this authority's root and send it to the partner's node."""
    from node.cli.remote import connect

    body: dict[str, Any] = {"agreementId": agreement_id, "partner": partner,
                            "documentTypes": list(document_type)}
    if valid_until:
        body["validUntil"] = valid_until
    with connect(node, api_key) as client:
        view = client.propose_negotiation(body)
    _show(view, as_json)


@negotiation_app.command("list")
@handle_errors
def listing(node: NodeOption = None, api_key: KeyOption = None,
            as_json: JsonOption = False) -> None:
    """Negotiations proposed here or received from partners."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        views = client.negotiations()
    if as_json:
        print_json(views)
        return
    for view in views:
        typer.echo(_line(view))
    if not views:
        typer.echo("no negotiations")


@negotiation_app.command("show")
@handle_errors
def show(agreement_id: Annotated[str, typer.Argument(metavar="AGREEMENT-ID")],
         node: NodeOption = None, api_key: KeyOption = None,
         as_json: JsonOption = False) -> None:
    """One negotiation; with ``--json`` its signed proposal (and agreement) too."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        view = client.negotiation(agreement_id)
    _show(view, as_json)


@negotiation_app.command("countersign")
@handle_errors
def countersign(agreement_id: Annotated[str, typer.Argument(metavar="AGREEMENT-ID")],
                node: NodeOption = None, api_key: KeyOption = None,
                as_json: JsonOption = False) -> None:
    """Countersign a received proposal: in force here and, once it arrives, at the partner."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        view = client.countersign_negotiation(agreement_id)
    _show(view, as_json)


@negotiation_app.command("decline")
@handle_errors
def decline(agreement_id: Annotated[str, typer.Argument(metavar="AGREEMENT-ID")],
            reason: Annotated[str, typer.Option("--reason", help="Told to the proposer")],
            node: NodeOption = None, api_key: KeyOption = None,
            as_json: JsonOption = False) -> None:
    """Decline a received proposal."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        view = client.decline_negotiation(agreement_id, reason)
    _show(view, as_json)


@negotiation_app.command("status")
@handle_errors
def status(agreement_id: Annotated[str, typer.Argument(metavar="AGREEMENT-ID")],
           to: Annotated[str, typer.Option(
               "--to", help="suspended, in-force (resume) or terminated")],
           reason: Annotated[str, typer.Option("--reason")] = "",
           effective: Annotated[str | None, typer.Option(
               "--effective", help="RFC 3339; default now")] = None,
           node: NodeOption = None, api_key: KeyOption = None,
           as_json: JsonOption = False) -> None:
    """Suspend, resume or terminate an agreement here and at the partner's node."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        result = client.negotiated_status(agreement_id, to, effective_at=effective,
                                          reason=reason)
    if as_json:
        print_json(result)
        return
    typer.echo(f"{result['agreementId']}: {result['status']} (sent to the partner)")


@negotiation_app.command("compare")
@handle_errors
def compare(partner_url: Annotated[str, typer.Argument(metavar="PARTNER-URL")],
            partner: Annotated[str, typer.Option(help="The partner authority id")],
            node: NodeOption = None, api_key: KeyOption = None,
            as_json: JsonOption = False) -> None:
    """Fetch the partner's published registry snapshot and compare the agreements between
    us with what this node holds; exit 1 when the two sides disagree."""
    from node.cli.remote import connect
    from node.client import ClientError, ConnectionProblem, NodeClient
    from protocol.timeutil import utc_now
    from trust_registry import TrustRegistry
    from trust_registry.comparison import compare_agreements, partner_view

    with connect(node, api_key) as client:
        ours = TrustRegistry.from_dict(client.registry()["registry"])
    try:
        with NodeClient(partner_url) as remote:
            snapshot = remote.published_registry()
    except (ClientError, ConnectionProblem) as exc:
        raise UsageProblem(f"cannot fetch {partner_url}: {exc}") from exc
    now = utc_now()
    theirs = partner_view(snapshot, held=ours, partner=partner, at=now)
    rows = compare_agreements(ours, theirs, at=now)
    if as_json:
        print_json(rows)
    else:
        typer.echo(f"{ours.owner} (version {ours.version}) vs {partner} (version "
                   f"{theirs.version}):")
        for row in rows:
            typer.echo(f"  {row['agreementId']:<28} ours {row['ours']:<11} theirs "
                       f"{row['theirs']:<11} {'agree' if row['agree'] else 'DIFFER'}")
    raise typer.Exit(EXIT_OK if all(row["agree"] for row in rows) else EXIT_REFUSED)
