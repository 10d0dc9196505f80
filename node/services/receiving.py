"""The peer endpoint's work: from a signed envelope to a signed receipt.

Steps (each refusal before step 7 stores nothing and answers 4xx with a reason code):

1. Size: the body is refused above ``max_envelope_bytes`` before it is parsed.
2. Strict JSON and JWS structure of the envelope.
3. The envelope payload: members, types, ``kind``.
4. Addressed to us (WRONG_RECIPIENT), from an authority in our registry (SENDER_UNKNOWN).
5. Signed by the node certificate our registry holds for ``from``, chained to its anchors
   and valid at the time of receipt, with ``createdAt`` and the signing time inside its
   validity (ENVELOPE_SIGNATURE_INVALID): a transport signature authenticates the sender
   now, whatever time it claims. A sender whose registry entry has no node certificate at
   all is refused with NODE_CERTIFICATE_MISSING (a registry gap, not a forgery).
6. Fresh: not past ``expiresAt`` (MESSAGE_EXPIRED). A message id seen before with the same
   digest gets the stored receipt again (idempotent); with another digest, MESSAGE_DUPLICATE.
   A ``title-transfer`` envelope goes to ``node.services.titles`` (verified, then applied in
   the transaction that stores the message and its receipt; a refusal stores nothing).
7. Per document, outside any transaction: integrity, chain, schema, recognition, mapping →
   ``accepted`` | ``rejected`` | ``held-for-review`` with reason codes. Then, for the kinds
   that belong to a flow, what that flow adds (still outside the transaction): the import
   clearance of a forwarded ``declaration`` (``declarations.importing``); for a
   ``clearance-decision``, the declaration it concerns must be one this node forwarded to
   the sender (NOT_FOUND, nothing stored).
8. One transaction stores the message, every document and its outcome, what the flow adds,
   the audit events and the signed receipt; a concurrent copy of the same message loses the
   unique-key race and answers with the winner's receipt. A document already decided here
   (same issuer, id and digest) is answered with its original decision, whatever message
   carries it, so a sender that lost every answer and sends again records what the receiver
   decided; a concurrent message carrying the same document loses the race and is stored
   again, answering from the winner's decision.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from node.context import NodeContext
from node.errors import AuthError, ConflictError, NotFoundError, RequestError
from node.services import lifecycle, negotiation, trust
from node.services.audit import AuditEvent, append_event, append_events
from node.services.declarations import exporting, importing
from node.services.delivery import OUTCOME_STATE
from node.services.inbound import record_control_message, stored_receipt
from node.services.titles import plan_message as plan_title_message
from node.storage.database import read_session, write_session
from node.storage.models import DeliveryRecord, DocumentRecord, InboundMessageRecord
from protocol.envelope import (
    DOCUMENT_KINDS,
    Envelope,
    EnvelopeKind,
    StatusChangeNotice,
    envelope_sha256,
)
from protocol.errors import EnvelopeError, ProtocolError
from protocol.jws import GeneralJWS, JWSType, verify
from protocol.limits import Limits
from protocol.reason_codes import ReasonCode
from protocol.receipt import DocumentOutcome, Outcome, Receipt, sign_receipt
from protocol.signed_document import DocumentVerification, verify_document
from trust_registry import TrustRegistry
from trust_registry.errors import TrustError
from trust_registry.verification import cached_chain_check


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    """What the peer endpoint answers: the signed receipt bytes."""

    receipt: bytes
    duplicate: bool
    outcomes: tuple[DocumentOutcome, ...]


@dataclass(slots=True)
class _Decided:
    jws: GeneralJWS
    outcome: DocumentOutcome
    document: dict[str, Any] | None
    verification: DocumentVerification
    mapped: dict[str, Any] | None


def _envelope_limits(limits: Limits) -> Limits:
    return Limits(
        max_document_bytes=limits.max_envelope_bytes,
        max_envelope_bytes=limits.max_envelope_bytes,
        max_depth=limits.max_depth,
        max_signatures=1,
        max_chain_length=limits.max_chain_length,
        max_documents_per_envelope=limits.max_documents_per_envelope,
        max_clock_skew_seconds=limits.max_clock_skew_seconds,
    )


def authenticate_envelope(ctx: NodeContext, registry: TrustRegistry, body: bytes,
                          at: dt.datetime) -> tuple[GeneralJWS, Envelope]:
    """Steps 1–5: the envelope, parsed and authenticated, or a refusal."""
    limits = _envelope_limits(ctx.limits)
    # Step 1 and 2 (parse_json checks the size before parsing)
    jws = GeneralJWS.parse(body, limits=limits)
    # Step 3
    envelope = Envelope.from_dict(jws.payload_json(limits), limits=ctx.limits)
    # Step 4
    if envelope.recipient != ctx.authority_id:
        raise RequestError(ReasonCode.WRONG_RECIPIENT,
                           f"addressed to {envelope.recipient}, this node is {ctx.authority_id}")
    if not trust.knows(registry, envelope.sender):
        raise AuthError(ReasonCode.SENDER_UNKNOWN,
                        f"{envelope.sender} is not in this node's trust registry")
    # Step 5. A sender registered without any node certificate cannot be authenticated at
    # all: say so (a registry gap), rather than ENVELOPE_SIGNATURE_INVALID (a forgery).
    if not trust.has_node_certificate(registry, envelope.sender):
        raise AuthError(ReasonCode.NODE_CERTIFICATE_MISSING,
                        f"this node's registry holds no node certificate for {envelope.sender}")
    try:
        verified = verify(jws, typ=JWSType.ENVELOPE,
                          anchors=lambda _evidence: trust.anchors(registry, envelope.sender, at),
                          at=at, usage=trust.ENVELOPE_USAGE, limits=limits, chain_at=at)
    except ProtocolError as exc:
        raise AuthError(ReasonCode.ENVELOPE_SIGNATURE_INVALID,
                        f"envelope signature: {exc.code.value}: {exc.message}") from exc
    integrity = verified.signatures[0].integrity
    if not trust.is_node_certificate(registry, envelope.sender, integrity.leaf):
        raise AuthError(ReasonCode.ENVELOPE_SIGNATURE_INVALID,
                        f"not signed by the node certificate registered for {envelope.sender}")
    trust.require_within_validity(integrity.leaf, created_at=envelope.created_at,
                                  signed_at=integrity.signed_at)
    return jws, envelope


def _stored_receipt(session: Session, envelope: Envelope, digest: str) -> ReceiveResult | None:
    receipt_bytes = stored_receipt(session, envelope, digest)
    if receipt_bytes is None:
        return None
    payload = GeneralJWS.parse(receipt_bytes).payload_json()
    return ReceiveResult(receipt_bytes, True, Receipt.from_dict(payload).outcomes)


def _decide(ctx: NodeContext, registry: TrustRegistry, envelope: Envelope, jws: GeneralJWS,
            at: dt.datetime) -> _Decided:
    """Step 7 for one document: checks, recognition, hold policy, mapping."""
    verification = verify_document(
        jws,
        anchors=lambda evidence: trust.issuer_anchors(registry, evidence, at),
        at=at, schemas=ctx.schemas, limits=ctx.limits,
        chain_check=cached_chain_check(registry), profile=ctx.profile, content=ctx.content)
    document = verification.document
    header = document or {}
    reasons = list(verification.reasons)
    acceptance = None
    mapped = None
    # A node may forward documents issued by other authorities (the export customs
    # forwards the exporter's certificate of origin): recognition is about the issuer.
    if verification.valid and document is not None:
        try:
            acceptance = trust.recognise(registry, receiver=ctx.authority_id,
                                         document=document,
                                         evidence=verification.integrity[0], at=at)
        except TrustError as exc:
            reasons.extend(exc.codes)
    if acceptance is None:
        outcome = Outcome.REJECTED
    else:
        outcome = Outcome.ACCEPTED
        if acceptance.mapping_id:
            try:
                mapped = ctx.mappings.get(acceptance.mapping_id).apply(
                    document or {}, source_sha256=verification.sha256 or "")
            except TrustError as exc:
                outcome = Outcome.HELD_FOR_REVIEW
                reasons.extend(exc.codes)
        if header.get("type") in ctx.settings.hold_for_review_types:
            outcome = Outcome.HELD_FOR_REVIEW
            reasons.append(ReasonCode.REVIEW_REQUIRED)
    result = DocumentOutcome(
        document_id=str(header.get("id", "")),
        document_sha256=verification.sha256 or "",
        document_type=str(header.get("type", "")),
        outcome=outcome,
        reasons=tuple(dict.fromkeys(reasons)),
        agreement_id=acceptance.agreement_id if acceptance else None,
        recognised_as=acceptance.recognised_as if acceptance else None,
        registry_version=acceptance.registry_version if acceptance else None,
    )
    return _Decided(jws, result, document, verification, mapped)


def _party_ids(document: dict[str, Any] | None) -> list[str]:
    parties = (document or {}).get("parties")
    if not isinstance(parties, list):
        return []
    return sorted({str(p["id"]) for p in parties if isinstance(p, dict) and "id" in p})


def receive_envelope(ctx: NodeContext, body: bytes, at: dt.datetime) -> ReceiveResult:
    """Run steps 1–8; return the signed receipt or raise a refusal (nothing stored)."""
    registry = ctx.registry.current()
    jws, envelope = authenticate_envelope(ctx, registry, body, at)
    digest = envelope_sha256(jws)
    # Step 6
    envelope.check_fresh(at, ctx.limits)
    with read_session(ctx.engine) as session:
        stored = _stored_receipt(session, envelope, digest)
    if stored is not None:
        return stored
    if envelope.kind is EnvelopeKind.STATUS_CHANGE:
        return _status_change(ctx, envelope, digest, body, at)
    if envelope.kind is EnvelopeKind.TITLE_TRANSFER:
        return _title_transfer(ctx, envelope, digest, body, at)
    if envelope.kind is EnvelopeKind.REVOCATION:  # an issuer's status statement
        return ReceiveResult(lifecycle.receive(ctx, registry, envelope, digest, body, at),
                             False, ())
    if envelope.kind is EnvelopeKind.AGREEMENT_PROPOSAL:  # negotiated node to node
        return ReceiveResult(negotiation.receive(ctx, envelope, digest, body, at), False, ())
    if envelope.kind not in DOCUMENT_KINDS:
        raise EnvelopeError(ReasonCode.ENVELOPE_MALFORMED,
                            f"envelope kind {envelope.kind.value} is not accepted by this node")
    if envelope.kind is EnvelopeKind.CLEARANCE_DECISION:
        with read_session(ctx.engine) as session:
            exporting.check_decision_envelope(session, sender=envelope.sender,
                                              declaration_id=str(envelope.body["declarationId"]),
                                              authority_id=ctx.authority_id)
    # Step 7
    decided = [_decide(ctx, registry, envelope, item, at) for item in envelope.documents]
    flow = _flow(ctx, registry, envelope, decided, at)
    # Step 8
    for _ in range(_STORE_ATTEMPTS - 1):
        try:
            return _store(ctx, envelope, jws, digest, decided, body, at, flow)
        except IntegrityError:
            # A concurrent copy of this message, or another message carrying one of these
            # documents, was stored first (PostgreSQL; SQLite serialises writers). Storing
            # again answers from the winner: its receipt, or its decision on the documents.
            pass
    return _store(ctx, envelope, jws, digest, decided, body, at, flow)


AfterStore = Callable[[Session, dict[tuple[str, str], DocumentRecord], list[DocumentOutcome]],
                      None]


def _flow(ctx: NodeContext, registry: TrustRegistry, envelope: Envelope, decided: list[_Decided],
          at: dt.datetime) -> AfterStore | None:
    """What a flow adds to the receiving transaction, worked out before it (step 7½): the
    import clearance of a forwarded declaration, or the importing customs' decision on one
    this node forwarded."""
    if envelope.kind is EnvelopeKind.DECLARATION:
        received = [importing.Received(item.jws, item.document, item.outcome, item.mapped)
                    for item in decided]
        import_plan = importing.plan(ctx, registry, envelope, received, at)
        if import_plan is None:
            return None

        def clear(session: Session, stored: dict[tuple[str, str], DocumentRecord],
                  outcomes: list[DocumentOutcome]) -> None:
            importing.store(ctx, session, import_plan, stored, at)

        return clear
    if envelope.kind is EnvelopeKind.CLEARANCE_DECISION:
        declaration_id = str(envelope.body["declarationId"])

        def record(session: Session, stored: dict[tuple[str, str], DocumentRecord],
                   outcomes: list[DocumentOutcome]) -> None:
            for item, outcome in zip(decided, outcomes, strict=True):
                header = item.document or {}
                document = stored.get((str(header.get("issuer", "")), outcome.document_id))
                if document is None:
                    continue
                exporting.record_import_decision(
                    ctx, session, sender=envelope.sender, declaration_id=declaration_id,
                    decision_record=document, document=item.document,
                    recognised=outcome.outcome is Outcome.ACCEPTED, reasons=outcome.reasons,
                    at=at)

        return record
    return None


def _receipt_after_race(ctx: NodeContext, envelope: Envelope, digest: str,
                        error: IntegrityError) -> ReceiveResult:
    """A concurrent delivery of the same message won the unique-key race: answer with the
    winner's receipt (or re-raise if there is none: the conflict was something else)."""
    with read_session(ctx.engine) as session:
        stored = _stored_receipt(session, envelope, digest)
    if stored is None:
        raise error
    return stored


