"""X.509 certificate profiles and chain validation at an explicit time.

Profiles (all issued by this module; Ed25519 by default, P-256 supported):

- **root**: the authority's trust anchor. Self-signed CA, ``pathLenConstraint`` 1 (room for a
  rotation cross-certificate), key usage keyCertSign + cRLSign + digitalSignature (the root
  also signs agreements and registry snapshots).
- **rotation cross-certificate**: the old root certifies the new root's key (CA, pathlen 0),
  so chains under the new root validate against the old anchor during rotation.
- **document-signer**: end entity, key usage digitalSignature + contentCommitment, extended
  key usage ``id-kp-tradeaccordDocumentSigning`` (``DOCUMENT_SIGNING_OID``). Short-lived.
- **node**: end entity, key usage digitalSignature, extended key usage serverAuth + clientAuth
  + ``id-kp-tradeaccordEnvelopeSigning`` (``ENVELOPE_SIGNING_OID``); subjectAltName for TLS.

Every certificate names its authority in the subject's ``organizationIdentifier``
(2.5.4.97, as eIDAS does) so a signature can be bound to an authority id.

Our OIDs live under the project's UUID written in Microsoft's arc for GUID-derived OIDs
(``1.2.840.113556.1.8000.2554`` followed by the UUID in seven parts of at most 24 bits),
which needs no registration and which every X.509 toolkit parses. Certificates issued
before carry the same UUID under ITU-T X.667's ``2.25.<uuid>`` arc, whose 128-bit component
Go's ``crypto/x509`` and others refuse; those ``LEGACY_*`` OIDs are still read (see
docs/decisions/0013-eku-oid-arc.md).

Chain validation is a documented subset of RFC 5280 §6 written here because the verifier in
``cryptography`` implements the CA/B Forum Web PKI profile, which forbids Ed25519 (see
docs/decisions/0003-chain-validation.md). ``openssl verify`` cross-checks it in the tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from protocol.errors import CertificateError, KeyLoadError
from protocol.reason_codes import ReasonCode
from protocol.timeutil import require_aware

# The project's UUID 3f719588-56d3-461f-a99b-58ed370659fe, split as Microsoft's oidgen does:
# four hex digits five times, then six twice (every component below 2^24).
TRADEACCORD_ARC = "1.2.840.113556.1.8000.2554.16241.38280.22227.17951.43419.5827895.416254"
DOCUMENT_SIGNING_OID = ObjectIdentifier(f"{TRADEACCORD_ARC}.1.1")
ENVELOPE_SIGNING_OID = ObjectIdentifier(f"{TRADEACCORD_ARC}.1.2")
# The same UUID as one X.667 component: what certificates issued before 0013 carry.
LEGACY_ARC = "2.25.84331126160396306896105561361291303422"
LEGACY_DOCUMENT_SIGNING_OID = ObjectIdentifier(f"{LEGACY_ARC}.1.1")
LEGACY_ENVELOPE_SIGNING_OID = ObjectIdentifier(f"{LEGACY_ARC}.1.2")
_USAGE_OIDS = {
    "document-signing": (DOCUMENT_SIGNING_OID, LEGACY_DOCUMENT_SIGNING_OID),
    "envelope-signing": (ENVELOPE_SIGNING_OID, LEGACY_ENVELOPE_SIGNING_OID),
}

_E = TypeVar("_E", bound=x509.ExtensionType)

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

_KNOWN_CRITICAL = {
    x509.BasicConstraints.oid,
    x509.KeyUsage.oid,
    x509.ExtendedKeyUsage.oid,
    x509.SubjectAlternativeName.oid,
}


class KeyAlgorithm(StrEnum):
    """Key types we issue and accept."""

    ED25519 = "Ed25519"
    P256 = "P-256"


class CertUsage(StrEnum):
    """What a leaf certificate is being validated for."""

    DOCUMENT_SIGNING = "document-signing"
    ENVELOPE_SIGNING = "envelope-signing"
    ROOT_SIGNING = "root-signing"  # the anchor itself signs (agreements, snapshots)


def generate_private_key(algorithm: KeyAlgorithm = KeyAlgorithm.ED25519) -> PrivateKey:
    """Generate a fresh private key of the given type."""
    if algorithm is KeyAlgorithm.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def key_algorithm(key: PrivateKey | PublicKey | object) -> KeyAlgorithm:
    """The ``KeyAlgorithm`` of a key; ``CertificateError`` for any other key type."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return KeyAlgorithm.ED25519
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1
    ):
        return KeyAlgorithm.P256
    raise CertificateError(
        ReasonCode.ALG_NOT_ALLOWED, f"key type {type(key).__name__} is not Ed25519 or P-256"
    )


