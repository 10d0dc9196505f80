"""Reading and writing declaration rows: lookups, timeline events, document links, states.

Shared by the exporting and importing sides; every function works in the caller's
transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session, col, select

from node.errors import NotFoundError
from node.services.apikeys import Principal, Role
from node.services.audit import append_event
from node.services.declarations.states import (
    DeclarationSide,
    DeclarationState,
    DocumentPart,
    Step,
    next_state,
)
from node.storage.models import (
    DeclarationDocumentRecord,
    DeclarationEventRecord,
    DeclarationRecord,
    DocumentRecord,
)
from protocol.reason_codes import ReasonCode


def visible(record: DeclarationRecord, principal: Principal) -> bool:
    """Officers see every declaration; a trader only those naming its party."""
    if principal.role is Role.OFFICER:
        return True
    if principal.role is Role.TRADER:
        return principal.party in json.loads(record.parties)
    return False


def for_update(session: Session, query: Any) -> Any:
    """Lock the selected rows on PostgreSQL (SQLite's write transaction already does)."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update()
    return query


def find(session: Session, *, side: DeclarationSide, declaration_id: str,
         exporting_authority: str | None = None, lock: bool = False) -> DeclarationRecord | None:
    """The declaration of this side with this id (and exporter, when given)."""
    query = select(DeclarationRecord).where(DeclarationRecord.side == side.value,
                                            DeclarationRecord.declaration_id == declaration_id)
    if exporting_authority is not None:
        query = query.where(DeclarationRecord.exporting_authority == exporting_authority)
    if lock:
        query = for_update(session, query)
    return session.exec(query.order_by(col(DeclarationRecord.pk).desc())).first()


def get_visible(session: Session, principal: Principal, declaration_id: str, *,
                lock: bool = False) -> DeclarationRecord:
    """The newest declaration with this id that the principal may see, or NOT_FOUND."""
    query = select(DeclarationRecord).where(DeclarationRecord.declaration_id == declaration_id)
    if lock:
        query = for_update(session, query)
    for record in session.exec(query.order_by(col(DeclarationRecord.pk).desc())).all():
        if visible(record, principal):
            return record
    raise NotFoundError(ReasonCode.NOT_FOUND, f"no declaration {declaration_id} visible to you")


def move(session: Session, record: DeclarationRecord, step: Step, at: dt.datetime) -> None:
    """Apply ``step`` to the record's state (``STATE_INVALID`` when not an edge)."""
    current = DeclarationState(record.state) if record.state else None
    record.state = next_state(current, step).value
    record.updated_at = at
    session.add(record)


def add_event(session: Session, record: DeclarationRecord, *, event: str, by: str,
              at: dt.datetime, details: Mapping[str, Any] | None = None,
              audit: bool = True) -> None:
    """Add a timeline entry (and, unless told otherwise, the matching audit event)."""
    session.add(DeclarationEventRecord(declaration_pk=record.pk or 0, at=at, event=event, by=by,
                                       details=json.dumps(dict(details or {}))))
    if audit:
        append_event(session, event=f"declaration.{event}", actor=by,
                     subject=f"declaration:{record.declaration_id}",
                     details={"side": record.side, "state": record.state, **(details or {})},
                     at=at)


def link(session: Session, record: DeclarationRecord, document: DocumentRecord,
         part: DocumentPart, position: int, recognition: Mapping[str, Any] | None = None
         ) -> None:
    """Link a stored document to the declaration (once)."""
    existing = session.exec(select(DeclarationDocumentRecord).where(
        DeclarationDocumentRecord.declaration_pk == record.pk,
        DeclarationDocumentRecord.document_pk == document.pk)).first()
    if existing is not None:
        return
    session.add(DeclarationDocumentRecord(
        declaration_pk=record.pk or 0, document_pk=document.pk or 0, part=part.value,
        position=position, recognition=json.dumps(dict(recognition or {}))))


def documents_of(session: Session, record: DeclarationRecord
                 ) -> list[tuple[DeclarationDocumentRecord, DocumentRecord]]:
    """The declaration's documents in their order."""
    rows = session.exec(
        select(DeclarationDocumentRecord, DocumentRecord)
        .join(DocumentRecord, col(DocumentRecord.pk) == DeclarationDocumentRecord.document_pk)
        .where(DeclarationDocumentRecord.declaration_pk == record.pk)
        .order_by(col(DeclarationDocumentRecord.position), col(DeclarationDocumentRecord.pk))
    ).all()
    return [(link_row, document) for link_row, document in rows]


def events_of(session: Session, record: DeclarationRecord) -> list[DeclarationEventRecord]:
    """The timeline in the order this node learned of each event (each entry keeps the time
    it happened, by the clock of the node that reports it)."""
    return list(session.exec(select(DeclarationEventRecord).where(
        DeclarationEventRecord.declaration_pk == record.pk).order_by(
            col(DeclarationEventRecord.pk))).all())


def codes(values: Sequence[ReasonCode | str]) -> str:
    """Reason codes as stored (a JSON array of strings, without repeats)."""
    return json.dumps(list(dict.fromkeys(str(value) for value in values)))
