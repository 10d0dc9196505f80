"""``tradeaccord doc …``: sign and verify documents offline; submit, send, follow via a node."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from node.authority import AuthorityDirectory
from node.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    STDOUT,
    AuthorityDirOption,
    JsonOption,
    UsageProblem,
    handle_errors,
    load_settings,
    note,
    print_json,
    read_bytes,
    write_output,
)
from protocol.certificates import load_certificate_pem
from protocol.documents import DocumentSchemas
from protocol.limits import Limits
from protocol.signed_document import sign_document, verify_document
from protocol.strict_json import parse_json
from protocol.timeutil import parse_time, utc_now
from protocol.validation_profile import ValidationProfile

ProfileOption = Annotated[ValidationProfile | None, typer.Option(
    "--profile", help="Validation profile: syntax (codes by pattern), standard (codes by "
    "membership of their lists), strict (and arithmetic); default "
    "TRADEACCORD_VALIDATION_PROFILE or standard")]

class Direction(StrEnum):
    """Which of a node's documents: received from peers, or submitted at this node."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


doc_app = typer.Typer(help="Trade documents: sign, verify, submit, send, status, list, get, "
                      "export, import, revoke, replace.", no_args_is_help=True)


@doc_app.command("sign")
@handle_errors
def sign(
    input_file: Annotated[Path, typer.Argument(metavar="IN.json")],
    authority_dir: AuthorityDirOption,
    output: Annotated[Path, typer.Option("-o", "--output",
                                         help="Where to write the JWS (- for standard output)")],
    profile: ProfileOption = None,
) -> None:
    """Validate IN.json against its type's schema and the validation profile (codes by
    membership, arithmetic when strict) and sign it (JWS General Serialization). A refusal
    names the JSON pointer (exit 1)."""
    from node.services.preparation import prepare, require_issuer_role
    from protocol.content import ContentChecker

    settings = load_settings()
    document = parse_json(read_bytes(input_file), max_bytes=settings.max_document_bytes,
                          max_depth=settings.max_depth)
    authority = AuthorityDirectory.open(authority_dir)
    now = utc_now()
    prepared = prepare(document, authority.authority_id, now)
    schemas = DocumentSchemas.load()
    schemas.validate(prepared)
    ContentChecker.load(schemas).check(prepared, profile or settings.validation_profile)
    require_issuer_role(authority.roles, str(prepared["type"]), authority.authority_id)
    signer = authority.document_signer(settings.passphrase_bytes())
    jws = sign_document(prepared, signer, signed_at=now)
    write_output(output, jws.to_json() + b"\n")
    note(f"signed {prepared['type']} {prepared['id']} -> {output}", output)


@doc_app.command("verify")
@handle_errors
def verify(
    input_file: Annotated[Path, typer.Argument(metavar="IN.json")],
    anchor: Annotated[list[Path] | None, typer.Option(
        help="A trusted root certificate (PEM), repeatable")] = None,
    registry: Annotated[Path | None, typer.Option(
        help="A registry file: anchors and recognition come from it")] = None,
    as_authority: Annotated[str | None, typer.Option(
        "--as", help="With --registry: the receiving authority id")] = None,
    at: Annotated[str | None, typer.Option(help="Verification time (RFC 3339); default now")]
    = None,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    status_from: Annotated[str | None, typer.Option(
        "--status-from", help="A node URL: ask it for the document's signed status "
        "(revoked or replaced at the verification time: INVALID)")] = None,
) -> None:
    """Check integrity, certificate chain, schema, and codes and arithmetic as the
    validation profile asks (and, with --registry, recognition; with --status-from, the
    issuer's revocation or replacement as that node holds it).

    Exit 0 when valid (and recognised, with --registry); 1 when not; 2 on usage errors.
    """
    settings = load_settings()
    if not anchor and registry is None:
        raise UsageProblem("give at least one --anchor ROOT.pem, or --registry REG.json --as ID")
    if registry is not None and as_authority is None:
        raise UsageProblem("--registry needs --as RECEIVER-ID")
    try:
        when = parse_time(at) if at else utc_now()
    except ValueError as exc:
        raise UsageProblem(str(exc)) from exc
    anchors = [load_certificate_pem(read_bytes(path)) for path in anchor or []]
    data = read_bytes(input_file)
    schemas = DocumentSchemas.load()
    chosen = profile or settings.validation_profile
    from node.cli.recognition import is_title_record

    if is_title_record(data):  # an exported transferable record (title export)
        _verify_title(data, registry, str(as_authority), when, schemas, settings.limits(),
                      as_json)
    if registry is not None:
        from node.cli.recognition import verify_with_registry

        report = verify_with_registry(data, registry_path=registry, receiver=str(as_authority),
                                      extra_anchors=anchors, at=when, schemas=schemas,
                                      limits=settings.limits(), profile=chosen)
    else:
        result = verify_document(data, anchors=anchors, at=when, schemas=schemas,
                                 limits=settings.limits(), profile=chosen)
        report = result.summary()
    if status_from is not None:
        from node.cli.status_check import with_status_from

        report = with_status_from(report, status_from, registry_path=registry,
                                  anchors=anchors, at=when, now=utc_now(),
                                  limits=settings.limits())
    _print_report(report, as_json)
    raise typer.Exit(EXIT_OK if report["valid"] else EXIT_REFUSED)