def _hash_for(key: PrivateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _name(authority_id: str, country: str, organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, authority_id),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def authority_id_of(cert: x509.Certificate) -> str | None:
    """The authority id in the subject's organizationIdentifier, if any."""
    values = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)
    return str(values[0].value) if values else None


def fingerprint(cert: x509.Certificate) -> str:
    """Lower-case hex SHA-256 of the certificate's DER encoding."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _key_usage(*, sign: bool, commit: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=commit,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _serial() -> int:
    return x509.random_serial_number()


def issue_root(
    *,
    key: PrivateKey,
    authority_id: str,
    country: str,
    organisation: str,
    not_before: dt.datetime,
    days: int = 3650,
) -> x509.Certificate:
    """Issue a self-signed authority root (trust anchor)."""
    require_aware(not_before, "not_before")
    name = _name(authority_id, country, organisation, f"{authority_id} Root CA")
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(sign=True, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, _hash_for(key))
    )


def _issue(
    *,
    issuer_key: PrivateKey,
    issuer_cert: x509.Certificate,
    subject: x509.Name,
    public_key: PublicKey,
    not_before: dt.datetime,
    days: int,
    extensions: Sequence[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    require_aware(not_before, "not_before")
    not_after = min(
        not_before + dt.timedelta(days=days), issuer_cert.not_valid_after_utc
    )  # a child never outlives its issuer
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, _hash_for(issuer_key))


def _issue_end_entity(
    *,
    root_key: PrivateKey,
    root_cert: x509.Certificate,
    label: str,
    public_key: PublicKey,
    not_before: dt.datetime,
    days: int,
    extensions: Sequence[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    """An end-entity certificate of the root's authority, named ``<authority id> <label>``."""
    authority_id = authority_id_of(root_cert) or ""
    subject = _name(authority_id, _attr(root_cert, NameOID.COUNTRY_NAME),
                    _attr(root_cert, NameOID.ORGANIZATION_NAME), f"{authority_id} {label}")
    return _issue(issuer_key=root_key, issuer_cert=root_cert, subject=subject,
                  public_key=public_key, not_before=not_before, days=days,
                  extensions=extensions)


def issue_document_signer(
    *,
    root_key: PrivateKey,
    root_cert: x509.Certificate,
    public_key: PublicKey,
    not_before: dt.datetime,
    days: int = 365,
    label: str = "Document Signer",
) -> x509.Certificate:
    """Issue a document-signer certificate under ``root_cert``."""
    return _issue_end_entity(
        root_key=root_key, root_cert=root_cert, label=label, public_key=public_key,
        not_before=not_before, days=days,
        extensions=[
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_key_usage(sign=True, commit=True), True),
            (x509.ExtendedKeyUsage([DOCUMENT_SIGNING_OID]), False),
        ],
    )


