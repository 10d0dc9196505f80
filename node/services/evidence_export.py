"""Evidence bundles of this node's decisions (``evidence`` builds and signs the archive).

``export_document`` gathers, for every document with the id held here: its signed bytes as
held, the receipts that concern it (ours for the message that brought it, the peers' for
each delivery of it), the issuer's status statements, a replacement held here, the registry
versions its decisions used (and the current one), the decisions, and the audit entries
whose subject is the document or one of those messages. ``export_declaration`` does the same
for each document of a declaration, with the declaration's own audit entries and its
forwarding receipts. Officers only. The bundle is signed with the node key.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlmodel import Session, col, select

from evidence import BundleFile, Role, SubjectKind, build_bundle
from node.context import NodeContext
from node.errors import NotFoundError
from node.services.apikeys import Principal
from node.services.apikeys import Role as ApiRole
from node.services.declarations import records
from node.services.declarations.exporting import flow_ref as declaration_ref
from node.services.document_status import statuses_of
from node.services.documents import require_role
from node.storage.models import (
    AuditEventRecord,
    DeclarationRecord,
    DeliveryRecord,
    DocumentRecord,
    InboundMessageRecord,
    OutboundMessageRecord,
    RegistryStateRecord,
)
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time


class _Collector:
    """The files of one bundle, without repeats."""

    def __init__(self) -> None:
        self.files: dict[str, BundleFile] = {}
        self.subjects: set[str] = set()
        self.registry_versions: set[int] = set()
        self.decisions: list[dict[str, Any]] = []
        self.seen: set[int] = set()

    def add(self, path: str, role: Role, content: bytes) -> None:
        self.files.setdefault(path, BundleFile(path, role, content))


def _document(session: Session, out: _Collector, record: DocumentRecord) -> None:
    if record.pk in out.seen:
        return
    out.seen.add(record.pk or 0)
    out.add(f"documents/{record.pk}-{record.document_id}.jws", Role.DOCUMENT,
            record.signed_bytes)
    out.subjects.add(f"document:{record.document_id}")
    deliveries = session.exec(select(DeliveryRecord).where(
        DeliveryRecord.document_pk == record.pk)).all()
    message_ids = {d.message_id for d in deliveries if d.message_id}
    for message in session.exec(select(OutboundMessageRecord).where(
            col(OutboundMessageRecord.message_id).in_(message_ids))).all() if message_ids else []:
        out.subjects.add(f"message:{message.message_id}")
        if message.receipt_bytes:
            out.add(f"receipts/{message.message_id}.jws", Role.RECEIPT, message.receipt_bytes)
    if record.message_id:
        inbound = session.exec(select(InboundMessageRecord).where(
            InboundMessageRecord.message_id == record.message_id)).first()
        out.subjects.add(f"message:{record.message_id}")
        if inbound is not None:
            out.add(f"receipts/{inbound.message_id}.jws", Role.RECEIPT, inbound.receipt_bytes)
    if record.registry_version is not None:
        out.registry_versions.add(record.registry_version)
    out.decisions.append({
        "documentId": record.document_id, "issuer": record.issuer, "sha256": record.sha256,
        "type": record.doc_type, "direction": record.direction,
        "receivedFrom": record.received_from, "outcome": record.outcome,
        "reasons": json.loads(record.reasons), "agreementId": record.agreement_id,
        "recognisedAs": record.recognised_as, "registryVersion": record.registry_version,
        "decidedBy": record.decided_by,
        "decidedAt": format_time(record.decided_at) if record.decided_at else None,
        "decisionReason": record.decision_reason,
        "deliveries": [{"to": d.peer, "state": d.state, "outcome": d.outcome,
                        "reasons": json.loads(d.reasons), "agreementId": d.agreement_id,
                        "messageId": d.message_id} for d in deliveries]})
    for status in statuses_of(session, record.document_id):
        if (status.issuer, status.document_sha256) != (record.issuer, record.sha256):
            continue
        out.add(f"statements/{status.statement_id}.jws", Role.STATEMENT, status.statement_bytes)
        if status.replacement_id:
            for replacement in session.exec(select(DocumentRecord).where(
                    DocumentRecord.document_id == status.replacement_id,
                    DocumentRecord.sha256 == status.replacement_sha256)).all():
                out.add(f"documents/{replacement.pk}-{replacement.document_id}.jws",
                        Role.DOCUMENT, replacement.signed_bytes)


def _finish(ctx: NodeContext, session: Session, out: _Collector, kind: SubjectKind,
            subject_id: str, at: dt.datetime) -> bytes:
    current = ctx.registry.current(session)
    out.registry_versions.add(current.version)
    for version in sorted(out.registry_versions):
        state = session.get(RegistryStateRecord, version)
        if state is not None:
            out.add(f"registry/{version}.json", Role.REGISTRY, state.registry_json.encode())
    if not any(f.role is Role.REGISTRY for f in out.files.values()):
        out.add(f"registry/{current.version}.json", Role.REGISTRY,
                json.dumps(current.to_dict(), sort_keys=True).encode())
    out.add("decisions.json", Role.DECISIONS, json.dumps(out.decisions, indent=1).encode())
    entries = session.exec(select(AuditEventRecord).where(
        col(AuditEventRecord.subject).in_(sorted(out.subjects))).order_by(
            col(AuditEventRecord.seq))).all()
    audit = [{"seq": e.seq, "at": format_time(e.at), "event": e.event, "actor": e.actor,
              "subject": e.subject, "details": json.loads(e.details), "prev": e.prev_hash,
              "hash": e.hash} for e in entries]
    out.add("audit.json", Role.AUDIT, json.dumps(audit, indent=1).encode())
    return build_bundle(list(out.files.values()), bundle_id=str(uuid.uuid4()),
                        producer=ctx.authority_id, subject_kind=kind, subject_id=subject_id,
                        signer=ctx.node_signer, at=at)


def export_document(ctx: NodeContext, session: Session, principal: Principal,
                    document_id: str, at: dt.datetime) -> bytes:
    """The bundle of every document with this id held here (NOT_FOUND when none)."""
    require_role(principal, ApiRole.OFFICER)
    held = session.exec(select(DocumentRecord).where(
        DocumentRecord.document_id == document_id).order_by(col(DocumentRecord.pk))).all()
    if not held:
        raise NotFoundError(ReasonCode.NOT_FOUND, f"no document {document_id} held here")
    out = _Collector()
    for record in held:
        _document(session, out, record)
    return _finish(ctx, session, out, SubjectKind.DOCUMENT, document_id, at)


def export_declaration(ctx: NodeContext, session: Session, principal: Principal,
                       declaration_id: str, at: dt.datetime) -> bytes:
    """The bundle of a declaration (each side held here) and all its documents."""
    require_role(principal, ApiRole.OFFICER)
    found = session.exec(select(DeclarationRecord).where(
        DeclarationRecord.declaration_id == declaration_id)).all()
    if not found:
        raise NotFoundError(ReasonCode.NOT_FOUND, f"no declaration {declaration_id} here")
    out = _Collector()
    for declaration in found:
        out.subjects.add(f"declaration:{declaration.declaration_id}")
        for _link, document in records.documents_of(session, declaration):
            _document(session, out, document)
        for message in session.exec(select(OutboundMessageRecord).where(
                OutboundMessageRecord.flow_ref == declaration_ref(declaration.pk or 0))).all():
            out.subjects.add(f"message:{message.message_id}")
            if message.receipt_bytes:
                out.add(f"receipts/{message.message_id}.jws", Role.RECEIPT,
                        message.receipt_bytes)
    return _finish(ctx, session, out, SubjectKind.DECLARATION, declaration_id, at)
