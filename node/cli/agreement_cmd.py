"""``tradeaccord agreement …``: propose, countersign and inspect agreements; change their status.

An agreement is signed by each party's **root** key (TRADEACCORD_PASSPHRASE decrypts it):
``propose`` writes a proposal with one signature, the partner's ``countersign`` adds the
second, and ``registry add-agreement`` accepts only the countersigned file. ``suspend``,
``resume`` and ``terminate`` sign a status change, apply it to REG.json and can write it
(``-o``) for the partner's ``registry add-status``. Exit codes as in ``registry_cmd``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from node.cli.common import UsageProblem, handle_errors, note
from node.cli.registry_cmd import (
    AuthorityDir,
    RegistryFile,
    load_registry,
    now,
    open_directory,
    read_json,
    root_signer,
    save_registry,
    time_option,
    write_json,
)
from protocol.certificates import authority_id_of
from protocol.errors import ProtocolError
from protocol.jws import GeneralJWS, JWSType, check_integrity
from protocol.strict_json import parse_json
from protocol.timeutil import format_time
from trust_registry import (
    Agreement,
    AgreementError,
    AgreementId,
    AgreementStatus,
    AuthorityId,
    Direction,
    DocType,
    ReliabilityProfile,
    TrustError,
    build_scope,
    countersign_agreement,
    propose_agreement,
    sign_status_change,
)

agreement_app = typer.Typer(help="Bilateral agreements: propose, countersign, show, status.",
                            no_args_is_help=True)

PROPOSAL_MAX_BYTES = 1_048_576  # one agreement or proposal file


@agreement_app.command("propose")
@handle_errors
def propose(
    authority_dir: AuthorityDir,
    partner: Annotated[str, typer.Option(help="The partner authority id")],
    doc_type: Annotated[list[str], typer.Option(help="Document type covered (repeatable)")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="PROPOSAL.json to write (- for standard output)")],
    recognised_as: Annotated[list[str] | None, typer.Option(
        help="The receiver's domestic type: once for all types, or once per --doc-type "
             "(default: each type as itself)")] = None,
    mapping: Annotated[list[str] | None, typer.Option(
        help="Mapping id: once for all types, or once per --doc-type; '-' for a type "
             "recognised without a mapping")] = None,
    valid_from: Annotated[str | None, typer.Option(help="Start (RFC 3339; default now)")] = None,
    valid_until: Annotated[str | None, typer.Option(help="End (RFC 3339; default open)")] = None,
    agreement_id: Annotated[str | None, typer.Option(
        help="Agreement id (default: PROPOSER.PARTNER.<UTC timestamp>)")] = None,
    legal_reference: Annotated[str | None, typer.Option(
        help="The legal instrument this agreement implements")] = None,
    direction: Annotated[Direction, typer.Option(
        help="both; outbound: we issue, the partner receives; inbound: the reverse")] = Direction.BOTH,
    min_reliability: Annotated[Path | None, typer.Option(
        help="Minimum reliability profile JSON required of each issuer")] = None,
) -> None:
    """Write an agreement proposal signed by DIR's root key."""
    directory = open_directory(authority_dir)
    at = now()
    proposer = AuthorityId(directory.authority_id)
    try:
        scope = build_scope(
            proposer=proposer, partner=AuthorityId(partner),
            document_types=[DocType(t) for t in doc_type],
            recognised_as=[DocType(t) for t in recognised_as or ()],
            mapping_ids=[None if m == "-" else m for m in mapping or ()], direction=direction,
            minimum_reliability=(ReliabilityProfile.from_dict(read_json(min_reliability))
                                 if min_reliability is not None else None))
    except ValueError as exc:
        raise UsageProblem(str(exc)) from exc
    agreement = Agreement(
        agreement_id=AgreementId(agreement_id or f"{proposer}.{partner}.{at:%Y%m%dT%H%M%SZ}"),
        parties=(proposer, AuthorityId(partner)),
        legal_reference=legal_reference or f"Mutual recognition arrangement between {proposer} "
                                           f"and {partner}",
        valid_from=time_option(valid_from, "--valid-from") or at,
        valid_until=time_option(valid_until, "--valid-until"),
        scope=scope,
    )
    proposal = propose_agreement(agreement, root_signer(directory), signed_at=at)
    write_json(output, proposal.to_dict())
    note(f"{output}: proposal {agreement.agreement_id} signed by {proposer}; "
         f"send it to {partner} to countersign", output)


