"""``tradeaccord authority …``: create an authority directory (keys and certificates)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node.cli.common import fail, handle_errors, load_settings
from protocol.certificates import KeyAlgorithm, fingerprint
from protocol.timeutil import utc_now

authority_app = typer.Typer(help="Authority keys and certificates.", no_args_is_help=True)


@authority_app.command("init")
@handle_errors
def init(
    authority_id: Annotated[str, typer.Option("--id", help="Authority id, e.g. SG-CUSTOMS")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code")],
    name: Annotated[str, typer.Option(help="The authority's legal name")],
    directory: Annotated[Path, typer.Option("--dir", help="Directory to create")],
    role: Annotated[list[str] | None, typer.Option(help="Role (repeatable): customs, "
                                                   "plant-protection, origin, registry")] = None,
    algorithm: Annotated[KeyAlgorithm, typer.Option(help="Key type")] = KeyAlgorithm.ED25519,
    insecure_plaintext_keys: Annotated[bool, typer.Option(
        help="Write keys unencrypted (tests and demos only)")] = False,
) -> None:
    """Generate the root (trust anchor), document-signer and node keys and certificates."""
    from node.authority import AuthorityDirectory

    passphrase = load_settings().passphrase_bytes()
    if passphrase is None and not insecure_plaintext_keys:
        fail("set TRADEACCORD_PASSPHRASE to encrypt the keys "
             "(or pass --insecure-plaintext-keys for a throw-away test authority)")
    authority = AuthorityDirectory.create(
        directory, authority_id=authority_id, country=country, name=name,
        roles=tuple(role or ["customs"]),
        passphrase=None if insecure_plaintext_keys else passphrase,
        at=utc_now(), algorithm=algorithm,
    )
    typer.echo(f"authority {authority.authority_id} created in {directory}")
    typer.echo(f"  trust anchor: {directory / 'root.pem'}")
    typer.echo(f"  SHA-256 fingerprint: {fingerprint(authority.root_certificate)}")
    typer.echo("  give root.pem and its fingerprint to partner authorities out of band")


@authority_app.command("renew")
@handle_errors
def renew(
    directory: Annotated[Path, typer.Option("--dir", help="The authority directory")],
    certificate: Annotated[str, typer.Option(
        help="Which certificate: signer (document signer) or node")],
    days: Annotated[int, typer.Option(help="Validity in days")] = 365,
) -> None:
    """Rotate the document-signer or node key: a new key and certificate under the root.

    Documents signed with the old signer stay valid (its certificate is checked at their
    signing time). A new node certificate must reach partners' registries
    (`registry update-authority --node-cert`) before the node uses it; restart the node.
    """
    from node.authority import AuthorityDirectory

    if certificate not in ("signer", "node"):
        fail("--certificate is signer or node")
    authority = AuthorityDirectory.open(directory)
    passphrase = load_settings().passphrase_bytes()
    cert = authority.renew(certificate, passphrase=passphrase, at=utc_now(), days=days)
    if certificate == "node" and authority.registry_path.exists():
        # The node's own registry names its node certificate too (it is what the node
        # publishes to partners in snapshots).
        from node.pilot import write_registry
        from protocol.strict_json import parse_json
        from trust_registry import TrustRegistry

        registry = TrustRegistry.from_dict(parse_json(authority.registry_path.read_bytes(),
                                                      max_bytes=256 * 1024 * 1024))
        write_registry(authority.registry_path, registry.update_authority(
            authority.authority_id, node_certificates=[cert]))
        typer.echo(f"  {authority.registry_path} updated; restart the node")
    typer.echo(f"new {certificate} certificate for {authority.authority_id}, serial "
               f"{cert.serial_number:x}, valid until {cert.not_valid_after_utc.isoformat()}")
