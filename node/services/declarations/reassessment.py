"""Declarations that relied on a document its issuer later revoked or replaced.

When a status statement reaches this node (``node.services.lifecycle``), every declaration
here that holds the document gets a timeline entry: ``reassessment-required`` when the
document is a certificate of origin on which a preference was granted (the importing
customs must look at the preference again; the trader's joint status says so), else
``document-withdrawn``. The joint status carries the summary (``summary``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlmodel import Session, col, select

from node.services.declarations import records
from node.services.declarations.states import DocumentPart
from node.storage.models import (
    DeclarationDocumentRecord,
    DeclarationEventRecord,
    DeclarationRecord,
    DocumentRecord,
    DocumentStatusRecord,
)
from protocol.timeutil import format_time

REQUIRED = "reassessment-required"
WITHDRAWN = "document-withdrawn"
_PREFERENCE_TYPES = frozenset({"certificate-of-origin"})


def _rests_on(link: DeclarationDocumentRecord, document: DocumentRecord,
              declaration: DeclarationRecord) -> bool:
    """True when the declaration's granted preference rests on this document."""
    preference = json.loads(declaration.preference) if declaration.preference else {}
    return (link.part == DocumentPart.CERTIFICATE.value
            and document.doc_type in _PREFERENCE_TYPES
            and bool(preference.get("claimed")) and preference.get("eligible") is True)


def flag(session: Session, status: DocumentStatusRecord, at: dt.datetime) -> list[str]:
    """Add the timeline entries for ``status``; return the ids of the declarations put up
    for reassessment (in the caller's transaction)."""
    rows = session.exec(
        select(DeclarationDocumentRecord, DocumentRecord, DeclarationRecord)
        .join(DocumentRecord, col(DocumentRecord.pk) == DeclarationDocumentRecord.document_pk)
        .join(DeclarationRecord,
              col(DeclarationRecord.pk) == DeclarationDocumentRecord.declaration_pk)
        .where(DocumentRecord.issuer == status.issuer,
               DocumentRecord.document_id == status.document_id,
               DocumentRecord.sha256 == status.document_sha256)
        .order_by(col(DeclarationRecord.pk))).all()
    flagged: list[str] = []
    details = {"documentId": status.document_id, "status": status.status,
               "effectiveAt": format_time(status.effective_at), "reason": status.reason,
               "replacementId": status.replacement_id}
    for link, document, declaration in rows:
        required = _rests_on(link, document, declaration)
        records.add_event(session, declaration, event=REQUIRED if required else WITHDRAWN,
                          by=f"issuer:{status.issuer}", at=at,
                          details={**details, "documentType": document.doc_type})
        if required:
            flagged.append(declaration.declaration_id)
    return flagged


def summary(events: list[DeclarationEventRecord]) -> dict[str, Any]:
    """The joint status's ``reassessment`` member: whether the preference must be looked at
    again, and the withdrawn documents behind it."""
    documents = []
    required = False
    for event in events:
        if event.event in (REQUIRED, WITHDRAWN):
            details = json.loads(event.details)
            required = required or event.event == REQUIRED
            documents.append({**details, "at": format_time(event.at),
                              "preferenceAffected": event.event == REQUIRED})
    return {"required": required, "documents": documents}