def _status_change(ctx: NodeContext, envelope: Envelope, digest: str, body: bytes,
                   at: dt.datetime) -> ReceiveResult:
    """A peer reports a later decision on a document we delivered to it: record it on our
    delivery (only the peer that received the document can change its outcome there)."""
    notice = StatusChangeNotice.from_dict(envelope.body)
    try:
        with write_session(ctx.engine) as session:
            stored = _stored_receipt(session, envelope, digest)
            if stored is not None:
                return stored
            delivery = session.exec(
                select(DeliveryRecord).join(DocumentRecord,
                                            col(DocumentRecord.pk) == DeliveryRecord.document_pk)
                .where(DeliveryRecord.peer == envelope.sender,
                       DocumentRecord.direction == "outbound",
                       DocumentRecord.document_id == notice.document_id,
                       DocumentRecord.sha256 == notice.document_sha256)).first()
            if delivery is None:
                raise NotFoundError(ReasonCode.NOT_FOUND,
                                    f"no delivery of {notice.document_id} to {envelope.sender}")
            # Only an outcome the peer reported as held for review (or has not reported
            # yet: the notice overtook the receipt) can change, and only once.
            if delivery.outcome not in (None, Outcome.HELD_FOR_REVIEW.value) or \
                    delivery.peer_decided_at is not None:
                raise ConflictError(ReasonCode.STATE_INVALID,
                                    f"the outcome of {notice.document_id} is {delivery.outcome}"
                                    " and can no longer change")
            delivery.outcome = notice.outcome
            delivery.state = OUTCOME_STATE[Outcome(notice.outcome)]
            delivery.reasons = json.dumps([code.value for code in notice.reasons])
            delivery.peer_decided_at = notice.decided_at
            delivery.peer_reason = notice.reason
            delivery.updated_at = at
            session.add(delivery)
            append_event(session, event="delivery.status-changed",
                         actor=f"peer:{envelope.sender}",
                         subject=f"document:{notice.document_id}",
                         details={"messageId": envelope.message_id, **notice.to_dict()}, at=at)
            receipt_bytes = record_control_message(ctx, session, envelope, digest, body, at)
            session.commit()
    except IntegrityError as error:
        return _receipt_after_race(ctx, envelope, digest, error)
    return ReceiveResult(receipt_bytes, False, ())


