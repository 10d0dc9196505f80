"""Documents at this node: submission (sign and store), sending (outbox), reading, review.

Visibility: officers see every document; a trader sees only documents that name its party
id among their ``parties`` (anything else answers NOT_FOUND, never data); operators manage
the node and see no document content.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from node.context import NodeContext
from node.errors import AuthError, ConflictError, NotFoundError, RequestError
from node.services import trust
from node.services.apikeys import Principal, Role
from node.services.audit import AuditEvent, append_event, append_events
from node.services.document_status import lifecycle_view, status_of
from node.services.preparation import party_ids, prepare, require_issuer_role
from node.storage.models import (
    DeliveryRecord,
    DocumentRecord,
    DocumentStatusRecord,
    OutboundMessageRecord,
)
from protocol.envelope import (
    MAX_NOTICE_REASON,
    EnvelopeKind,
    StatusChangeNotice,
    build_envelope,
    envelope_sha256,
    sign_envelope,
)
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.signed_document import document_sha256, sign_document
from protocol.timeutil import format_time
from trust_registry import TrustRegistry


class DeliveryState:
    """Delivery states, in the spirit of ePhyto's tracking states."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DELIVERED_WITH_WARNINGS = "delivered-with-warnings"
    REJECTED = "rejected"
    FAILED = "failed"
    DEAD = "dead"
    FINAL = frozenset({DELIVERED, DELIVERED_WITH_WARNINGS, REJECTED, FAILED, DEAD})


# A delivery in one of these states may be sent again; any other is answered as it stands.
RESENDABLE = frozenset({DeliveryState.REJECTED, DeliveryState.FAILED, DeliveryState.DEAD})


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise AuthError(ReasonCode.FORBIDDEN,
                        f"role {principal.role.value} may not do this "
                        f"(needs {', '.join(r.value for r in roles)})")


def visible(record: DocumentRecord, principal: Principal) -> bool:
    if principal.role is Role.OFFICER:
        return True
    if principal.role is Role.TRADER:
        return principal.party in json.loads(record.parties)
    return False


@dataclass(frozen=True, slots=True)
class SignedSubmission:
    """A submitted document, prepared, validated and signed, not yet stored."""

    prepared: dict[str, Any]
    jws: GeneralJWS
    parties: list[str]

    @property
    def document_id(self) -> str:
        return str(self.prepared["id"])


def sign_submission(ctx: NodeContext, principal: Principal, document: Any, at: dt.datetime,
                    registry: TrustRegistry) -> SignedSubmission:
    """The CPU-bound half of a submission (no storage): prepare, validate, check the
    issuer's role and the trader's party, sign. Raises the refusal with its reason code."""
    require_role(principal, Role.TRADER, Role.OFFICER)
    prepared = prepare(document, ctx.authority_id, at)
    ctx.validate_for_signing(prepared)
    require_issuer_role(registry.authorities[ctx.authority_id].roles,  # type: ignore[index]
                        str(prepared["type"]), ctx.authority_id)
    parties = party_ids(prepared)
    if principal.role is Role.TRADER and principal.party not in parties:
        raise AuthError(ReasonCode.FORBIDDEN,
                        f"a trader may only submit documents naming its party {principal.party}")
    return SignedSubmission(prepared, sign_document(prepared, ctx.document_signer, signed_at=at),
                            parties)


def outbound_record(ctx: NodeContext, principal: Principal, submission: SignedSubmission,
                    at: dt.datetime) -> DocumentRecord:
    """The row that stores a signed submission (not added to any session)."""
    prepared = submission.prepared
    return DocumentRecord(
        document_id=submission.document_id, sha256=document_sha256(submission.jws),
        direction="outbound", doc_type=prepared["type"], doc_version=prepared["version"],
        issuer=ctx.authority_id, parties=json.dumps(submission.parties),
        signed_bytes=submission.jws.to_json(), created_at=at, submitted_by=principal.name)


