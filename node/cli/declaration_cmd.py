"""``tradeaccord declaration …``: submit once, follow the joint status, decide as an officer.

Exit codes (the contract): 0 success; 1 a refusal, with its reason codes; 2 usage errors,
unreadable input or a node that cannot be reached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from node.cli.common import UsageProblem, handle_errors, print_json, read_bytes
from node.cli.doc_cmd import KeyOption, NodeOption
from protocol.errors import ProtocolError
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json

declaration_app = typer.Typer(
    help="Single declaration, bilateral clearance: submit once, cleared on both sides.",
    no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]


@declaration_app.command("submit")
@handle_errors
def submit(
    package_file: Annotated[Path, typer.Argument(metavar="PACKAGE.json")],
    to: Annotated[str | None, typer.Option(
        "--to", metavar="AUTHORITY-ID", help="The importing customs authority")] = None,
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a declaration package at the exporting customs node; print the declaration id."""
    from node.cli.remote import connect

    try:
        package = parse_json(read_bytes(package_file), max_bytes=16 * 1024 * 1024)
    except ProtocolError as exc:
        raise UsageProblem(f"{package_file} is not a strict JSON package: {exc.code.value}: "
                           f"{exc.message}") from exc
    with connect(node, api_key) as client:
        result = client.submit_declaration(package, to=to)
    if as_json:
        print_json(result)
        return
    typer.echo(result["id"])


@declaration_app.command("status")
@handle_errors
def status(
    declaration_id: Annotated[str, typer.Argument(metavar="ID")],
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """The joint status: both decisions, findings, forwarding, preference, timeline."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        result = client.declaration(declaration_id)
    if as_json:
        print_json(result)
        return
    for line in describe(result):
        typer.echo(line)


@declaration_app.command("list")
@handle_errors
def list_declarations(
    node: NodeOption = None,
    api_key: KeyOption = None,
    state: Annotated[str | None, typer.Option(help="Only this state, e.g. export-held")] = None,
    side: Annotated[str | None, typer.Option(help="Only export or import declarations")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Declarations visible to you, newest first."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        items = client.declarations(state=state, side=side, limit=limit)
    if as_json:
        print_json(items)
        return
    if not items:
        typer.echo("no declarations found")
        return
    typer.echo(f"{'ID':<38} {'SIDE':<6} {'STATE':<18} {'EXPORT':<9} {'IMPORT':<9} "
               f"{'FROM':<12} TO")
    for item in items:
        typer.echo(f"{item['id']:<38} {item['side']:<6} {item['state']:<18} "
                   f"{item['export']['decision']:<9} {item['import']['decision']:<9} "
                   f"{item['exportingAuthority']:<12} {item['importingAuthority']}")


def _review(declaration_id: str, reason: str, node: str | None, api_key: str | None,
            release: bool, as_json: bool) -> None:
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        result = (client.release_declaration if release else client.reject_declaration)(
            declaration_id, reason)
    if as_json:
        print_json(result)
        return
    typer.echo(f"{result['id']}: {result['state']}")


@declaration_app.command("release")
@handle_errors
def release(
    declaration_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="Why (in the signed decision; the trader reads it)")],
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Officer: release a declaration held at this node."""
    _review(declaration_id, reason, node, api_key, True, as_json)


@declaration_app.command("reject")
@handle_errors
def reject(
    declaration_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="Why (in the signed decision; the trader reads it)")],
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Officer: reject a declaration held at this node."""
    _review(declaration_id, reason, node, api_key, False, as_json)


# -- human-readable status ------------------------------------------------------------------------


def _codes(codes: list[str]) -> list[str]:
    lines = []
    for code in codes:
        try:
            lines.append(f"      {code}: {ReasonCode(code).description}")
        except ValueError:
            lines.append(f"      {code}")
    return lines


def findings_lines(findings: list[dict[str, Any]]) -> list[str]:
    """One line per finding, then its subjects: document, field and the value found."""
    lines = []
    for finding in findings:
        lines.append(f"      [{finding['severity']}] {finding['ruleId']} "
                     f"v{finding['ruleVersion']}: {finding['title']}")
        for subject in finding["subjects"]:
            note = f" ({subject['note']})" if subject.get("note") else ""
            lines.append(f"          {subject['documentType']} {subject['documentId']} "
                         f"{subject['pointer'] or '/'} = {subject['value']!r}{note}")
    return lines


def describe(status: dict[str, Any]) -> list[str]:
    """The joint status as lines a trader or an officer reads."""
    export, imported, forwarding = status["export"], status["import"], status["forwarding"]
    lines = [f"declaration {status['id']} ({status['side']} side)  state: {status['state']}",
             f"  UCR {status['ucr'] or '-'}: {status['exportingAuthority']} -> "
             f"{status['importingAuthority']}",
             f"  export  {export['authority']:<12} {export['decision']}"]
    lines += _codes(export["reasons"]) + findings_lines(export["findings"])
    lines.append(f"  forwarding: {forwarding['state']}"
                 + (f" (attempts {forwarding['attempts']}, {forwarding['lastError']})"
                    if forwarding.get("lastError") else ""))
    lines.append(f"  import  {imported['authority']:<12} {imported['decision']}")
    lines += _codes(imported["reasons"]) + findings_lines(imported["findings"])
    preference = imported["preference"]
    if preference["claimed"]:
        eligible = {True: "eligible", False: "not eligible", None: "pending"}[
            preference["eligible"]]
        lines.append(f"  preference claimed: {eligible}")
        lines += _codes(preference["reasons"])
    lines.append("  timeline:")
    for entry in status["timeline"]:
        reason = entry["details"].get("reason")
        lines.append(f"    {entry['at']}  {entry['event']:<28} {entry['by']}"
                     + (f"  \"{reason}\"" if reason else ""))
    return lines
