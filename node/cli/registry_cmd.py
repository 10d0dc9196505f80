"""``tradeaccord registry …``: the trust registry working file (REG.json) and its snapshots.

Every command that changes REG.json reads it, verifies it completely
(``TrustRegistry.from_dict``), applies one edit through the library, and writes the new
version atomically (temporary file + ``os.replace``): a refused command leaves REG.json as
it was. Exit codes: 0 done; 1 refused (the reason code is printed on stderr); 2 usage
errors and unreadable input (a missing file, bytes that are not JSON or not a PEM
certificate).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography import x509
from cryptography.x509.oid import NameOID

from node.authority import AuthorityDirectory
from node.cli.common import (
    STDOUT,
    AuthorityDirOption,
    UsageProblem,
    handle_errors,
    load_settings,
    note,
    read_bytes,
    write_output,
)
from protocol.certificates import fingerprint, load_certificate_pem
from protocol.errors import CertificateError, JSONInputError
from protocol.jws import Signer
from protocol.strict_json import parse_json
from protocol.timeutil import format_time, parse_time, utc_now
from trust_registry import (
    DEFAULT_REGISTRY_LIMITS,
    Authority,
    AuthorityId,
    ReliabilityProfile,
    Revocation,
    RevocationMatch,
    RevocationReason,
    TrustAnchor,
    TrustRegistry,
)

registry_app = typer.Typer(help="The trust registry: authorities, agreements, snapshots.",
                           no_args_is_help=True)

RegistryFile = Annotated[Path, typer.Argument(metavar="REG.json", help="The registry working file")]
AuthorityDir = AuthorityDirOption


# -- shared plumbing (also used by agreement_cmd) -------------------------------------------


def now() -> dt.datetime:
    """The clock, read once per command (second precision)."""
    return utc_now().replace(microsecond=0)


def time_option(text: str | None, what: str) -> dt.datetime | None:
    """Parse an RFC 3339 option value; exit 2 when malformed."""
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError as exc:
        raise UsageProblem(f"{what}: {exc} (use RFC 3339, e.g. 2026-01-01T00:00:00Z)") from exc


def read_json(path: Path, *, max_bytes: int = DEFAULT_REGISTRY_LIMITS.max_registry_bytes) -> Any:
    """Read a strict I-JSON file; exit 2 when it cannot be read or parsed."""
    data = read_bytes(path)
    try:
        return parse_json(data, max_bytes=max_bytes, max_depth=64)
    except JSONInputError as exc:
        raise UsageProblem(f"{path} is not readable JSON: {exc.code.value}: {exc.message}") from exc


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically (readers see the old or the new file, never a mix); ``-`` is
    standard output."""
    write_output(path, (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
                        + "\n").encode("utf-8"))


def read_certificate(path: Path) -> x509.Certificate:
    """Read one PEM certificate; exit 2 when it cannot be read or decoded."""
    data = read_bytes(path)
    try:
        return load_certificate_pem(data)
    except CertificateError as exc:
        raise UsageProblem(f"{path} is not a PEM certificate") from exc


def load_registry(path: Path) -> TrustRegistry:
    """Read and fully verify REG.json."""
    return TrustRegistry.from_dict(read_json(path))


def save_registry(path: Path, registry: TrustRegistry) -> None:
    write_json(path, registry.to_dict())


def root_signer(directory: AuthorityDirectory) -> Signer:
    """The authority's root key (passphrase from TRADEACCORD_PASSPHRASE)."""
    return directory.root_signer(load_settings().passphrase_bytes())


def open_directory(path: Path) -> AuthorityDirectory:
    return AuthorityDirectory.open(path)


def _report(old: TrustRegistry, new: TrustRegistry, path: Path, what: str) -> None:
    if new is old:
        typer.echo(f"{path}: unchanged (version {old.version}); {what} was already recorded")
    else:
        typer.echo(f"{path}: version {new.version}: {what}")


def _warn_node_certificate(registry: TrustRegistry, authority_id: str) -> None:
    """Warn (stderr) when the entry has an endpoint but no node certificate."""
    from node.services.trust import authority_warnings

    for warning in authority_warnings(registry.authorities[AuthorityId(authority_id)]):
        typer.echo(f"warning: {warning}", err=True)


def _read_profile(path: Path | None) -> ReliabilityProfile:
    return ReliabilityProfile({}) if path is None else ReliabilityProfile.from_dict(read_json(path))


# -- commands -------------------------------------------------------------------------------


