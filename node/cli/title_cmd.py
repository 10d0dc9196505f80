"""``tradeaccord title …``: transferable records (electronic bills of lading) on a node.

- ``title issue BL.json --holder PARTY``: the carrier's node signs the bill and its issuance;
  prints the record id.
- ``title transfer ID --to-party P [--to-authority A] [--endorse]``: the holder passes the
  title (to another node: it takes effect once the control registry has countersigned).
- ``title surrender ID``; ``title accept ID`` / ``title reject ID [--reason …]`` (the
  carrier's officer).
- ``title show ID [--json]``; ``title list``; ``title export ID -o FILE [--format
  dcsa-ebl-3]`` (the export verifies offline with ``doc verify``).

Exit codes (the contract): 0 success; 1 a refusal, with its reason code; 2 usage errors,
unreadable input or a node that cannot be reached.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from node.cli.common import UsageProblem, handle_errors, print_json, read_bytes
from node.cli.doc_cmd import KeyOption, NodeOption
from protocol.errors import ProtocolError
from protocol.strict_json import parse_json

title_app = typer.Typer(
    help="Transferable records (e-bills of lading): issue, transfer, surrender, show, export.",
    no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]
IdArgument = Annotated[str, typer.Argument(metavar="ID", help="The record id")]
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_PARTY = re.compile(r"[A-Z]{2}-[A-Z0-9]{2,10}-[A-Z0-9][A-Z0-9./-]{0,49}")
_AUTHORITY = re.compile(r"[A-Z]{2}-[A-Z0-9]+(-[A-Z0-9]+)*")


class ExportFormat(StrEnum):
    TRADEACCORD = "tradeaccord"
    DCSA_EBL_3 = "dcsa-ebl-3"


def _check(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise UsageProblem(f"{value!r} is not a {what}")
    return value


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    for line in describe(result):
        typer.echo(line)


def describe(view: dict[str, Any]) -> list[str]:
    """``title show`` in plain lines: the record, then its chain of holders and nodes."""
    lines = [f"{view['id']}  {view['transportDocumentReference']}  {view['status']}",
             f"  holder {view['holder']} at {view['custodian']} "
             f"(control registry {view['controlRegistry']})"]
    if view.get("pending"):
        pending = view["pending"]
        lines.append(f"  pending: {pending['action']} to {pending['to']} at "
                     f"{pending['custodian']}, awaiting the control registry")
    if view.get("lastRefusal"):
        lines.append(f"  last custody change refused: {', '.join(view['lastRefusal'])}")
    for item in view["history"]:
        countersigned = f", countersigned by {item['countersignedBy']}" \
            if item.get("countersignedBy") else ""
        lines.append(f"  {item['sequence']:>3} {item['at']} {item['action']:<22} "
                     f"{item['from']} -> {item['to']} at {item['custodian']} "
                     f"(signed by {item['by']}{countersigned})")
    return lines


@title_app.command("issue")
@handle_errors
def issue(
    bill_file: Annotated[Path, typer.Argument(metavar="BL.json")],
    holder: Annotated[str, typer.Option("--holder", metavar="PARTY-ID",
                                        help="The first holder (party id)")],
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """The carrier's node signs the bill and its issuance entry; prints the record id."""
    from node.cli.remote import connect

    _check(holder, _PARTY, "party id")
    try:
        document = parse_json(read_bytes(bill_file), max_bytes=16 * 1024 * 1024)
    except ProtocolError as exc:
        raise UsageProblem(f"{bill_file} is not strict JSON: {exc.code.value}: "
                           f"{exc.message}") from exc
    if not isinstance(document, dict):
        raise UsageProblem(f"{bill_file} does not hold a JSON object")
    with connect(node, api_key) as client:
        result = client.issue_title(document, holder)
    if as_json:
        print_json(result)
        return
    typer.echo(result["id"])


