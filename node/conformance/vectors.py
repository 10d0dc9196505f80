"""The conformance vector pack: fixed signed objects and the code each must give.

For each signed object type (``document``, ``envelope``, ``receipt``, ``agreement``,
``snapshot``, ``status`` — an issuer's revocation or replacement statement) and algorithm
(``EdDSA``, ``ES256``) the pack holds one valid object and one object per applicable
reason code. ``vectors/manifest.json`` lists them::

    {"format": "tradeaccord-vectors/1", "generatedAt": …,
     "authorities": {"EdDSA": {"issuer": {"id", "country", "root", "node"},
                               "receiver": {…}}, "ES256": {…}},
     "vectors": [{"id", "object", "alg", "file", "expected", "cause", "profile",
                  "verifyAt", "description"}]}

``expected`` is ``"VALID"`` or the reason code a verifier answers first; ``cause``
(or ``null``) a further code it must name — a registry refuses an agreement with
``AGREEMENT_INVALID`` and names the underlying ``SIGNATURE_INVALID`` beside it. ``file``
and the certificates are paths relative to the manifest. Verifying a vector
(``observe``) uses only the shipped root certificates and ``verifyAt``: the issuer's
root for documents, envelopes, snapshots and status statements, the receiver's for receipts, both for
agreements. ``python -m
node.conformance.generate_vectors`` writes a new pack (new keys); a test checks that each
vector still gives its code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography import x509

from protocol.certificates import CertUsage, load_certificate_pem
from protocol.content import ContentChecker
from protocol.documents import DocumentSchemas
from protocol.envelope import Envelope
from protocol.errors import CodedError
from protocol.jws import GeneralJWS, JWSType, verify
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.receipt import Receipt
from protocol.signed_document import verify_document
from protocol.status_statement import verify_statement
from protocol.timeutil import parse_time
from protocol.validation_profile import ValidationProfile
from trust_registry import Authority, AuthorityId, TrustAnchor, TrustRegistry

__all__ = ["PACK_FORMAT", "ObjectKind", "Vector", "VectorPack", "default_directory"]

PACK_FORMAT = "tradeaccord-vectors/1"
VALID = "VALID"
_ONE_SIGNATURE = Limits(max_signatures=1)


class ObjectKind(StrEnum):
    DOCUMENT = "document"
    ENVELOPE = "envelope"
    RECEIPT = "receipt"
    AGREEMENT = "agreement"
    SNAPSHOT = "snapshot"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class Vector:
    """One entry of the manifest."""

    id: str
    object: ObjectKind
    alg: str
    file: str
    expected: str
    profile: ValidationProfile
    verify_at: dt.datetime
    description: str
    cause: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "object": self.object.value, "alg": self.alg, "file": self.file,
                "expected": self.expected, "cause": self.cause, "profile": self.profile.value,
                "verifyAt": self.verify_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "description": self.description}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vector:
        return cls(id=str(data["id"]), object=ObjectKind(data["object"]), alg=str(data["alg"]),
                   file=str(data["file"]), expected=str(data["expected"]),
                   profile=ValidationProfile(data["profile"]),
                   verify_at=parse_time(str(data["verifyAt"])),
                   description=str(data["description"]),
                   cause=None if data.get("cause") is None else str(data["cause"]))


@dataclass(frozen=True, slots=True)
class PackAuthority:
    """A vector authority: id, country, root (trust anchor) and node certificate."""

    authority_id: str
    country: str
    root: x509.Certificate
    node: x509.Certificate

    def registry_entry(self) -> Authority:
        return Authority(id=AuthorityId(self.authority_id), country=self.country,
                         name=f"{self.authority_id} (conformance vectors)",
                         anchors=(TrustAnchor(certificate=self.root,
                                              valid_from=self.root.not_valid_before_utc),),
                         node_certificates=(self.node,))


def default_directory() -> Path:
    """The pack shipped in this package."""
    return Path(str(resources.files("node.conformance").joinpath("vectors")))


@dataclass(frozen=True, slots=True)
class VectorPack:
    """A loaded pack: its directory, authorities per algorithm and vectors."""

    directory: Path
    authorities: dict[str, dict[str, PackAuthority]]
    vectors: tuple[Vector, ...]

    @classmethod
    def load(cls, directory: Path | None = None) -> VectorPack:
        """Read ``manifest.json`` and the certificates (``ValueError`` if malformed)."""
        base = default_directory() if directory is None else directory
        try:
            manifest = json.loads((base / "manifest.json").read_text("utf-8"))
            if manifest.get("format") != PACK_FORMAT:
                raise ValueError(f"not a {PACK_FORMAT} manifest")
            authorities = {
                alg: {role: PackAuthority(
                    str(entry["id"]), str(entry["country"]),
                    load_certificate_pem((base / entry["root"]).read_bytes()),
                    load_certificate_pem((base / entry["node"]).read_bytes()))
                    for role, entry in roles.items()}
                for alg, roles in manifest["authorities"].items()}
            vectors = tuple(Vector.from_dict(v) for v in manifest["vectors"])
        except (OSError, KeyError, TypeError, CodedError) as exc:
            raise ValueError(f"{base} is not a vector pack: {exc}") from exc
        return cls(base, authorities, vectors)

    def data(self, vector: Vector) -> bytes:
        return (self.directory / vector.file).read_bytes()

    def __iter__(self) -> Iterator[Vector]:
        return iter(self.vectors)


def observe(pack: VectorPack, vector: Vector, *, schemas: DocumentSchemas,
            content: ContentChecker | None = None) -> tuple[str, ...]:
    """Verify ``vector`` as a receiver would, at its ``verifyAt``: ``("VALID",)`` or the
    reason codes, the primary one first."""
    data = pack.data(vector)
    issuer = pack.authorities[vector.alg]["issuer"]
    receiver = pack.authorities[vector.alg]["receiver"]
    at = vector.verify_at
    if vector.object is ObjectKind.DOCUMENT:
        result = verify_document(data, anchors=[issuer.root], at=at, schemas=schemas,
                                 profile=vector.profile, content=content)
        return (VALID,) if result.valid else tuple(code.value for code in result.reasons)
    try:
        if vector.object is ObjectKind.ENVELOPE:
            jws = GeneralJWS.parse(data, limits=_ONE_SIGNATURE)
            verify(jws, typ=JWSType.ENVELOPE, anchors=[issuer.root], at=at,
                   usage=CertUsage.ENVELOPE_SIGNING, limits=_ONE_SIGNATURE)
            Envelope.from_dict(jws.payload_json()).check_fresh(at, DEFAULT_LIMITS)
        elif vector.object is ObjectKind.RECEIPT:
            jws = GeneralJWS.parse(data, limits=_ONE_SIGNATURE)
            verify(jws, typ=JWSType.RECEIPT, anchors=[receiver.root], at=at,
                   usage=CertUsage.ENVELOPE_SIGNING, limits=_ONE_SIGNATURE)
            Receipt.from_dict(jws.payload_json())
        elif vector.object is ObjectKind.AGREEMENT:
            registry = TrustRegistry.create(receiver.registry_entry()).add_authority(
                issuer.registry_entry())
            registry.add_agreement(data, at=at)
        elif vector.object is ObjectKind.STATUS:
            verify_statement(data, anchors=lambda _evidence: [issuer.root], at=at)
        else:
            TrustRegistry.from_snapshot(data, trusted_root=issuer.root, at=at)
    except CodedError as error:
        codes = [code.value for code in error.codes]
        # A status statement's refusal is STATUS_INVALID; the JWS code it stands for is
        # its context's cause.
        cause = error.context.get("cause")
        if isinstance(cause, str) and cause not in codes:
            codes.append(cause)
        return tuple(codes)
    return (VALID,)


def matches(vector: Vector, observed: tuple[str, ...]) -> bool:
    """Whether ``observed`` (from ``observe``) is what ``vector`` expects."""
    return observed[0] == vector.expected and (vector.cause is None or vector.cause in observed)