@registry_app.command("init")
@handle_errors
def init(
    authority_dir: AuthorityDir,
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="REG.json to create (- for standard output)")],
    endpoint: Annotated[list[str] | None, typer.Option(help="This node's URL (repeatable)")] = None,
    profile: Annotated[Path | None, typer.Option(
        help="Reliability profile JSON (default: DIR/reliability.json, else keyProtection "
             "from how DIR stores its keys)")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file")] = False,
) -> None:
    """Create a registry owned by DIR's authority, holding that authority (version 1)."""
    if output != STDOUT and output.exists() and not force:
        raise UsageProblem(f"{output} exists (use --force to overwrite it)")
    directory = open_directory(authority_dir)
    default_profile = authority_dir / "reliability.json"
    if profile is None and default_profile.is_file():
        profile = default_profile
    reliability = _read_profile(profile) if profile is not None else ReliabilityProfile.from_dict(
        {"keyProtection": "software" if directory.plaintext_keys else "software-encrypted"})
    root = directory.root_certificate
    owner = Authority(
        id=AuthorityId(directory.authority_id),
        country=directory.country,
        name=directory.name,
        roles=directory.roles,
        anchors=(TrustAnchor(certificate=root, valid_from=root.not_valid_before_utc),),
        endpoints=tuple(endpoint or ()),
        node_certificates=(directory.node_certificate,),
        reliability=reliability,
    )
    registry = TrustRegistry.create(owner)
    save_registry(output, registry)
    note(f"{output}: registry of {owner.id}, version {registry.version}", output)
    note(f"  anchor SHA-256 {fingerprint(root)}", output)