@agreement_app.command("countersign")
@handle_errors
def countersign(
    authority_dir: AuthorityDir,
    proposal: Annotated[Path, typer.Argument(metavar="PROPOSAL.json")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="AGREEMENT.json to write (- for standard output)")],
) -> None:
    """Add DIR's root signature to a partner's proposal."""
    directory = open_directory(authority_dir)
    signed = countersign_agreement(read_json(proposal, max_bytes=PROPOSAL_MAX_BYTES),
                                   root_signer(directory), signed_at=now())
    write_json(output, signed.to_dict())
    note(f"{output}: countersigned by {directory.authority_id}", output)


def _signature_rows(jws: GeneralJWS, parties: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for index in range(len(jws.signatures)):
        row: dict[str, Any] = {"index": index}
        try:
            evidence = check_integrity(jws, index, typ=JWSType.AGREEMENT)
        except ProtocolError as error:
            row.update(party=None, signedAt=None, valid=False, reason=error.code.value)
        else:
            party = authority_id_of(evidence.leaf)
            valid = party in parties and not evidence.intermediates
            row.update(party=party, signedAt=format_time(evidence.signed_at), valid=valid,
                       reason=None if valid else "AGREEMENT_INVALID (not a party's root)")
        rows.append(row)
    return rows


@agreement_app.command("show")
@handle_errors
def show(
    agreement_file: Annotated[Path, typer.Argument(metavar="FILE")],
    registry_file: Annotated[Path | None, typer.Option(
        "--registry", help="Also check each root against this registry's anchors")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary")] = False,
) -> None:
    """Summarise a proposal or agreement and check its signatures (exit 1 if one fails)."""
    data = read_json(agreement_file, max_bytes=PROPOSAL_MAX_BYTES)
    try:
        jws = GeneralJWS.parse(data)
        agreement = Agreement.from_dict(parse_json(jws.payload, max_bytes=PROPOSAL_MAX_BYTES))
    except (ProtocolError, TrustError) as error:
        raise AgreementError(error.code, f"{agreement_file}: {error.message}") from error
    rows = _signature_rows(jws, agreement.parties)
    trust_problem: str | None = None
    if registry_file is not None and all(row["valid"] for row in rows):
        try:
            load_registry(registry_file).add_proposal(jws, at=now())
        except TrustError as error:
            trust_problem = error.diagnostics()
    signed = {row["party"] for row in rows if row["valid"]}
    missing = [p for p in agreement.parties if p not in signed]
    summary = {
        **agreement.to_dict(),
        "signatures": rows,
        "missing": missing,
        "state": "agreement (both roots signed)" if not missing else "proposal",
        "trustedByRegistry": None if registry_file is None else trust_problem is None,
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2, sort_keys=True))
    else:
        from rich.console import Console  # rich only for the commands that draw tables
        from rich.table import Table

        console = Console(width=160)
        console.print(f"[bold]{agreement.agreement_id}[/bold]: {summary['state']}")
        console.print(f"  parties: {' – '.join(agreement.parties)}")
        console.print(f"  legal reference: {agreement.legal_reference}")
        until = format_time(agreement.valid_until) if agreement.valid_until else "open-ended"
        console.print(f"  valid: {format_time(agreement.valid_from)} → {until}")
        scope = Table(title="Scope")
        for column in ("#", "document type", "from", "to", "recognised as", "mapping",
                       "minimum reliability"):
            scope.add_column(column)
        for index, item in enumerate(agreement.scope):
            scope.add_row(str(index), item.document_type, item.issuer, item.receiver,
                          item.recognised_as, item.mapping_id or "",
                          ", ".join(f"{k}≥{v}" for k, v in item.minimum_reliability.to_dict().items()))
        console.print(scope)
        signatures = Table(title="Root signatures")
        for column in ("#", "party", "signed at", "valid"):
            signatures.add_column(column)
        for row in rows:
            signatures.add_row(str(row["index"]), row["party"] or "?", row["signedAt"] or "",
                               "yes" if row["valid"] else f"NO: {row['reason']}")
        console.print(signatures)
        if missing:
            console.print(f"  awaiting the root signature of: {', '.join(missing)}")
        if registry_file is not None:
            console.print("  roots trusted by the registry: "
                          + ("yes" if trust_problem is None else "NO"))
    if trust_problem is not None:
        typer.echo(trust_problem, err=True)
    if not all(row["valid"] for row in rows) or trust_problem is not None:
        raise typer.Exit(1)


def _status_command(status: AgreementStatus, authority_dir: Path, registry_file: Path,
                    agreement_id: str, effective: str | None, reason: str,
                    output: Path | None) -> None:
    registry = load_registry(registry_file)
    directory = open_directory(authority_dir)
    at = now()
    record = registry.agreement(agreement_id)
    statement = sign_status_change(record.signed, root_signer(directory), status=status,
                                   effective_at=time_option(effective, "--effective") or at,
                                   signed_at=at, reason=reason)
    updated = registry.change_agreement_status(statement, at=at)
    if output is not None:
        write_json(output, statement.to_dict())
    save_registry(registry_file, updated)
    note(f"{registry_file}: version {updated.version}: {agreement_id} {status.value} "
         f"from {format_time(updated.agreement(agreement_id).status_changes[-1].effective_at)}"
         + (f"; statement written to {output}" if output else ""), output)


AgreementIdOption = Annotated[str, typer.Option("--agreement-id", help="The agreement")]
EffectiveOption = Annotated[str | None, typer.Option(
    help="Effective time (RFC 3339, default now; not earlier than now)")]
ReasonOption = Annotated[str, typer.Option(help="Why (recorded in the signed statement)")]
StatementOption = Annotated[Path | None, typer.Option(
    "-o", "--output", help="Also write the signed statement here, for the partner (- for standard output)")]


@agreement_app.command("suspend")
@handle_errors
def suspend(authority_dir: AuthorityDir, registry_file: RegistryFile,
            agreement_id: AgreementIdOption, effective: EffectiveOption = None,
            reason: ReasonOption = "", output: StatementOption = None) -> None:
    """Suspend an agreement from an effective time (documents signed or received after it
    are not recognised)."""
    _status_command(AgreementStatus.SUSPENDED, authority_dir, registry_file, agreement_id,
                    effective, reason, output)


@agreement_app.command("resume")
@handle_errors
def resume(authority_dir: AuthorityDir, registry_file: RegistryFile,
           agreement_id: AgreementIdOption, effective: EffectiveOption = None,
           reason: ReasonOption = "", output: StatementOption = None) -> None:
    """Resume an agreement that this authority suspended."""
    _status_command(AgreementStatus.IN_FORCE, authority_dir, registry_file, agreement_id,
                    effective, reason, output)


@agreement_app.command("terminate")
@handle_errors
def terminate(authority_dir: AuthorityDir, registry_file: RegistryFile,
              agreement_id: AgreementIdOption, effective: EffectiveOption = None,
              reason: ReasonOption = "", output: StatementOption = None) -> None:
    """Terminate an agreement for good from an effective time."""
    _status_command(AgreementStatus.TERMINATED, authority_dir, registry_file, agreement_id,
                    effective, reason, output)