def _title_transfer(ctx: NodeContext, envelope: Envelope, digest: str, body: bytes,
                    at: dt.datetime) -> ReceiveResult:
    """A ``title-transfer`` body (``node.services.titles.peer``): verified outside the
    transaction, applied inside it with the message and its receipt. A concurrent request
    that loses the race on the record's entries is a TITLE_CONFLICT."""
    apply = plan_title_message(ctx, envelope, at)
    try:
        with write_session(ctx.engine) as session:
            stored = _stored_receipt(session, envelope, digest)
            if stored is not None:
                return stored
            apply(session)
            receipt_bytes = record_control_message(ctx, session, envelope, digest, body, at)
            session.commit()
    except IntegrityError as error:
        with read_session(ctx.engine) as session:
            stored = _stored_receipt(session, envelope, digest)
        if stored is None:
            raise ConflictError(ReasonCode.TITLE_CONFLICT,
                                "a concurrent change of this record was recorded first") \
                from error
        return stored
    return ReceiveResult(receipt_bytes, False, ())


_STORE_ATTEMPTS = 3


def _duplicate_code(existing: DocumentRecord | None, decided_sha256: str | None,
                    sha256: str) -> ReasonCode | None:
    """Why a document may not be stored again, or None when it is decided (afresh).

    Documents are identified by issuer and id. One already decided in the same envelope, or
    held here as accepted, held-for-review or rejected by an officer, stands: the same
    bytes are a DOCUMENT_DUPLICATE (answered with the decision that stands), other bytes a
    CONFLICT. One refused earlier by the checks (never by an officer) is decided afresh.
    """
    if decided_sha256 is not None:
        return ReasonCode.DOCUMENT_DUPLICATE if decided_sha256 == sha256 else ReasonCode.CONFLICT
    if existing is None:
        return None
    if existing.outcome == Outcome.REJECTED.value and existing.decided_by is None:
        return None
    return ReasonCode.DOCUMENT_DUPLICATE if existing.sha256 == sha256 else ReasonCode.CONFLICT


