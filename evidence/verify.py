"""Offline verification of an evidence bundle: what it proves, or what broke.

``verify_bundle(data, at=…)`` runs, with no node and no network:

1. the archive and its manifest parse (EVIDENCE_INVALID);
2. the manifest's signature verifies and chains, at its signing time, to the producer's
   anchors in the bundled registry (or to ``anchors`` the auditor trusts), with the
   producer's node-signing usage (EVIDENCE_INVALID, ``manifest.jws``);
3. the archive holds exactly the files the manifest lists, each with its SHA-256
   (EVIDENCE_TAMPERED, naming the file);
4. the registry files parse and re-verify (agreements dual-signed, anchors);
5. every document verifies (integrity, chain to its issuer's anchors at the signing time,
   schema); every receipt is signed by the node key the registry holds for its ``from``;
   every status statement by its issuer (EVIDENCE_INVALID naming the file);
6. the audit entries are each their own hash, and consecutive entries link (``prev``);
7. the statements are applied at ``at``: a document revoked or replaced by then is
   reported so (this does not make the bundle invalid: it is what the bundle proves).

The first failure is raised as an ``EvidenceError`` naming the file; a bundle that passes
returns an ``EvidenceReport`` whose ``proves`` lines say, in words, what it establishes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from evidence.bundle import MANIFEST, OpenedBundle, Role, open_bundle
from evidence.errors import EvidenceError
from protocol.canonical import canonicalize, sha256_hex
from protocol.certificates import CertUsage, authority_id_of
from protocol.documents import DocumentSchemas
from protocol.errors import CodedError, ProtocolError
from protocol.jws import GeneralJWS, IntegrityEvidence, JWSType, verify
from protocol.reason_codes import ReasonCode
from protocol.receipt import Receipt
from protocol.signed_document import verify_document
from protocol.status_statement import StatusStatement, status_refusal, verify_statement
from protocol.strict_json import parse_json
from protocol.timeutil import format_time, parse_time, require_aware
from trust_registry import TrustRegistry
from trust_registry.errors import TrustError

GENESIS = "0" * 64
Resolver = Callable[[IntegrityEvidence], Sequence[x509.Certificate]]


@dataclass
class EvidenceReport:
    """What a verified bundle establishes."""

    subject: dict[str, str]
    producer: str
    created_at: str
    at: str
    files: int
    proves: list[str] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": True, "subject": self.subject, "producer": self.producer,
                "createdAt": self.created_at, "at": self.at, "files": self.files,
                "documents": self.documents, "proves": self.proves}


def _fail(path: str, message: str, code: ReasonCode = ReasonCode.EVIDENCE_INVALID
          ) -> EvidenceError:
    return EvidenceError(code, f"{path}: {message}", path=path)


def _registries(bundle: OpenedBundle) -> list[TrustRegistry]:
    """Step 4: every bundled registry version, re-verified."""
    found = []
    for path, role, _ in bundle.manifest.files:
        if role is not Role.REGISTRY:
            continue
        try:
            found.append(TrustRegistry.from_dict(parse_json(bundle.files[path],
                                                            max_bytes=256 * 1024 * 1024)))
        except (TrustError, ProtocolError) as exc:
            raise _fail(path, f"{exc.code.value}: {exc.message}") from exc
    if not found:
        raise _fail(MANIFEST, "the bundle holds no registry")
    return found


def _anchors_of(registries: list[TrustRegistry], extra: Sequence[x509.Certificate]
                ) -> Resolver:
    """Anchors for a signer: those every bundled registry holds for the authority its
    certificate names (valid at the signing time), plus the auditor's own."""
    def resolve(evidence: IntegrityEvidence) -> list[x509.Certificate]:
        authority_id = authority_id_of(evidence.leaf) or ""
        found: list[x509.Certificate] = list(extra)
        for registry in registries:
            authority = registry.authorities.get(authority_id)  # type: ignore[call-overload]
            if authority is not None:
                found += [a.certificate for a in authority.anchors_valid_at(evidence.signed_at)]
        return found

    return resolve