def issue_node_certificate(
    *,
    root_key: PrivateKey,
    root_cert: x509.Certificate,
    public_key: PublicKey,
    not_before: dt.datetime,
    days: int = 365,
    dns_names: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = ("127.0.0.1",),
) -> x509.Certificate:
    """Issue a node certificate (TLS server and client, envelope and receipt signing)."""
    san: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    san += [x509.IPAddress(IPv4Address(address)) for address in ip_addresses]
    return _issue_end_entity(
        root_key=root_key, root_cert=root_cert, label="Node", public_key=public_key,
        not_before=not_before, days=days,
        extensions=[
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_key_usage(sign=True), True),
            (
                x509.ExtendedKeyUsage(
                    [
                        ExtendedKeyUsageOID.SERVER_AUTH,
                        ExtendedKeyUsageOID.CLIENT_AUTH,
                        ENVELOPE_SIGNING_OID,
                    ]
                ),
                False,
            ),
            (x509.SubjectAlternativeName(san), False),
        ],
    )


def issue_rotation_certificate(
    *,
    old_root_key: PrivateKey,
    old_root_cert: x509.Certificate,
    new_root_cert: x509.Certificate,
    not_before: dt.datetime,
    days: int = 3650,
) -> x509.Certificate:
    """The old root endorses the new root: a CA certificate for the new root's key and name."""
    return _issue(
        issuer_key=old_root_key,
        issuer_cert=old_root_cert,
        subject=new_root_cert.subject,
        public_key=new_root_cert.public_key(),  # type: ignore[arg-type]
        not_before=not_before,
        days=days,
        extensions=[
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (_key_usage(sign=True, ca=True), True),
        ],
    )


def _attr(cert: x509.Certificate, oid: ObjectIdentifier) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


# -- encoding -----------------------------------------------------------------------------