def _stored_outcome(record: DocumentRecord | None, fallback: DocumentOutcome) -> DocumentOutcome:
    """The decision held for a stored document, as a receipt states it."""
    if record is None or record.outcome is None:
        return fallback
    return DocumentOutcome(
        document_id=record.document_id, document_sha256=record.sha256,
        document_type=record.doc_type, outcome=Outcome(record.outcome),
        reasons=tuple(ReasonCode(code) for code in json.loads(record.reasons)),
        agreement_id=record.agreement_id, recognised_as=record.recognised_as,
        registry_version=record.registry_version)


def _store(ctx: NodeContext, envelope: Envelope, jws: GeneralJWS, digest: str,
           decided: list[_Decided], body: bytes, at: dt.datetime,
           after_store: AfterStore | None = None) -> ReceiveResult:
    outcomes: list[DocumentOutcome] = []
    kept: dict[tuple[str, str], DocumentRecord] = {}  # per (issuer, id): the record held now
    decided_here: list[DocumentOutcome] = []  # not duplicates: counted in the metrics
    events: list[AuditEvent] = []
    actor = f"peer:{envelope.sender}"
    with write_session(ctx.engine) as session:
        stored = _stored_receipt(session, envelope, digest)
        if stored is not None:
            return stored
        # One query for every document of the envelope already held here.
        ids = [item.outcome.document_id for item in decided if item.document is not None]
        held = {(record.issuer, record.document_id): record for record in session.exec(
            select(DocumentRecord).where(DocumentRecord.direction == "inbound",
                                         col(DocumentRecord.document_id).in_(ids))).all()
                } if ids else {}
        # (issuer, id) -> the outcome decided for it in this envelope
        seen: dict[tuple[str, str], DocumentOutcome] = {}
        for item in decided:
            outcome = item.outcome
            header = item.document or {}
            identity = (str(header.get("issuer", "")), outcome.document_id)
            existing = held.get(identity)
            first = seen.get(identity)
            duplicate = _duplicate_code(existing, first.document_sha256 if first else None,
                                        outcome.document_sha256)
            if item.document is not None and duplicate is ReasonCode.DOCUMENT_DUPLICATE:
                # The same document again: its decision stands, and is the answer.
                outcome = first or _stored_outcome(existing, outcome)
                if existing is not None:
                    kept.setdefault(identity, existing)
                events.append(AuditEvent(
                    "document.duplicate", actor, f"document:{outcome.document_id}",
                    {"messageId": envelope.message_id, "sha256": outcome.document_sha256,
                     "outcome": outcome.outcome.value}))
                outcomes.append(outcome)
                continue
            if item.document is not None and duplicate is not None:
                outcome = DocumentOutcome(
                    document_id=outcome.document_id, document_sha256=outcome.document_sha256,
                    document_type=outcome.document_type, outcome=Outcome.REJECTED,
                    reasons=(duplicate,))
                if existing is not None and existing.sha256 == outcome.document_sha256:
                    kept.setdefault(identity, existing)
            elif item.document is not None:
                seen[identity] = outcome
                # A record refused earlier (by the checks, not by an officer) is replaced:
                # the same document sent again once its cause is gone, or the genuine one
                # after a forgery that claimed its id, is decided afresh.
                record = existing or DocumentRecord(  # type: ignore[call-arg]
                    # (every other column is set just below, for a new and a replaced record)
                    direction="inbound", document_id=outcome.document_id,
                    issuer=identity[0], created_at=at)
                record.sha256 = outcome.document_sha256
                record.doc_type = outcome.document_type
                record.doc_version = str(header.get("version", ""))
                record.parties = json.dumps(_party_ids(item.document))
                record.signed_bytes = item.jws.to_json()
                record.received_from = envelope.sender
                record.message_id = envelope.message_id
                record.outcome = outcome.outcome.value
                record.reasons = json.dumps([code.value for code in outcome.reasons])
                record.checks = json.dumps({k: v.value
                                            for k, v in item.verification.checks.items()})
                record.agreement_id = outcome.agreement_id
                record.recognised_as = outcome.recognised_as
                record.registry_version = outcome.registry_version
                record.mapped_json = json.dumps(item.mapped) if item.mapped is not None else None
                session.add(record)
                kept[identity] = record
            outcomes.append(outcome)
            decided_here.append(outcome)
            events.append(AuditEvent(
                f"document.{outcome.outcome.value}", actor, f"document:{outcome.document_id}",
                {"messageId": envelope.message_id, "sha256": outcome.document_sha256,
                 "type": outcome.document_type,
                 "reasons": [code.value for code in outcome.reasons],
                 "agreementId": outcome.agreement_id, "recognisedAs": outcome.recognised_as,
                 "registryVersion": outcome.registry_version}))
        if after_store is not None:
            session.flush()
            after_store(session, kept, outcomes)
        receipt = Receipt(receipt_id=str(uuid.uuid4()), message_id=envelope.message_id,
                          envelope_sha256=digest, sender=ctx.authority_id,
                          recipient=envelope.sender, received_at=at, outcomes=tuple(outcomes))
        receipt_bytes = sign_receipt(receipt, ctx.node_signer, signed_at=at).to_json()
        session.add(InboundMessageRecord(
            message_id=envelope.message_id, sender=envelope.sender, kind=envelope.kind.value,
            envelope_sha256=digest, envelope_bytes=body, receipt_bytes=receipt_bytes,
            received_at=at, expires_at=envelope.expires_at))
        events.append(AuditEvent("envelope.received", actor, f"message:{envelope.message_id}",
                                 {"sha256": digest, "documents": len(outcomes)}))
        append_events(session, events, at)
        session.commit()
    for outcome in decided_here:
        ctx.metrics.documents_in.labels(outcome=outcome.outcome.value).inc()
    return ReceiveResult(receipt_bytes, False, tuple(outcomes))