@title_app.command("transfer")
@handle_errors
def transfer(
    record_id: IdArgument,
    to_party: Annotated[str, typer.Option("--to-party", metavar="PARTY-ID",
                                          help="The new holder")],
    to_authority: Annotated[str | None, typer.Option(
        "--to-authority", metavar="AUTHORITY-ID",
        help="The node that takes custody (default: this node)")] = None,
    endorse: Annotated[bool, typer.Option("--endorse",
                                          help="Endorse an order bill to the new holder")]
    = False,
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """The holder transfers (or endorses) the title."""
    from node.cli.remote import connect

    _check(record_id, _ID, "record id")
    _check(to_party, _PARTY, "party id")
    if to_authority is not None:
        _check(to_authority, _AUTHORITY, "authority id")
    with connect(node, api_key) as client:
        result = client.transfer_title(record_id, to_party, to_authority=to_authority,
                                       endorse=endorse)
    _print(result, as_json)


@title_app.command("blank-endorse")
@handle_errors
def blank_endorse(record_id: IdArgument, node: NodeOption = None, api_key: KeyOption = None,
                  as_json: JsonOption = False) -> None:
    """The holder blank-endorses an order bill."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        result = client.blank_endorse_title(_check(record_id, _ID, "record id"))
    _print(result, as_json)


@title_app.command("surrender")
@handle_errors
def surrender(record_id: IdArgument, node: NodeOption = None, api_key: KeyOption = None,
              as_json: JsonOption = False) -> None:
    """The holder surrenders the record to the carrier for delivery."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        result = client.surrender_title(_check(record_id, _ID, "record id"))
    _print(result, as_json)


@title_app.command("accept")
@handle_errors
def accept(record_id: IdArgument, node: NodeOption = None, api_key: KeyOption = None,
           as_json: JsonOption = False) -> None:
    """The carrier's officer accepts a surrender: the record is accomplished."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        result = client.answer_surrender(_check(record_id, _ID, "record id"), accept=True)
    _print(result, as_json)


@title_app.command("reject")
@handle_errors
def reject(record_id: IdArgument,
           reason: Annotated[str | None, typer.Option(help="Why (for the holder)")] = None,
           node: NodeOption = None, api_key: KeyOption = None,
           as_json: JsonOption = False) -> None:
    """The carrier's officer rejects a surrender: the title returns to the holder."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        result = client.answer_surrender(_check(record_id, _ID, "record id"), accept=False,
                                         reason=reason)
    _print(result, as_json)


@title_app.command("show")
@handle_errors
def show(record_id: IdArgument, node: NodeOption = None, api_key: KeyOption = None,
         as_json: JsonOption = False) -> None:
    """The record as this node holds it: status, holder, custodian, history."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        result = client.title(_check(record_id, _ID, "record id"))
    _print(result, as_json)


@title_app.command("list")
@handle_errors
def list_titles(
    node: NodeOption = None,
    api_key: KeyOption = None,
    status: Annotated[str | None, typer.Option(help="Only this status, e.g. active")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Records visible to the caller, newest first."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        result = client.titles(status=status, limit=limit)
    if as_json:
        print_json(result)
        return
    for item in result:
        typer.echo(f"{item['id']}  {item['transportDocumentReference']}  {item['status']}  "
                   f"{item['holder']} at {item['custodian']}")


@title_app.command("export")
@handle_errors
def export(
    record_id: IdArgument,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write")],
    fmt: Annotated[ExportFormat, typer.Option(
        "--format", help="tradeaccord: the signed bill and its chain (for doc verify); "
        "dcsa-ebl-3: the bill as a DCSA eBL 3.0 TransportDocument")]
    = ExportFormat.TRADEACCORD,
    node: NodeOption = None,
    api_key: KeyOption = None,
) -> None:
    """Write the signed bill and its whole chain (or the DCSA document) to a file."""
    from node.authority import write_atomic
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        content = client.export_title(_check(record_id, _ID, "record id"),
                                      None if fmt is ExportFormat.TRADEACCORD else fmt.value)
    write_atomic(output, content)
    typer.echo(f"exported {record_id} ({fmt.value}) -> {output}", err=True)