def submit(ctx: NodeContext, session: Session, principal: Principal, document: Any,
           send_to: list[str], at: dt.datetime, *,
           signed: SignedSubmission | None = None,
           registry: TrustRegistry | None = None) -> DocumentRecord:
    """Validate, sign and store a document; with ``send_to``, enqueue it in the same
    transaction (the outbox rule). Re-submitting an identical id answers CONFLICT.
    ``signed``: the document already signed by ``sign_submission`` (outside the write
    transaction, so that the CPU-bound work holds no lock) against ``registry``."""
    registry = registry or ctx.registry.current(session)
    submission = signed or sign_submission(ctx, principal, document, at, registry)
    if held_outbound(session, [submission.document_id]):
        raise ConflictError(ReasonCode.CONFLICT,
                            f"document {submission.document_id} already exists")
    peers = check_peers(ctx, registry, send_to) if send_to else []
    try:
        [(record, _deliveries)] = store_submissions(ctx, session, principal,
                                                    [(submission, peers)], at)
    except IntegrityError as exc:
        raise ConflictError(ReasonCode.CONFLICT,
                            f"document {submission.document_id} already exists") from exc
    return record


def held_outbound(session: Session, document_ids: list[str]) -> set[str]:
    """Which of ``document_ids`` this node already issued (one query)."""
    if not document_ids:
        return set()
    return set(session.exec(select(DocumentRecord.document_id).where(
        DocumentRecord.direction == "outbound",
        col(DocumentRecord.document_id).in_(document_ids))).all())


def store_submissions(ctx: NodeContext, session: Session, principal: Principal,
                      items: Sequence[tuple[SignedSubmission, Sequence[str]]],
                      at: dt.datetime) -> list[tuple[DocumentRecord, tuple[DeliveryRecord, ...]]]:
    """Store new signed documents (ids not held here) with one delivery per peer and their
    audit events (``document.issued``, then ``document.send-requested`` per peer), in the
    caller's transaction: one flush for the documents (their keys), one for the deliveries
    and the events, whatever the number of documents."""
    if not items:
        return []
    records = [outbound_record(ctx, principal, submission, at) for submission, _peers in items]
    session.add_all(records)
    session.flush()
    events: list[AuditEvent] = []
    stored: list[tuple[DocumentRecord, tuple[DeliveryRecord, ...]]] = []
    for record, (_submission, peers) in zip(records, items, strict=True):
        events.append(AuditEvent("document.issued", principal.name,
                                 f"document:{record.document_id}",
                                 {"sha256": record.sha256, "type": record.doc_type}))
        deliveries = tuple(DeliveryRecord(document_pk=record.pk or 0, peer=peer,
                                          state=DeliveryState.PENDING, created_at=at,
                                          updated_at=at) for peer in peers)
        events.extend(AuditEvent("document.send-requested", principal.name,
                                 f"document:{record.document_id}", {"to": peer})
                      for peer in peers)
        stored.append((record, deliveries))
    new_deliveries = [delivery for _record, deliveries in stored for delivery in deliveries]
    session.add_all(new_deliveries)
    append_events(session, events, at)  # flushes the deliveries with the events
    if new_deliveries:
        ctx.outbox.after_commit(session)
    return stored


def check_peers(ctx: NodeContext, registry: TrustRegistry, peers: list[str]) -> list[str]:
    """``peers`` without repeats, each a known authority with a node endpoint and not this
    node; else REQUEST_INVALID."""
    if not peers:
        raise RequestError(ReasonCode.REQUEST_INVALID, "name at least one receiving authority")
    for peer in dict.fromkeys(peers):
        if peer == ctx.authority_id:
            raise RequestError(ReasonCode.REQUEST_INVALID, "a node does not send to itself")
        if not trust.knows(registry, peer) or not trust.endpoint(registry, peer):
            raise RequestError(ReasonCode.REQUEST_INVALID,
                               f"{peer} is not in the registry with a node endpoint")
    return list(dict.fromkeys(peers))


def get_visible(session: Session, principal: Principal, document_id: str,
                direction: str | None = None) -> DocumentRecord:
    """The newest document with this id that the principal may see, or NOT_FOUND."""
    query = select(DocumentRecord).where(DocumentRecord.document_id == document_id)
    if direction:
        query = query.where(DocumentRecord.direction == direction)
    for record in session.exec(query.order_by(col(DocumentRecord.pk).desc())).all():
        if visible(record, principal):
            return record
    raise NotFoundError(ReasonCode.NOT_FOUND, f"no document {document_id} visible to you")