def _audit(path: str, content: bytes) -> tuple[int, int, int]:
    """Step 6; (entries, first seq, last seq)."""
    try:
        entries = json.loads(content)
        if not isinstance(entries, list):
            raise TypeError("an array of entries is expected")
        previous: dict[str, Any] | None = None
        for entry in entries:
            body = {"seq": entry["seq"], "at": entry["at"], "event": entry["event"],
                    "actor": entry["actor"], "subject": entry["subject"],
                    "details": entry["details"], "prev": entry["prev"]}
            if hashlib.sha256(canonicalize(body)).hexdigest() != entry["hash"]:
                raise _fail(path, f"entry {entry['seq']} is not its hash")
            if previous is not None and entry["seq"] == previous["seq"] + 1 and \
                    entry["prev"] != previous["hash"]:
                raise _fail(path, f"entry {entry['seq']} does not link to entry "
                            f"{previous['seq']}")
            if previous is not None and entry["seq"] <= previous["seq"]:
                raise _fail(path, "entries out of order")
            previous = entry
    except EvidenceError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise _fail(path, f"unreadable audit entries: {exc}") from exc
    if not entries:
        return 0, 0, 0
    return len(entries), int(entries[0]["seq"]), int(entries[-1]["seq"])


def verify_bundle(data: bytes, *, at: dt.datetime,
                  anchors: Sequence[x509.Certificate] = (),
                  schemas: DocumentSchemas | None = None) -> EvidenceReport:
    """Steps 1–7 (module docstring). ``anchors``: roots the auditor trusts besides the
    bundled registry's; ``at``: the time the statements are applied at."""
    require_aware(at, "at")
    schemas = schemas or DocumentSchemas.load()
    # Step 1
    bundle = open_bundle(data)
    manifest = bundle.manifest
    # Step 3 first for the registry files the signature check needs: a registry that does
    # not match its digest must not supply the anchors.
    listed = {path: digest for path, _, digest in manifest.files}
    extra = sorted(set(bundle.files) - set(listed))
    if extra:
        raise _fail(extra[0], "not listed in the manifest", ReasonCode.EVIDENCE_TAMPERED)
    for path, digest in listed.items():
        if path not in bundle.files:
            raise _fail(path, "listed in the manifest but missing", ReasonCode.EVIDENCE_TAMPERED)
        actual = sha256_hex(bundle.files[path])
        if actual != digest:
            raise _fail(path, f"SHA-256 {actual} differs from the manifest's {digest}",
                        ReasonCode.EVIDENCE_TAMPERED)
    registries = _registries(bundle)
    resolver = _anchors_of(registries, anchors)
    # Step 2
    try:
        verified = verify(bundle.manifest_jws, typ=JWSType.EVIDENCE_MANIFEST, anchors=resolver,
                          at=max(at, manifest.created_at), usage=CertUsage.ENVELOPE_SIGNING)
    except ProtocolError as exc:
        raise _fail(MANIFEST, f"signature: {exc.code.value}: {exc.message}") from exc
    signer = authority_id_of(verified.signatures[0].integrity.leaf)
    if signer != manifest.producer:
        raise _fail(MANIFEST, f"signed by {signer}, not by the producer {manifest.producer}")
    report = EvidenceReport(subject={"kind": manifest.subject_kind.value,
                                     "id": manifest.subject_id},
                            producer=manifest.producer,
                            created_at=format_time(manifest.created_at), at=format_time(at),
                            files=len(listed))
    report.proves.append(f"{manifest.producer} assembled this bundle at "
                         f"{format_time(manifest.created_at)} and signed its manifest with its "
                         f"node key; none of its {len(listed)} files changed since")
    versions = ", ".join(str(r.version) for r in registries)
    report.proves.append(f"the trust registry version(s) {versions} held by "
                         f"{manifest.producer} are included and re-verify (anchors, "
                         "dual-signed agreements)")
    statements: dict[tuple[str, str, str], StatusStatement] = {}
    # Step 5
    for path, role, _ in manifest.files:
        content = bundle.files[path]
        try:
            if role is Role.STATEMENT:
                statement = verify_statement(content, anchors=resolver,
                                             at=max(at, manifest.created_at)).statement
                statements[(statement.issuer, statement.document_id,
                            statement.document_sha256)] = statement
            elif role is Role.RECEIPT:
                jws = GeneralJWS.parse(content)
                checked = verify(jws, typ=JWSType.RECEIPT, anchors=resolver,
                                 at=max(at, manifest.created_at),
                                 usage=CertUsage.ENVELOPE_SIGNING)
                receipt = Receipt.from_dict(checked.payload_json())
                if authority_id_of(checked.signatures[0].integrity.leaf) != receipt.sender:
                    raise _fail(path, f"not signed by {receipt.sender}, who it says sent it")
                report.proves.append(
                    f"{receipt.sender} received message {receipt.message_id} from "
                    f"{receipt.recipient} at {format_time(receipt.received_at)}" + "".join(
                        f"; {o.document_id}: {o.outcome.value}"
                        + (f" under {o.agreement_id}" if o.agreement_id else "")
                        for o in receipt.outcomes))
        except EvidenceError:
            raise
        except CodedError as exc:
            raise _fail(path, f"{exc.code.value}: {exc.message}") from exc
    for path, role, _ in manifest.files:
        if role is not Role.DOCUMENT:
            continue
        result = verify_document(bundle.files[path], anchors=resolver,
                                 at=max(at, manifest.created_at), schemas=schemas)
        if not result.valid or result.document is None:
            raise _fail(path, "the signed document does not verify: "
                        + ", ".join(code.value for code in result.reasons))
        header = result.document
        key = (str(header["issuer"]), str(header["id"]), result.sha256 or "")
        held = statements.get(key)
        refusal = status_refusal(held, at)
        entry = {"path": path, "id": header["id"], "type": header["type"],
                 "issuer": header["issuer"], "sha256": result.sha256,
                 "signedAt": format_time(result.integrity[0].signed_at),
                 "status": "active" if held is None else held.status.value,
                 "inEffectAt": refusal is None}
        report.documents.append(entry)
        report.proves.append(
            f"{header['issuer']} signed {header['type']} {header['id']} at "
            f"{entry['signedAt']} (chain to its registered root)"
            + ("" if held is None else
               f"; {held.status.value} by its issuer with effect from "
               f"{format_time(held.effective_at)}"
               + (" — so it no longer holds at " + format_time(at) if refusal else
                  " — still holding at " + format_time(at))))
    # Step 6
    for path, role, _ in manifest.files:
        if role is Role.AUDIT:
            count, first, last = _audit(path, bundle.files[path])
            if count:
                report.proves.append(f"{count} audit entries ({first}..{last}) of "
                                     f"{manifest.producer}'s hash-chained log are each intact")
        elif role is Role.DECISIONS:
            try:
                decisions = json.loads(bundle.files[path])
            except ValueError as exc:
                raise _fail(path, f"unreadable: {exc}") from exc
            for decision in decisions if isinstance(decisions, list) else []:
                if isinstance(decision, dict) and decision.get("outcome"):
                    report.proves.append(
                        f"{manifest.producer} decided {decision.get('outcome')} on "
                        f"{decision.get('documentId')}"
                        + (f" under agreement {decision['agreementId']} (registry version "
                           f"{decision.get('registryVersion')})"
                           if decision.get("agreementId") else ""))
    return report


def parse_at(text: str | None, now: dt.datetime) -> dt.datetime:
    """``--at`` as given (RFC 3339 with offset), or ``now``; ValueError otherwise."""
    return parse_time(text) if text else now
