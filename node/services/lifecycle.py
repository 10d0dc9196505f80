"""Revocation and replacement of issued documents, and their propagation to every holder.

At the **issuing** node (``revoke``, ``replace``; officers only):

1. the document must be one this node issued (an outbound record); a document held here but
   issued elsewhere is refused with STATUS_NOT_ISSUER, an unknown id with NOT_FOUND, a
   document that already has a status with STATE_INVALID (a status is final);
2. the statement (``protocol.status_statement``) is signed by this authority's document
   signer; for a replacement, the corrected document is signed and stored first (it names
   the original in its ``references``) and queued to the nodes the original went to;
3. in one transaction: the status row, its audit event and one ``revocation`` envelope per
   holder in the outbox (``flow_ref`` ``status:<pk>``): every node this node delivered the
   document to or forwarded it to in a declaration, plus any the officer names.

At a **receiving** node (``receive``, from the peer endpoint; nothing stored on a refusal):

1. the statement verifies and chains to the anchors of the authority named in its signer
   certificate (STATUS_INVALID) and that authority is the statement's issuer
   (STATUS_NOT_ISSUER);
2. when this node holds a document with the statement's id, one of them must be the
   issuer's (else STATUS_NOT_ISSUER: a third party cannot withdraw another's document) with
   the statement's digest (else STATUS_INVALID);
3. a statement already held (same ``statementId``) is answered again with a receipt and not
   passed on twice; another statement for a document that has one is STATE_INVALID;
4. one transaction stores the status, the audit event, the declarations it puts up for
   reassessment (``declarations.reassessment``), a ``revocation`` envelope to each node
   this node passed the document on to (except the sender and the issuer) and the signed
   receipt. A statement for a document not (yet) held is recorded too: the document shows
   its status when it arrives.

Where a statement has not yet arrived: ``pending`` lists, per statement, each peer whose
newest message is not ``delivered`` (``Arrival`` states).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from node.context import NodeContext
from node.errors import ConflictError, NotFoundError, RequestError
from node.services import trust
from node.services.apikeys import Principal, Role
from node.services.audit import append_event
from node.services.declarations import reassessment
from node.services.document_status import lifecycle_view, status_of, statuses_of
from node.services.documents import enqueue, enqueue_control, require_role, submit
from node.services.inbound import record_control_message, stored_receipt
from node.storage.database import write_session
from node.storage.models import (
    DeclarationDocumentRecord,
    DeliveryRecord,
    DocumentRecord,
    DocumentStatusRecord,
    OutboundMessageRecord,
)
from protocol.envelope import Envelope, EnvelopeKind
from protocol.errors import StatusError
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.status_statement import (
    MAX_STATUS_REASON,
    AnswerStatus,
    DocumentStatus,
    StatusAnswer,
    StatusStatement,
    VerifiedStatement,
    apply_status,
    sign_answer,
    sign_statement,
    verify_statement,
)
from protocol.timeutil import format_time
from trust_registry import TrustRegistry

FLOW = "status"


class Arrival(StrEnum):
    """Where a statement has got to at one peer (from its newest outbox message)."""

    PENDING = "pending"  # queued or being retried
    DELIVERED = "delivered"  # a signed receipt answered it
    FAILED = "failed"  # the peer refused it (4xx)
    DEAD = "dead"  # given up at the deadline; an operator may retry it


_ARRIVAL = {"pending": Arrival.PENDING, "sending": Arrival.PENDING,
            "delivered": Arrival.DELIVERED, "failed": Arrival.FAILED, "dead": Arrival.DEAD}


def flow_ref(pk: int) -> str:
    return f"{FLOW}:{pk}"


# -- who holds a document ---------------------------------------------------------------------


def holders(session: Session, *, issuer: str, document_id: str, sha256: str) -> set[str]:
    """Every peer this node sent the document to: its deliveries, and the importing customs
    of each declaration this node forwarded with it."""
    pks = [pk for pk in session.exec(select(DocumentRecord.pk).where(
        DocumentRecord.issuer == issuer, DocumentRecord.document_id == document_id,
        DocumentRecord.sha256 == sha256)).all() if pk is not None]
    if not pks:
        return set()
    peers = set(session.exec(select(DeliveryRecord.peer).where(
        col(DeliveryRecord.document_pk).in_(pks))).all())
    declaration_pks = set(session.exec(select(DeclarationDocumentRecord.declaration_pk).where(
        col(DeclarationDocumentRecord.document_pk).in_(pks))).all())
    if declaration_pks:
        refs = [f"declaration:{pk}" for pk in declaration_pks]
        peers |= set(session.exec(select(OutboundMessageRecord.peer).where(
            col(OutboundMessageRecord.flow_ref).in_(refs),
            OutboundMessageRecord.kind == EnvelopeKind.DECLARATION.value)).all())
    return peers


def _distribute(ctx: NodeContext, session: Session, status: DocumentStatusRecord,
                peers: set[str], at: dt.datetime) -> list[str]:
    """Queue one ``revocation`` envelope per peer (the statement as signed by its issuer)."""
    registry = ctx.registry.current(session)
    statement = json.loads(status.statement_bytes)
    sent = []
    for peer in sorted(peers - {ctx.authority_id}):
        if not trust.knows(registry, peer) or not trust.endpoint(registry, peer):
            continue  # no route to it: nothing can be queued (the audit event says so)
        enqueue_control(ctx, session, peer=peer, kind=EnvelopeKind.REVOCATION,
                        body={"statement": statement}, at=at, flow_ref=flow_ref(status.pk or 0))
        sent.append(peer)
    return sent


# -- issuing ------------------------------------------------------------------------------


def _issued_here(ctx: NodeContext, session: Session, document_id: str) -> DocumentRecord:
    """Step 1: the document this node issued, or the refusal."""
    record = session.exec(select(DocumentRecord).where(
        DocumentRecord.direction == "outbound", DocumentRecord.document_id == document_id,
        DocumentRecord.issuer == ctx.authority_id).order_by(
            col(DocumentRecord.pk).desc())).first()
    if record is not None:
        if status_of(session, issuer=record.issuer, document_id=record.document_id,
                     sha256=record.sha256) is not None:
            raise ConflictError(ReasonCode.STATE_INVALID,
                                f"document {document_id} is already revoked or replaced "
                                "(a status is final)")
        return record
    other = session.exec(select(DocumentRecord).where(
        DocumentRecord.document_id == document_id)).first()
    if other is not None:
        raise StatusError(ReasonCode.STATUS_NOT_ISSUER,
                          f"document {document_id} was issued by {other.issuer}, not by "
                          f"{ctx.authority_id}: only its issuer may revoke or replace it")
    raise NotFoundError(ReasonCode.NOT_FOUND, f"no document {document_id} issued here")


def _reason(reason: Any) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise RequestError(ReasonCode.REQUEST_INVALID, "give the reason (1 to "
                           f"{MAX_STATUS_REASON} characters): it travels in the statement")
    if len(reason) > MAX_STATUS_REASON:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"the reason holds at most {MAX_STATUS_REASON} characters")
    return reason.strip()


def _also_to(ctx: NodeContext, session: Session, peers: list[str]) -> set[str]:
    registry = ctx.registry.current(session)
    for peer in peers:
        if peer == ctx.authority_id or not trust.knows(registry, peer) or \
                not trust.endpoint(registry, peer):
            raise RequestError(ReasonCode.REQUEST_INVALID,
                               f"{peer} is not a peer in the registry with a node endpoint")
    return set(peers)


def _issue(ctx: NodeContext, session: Session, principal: Principal, record: DocumentRecord,
           statement: StatusStatement, also_to: set[str], at: dt.datetime
           ) -> DocumentStatusRecord:
    """Steps 2–3: sign, store, audit, queue."""
    jws = sign_statement(statement, ctx.document_signer, signed_at=at)
    status = _record(statement, jws, received_from=None, at=at)
    session.add(status)
    session.flush()
    peers = holders(session, issuer=record.issuer, document_id=record.document_id,
                    sha256=record.sha256) | also_to
    sent = _distribute(ctx, session, status, peers, at)
    append_event(session, event=f"document.{statement.status.value}", actor=principal.name,
                 subject=f"document:{record.document_id}",
                 details={**statement.to_dict(), "to": sent}, at=at)
    return status


def revoke(ctx: NodeContext, session: Session, principal: Principal, document_id: str, *,
           reason: Any, effective_at: dt.datetime | None, also_to: list[str],
           at: dt.datetime) -> DocumentStatusRecord:
    """Revoke a document issued here (module docstring); the caller commits."""
    require_role(principal, Role.OFFICER)
    text = _reason(reason)
    record = _issued_here(ctx, session, document_id)
    extra = _also_to(ctx, session, also_to)
    statement = StatusStatement(
        statement_id=str(uuid.uuid4()), status=DocumentStatus.REVOKED,
        document_id=record.document_id, document_sha256=record.sha256, issuer=record.issuer,
        effective_at=effective_at or at, issued_at=at, reason=text)
    return _issue(ctx, session, principal, record, statement, extra, at)


def replace(ctx: NodeContext, session: Session, principal: Principal, document_id: str, *,
            document: Any = None, replacement_id: str | None = None, reason: Any,
            effective_at: dt.datetime | None, also_to: list[str],
            at: dt.datetime) -> DocumentStatusRecord:
    """Replace a document issued here by a corrected one: a new ``document`` (signed and
    sent here to the nodes the original went to) or one already issued here
    (``replacement_id``). The replacement must be of the same type and name the original
    in its ``references``; the caller commits."""
    require_role(principal, Role.OFFICER)
    text = _reason(reason)
    if (document is None) == (replacement_id is None):
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           "give either the corrected document or the id of one issued here")
    record = _issued_here(ctx, session, document_id)
    extra = _also_to(ctx, session, also_to)
    original = {"id": record.document_id, "type": record.doc_type, "sha256": record.sha256}
    if document is not None:
        if not isinstance(document, dict):
            raise RequestError(ReasonCode.SCHEMA_INVALID, "a document must be a JSON object")
        document = _naming(document, original)
        peers = sorted(holders(session, issuer=record.issuer, document_id=record.document_id,
                               sha256=record.sha256) | extra)
        new = submit(ctx, session, principal, document, [], at)
        if peers:
            enqueue(ctx, session, principal, new, peers, at)
    else:
        found = session.exec(select(DocumentRecord).where(
            DocumentRecord.direction == "outbound",
            DocumentRecord.document_id == replacement_id,
            DocumentRecord.issuer == ctx.authority_id)).first()
        if found is None:
            raise NotFoundError(ReasonCode.NOT_FOUND,
                                f"no document {replacement_id} issued here")
        payload = GeneralJWS.parse(found.signed_bytes).payload_json()
        if original not in payload.get("references", []):
            raise RequestError(ReasonCode.REQUEST_INVALID,
                               f"document {replacement_id} does not name {document_id} (with "
                               "its type and digest) in its references")
        new = found
    if new.doc_type != record.doc_type or new.pk == record.pk:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"a replacement is another {record.doc_type}, not "
                           f"{new.doc_type} {new.document_id}")
    statement = StatusStatement(
        statement_id=str(uuid.uuid4()), status=DocumentStatus.REPLACED,
        document_id=record.document_id, document_sha256=record.sha256, issuer=record.issuer,
        effective_at=effective_at or at, issued_at=at, reason=text,
        replacement_id=new.document_id, replacement_sha256=new.sha256)
    return _issue(ctx, session, principal, record, statement, extra, at)


def _naming(document: dict[str, Any], original: dict[str, str]) -> dict[str, Any]:
    """The corrected document with the original among its references (added when absent;
    a reference to the original with another digest or type is refused)."""
    references = document.get("references", [])
    if not isinstance(references, list):
        raise RequestError(ReasonCode.SCHEMA_INVALID, "references must be an array",
                           pointer="/references")
    for index, reference in enumerate(references):
        if isinstance(reference, dict) and reference.get("id") == original["id"]:
            if reference != original:
                raise RequestError(ReasonCode.REFERENCE_MISMATCH,
                                   f"the reference to {original['id']} must carry type "
                                   f"{original['type']} and sha256 {original['sha256']}",
                                   pointer=f"/references/{index}")
            return document
    if document.get("id") == original["id"]:
        raise RequestError(ReasonCode.CONFLICT, "a replacement needs an id of its own")
    return {**document, "references": [*references, original]}


def _record(statement: StatusStatement, jws: GeneralJWS, *, received_from: str | None,
            at: dt.datetime) -> DocumentStatusRecord:
    return DocumentStatusRecord(
        statement_id=statement.statement_id, issuer=statement.issuer,
        document_id=statement.document_id, document_sha256=statement.document_sha256,
        status=statement.status.value, effective_at=statement.effective_at,
        reason=statement.reason, replacement_id=statement.replacement_id,
        replacement_sha256=statement.replacement_sha256, statement_bytes=jws.to_json(),
        received_from=received_from, recorded_at=at)


# -- receiving ------------------------------------------------------------------------------


def _check_held(session: Session, statement: StatusStatement) -> None:
    """Receiving step 2."""
    held = session.exec(select(DocumentRecord).where(
        DocumentRecord.document_id == statement.document_id)).all()
    if not held:
        return
    mine = [record for record in held if record.issuer == statement.issuer]
    if not mine:
        raise StatusError(ReasonCode.STATUS_NOT_ISSUER,
                          f"document {statement.document_id} held here was issued by "
                          f"{held[0].issuer}, not by {statement.issuer}")
    if all(record.sha256 != statement.document_sha256 for record in mine):
        raise StatusError(ReasonCode.STATUS_INVALID,
                          f"the statement names digest {statement.document_sha256}; document "
                          f"{statement.document_id} held here has {mine[0].sha256}")


def receive(ctx: NodeContext, registry: TrustRegistry, envelope: Envelope, digest: str,
            body: bytes, at: dt.datetime) -> bytes:
    """Receiving steps 1–4 for an authenticated ``revocation`` envelope; the signed receipt
    bytes, or a refusal with nothing stored."""
    # Step 1
    verified = verify_statement(envelope.body["statement"],
                                anchors=lambda evidence: trust.issuer_anchors(registry,
                                                                              evidence, at),
                                at=at, limits=ctx.limits)
    statement = verified.statement
    try:
        with write_session(ctx.engine) as session:
            stored = stored_receipt(session, envelope, digest)
            if stored is not None:
                return stored
            # Step 2
            _check_held(session, statement)
            # Step 3
            existing = status_of(session, issuer=statement.issuer,
                                 document_id=statement.document_id,
                                 sha256=statement.document_sha256)
            if existing is not None and existing.statement_id != statement.statement_id:
                raise ConflictError(ReasonCode.STATE_INVALID,
                                    f"document {statement.document_id} already has status "
                                    f"{existing.status} (statement {existing.statement_id})")
            if existing is None:
                _take_in(ctx, session, envelope, verified, at)
            receipt_bytes = record_control_message(ctx, session, envelope, digest, body, at)
            append_event(session, event="envelope.received", actor=f"peer:{envelope.sender}",
                         subject=f"message:{envelope.message_id}",
                         details={"sha256": digest, "kind": envelope.kind.value,
                                  "statementId": statement.statement_id,
                                  "repeat": existing is not None}, at=at)
            session.commit()
    except IntegrityError as error:
        # A concurrent copy of this message (or of this statement) was stored first.
        with write_session(ctx.engine) as session:
            stored = stored_receipt(session, envelope, digest)
        if stored is None:
            raise ConflictError(ReasonCode.STATE_INVALID,
                                "the statement was recorded concurrently; send again") from error
        return stored
    return receipt_bytes


def _take_in(ctx: NodeContext, session: Session, envelope: Envelope,
             verified: VerifiedStatement, at: dt.datetime) -> None:
    """Receiving step 4 (the new status, its audit event, reassessment, passing it on)."""
    statement = verified.statement
    status = _record(statement, verified.jws, received_from=envelope.sender, at=at)
    session.add(status)
    session.flush()
    flagged = reassessment.flag(session, status, at)
    onward = holders(session, issuer=statement.issuer, document_id=statement.document_id,
                     sha256=statement.document_sha256) - {envelope.sender, statement.issuer}
    sent = _distribute(ctx, session, status, onward, at)
    append_event(session, event=f"document.{statement.status.value}",
                 actor=f"peer:{envelope.sender}", subject=f"document:{statement.document_id}",
                 details={**statement.to_dict(), "messageId": envelope.message_id,
                          "passedOnTo": sent, "reassessment": flagged}, at=at)


# -- reading --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementView:
    """A statement with where it has got to (issuing or forwarding node)."""

    status: DocumentStatusRecord
    arrivals: dict[str, tuple[Arrival, OutboundMessageRecord]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "documentId": self.status.document_id, "issuer": self.status.issuer,
            "documentSha256": self.status.document_sha256,
            **lifecycle_view(self.status),
            "recordedAt": format_time(self.status.recorded_at),
            "statement": json.loads(self.status.statement_bytes),
            "deliveries": [{"to": peer, "state": arrival.value,
                            "messageId": message.message_id, "attempts": message.attempts,
                            "lastError": message.last_error,
                            "receipt": json.loads(message.receipt_bytes)
                            if message.receipt_bytes else None}
                           for peer, (arrival, message) in sorted(self.arrivals.items())],
        }

    @property
    def pending(self) -> list[str]:
        """The peers where the statement has not (yet) arrived."""
        return sorted(peer for peer, (arrival, _) in self.arrivals.items()
                      if arrival is not Arrival.DELIVERED)


def statement_view(session: Session, status: DocumentStatusRecord) -> StatementView:
    messages = session.exec(select(OutboundMessageRecord).where(
        OutboundMessageRecord.flow_ref == flow_ref(status.pk or 0),
        OutboundMessageRecord.state != "retired").order_by(
            col(OutboundMessageRecord.pk))).all()
    arrivals = {message.peer: (_ARRIVAL.get(message.state, Arrival.PENDING), message)
                for message in messages}  # the newest message per peer wins
    return StatementView(status, arrivals)


def statements(session: Session, principal: Principal, *, document_id: str | None = None,
               undelivered: bool = False, limit: int = 100) -> list[StatementView]:
    """Statements held here (newest first), optionally for one document or only those not
    yet arrived everywhere. Officers and operators."""
    require_role(principal, Role.OFFICER, Role.OPERATOR)
    query = select(DocumentStatusRecord)
    if document_id is not None:
        query = query.where(DocumentStatusRecord.document_id == document_id)
    rows = session.exec(query.order_by(col(DocumentStatusRecord.pk).desc())).all()
    views = [statement_view(session, row) for row in rows]
    if undelivered:
        views = [view for view in views if view.pending]
    return views[:limit]


def answer(ctx: NodeContext, session: Session, document_id: str, issuer: str | None,
           at: dt.datetime) -> bytes:
    """The signed status answer for ``GET /v1/status/{documentId}``: the newest statement
    held for the document (of ``issuer``, when given), else ``good`` when a document with
    that id is held here, else ``unknown``. Anyone may ask; the answer reveals no more than
    the issuer's own statement."""
    held = [row for row in statuses_of(session, document_id)
            if issuer is None or row.issuer == issuer]
    if held:
        newest = held[-1]
        result = StatusAnswer(document_id=document_id, issuer=newest.issuer,
                              status=AnswerStatus(newest.status),
                              statement=GeneralJWS.parse(newest.statement_bytes),
                              produced_at=at, responder=ctx.authority_id)
    else:
        query = select(DocumentRecord).where(DocumentRecord.document_id == document_id)
        if issuer is not None:
            query = query.where(DocumentRecord.issuer == issuer)
        record = session.exec(query.order_by(col(DocumentRecord.pk).desc())).first()
        result = StatusAnswer(document_id=document_id,
                              issuer=record.issuer if record else issuer,
                              status=AnswerStatus.GOOD if record else AnswerStatus.UNKNOWN,
                              statement=None, produced_at=at, responder=ctx.authority_id)
    return sign_answer(result, ctx.node_signer, signed_at=at).to_json()


def with_status(ctx: NodeContext, session: Session, report: dict[str, Any],
                at: dt.datetime) -> dict[str, Any]:
    """A verification report with the status this node holds for its document
    (``protocol.status_statement.apply_status``); unchanged when the document could not be
    read."""
    document = report.get("document") or {}
    if not document.get("id") or not document.get("sha256"):
        return report
    held = status_of(session, issuer=str(document.get("issuer")),
                     document_id=str(document["id"]), sha256=str(document["sha256"]))
    statement = None
    if held is not None:
        statement = StatusStatement.from_dict(
            GeneralJWS.parse(held.statement_bytes).payload_json(ctx.limits))
    return apply_status(report, statement, at)