def certificate_to_pem(cert: x509.Certificate) -> bytes:
    """PEM encoding of one certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def certificate_to_der(cert: x509.Certificate) -> bytes:
    """DER encoding of one certificate."""
    return cert.public_bytes(serialization.Encoding.DER)


def _decoded(cert: x509.Certificate, form: str) -> x509.Certificate:
    """Decode now what ``cryptography`` decodes lazily (public key, extensions), so that a
    defect is refused here as CERT_MALFORMED rather than escaping later as a foreign error."""
    try:
        cert.public_key()
        cert.extensions  # noqa: B018 - parsed on first access
    except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension) as exc:
        raise CertificateError(ReasonCode.CERT_MALFORMED, f"not a {form} certificate: {exc}") from exc
    return cert


def load_certificate_pem(data: bytes) -> x509.Certificate:
    """Decode one PEM certificate; ``CertificateError(CERT_MALFORMED)`` on bad input."""
    try:
        return _decoded(x509.load_pem_x509_certificate(data), "PEM")
    except (ValueError, x509.InvalidVersion) as exc:
        raise CertificateError(ReasonCode.CERT_MALFORMED, f"not a PEM certificate: {exc}") from exc


def load_certificate_der(data: bytes) -> x509.Certificate:
    """Decode one DER certificate; ``CertificateError(CERT_MALFORMED)`` on bad input."""
    try:
        return _decoded(x509.load_der_x509_certificate(data), "DER")
    except (ValueError, x509.InvalidVersion) as exc:
        raise CertificateError(ReasonCode.CERT_MALFORMED, f"not a DER certificate: {exc}") from exc


def private_key_to_pem(key: PrivateKey, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM; encrypted with ``passphrase`` (None = plaintext, tests and demos only)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption)


def load_private_key_pem(data: bytes, passphrase: bytes | None) -> PrivateKey:
    """Load a PKCS#8 PEM key; ``KeyLoadError(KEY_UNAVAILABLE)`` on any failure.

    The message never contains key material or the passphrase.
    """
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyLoadError(
            ReasonCode.KEY_UNAVAILABLE,
            "the private key cannot be loaded (wrong or missing passphrase, or not a key)",
        ) from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey) and not (
        isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    ):
        raise KeyLoadError(ReasonCode.KEY_UNAVAILABLE, "the key is not Ed25519 or P-256")
    return key


def write_private_key(path: Path, key: PrivateKey, passphrase: bytes | None) -> None:
    """Write a key file readable by its owner only."""
    path.write_bytes(private_key_to_pem(key, passphrase))
    path.chmod(0o600)


# -- chain validation ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValidatedChain:
    """Evidence of a successful validation: leaf first, the trust anchor last."""

    certificates: tuple[x509.Certificate, ...]
    at: dt.datetime
    usage: CertUsage

    @property
    def leaf(self) -> x509.Certificate:
        return self.certificates[0]

    @property
    def anchor(self) -> x509.Certificate:
        return self.certificates[-1]


def _check_validity(cert: x509.Certificate, at: dt.datetime, role: str) -> None:
    if at < cert.not_valid_before_utc:
        raise CertificateError(
            ReasonCode.CERT_NOT_YET_VALID,
            f"{role} certificate is valid from {cert.not_valid_before_utc.isoformat()}, "
            f"checked at {at.isoformat()}",
            subject=cert.subject.rfc4514_string(),
        )
    if at > cert.not_valid_after_utc:
        raise CertificateError(
            ReasonCode.CERT_EXPIRED,
            f"{role} certificate expired at {cert.not_valid_after_utc.isoformat()}, "
            f"checked at {at.isoformat()}",
            subject=cert.subject.rfc4514_string(),
        )


def _extension(cert: x509.Certificate, kind: type[_E]) -> _E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _check_critical(cert: x509.Certificate) -> None:
    for extension in cert.extensions:
        if extension.critical and extension.oid not in _KNOWN_CRITICAL:
            raise CertificateError(
                ReasonCode.CHAIN_INVALID,
                f"unknown critical extension {extension.oid.dotted_string}",
                subject=cert.subject.rfc4514_string(),
            )


def _check_ca(cert: x509.Certificate, below: int) -> None:
    """``below``: how many non-self-issued CA certificates sit between this one and the leaf."""
    constraints = _extension(cert, x509.BasicConstraints)
    usage = _extension(cert, x509.KeyUsage)
    subject = cert.subject.rfc4514_string()
    if constraints is None or not constraints.ca:
        raise CertificateError(ReasonCode.CHAIN_INVALID, "issuer is not a CA", subject=subject)
    if usage is None or not usage.key_cert_sign:
        raise CertificateError(
            ReasonCode.CERT_USAGE_INVALID, "issuer lacks keyCertSign", subject=subject
        )
    if constraints.path_length is not None and below > constraints.path_length:
        raise CertificateError(
            ReasonCode.CHAIN_INVALID,
            f"path length {below} exceeds the issuer's constraint {constraints.path_length}",
            subject=subject,
        )


def _check_leaf_usage(cert: x509.Certificate, usage: CertUsage) -> None:
    subject = cert.subject.rfc4514_string()
    key_usage = _extension(cert, x509.KeyUsage)
    if key_usage is None or not key_usage.digital_signature:
        raise CertificateError(
            ReasonCode.CERT_USAGE_INVALID, "leaf lacks digitalSignature", subject=subject
        )
    if usage is CertUsage.ROOT_SIGNING:
        return
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise CertificateError(
            ReasonCode.CERT_USAGE_INVALID, "a CA certificate cannot sign as an end entity",
            subject=subject,
        )
    wanted = _USAGE_OIDS[usage.value]  # the current OID, or the legacy one (issued earlier)
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if eku is None or not any(oid in eku for oid in wanted):
        raise CertificateError(
            ReasonCode.CERT_USAGE_INVALID,
            f"leaf lacks the extended key usage {usage.value} ({wanted[0].dotted_string})",
            subject=subject,
        )


def _names_as_issuer(child: x509.Certificate, candidate: x509.Certificate) -> bool:
    """True when ``child`` names ``candidate`` as its issuer: by subject and, when ``child``
    has an authority key identifier, by key. Says nothing about the signature."""
    if child.issuer != candidate.subject:
        return False
    aki = _extension(child, x509.AuthorityKeyIdentifier)
    if aki is None or aki.key_identifier is None:
        return True
    ski = _extension(candidate, x509.SubjectKeyIdentifier)
    if ski is None:
        ski = x509.SubjectKeyIdentifier.from_public_key(candidate.public_key())
    return aki.key_identifier == ski.digest


def issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s name and key issued ``child`` (a signature check, no time
    check)."""
    if child.issuer != issuer.subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def validate_chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    at: dt.datetime,
    usage: CertUsage,
    max_length: int = 4,
) -> ValidatedChain:
    """Validate ``leaf`` up to one of ``anchors`` at time ``at``; return the chain as evidence.

    Rules, in order (each failure raises ``CertificateError`` with its code):

    1. ``at`` is timezone-aware; the chain (leaf + intermediates) is at most ``max_length``.
    2. ROOT_SIGNING: the leaf must itself be one of the anchors (byte-equal).
    3. Build the path: from the leaf, repeatedly find an anchor, else an unused intermediate,
       whose subject is the current issuer name and whose key verifies the current signature.
       No path → CHAIN_UNTRUSTED; but CHAIN_INVALID when the issuer a certificate names
       (subject and authority key identifier) is given and its key does not verify the
       signature (a tampered certificate).
    4. Every certificate on the path, anchor included, is valid at ``at`` (NOT_YET_VALID /
       EXPIRED) and has no unknown critical extension (CHAIN_INVALID).
    5. Every issuer is a CA with keyCertSign and a path length constraint that holds.
    6. The leaf's key usage and extended key usage fit ``usage`` (CERT_USAGE_INVALID).
    """
    require_aware(at, "at")
    # Step 1
    if len(intermediates) + 1 > max_length:
        raise CertificateError(
            ReasonCode.CHAIN_TOO_LONG, f"{len(intermediates) + 1} certificates exceed {max_length}"
        )
    # Step 2
    if usage is CertUsage.ROOT_SIGNING:
        leaf_der = certificate_to_der(leaf)
        if not any(certificate_to_der(anchor) == leaf_der for anchor in anchors):
            raise CertificateError(
                ReasonCode.CHAIN_UNTRUSTED, "the signing root is not a given trust anchor",
                subject=leaf.subject.rfc4514_string(),
            )
        _check_validity(leaf, at, "root")
        _check_critical(leaf)
        _check_ca(leaf, 0)
        _check_leaf_usage(leaf, usage)
        return ValidatedChain((leaf,), at, usage)
    # Step 3
    path = [leaf]
    unused = list(intermediates)
    anchor: x509.Certificate | None = None
    while anchor is None:
        current = path[-1]
        anchor = next((a for a in anchors if issued_by(current, a)), None)
        if anchor is not None:
            break
        found = next((c for c in unused if issued_by(current, c)), None)
        if found is None and any(_names_as_issuer(current, c) for c in (*anchors, *unused)):
            raise CertificateError(
                ReasonCode.CHAIN_INVALID,
                "the signature does not verify with the key of the issuer the certificate names",
                subject=current.subject.rfc4514_string(),
            )
        if found is None or len(path) >= max_length:
            raise CertificateError(
                ReasonCode.CHAIN_UNTRUSTED,
                "no path from the signer certificate to a trust anchor",
                issuer=current.issuer.rfc4514_string(),
            )
        unused.remove(found)
        path.append(found)
    # Step 4
    for index, cert in enumerate(path):
        _check_validity(cert, at, "signer" if index == 0 else "intermediate")
        _check_critical(cert)
    _check_validity(anchor, at, "anchor")
    _check_critical(anchor)
    # Step 5
    issuers = [*path[1:], anchor]
    for depth, issuer in enumerate(issuers):
        _check_ca(issuer, depth)
    # Step 6
    _check_leaf_usage(leaf, usage)
    return ValidatedChain((*path, anchor), at, usage)