def enqueue(ctx: NodeContext, session: Session, principal: Principal, record: DocumentRecord,
            peers: list[str], at: dt.datetime) -> list[DeliveryRecord]:
    """Create one delivery per peer. Idempotent per document and peer while a delivery is
    pending or delivered; a rejected, failed or dead one is queued again."""
    deliveries = []
    for peer in check_peers(ctx, ctx.registry.current(session), peers):
        existing = session.exec(select(DeliveryRecord).where(
            DeliveryRecord.document_pk == record.pk, DeliveryRecord.peer == peer)).first()
        if existing is not None and existing.state in RESENDABLE:
            # Refused or given up: sending again (once the cause is fixed) starts a new
            # delivery in a new message; the receiver decides the document afresh.
            existing.state = DeliveryState.PENDING
            existing.message_id = None
            existing.outcome = existing.agreement_id = existing.recognised_as = None
            existing.reasons = "[]"
            existing.peer_decided_at = None
            existing.updated_at = at
            session.add(existing)
            append_event(session, event="document.resend-requested", actor=principal.name,
                         subject=f"document:{record.document_id}", details={"to": peer}, at=at)
        if existing is not None:
            deliveries.append(existing)
            continue
        delivery = DeliveryRecord(document_pk=record.pk or 0, peer=peer,
                                  state=DeliveryState.PENDING, created_at=at, updated_at=at)
        session.add(delivery)
        deliveries.append(delivery)
        append_event(session, event="document.send-requested", actor=principal.name,
                     subject=f"document:{record.document_id}", details={"to": peer}, at=at)
    session.flush()
    ctx.outbox.after_commit(session)
    return deliveries


@dataclass(frozen=True, slots=True)
class DocumentView:
    """A document as the API shows it (never the table model itself)."""

    record: DocumentRecord
    deliveries: tuple[DeliveryRecord, ...]
    receipts: dict[str, bytes]
    status: DocumentStatusRecord | None = None  # the issuer's revocation or replacement

    def to_dict(self, *, include_document: bool = True) -> dict[str, Any]:
        record = self.record
        data: dict[str, Any] = {
            "cursor": record.pk,
            "id": record.document_id,
            "sha256": record.sha256,
            "direction": record.direction,
            "type": record.doc_type,
            "version": record.doc_version,
            "issuer": record.issuer,
            "parties": json.loads(record.parties),
            "createdAt": format_time(record.created_at),
            "lifecycle": lifecycle_view(self.status),
        }
        if record.direction == "inbound":
            data.update({
                "receivedFrom": record.received_from,
                "messageId": record.message_id,
                "outcome": record.outcome,
                "reasons": json.loads(record.reasons),
                "checks": json.loads(record.checks),
                "agreementId": record.agreement_id,
                "recognisedAs": record.recognised_as,
                "registryVersion": record.registry_version,
                "decidedBy": record.decided_by,
                "decisionReason": record.decision_reason,
                "mapped": json.loads(record.mapped_json) if record.mapped_json else None,
            })
        else:
            data["deliveries"] = [delivery_view(d, self.receipts.get(d.message_id or ""))
                                  for d in self.deliveries]
        if include_document:
            data["signed"] = json.loads(record.signed_bytes)
        return data


def delivery_view(delivery: DeliveryRecord, receipt: bytes | None = None) -> dict[str, Any]:
    return {
        "to": delivery.peer,
        "state": delivery.state,
        "messageId": delivery.message_id,
        "outcome": delivery.outcome,
        "reasons": json.loads(delivery.reasons),
        "agreementId": delivery.agreement_id,
        "recognisedAs": delivery.recognised_as,
        "reason": delivery.peer_reason,
        "updatedAt": format_time(delivery.updated_at),
        "receipt": json.loads(receipt) if receipt else None,
    }


def view(session: Session, record: DocumentRecord) -> DocumentView:
    deliveries = session.exec(select(DeliveryRecord).where(
        DeliveryRecord.document_pk == record.pk).order_by(col(DeliveryRecord.peer))).all()
    message_ids = [d.message_id for d in deliveries if d.message_id]
    receipts: dict[str, bytes] = {}
    if message_ids:
        for message in session.exec(select(OutboundMessageRecord).where(
                col(OutboundMessageRecord.message_id).in_(message_ids))).all():
            if message.receipt_bytes:
                receipts[message.message_id] = message.receipt_bytes
    status = status_of(session, issuer=record.issuer, document_id=record.document_id,
                       sha256=record.sha256)
    return DocumentView(record, tuple(deliveries), receipts, status)