def _verify_title(data: bytes, registry: Path | None, viewer: str, when: dt.datetime,
                  schemas: DocumentSchemas, limits: Limits, as_json: bool) -> NoReturn:
    from node.cli.recognition import title_report_lines, verify_title_record

    if registry is None:
        raise UsageProblem("a title record verifies against --registry REG.json --as ID")
    report = verify_title_record(data, registry_path=registry, viewer=viewer, at=when,
                                 schemas=schemas, limits=limits)
    if as_json:
        print_json(report)
    else:
        for line in title_report_lines(report):
            typer.echo(line)
    raise typer.Exit(EXIT_OK if report["valid"] else EXIT_REFUSED)


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    document = report["document"]
    typer.echo(f"document {document.get('id')} ({document.get('type')}) "
               f"from {document.get('issuer')}, profile {report.get('profile')}")
    for name, status in report["checks"].items():
        typer.echo(f"  {name:<12} {status}")
    recognition = report.get("recognition")
    if recognition is not None:
        if recognition.get("recognised"):
            typer.echo(f"  recognised as {recognition['recognisedAs']} under agreement "
                       f"{recognition['agreementId']} (registry version "
                       f"{recognition['registryVersion']})")
        else:
            typer.echo(f"  not recognised: {', '.join(recognition['reasons'])}")
    status = report.get("status")
    if status is not None and status["state"] != "active":
        typer.echo(f"  {status['state']} with effect from {status['effectiveAt']}: "
                   f"{status['reason']}"
                   + (f" (replaced by {status['replacementId']})"
                      if status.get("replacementId") else ""))
    if report["valid"]:
        typer.echo("VALID")
    else:
        typer.echo(f"INVALID: {', '.join(report['reasons'])}")
        for message in report.get("messages", []):
            typer.echo(f"  {message}")


# -- through a node's API ---------------------------------------------------------------

NodeOption = Annotated[str | None, typer.Option(
    "--node", help="Node URL (default: TRADEACCORD_NODE_URL)")]
KeyOption = Annotated[str | None, typer.Option(
    "--api-key", help="API key (default: TRADEACCORD_API_KEY)")]


@doc_app.command("submit")
@handle_errors
def submit(
    input_files: Annotated[list[Path], typer.Argument(metavar="IN.json...")],
    node: NodeOption = None,
    api_key: KeyOption = None,
    send_to: Annotated[list[str] | None, typer.Option(
        "--send-to", help="Also queue it for these authorities")] = None,
    idempotency_key: Annotated[str | None, typer.Option(
        "--idempotency-key", help="Run the command again with the same key after a lost "
        "answer: the node answers as the first time instead of creating a second document "
        "(default: a new key, reused by the command's own retries; one file only)")] = None,
    batch: Annotated[bool, typer.Option(
        "--batch", help="Send the files in one batch request even when there is one")] = False,
    as_json: JsonOption = False,
) -> None:
    """Submit documents to the node (validated and signed there); print each id. Several
    files (or --batch) go in one request, stored in one transaction: a line per file, its id
    or its refusal (CODE: message), or with --json the batch answer; exit 1 if any was
    refused."""
    from node.cli.remote import connect

    documents = [parse_json(read_bytes(path)) for path in input_files]
    if len(documents) == 1 and not batch:
        with connect(node, api_key) as client:
            result = client.submit(documents[0], send_to=send_to,
                                   idempotency_key=idempotency_key)
        if as_json:
            print_json(result)
        else:
            typer.echo(result["id"])
        return
    if idempotency_key is not None:
        raise UsageProblem("--idempotency-key applies to a single file, not a batch")
    with connect(node, api_key) as client:
        answer = client.submit_batch(documents, send_to=send_to)
    if as_json:
        print_json(answer)
    else:
        for path, item in zip(input_files, answer["results"], strict=True):
            if item["status"] == 201:
                typer.echo(item["document"]["id"])
            else:
                typer.echo(f"{path}: {item['error']['code']}: {item['error']['message']}",
                           err=True)
    if answer["refused"]:
        raise typer.Exit(EXIT_REFUSED)


