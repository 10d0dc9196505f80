"""A document's lifecycle state as this node knows it: active, revoked or replaced.

Read by the document views (inbox, ``GET /v1/documents/{id}``, ``doc status``) and by the
lifecycle service (``node.services.lifecycle``), which writes the statements. No imports of
other services: the document service depends on this module, not the other way round.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from node.storage.models import DocumentStatusRecord
from protocol.reason_codes import ReasonCode
from protocol.status_statement import DocumentStatus
from protocol.timeutil import format_time


class Lifecycle(StrEnum):
    """A document's lifecycle state. ``active`` → ``revoked`` | ``replaced``; both are final
    (a document has at most one status statement)."""

    ACTIVE = "active"
    REVOKED = "revoked"
    REPLACED = "replaced"


def status_of(session: Session, *, issuer: str, document_id: str,
              sha256: str) -> DocumentStatusRecord | None:
    """The statement held for exactly this document (issuer, id, digest), if any."""
    return session.exec(select(DocumentStatusRecord).where(
        DocumentStatusRecord.issuer == issuer, DocumentStatusRecord.document_id == document_id,
        DocumentStatusRecord.document_sha256 == sha256)).first()


def statuses_of(session: Session, document_id: str) -> list[DocumentStatusRecord]:
    """Every statement held for a document id (any issuer or digest), oldest first."""
    return list(session.exec(select(DocumentStatusRecord).where(
        DocumentStatusRecord.document_id == document_id).order_by(
            col(DocumentStatusRecord.pk))).all())


def lifecycle_of(record: DocumentStatusRecord | None) -> Lifecycle:
    if record is None:
        return Lifecycle.ACTIVE
    return Lifecycle(record.status)


def refusal_at(record: DocumentStatusRecord | None, at: dt.datetime) -> ReasonCode | None:
    """DOCUMENT_REVOKED / DOCUMENT_REPLACED when the statement is in effect at ``at``."""
    if record is None or at < record.effective_at:
        return None
    return DocumentStatus(record.status).refusal


def lifecycle_view(record: DocumentStatusRecord | None) -> dict[str, Any]:
    """The ``lifecycle`` member of a document view."""
    if record is None:
        return {"state": Lifecycle.ACTIVE.value}
    return {"state": record.status, "effectiveAt": format_time(record.effective_at),
            "reason": record.reason, "replacementId": record.replacement_id,
            "replacementSha256": record.replacement_sha256,
            "statementId": record.statement_id, "receivedFrom": record.received_from}