def list_documents(session: Session, principal: Principal, *, direction: str | None,
                   limit: int, after: int | None = None,
                   outcome: str | None = None) -> list[DocumentRecord]:
    """Documents visible to the principal, newest first (bounded by ``limit``). ``after`` is
    the ``cursor`` of the last document of the previous page."""
    require_role(principal, Role.TRADER, Role.OFFICER)
    query = select(DocumentRecord)
    if direction:
        query = query.where(DocumentRecord.direction == direction)
    if outcome:
        query = query.where(DocumentRecord.outcome == outcome)
    if after is not None:
        query = query.where(col(DocumentRecord.pk) < after)
    if principal.role is Role.TRADER:
        # parties is a JSON array of strings: a quoted match is exact.
        query = query.where(col(DocumentRecord.parties).contains(json.dumps(principal.party)))
    rows = session.exec(query.order_by(col(DocumentRecord.pk).desc()).limit(limit)).all()
    return [row for row in rows if visible(row, principal)]


def review(ctx: NodeContext, session: Session, principal: Principal, document_id: str, *,
           release: bool, reason: str | None, at: dt.datetime) -> DocumentRecord:
    """An officer releases (accepts) or rejects a held-for-review inbound document; the
    decision is queued, in the same transaction, as a signed status-change envelope to the
    node that sent the document."""
    require_role(principal, Role.OFFICER)
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_NOTICE_REASON:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"the reason holds at most {MAX_NOTICE_REASON} characters")
    record = get_visible(session, principal, document_id, direction="inbound")
    if record.outcome != "held-for-review":
        raise ConflictError(ReasonCode.STATE_INVALID,
                            f"document {document_id} is {record.outcome}, not held-for-review")
    reasons = [code for code in json.loads(record.reasons) if code != "REVIEW_REQUIRED"]
    if release:
        record.outcome = "accepted"
    else:
        record.outcome = "rejected"
        reasons.append(ReasonCode.REJECTED_BY_OFFICER.value)
    record.reasons = json.dumps(reasons)
    record.decided_by = principal.name
    record.decided_at = at
    record.decision_reason = reason
    session.add(record)
    append_event(session, event="document.released" if release else "document.rejected",
                 actor=principal.name, subject=f"document:{document_id}",
                 details={"reason": reason or "", "sha256": record.sha256}, at=at)
    if record.received_from:
        notice = StatusChangeNotice(
            document_id=record.document_id, document_sha256=record.sha256,
            outcome=record.outcome, reasons=tuple(ReasonCode(code) for code in reasons),
            decided_at=at, reason=reason)
        enqueue_control(ctx, session, peer=record.received_from,
                        kind=EnvelopeKind.STATUS_CHANGE, body=notice.to_dict(), at=at)
    return record


def enqueue_control(ctx: NodeContext, session: Session, *, peer: str, kind: EnvelopeKind,
                    body: dict[str, Any], at: dt.datetime,
                    documents: tuple[GeneralJWS, ...] = (),
                    flow_ref: str | None = None) -> OutboundMessageRecord:
    """Queue a signed envelope of ``kind`` (built once: its message id is stable).

    For the kinds that carry documents (``declaration``, ``clearance-decision``) the
    ``documents`` go beside the ``body`` members; ``flow_ref`` links the message to the flow
    object it belongs to, so that its receipt or failure reaches that flow."""
    message_id = str(uuid.uuid4())
    envelope = build_envelope(message_id=message_id, sender=ctx.authority_id, recipient=peer,
                              created_at=at,
                              ttl=dt.timedelta(seconds=ctx.settings.envelope_ttl_seconds),
                              kind=kind, body=body, documents=documents)
    signed = sign_envelope(envelope, ctx.node_signer, signed_at=at)
    message = OutboundMessageRecord(
        message_id=message_id, peer=peer, kind=kind.value, envelope_bytes=signed.to_json(),
        envelope_sha256=envelope_sha256(signed), state="pending", attempts=0,
        next_attempt_at=at, created_at=at, expires_at=envelope.expires_at, flow_ref=flow_ref)
    session.add(message)
    ctx.outbox.after_commit(session)
    details: dict[str, Any] = {"to": peer, **body}
    if documents:
        details["documents"] = [document_sha256(document) for document in documents]
    append_event(session, event=f"control.{kind.value}", actor="node",
                 subject=f"message:{message_id}", details=details, at=at)
    return message
