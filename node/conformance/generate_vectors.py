"""Write the conformance vector pack: ``python -m node.conformance.generate_vectors [DIR]``.

New keys each run (only certificates are written, never a private key); the times are
fixed, so a pack verifies the same way whenever it is checked. Default ``DIR``: the pack
shipped in ``node/conformance/vectors``. See ``node.conformance.vectors`` for the format.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from node.authority import AuthorityDirectory
from node.bootstrap import initial_registry
from node.conformance import mutations
from node.conformance.vectors import PACK_FORMAT, ObjectKind, Vector, default_directory
from protocol.canonical import canonicalize
from protocol.certificates import KeyAlgorithm, certificate_to_pem, issue_document_signer
from protocol.envelope import build_envelope, envelope_sha256, sign_envelope
from protocol.jws import GeneralJWS, JWSType, Signer, add_signature, sign
from protocol.receipt import DocumentOutcome, Outcome, Receipt, sign_receipt
from protocol.signed_document import document_sha256, sign_document
from protocol.status_statement import DocumentStatus, StatusStatement, sign_statement
from protocol.timeutil import format_time
from protocol.validation_profile import ValidationProfile
from trust_registry import (
    Agreement,
    AgreementId,
    AuthorityId,
    DocType,
    build_scope,
    countersign_agreement,
    propose_agreement,
)

CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""When the vector authorities' keys are made (certificates from 5 minutes before)."""
SIGNED = dt.datetime(2026, 1, 2, 9, 0, tzinfo=dt.UTC)
VERIFY_AT = dt.datetime(2026, 1, 2, 10, 0, tzinfo=dt.UTC)
FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
ISSUER, RECEIVER = "SG-VECTOR-ISSUER", "CN-VECTOR-RECEIVER"
ALGORITHMS = {"EdDSA": KeyAlgorithm.ED25519, "ES256": KeyAlgorithm.P256}


@dataclass(frozen=True)
class World:
    """The keys of one algorithm's vectors."""

    issuer: AuthorityDirectory
    receiver: AuthorityDirectory
    stranger: AuthorityDirectory  # same id as the issuer, another root
    expired_signer: Signer  # the issuer's document signer, expired before SIGNED


@dataclass(frozen=True)
class Made:
    name: str
    data: bytes
    expected: str
    description: str
    profile: ValidationProfile = ValidationProfile.STANDARD
    verify_at: dt.datetime = VERIFY_AT
    cause: str | None = None

    def wrapped(self, code: str) -> Made:
        """This vector as a registry object refuses it: ``code`` first, its own as cause."""
        if self.expected == "VALID":
            return self
        return Made(self.name, self.data, code, self.description, self.profile,
                    self.verify_at, cause=self.expected)


def _world(base: Path, algorithm: KeyAlgorithm) -> World:
    def make(directory: str, authority_id: str, roles: tuple[str, ...]) -> AuthorityDirectory:
        return AuthorityDirectory.create(
            base / directory, authority_id=authority_id, country=authority_id[:2],
            name=f"{authority_id} vectors", roles=roles, passphrase=None, at=CREATED,
            algorithm=algorithm, signer_days=3650)

    issuer = make("issuer", ISSUER, ("customs", "origin"))
    receiver = make("receiver", RECEIVER, ("customs",))
    stranger = make("stranger", ISSUER, ("customs", "origin"))
    root = issuer.root_signer(None)
    signer = issuer.document_signer(None)
    expired = issue_document_signer(root_key=root.key, root_cert=issuer.root_certificate,
                                    public_key=signer.key.public_key(),
                                    not_before=CREATED - dt.timedelta(minutes=5), days=1)
    return World(issuer, receiver, stranger, Signer(signer.key, (expired,)))