@registry_app.command("add-authority")
@handle_errors
def add_authority(
    registry_file: RegistryFile,
    authority_id: Annotated[str, typer.Option("--id", help="Authority id, e.g. CN-CUSTOMS")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code")],
    anchor: Annotated[Path, typer.Option(help="The authority's root certificate (PEM)")],
    endpoint: Annotated[list[str] | None, typer.Option(help="Node URL (repeatable)")] = None,
    profile: Annotated[Path | None, typer.Option(help="Reliability profile JSON")] = None,
    node_cert: Annotated[list[Path] | None, typer.Option(help="Node certificate PEM (repeatable)")] = None,
    name: Annotated[str | None, typer.Option(help="Name (default: the root's organisation)")] = None,
    role: Annotated[list[str] | None, typer.Option(help="Role (repeatable), e.g. customs")] = None,
    valid_from: Annotated[str | None, typer.Option(
        help="Registry window start of the anchor (default: the root's notBefore)")] = None,
    expect_fingerprint: Annotated[str | None, typer.Option(
        "--fingerprint", help="Refuse unless the root's SHA-256 fingerprint is this "
                              "(as received out of band)")] = None,
) -> None:
    """Add a partner authority with its root certificate as its initial trust anchor."""
    registry = load_registry(registry_file)
    root = read_certificate(anchor)
    if expect_fingerprint is not None and expect_fingerprint.lower().replace(":", "") != fingerprint(root):
        raise UsageProblem(f"{anchor} has fingerprint {fingerprint(root)}, not {expect_fingerprint}")
    organisation = root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    authority = Authority(
        id=AuthorityId(authority_id),
        country=country,
        name=name or (str(organisation[0].value) if organisation else authority_id),
        roles=tuple(role or ()),
        anchors=(TrustAnchor(certificate=root, valid_from=time_option(valid_from, "--valid-from")
                             or root.not_valid_before_utc),),
        endpoints=tuple(endpoint or ()),
        node_certificates=tuple(read_certificate(path) for path in node_cert or ()),
        reliability=_read_profile(profile),
    )
    updated = registry.add_authority(authority)
    save_registry(registry_file, updated)
    _report(registry, updated, registry_file, f"added {authority.id} "
            f"(anchor SHA-256 {fingerprint(root)})")
    _warn_node_certificate(updated, authority.id)
    if not authority.roles:
        typer.echo(f"warning: {authority.id} holds no role: its certificates of origin, "
                   "phytosanitary certificates, declarations and decisions will not be "
                   "recognised (add --role, or `registry update-authority --role`)", err=True)


@registry_app.command("update-authority")
@handle_errors
def update_authority(
    registry_file: RegistryFile,
    authority_id: Annotated[str, typer.Option("--id", help="Authority id, e.g. CN-CUSTOMS")],
    endpoint: Annotated[list[str] | None, typer.Option(
        help="Node URL (repeatable; replaces the endpoints)")] = None,
    node_cert: Annotated[list[Path] | None, typer.Option(
        help="Node certificate PEM (repeatable; replaces the node certificates)")] = None,
    profile: Annotated[Path | None, typer.Option(help="Reliability profile JSON")] = None,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    role: Annotated[list[str] | None, typer.Option(
        help="Role (repeatable; replaces the roles), e.g. customs, origin, plant-protection")]
    = None,
) -> None:
    """Change an authority's endpoints, node certificates (after a renewal), reliability
    profile, name or roles. Anchors change only by rotation (`registry rotate-anchor`)."""
    if endpoint is None and node_cert is None and profile is None and name is None \
            and role is None:
        raise UsageProblem("give at least one of --endpoint, --node-cert, --profile, --name, "
                           "--role")
    registry = load_registry(registry_file)
    updated = registry.update_authority(
        authority_id, name=name, endpoints=endpoint, roles=role,
        node_certificates=[read_certificate(path) for path in node_cert] if node_cert else None,
        reliability=_read_profile(profile) if profile is not None else None)
    save_registry(registry_file, updated)
    _report(registry, updated, registry_file, f"updated {authority_id}")
    _warn_node_certificate(updated, authority_id)


@registry_app.command("add-agreement")
@handle_errors
def add_agreement(
    registry_file: RegistryFile,
    agreement: Annotated[Path, typer.Argument(metavar="AGREEMENT.json")],
) -> None:
    """Add an agreement signed by both parties' roots (a proposal is refused)."""
    registry = load_registry(registry_file)
    updated = registry.add_agreement(read_json(agreement), at=now())
    save_registry(registry_file, updated)
    added = next(iter(updated.agreements.keys() - registry.agreements.keys()), None)
    _report(registry, updated, registry_file, f"added agreement {added or ''}".rstrip())


@registry_app.command("add-status")
@handle_errors
def add_status(
    registry_file: RegistryFile,
    statement: Annotated[Path, typer.Argument(metavar="STATEMENT.json")],
) -> None:
    """Apply a party's signed status change (from ``agreement suspend|resume|terminate -o``)."""
    registry = load_registry(registry_file)
    updated = registry.change_agreement_status(read_json(statement), at=now())
    save_registry(registry_file, updated)
    _report(registry, updated, registry_file, "status change applied")


@registry_app.command("revoke")
@handle_errors
def revoke(
    registry_file: RegistryFile,
    authority: Annotated[str, typer.Option(help="The authority whose signer is revoked")],
    cert: Annotated[Path, typer.Option(help="The signer certificate (PEM)")],
    effective: Annotated[str, typer.Option(help="Effective time (RFC 3339): signatures made "
                                                "at or after it are refused")],
    reason: Annotated[RevocationReason, typer.Option(help="RFC 5280 reason")] = (
        RevocationReason.UNSPECIFIED),
    match: Annotated[RevocationMatch, typer.Option(help="Name the certificate by")] = (
        RevocationMatch.FINGERPRINT),
) -> None:
    """Revoke a signer certificate of an authority from an effective time on."""
    registry = load_registry(registry_file)
    effective_at = time_option(effective, "--effective")
    if effective_at is None:
        raise UsageProblem("--effective is required")
    certificate = read_certificate(cert)
    updated = registry.revoke(authority, Revocation.of_certificate(
        certificate, effective_at=effective_at, reason=reason, match=match))
    save_registry(registry_file, updated)
    _report(registry, updated, registry_file,
            f"revoked {fingerprint(certificate)} of {authority} from {format_time(effective_at)}")


@registry_app.command("rotate-anchor")
@handle_errors
def rotate_anchor(
    registry_file: RegistryFile,
    authority: Annotated[str, typer.Option(help="The authority whose root rotates")],
    new_anchor: Annotated[Path, typer.Option(help="The new root certificate (PEM)")],
    endorsement: Annotated[Path, typer.Option(
        help="The rotation cross-certificate: the old root's endorsement of the new (PEM)")],
    valid_from: Annotated[str | None, typer.Option(help="New anchor's window start")] = None,
    retire_previous_at: Annotated[str | None, typer.Option(
        help="End of the endorsing anchor's window")] = None,
) -> None:
    """Add a new root for an authority, endorsed by one of its current anchors."""
    registry = load_registry(registry_file)
    at = now()
    updated = registry.rotate_anchor(
        authority, new_root=read_certificate(new_anchor), endorsement=read_certificate(endorsement),
        at=at, valid_from=time_option(valid_from, "--valid-from"),
        retire_previous_at=time_option(retire_previous_at, "--retire-previous-at"))
    save_registry(registry_file, updated)
    _report(registry, updated, registry_file, f"new anchor for {authority}")


@registry_app.command("export")
@handle_errors
def export(
    registry_file: RegistryFile,
    authority_dir: AuthorityDir,
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="SNAPSHOT.json to write (- for standard output)")],
    expires_in: Annotated[float, typer.Option(min=0.001, help="Days until the snapshot expires")] = 7.0,
) -> None:
    """Sign a snapshot of the registry with the owner's root key."""
    registry = load_registry(registry_file)
    at = now()
    expires_at = at + dt.timedelta(days=expires_in)
    snapshot = registry.export_snapshot(root_signer(open_directory(authority_dir)), at=at,
                                        expires_at=expires_at)
    write_json(output, snapshot.to_dict())
    note(f"{output}: snapshot of {registry.owner} version {registry.version}, "
         f"expires {format_time(expires_at)}", output)