@doc_app.command("send")
@handle_errors
def send(
    document_id: Annotated[str, typer.Argument(metavar="ID")],
    to: Annotated[list[str], typer.Option("--to", help="Receiving authority id (repeatable)")],
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Queue a submitted document for delivery to peer authorities."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        result = client.send(document_id, list(to))
    if as_json:
        print_json(result)
        return
    for delivery in result["deliveries"]:
        typer.echo(f"{delivery['to']}: {delivery['state']}")


@doc_app.command("status")
@handle_errors
def status(
    document_id: Annotated[str, typer.Argument(metavar="ID")],
    node: NodeOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delivery state per receiver, with the receiver's outcome, reason codes and the
    receiving officer's reason."""
    from node.cli.remote import connect
    from node.cli.views import decision_lines, delivery_lines

    with connect(node, api_key) as client:
        result = client.status(document_id)
    if as_json:
        print_json(result)
        return
    typer.echo(f"document {result['id']} ({result['type']}) sha256 {result['sha256']}")
    lifecycle = result.get("lifecycle") or {"state": "active"}
    if lifecycle["state"] != "active":
        typer.echo(f"  {lifecycle['state'].upper()} with effect from {lifecycle['effectiveAt']}"
                   f": {lifecycle['reason']}"
                   + (f"; replaced by {lifecycle['replacementId']}"
                      if lifecycle.get("replacementId") else ""))
    if result["direction"] == "inbound":
        typer.echo(f"  received from {result['receivedFrom']}: {result['outcome']} "
                   f"{' '.join(result['reasons'])}")
        for line in decision_lines(result):
            typer.echo(line)
        return
    for line in delivery_lines(result["deliveries"]):
        typer.echo(line)


DirectionOption = Annotated[Direction | None, typer.Option(
    "--direction", help="inbound (received) or outbound (submitted here)")]


@doc_app.command("list")
@handle_errors
def list_documents(
    node: NodeOption = None,
    api_key: KeyOption = None,
    direction: DirectionOption = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many")] = 100,
    after: Annotated[int | None, typer.Option(
        min=0, help="Paging: the documents after this cursor (the CURSOR column)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Documents visible to the caller, newest first, with a header line (or "no documents
    found")."""
    from node.cli.remote import connect
    from node.cli.views import table

    with connect(node, api_key) as client:
        documents = client.documents(direction=direction.value if direction else None,
                                     limit=limit, after=after)
    if as_json:
        print_json(documents)
        return
    rows = [{**item, "state": _state(item)} for item in documents]
    for line in table([("CURSOR", "cursor"), ("ID", "id"), ("TYPE", "type"),
                       ("DIRECTION", "direction"), ("ISSUER", "issuer"),
                       ("CREATED", "createdAt"), ("STATE", "state")], rows,
                      "no documents found"):
        typer.echo(line)
    if len(documents) == limit:
        typer.echo(f"(more may follow: --after {documents[-1]['cursor']})")


def _state(view: dict[str, Any]) -> str:
    if view.get("direction") == "inbound":
        return str(view.get("outcome"))
    deliveries = view.get("deliveries") or []
    if not deliveries:
        return "not sent"
    return ", ".join(f"{d['to']}: {d.get('outcome') or d['state']}" for d in deliveries)


@doc_app.command("get")
@handle_errors
def get(
    document_id: Annotated[str, typer.Argument(metavar="ID")],
    node: NodeOption = None,
    api_key: KeyOption = None,
    direction: DirectionOption = None,
    signed: Annotated[bool, typer.Option(
        "--signed", help="Print the signed document (JWS JSON) exactly as stored")] = False,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="With --signed: write the JWS here (default, or -: standard "
        "output)")] = None,
    as_json: JsonOption = False,
) -> None:
    """One document, readable: what it is, its checks or deliveries, the officer's reason,
    and its content. --signed gives the JWS instead, --json the node's whole answer."""
    from node.cli.remote import connect
    from node.cli.views import document_lines

    if output is not None and not signed:
        raise UsageProblem("-o goes with --signed")
    chosen = direction.value if direction else None
    with connect(node, api_key) as client:
        if signed:
            jws = client.signed(document_id, direction=chosen)
        else:
            view = client.document(document_id, direction=chosen)
    if signed:
        write_output(output or STDOUT, jws if jws.endswith(b"\n") else jws + b"\n")
        if output is not None and output != STDOUT:
            typer.echo(f"{document_id} -> {output}", err=True)
        return
    if as_json:
        print_json(view)
        return
    for line in document_lines(view):
        typer.echo(line)