def _example(name: str) -> dict[str, Any]:
    """The packaged demo document ``name`` (the same as examples/documents), issued by the
    vector issuer with a fixed id."""
    raw = resources.files("node.demo").joinpath("data", f"{name}.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(raw)
    document["id"] = f"vector-{name}"
    document["issuer"] = ISSUER
    document["issuedAt"] = format_time(SIGNED)
    return document


def _common(payload: bytes, good: GeneralJWS, signer: Signer, stranger: Signer, typ: str,
            wrong_typ: str, edit: Callable[[dict[str, Any]], None]) -> list[Made]:
    """The JWS-level vectors every object type shares."""
    return [
        Made("valid", good.to_json(), "VALID", "a valid object"),
        Made("payload-changed", mutations.changed_payload(good, edit), "SIGNATURE_INVALID",
             "one member of the payload changed after signing"),
        Made("alg-none", mutations.alg_none(good), "ALG_NOT_ALLOWED",
             "the protected header says alg none"),
        Made("typ-mismatch", sign(payload, signer, typ=wrong_typ, signed_at=SIGNED).to_json(),
             "TYP_MISMATCH", f"signed as another kind of object ({wrong_typ})"),
        Made("kid-mismatch", mutations.kid_mismatch(payload, signer, typ, SIGNED),
             "KID_MISMATCH", "the kid is not the thumbprint of the signing key"),
        Made("untrusted-root", sign(payload, stranger, typ=typ, signed_at=SIGNED).to_json(),
             "CHAIN_UNTRUSTED", "signed under another root with the same authority id"),
        Made("json-malformed", mutations.malformed_json(good), "JSON_MALFORMED",
             "the JWS JSON cut short"),
        Made("duplicate-member", mutations.duplicate_member(good), "JSON_DUPLICATE_MEMBER",
             "the JWS object has its payload member twice (RFC 7493)"),
    ]


def _documents(world: World) -> list[Made]:
    signer = world.issuer.document_signer(None)
    document = _example("certificate-of-origin")
    payload = canonicalize(document)
    good = sign_document(document, signer, signed_at=SIGNED)
    stranger = world.stranger.document_signer(None)

    def edit(d: dict[str, Any]) -> None:
        d["body"]["goodsItems"][0]["description"] += " (changed)"

    def variant(change: Callable[[dict[str, Any]], None], base: dict[str, Any] = document
                ) -> bytes:
        copied = copy.deepcopy(base)
        change(copied)
        return sign_document(copied, signer, signed_at=SIGNED).to_json()

    def unknown_member(d: dict[str, Any]) -> None:
        d["body"]["colour"] = "red"

    def unknown_type(d: dict[str, Any]) -> None:
        d["type"] = "import-licence"

    def unknown_codes(d: dict[str, Any]) -> None:
        d["body"]["importingCountry"] = "ZZ"
        d["body"]["goodsItems"][0]["hsCode"] = "999999"

    invoice = _example("commercial-invoice")

    def wrong_total(d: dict[str, Any]) -> None:
        d["body"]["totalAmount"] = d["body"]["totalAmount"] + 100

    made = _common(payload, good, signer, stranger, JWSType.DOCUMENT, JWSType.ENVELOPE, edit)
    made += [
        Made("signing-time-future",
             sign_document(document, signer, signed_at=FUTURE).to_json(),
             "SIGNING_TIME_INVALID", "signed in 2100, verified in 2026"),
        Made("duplicate-signature",
             mutations.same_key_twice(payload, signer, JWSType.DOCUMENT, SIGNED),
             "JWS_DUPLICATE_SIGNATURE", "two signatures by one key"),
        Made("cert-expired", sign_document(document, world.expired_signer,
                                           signed_at=SIGNED).to_json(),
             "CERT_EXPIRED", "the signer certificate had expired at the signing time"),
        Made("schema-invalid", variant(unknown_member), "SCHEMA_INVALID",
             "an unknown member /body/colour"),
        Made("doc-type-unknown", variant(unknown_type), "DOC_TYPE_UNKNOWN",
             "a document type with no schema"),
        Made("code-unknown", variant(unknown_codes), "CODE_UNKNOWN",
             "country ZZ and HS 999999 (profile standard)"),
        Made("syntax-profile", variant(unknown_codes), "VALID",
             "the same unknown codes under profile syntax",
             profile=ValidationProfile.SYNTAX),
        Made("amount-mismatch", variant(wrong_total, invoice), "AMOUNT_MISMATCH",
             "an invoice whose lines do not sum to its total (profile strict)",
             profile=ValidationProfile.STRICT),
    ]
    return made


def _envelopes(world: World) -> list[Made]:
    signer = world.issuer.node_signer(None)
    document = sign_document(_example("certificate-of-origin"),
                             world.issuer.document_signer(None), signed_at=SIGNED)

    def envelope(message_id: str, *, created: dt.datetime = SIGNED,
                 ttl: dt.timedelta = dt.timedelta(days=1)) -> Any:
        return build_envelope(message_id=message_id, sender=ISSUER, recipient=RECEIVER,
                              created_at=created, ttl=ttl, documents=(document,))

    good_envelope = envelope("vector-envelope-1")
    payload = canonicalize(good_envelope.to_dict())
    good = sign_envelope(good_envelope, signer, signed_at=SIGNED)

    def edit(d: dict[str, Any]) -> None:
        d["to"] = "CN-OTHER"

    extra = good_envelope.to_dict()
    extra["priority"] = "high"
    stale = envelope("vector-envelope-2", created=SIGNED - dt.timedelta(hours=1),
                     ttl=dt.timedelta(minutes=30))
    made = _common(payload, good, signer, world.stranger.node_signer(None),
                   JWSType.ENVELOPE, JWSType.RECEIPT, edit)
    made += [
        Made("envelope-malformed",
             sign(canonicalize(extra), signer, typ=JWSType.ENVELOPE, signed_at=SIGNED).to_json(),
             "ENVELOPE_MALFORMED", "an unknown member priority in the envelope"),
        Made("message-expired",
             sign_envelope(stale, signer, signed_at=SIGNED - dt.timedelta(hours=1)).to_json(),
             "MESSAGE_EXPIRED", "expiresAt passed 90 minutes before verifyAt"),
        Made("two-signatures",
             add_signature(good, world.receiver.node_signer(None), typ=JWSType.ENVELOPE,
                           signed_at=SIGNED).to_json(),
             "JWS_TOO_MANY_SIGNATURES", "an envelope has exactly one signature"),
    ]
    return made


def _receipts(world: World) -> list[Made]:
    signer = world.receiver.node_signer(None)
    document = sign_document(_example("certificate-of-origin"),
                             world.issuer.document_signer(None), signed_at=SIGNED)
    env = sign_envelope(build_envelope(message_id="vector-envelope-1", sender=ISSUER,
                                       recipient=RECEIVER, created_at=SIGNED,
                                       ttl=dt.timedelta(days=1), documents=(document,)),
                        world.issuer.node_signer(None), signed_at=SIGNED)
    receipt = Receipt(receipt_id="vector-receipt-1", message_id="vector-envelope-1",
                      envelope_sha256=envelope_sha256(env), sender=RECEIVER, recipient=ISSUER,
                      received_at=SIGNED, outcomes=(DocumentOutcome(
                          document_id=_example("certificate-of-origin")["id"],
                          document_sha256=document_sha256(document),
                          document_type="certificate-of-origin", outcome=Outcome.ACCEPTED,
                          agreement_id="VECTORS-COO", recognised_as="certificate-of-origin",
                          registry_version=3),))
    payload = canonicalize(receipt.to_dict())
    good = sign_receipt(receipt, signer, signed_at=SIGNED)

    def edit(d: dict[str, Any]) -> None:
        d["outcomes"][0]["outcome"] = "rejected"

    unknown = receipt.to_dict()
    unknown["outcomes"][0]["reasons"] = ["NOT_A_REASON_CODE"]
    made = _common(payload, good, signer, world.stranger.node_signer(None),
                   JWSType.RECEIPT, JWSType.ENVELOPE, edit)
    made.append(Made("receipt-invalid",
                     sign(canonicalize(unknown), signer, typ=JWSType.RECEIPT,
                          signed_at=SIGNED).to_json(),
                     "RECEIPT_INVALID", "an outcome with a reason code that does not exist"))
    return made


def _agreements(world: World) -> list[Made]:
    scope = build_scope(proposer=AuthorityId(ISSUER), partner=AuthorityId(RECEIVER),
                        document_types=[DocType("certificate-of-origin")])
    agreement = Agreement(agreement_id=AgreementId("VECTORS-COO"),
                          parties=(AuthorityId(ISSUER), AuthorityId(RECEIVER)),
                          legal_reference="Conformance vectors", valid_from=CREATED,
                          valid_until=None, scope=scope)
    issuer_root = world.issuer.root_signer(None)
    proposal = propose_agreement(agreement, issuer_root, signed_at=SIGNED)
    receiver_root = world.receiver.root_signer(None)
    good = countersign_agreement(proposal, receiver_root, signed_at=SIGNED)
    payload = good.payload

    def edit(d: dict[str, Any]) -> None:
        d["legalReference"] = "Another text"

    stranger_proposal = propose_agreement(agreement, world.stranger.root_signer(None),
                                          signed_at=SIGNED)
    made = [m.wrapped("AGREEMENT_INVALID")
            for m in _common(payload, good, issuer_root, world.stranger.root_signer(None),
                             JWSType.AGREEMENT, JWSType.SNAPSHOT, edit)
            if m.name not in ("typ-mismatch", "kid-mismatch", "untrusted-root")]
    made += [
        Made("proposal-only", proposal.to_json(), "AGREEMENT_SIGNATURE_MISSING",
             "only the proposer's root signed: a proposal, not an agreement"),
        Made("typ-mismatch", add_signature(
            sign(payload, issuer_root, typ=JWSType.SNAPSHOT, signed_at=SIGNED),
            receiver_root, typ=JWSType.AGREEMENT, signed_at=SIGNED).to_json(),
            "AGREEMENT_INVALID", "the proposer's signature is typed as a registry snapshot",
            cause="TYP_MISMATCH"),
        Made("untrusted-root", add_signature(
            stranger_proposal, receiver_root, typ=JWSType.AGREEMENT, signed_at=SIGNED).to_json(),
            "AGREEMENT_INVALID", "the proposer's signature is by another root with its id",
            cause="CHAIN_UNTRUSTED"),
    ]
    return made


def _snapshots(world: World) -> list[Made]:
    registry = initial_registry(world.issuer).add_authority(
        initial_registry(world.receiver).authorities[AuthorityId(RECEIVER)])
    root = world.issuer.root_signer(None)
    good = registry.export_snapshot(root, at=SIGNED, expires_at=SIGNED + dt.timedelta(days=7))
    payload = good.payload

    def edit(d: dict[str, Any]) -> None:
        d["expiresAt"] = "2099-01-01T00:00:00Z"

    made = [m.wrapped("REGISTRY_INVALID" if m.name.startswith(("json", "duplicate"))
                      else "REGISTRY_SIGNATURE_INVALID")
            for m in _common(payload, good, root, world.stranger.root_signer(None),
                             JWSType.SNAPSHOT, JWSType.AGREEMENT, edit)
            if m.name not in ("untrusted-root",)]
    made += [
        Made("signer-untrusted", sign(payload, world.stranger.root_signer(None),
                                      typ=JWSType.SNAPSHOT, signed_at=SIGNED).to_json(),
             "REGISTRY_SIGNER_UNTRUSTED", "signed by another root with the owner's id"),
        Made("expired", good.to_json(), "REGISTRY_EXPIRED",
             "verified after its expiresAt (freeze attack)",
             verify_at=SIGNED + dt.timedelta(days=8)),
    ]
    return made


def _statements(world: World) -> list[Made]:
    """Revocation statements of the issuer's certificate of origin: every refusal is
    STATUS_INVALID naming the underlying code, except a signer that is not the statement's
    issuer (STATUS_NOT_ISSUER)."""
    signer = world.issuer.document_signer(None)
    document = sign_document(_example("certificate-of-origin"), signer, signed_at=SIGNED)
    statement = StatusStatement(
        statement_id="vector-statement-1", status=DocumentStatus.REVOKED,
        document_id=_example("certificate-of-origin")["id"],
        document_sha256=document_sha256(document), issuer=ISSUER, effective_at=SIGNED,
        issued_at=SIGNED, reason="issued in error")
    payload = canonicalize(statement.to_dict())
    good = sign_statement(statement, signer, signed_at=SIGNED)

    def edit(d: dict[str, Any]) -> None:
        d["reason"] = "another reason"

    made = [m.wrapped("STATUS_INVALID")
            for m in _common(payload, good, signer, world.stranger.document_signer(None),
                             JWSType.STATUS, JWSType.DOCUMENT, edit)]
    other_issuer = statement.to_dict() | {"issuer": RECEIVER}
    no_reason = statement.to_dict()
    del no_reason["reason"]
    replaced = statement.to_dict() | {"status": "replaced"}
    made += [
        Made("not-issuer", sign(canonicalize(other_issuer), signer, typ=JWSType.STATUS,
                                signed_at=SIGNED).to_json(),
             "STATUS_NOT_ISSUER", f"names {RECEIVER} as issuer but is signed by {ISSUER}"),
        Made("member-missing", sign(canonicalize(no_reason), signer, typ=JWSType.STATUS,
                                    signed_at=SIGNED).to_json(),
             "STATUS_INVALID", "the statement has no reason member"),
        Made("replacement-unnamed", sign(canonicalize(replaced), signer, typ=JWSType.STATUS,
                                         signed_at=SIGNED).to_json(),
             "STATUS_INVALID", "status replaced without the replacement's id and digest"),
    ]
    return made


_MAKERS: dict[ObjectKind, Callable[[World], list[Made]]] = {
    ObjectKind.DOCUMENT: _documents,
    ObjectKind.ENVELOPE: _envelopes,
    ObjectKind.RECEIPT: _receipts,
    ObjectKind.AGREEMENT: _agreements,
    ObjectKind.SNAPSHOT: _snapshots,
    ObjectKind.STATUS: _statements,
}


def generate(target: Path) -> int:
    """Write a complete pack into ``target`` (replacing what is there); return the count."""
    vectors: list[Vector] = []
    authorities: dict[str, dict[str, dict[str, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="tradeaccord-vectors-") as tmp:
        staging = Path(tmp) / "pack"
        staging.mkdir()
        for alg, algorithm in ALGORITHMS.items():
            world = _world(Path(tmp) / alg, algorithm)
            (staging / alg).mkdir()
            authorities[alg] = {}
            for role, directory in (("issuer", world.issuer), ("receiver", world.receiver)):
                for kind, cert in (("root", directory.root_certificate),
                                   ("node", directory.node_certificate)):
                    (staging / alg / f"{role}-{kind}.pem").write_bytes(certificate_to_pem(cert))
                authorities[alg][role] = {"id": directory.authority_id,
                                          "country": directory.country,
                                          "root": f"{alg}/{role}-root.pem",
                                          "node": f"{alg}/{role}-node.pem"}
            for kind, maker in _MAKERS.items():
                (staging / alg / kind.value).mkdir()
                for made in maker(world):
                    file = f"{alg}/{kind.value}/{made.name}.jws"
                    (staging / file).write_bytes(made.data)
                    vectors.append(Vector(
                        id=f"{kind.value}-{alg}-{made.name}", object=kind, alg=alg, file=file,
                        expected=made.expected, profile=made.profile,
                        verify_at=made.verify_at, description=made.description,
                        cause=made.cause))
        manifest = {"format": PACK_FORMAT, "generatedAt": format_time(VERIFY_AT),
                    "generator": "python -m node.conformance.generate_vectors",
                    "authorities": authorities, "vectors": [v.to_dict() for v in vectors]}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        readme = target / "README.md"
        kept = readme.read_bytes() if readme.is_file() else None
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(staging, target)
        if kept is not None:
            readme.write_bytes(kept)
    return len(vectors)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else default_directory()
    count = generate(target)
    sys.stdout.write(f"wrote {count} vectors to {target}\n")


if __name__ == "__main__":
    main()