@registry_app.command("import")
@handle_errors
def import_(
    registry_file: RegistryFile,
    snapshot: Annotated[Path, typer.Argument(metavar="SNAPSHOT.json")],
) -> None:
    """Replace REG.json by a newer signed snapshot (rollback, freeze and forgery refused)."""
    registry = load_registry(registry_file)
    updated = registry.import_snapshot(read_json(snapshot), at=now())
    if updated is registry:
        typer.echo(f"{registry_file}: already at version {registry.version}")
        return
    save_registry(registry_file, updated)
    typer.echo(f"{registry_file}: imported version {updated.version} (was {registry.version})")


@registry_app.command("show")
@handle_errors
def show(
    registry_file: RegistryFile,
    at: Annotated[str | None, typer.Option(help="Show statuses at this time (default: now)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print REG.json's content instead")] = False,
    warn_days: Annotated[int, typer.Option(
        "--warn-days", min=0, help="Warn about what ends within this many days")] = 30,
) -> None:
    """Print the registry as tables: authorities, anchors, agreements and their status, and
    what expires soon (agreements, trust anchors, node certificates)."""
    registry = load_registry(registry_file)
    if as_json:
        typer.echo(json.dumps(registry.to_dict(), indent=2, sort_keys=True))
        return
    from rich.console import Console  # rich only for the commands that draw tables
    from rich.table import Table

    when = time_option(at, "--at") or now()
    console = Console(width=160)
    console.print(f"[bold]Trust registry of {registry.owner}[/bold], version {registry.version} "
                  f"(status at {format_time(when)})")
    authorities = Table(title="Authorities")
    for column in ("id", "country", "name", "roles", "anchors (SHA-256, window)", "endpoints",
                   "reliability", "revocations"):
        authorities.add_column(column)
    for authority_id in sorted(registry.authorities):
        authority = registry.authorities[authority_id]
        anchors = "\n".join(
            f"{a.fingerprint[:16]}… {format_time(a.valid_from)} → "
            f"{format_time(a.valid_until) if a.valid_until else '∞'}"
            + (" (valid)" if a.is_valid_at(when) else " (outside window)")
            for a in authority.anchors)
        authorities.add_row(
            authority_id + (" (owner)" if authority_id == registry.owner else ""),
            authority.country, authority.name, ", ".join(authority.roles), anchors,
            "\n".join(authority.endpoints),
            "\n".join(f"{k}: {v}" for k, v in authority.reliability.to_dict().items()),
            str(len(authority.revocations)))
    console.print(authorities)
    agreements = Table(title="Agreements")
    for column in ("id", "parties", "window", "signed by", "status", "scope"):
        agreements.add_column(column)
    for agreement_id in sorted(registry.agreements):
        record = registry.agreements[agreement_id]
        agreement = record.agreement
        agreements.add_row(
            agreement_id,
            " – ".join(agreement.parties),
            f"{format_time(agreement.valid_from)} → "
            f"{format_time(agreement.valid_until) if agreement.valid_until else '∞'}",
            "\n".join(f"{s.party} {format_time(s.signed_at)}" for s in record.signed.signatures),
            record.status_at(when).value,
            "\n".join(f"{i}. {item.document_type} {item.issuer}→{item.receiver} as "
                      f"{item.recognised_as}" + (f" via {item.mapping_id}" if item.mapping_id else "")
                      for i, item in enumerate(agreement.scope)),
        )
    console.print(agreements)
    from trust_registry.expiry import expiring

    warnings = expiring(registry, at=when, within=dt.timedelta(days=warn_days))
    if warnings:
        soon = Table(title=f"Expiring within {warn_days} days (or expired)")
        for column in ("kind", "what", "authority", "ends", "days left"):
            soon.add_column(column)
        for warning in warnings:
            soon.add_row(warning.kind.value, warning.subject, warning.authority,
                         format_time(warning.expires_at), f"{warning.days_left:.1f}")
        console.print(soon)
    else:
        console.print(f"Nothing expires within {warn_days} days.")
