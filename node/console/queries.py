"""The console's searches over stored documents, declarations and the audit log.

Each search applies the same visibility as the API's lists (``node.services.documents``:
officers see every document, a trader only those naming its party, operators none) and
pages by the ``cursor`` (primary key or audit sequence) of the last row shown, newest first.
Filters come from query strings, so each is checked here and refused with REQUEST_INVALID.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from node.errors import RequestError
from node.services.apikeys import Principal, Role
from node.services.documents import require_role, visible
from node.storage.models import AuditEventRecord, DocumentRecord
from protocol.reason_codes import ReasonCode

OUTCOMES = ("accepted", "rejected", "held-for-review")
PAGE = 50
T = TypeVar("T")


def parse_day(value: str | None, name: str) -> dt.date | None:
    """``YYYY-MM-DD`` from a filter, or None when empty."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"{name} must be a date like 2026-11-30") from None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class DocumentFilters:
    """The filters of the inbox and the document list (empty strings: no filter)."""

    direction: str = ""
    doc_type: str = ""
    issuer: str = ""
    party: str = ""
    outcome: str = ""
    date_from: str = ""
    date_to: str = ""
    reference: str = ""

    def check(self) -> None:
        if self.direction not in ("", "inbound", "outbound"):
            raise RequestError(ReasonCode.REQUEST_INVALID, "direction is inbound or outbound")
        if self.outcome not in ("", *OUTCOMES):
            raise RequestError(ReasonCode.REQUEST_INVALID,
                               f"outcome is one of {', '.join(OUTCOMES)}")
        for name, value in vars_of(self).items():
            if len(value) > 200:
                raise RequestError(ReasonCode.REQUEST_INVALID, f"{name} is too long")

    def params(self, exclude: tuple[str, ...] = ()) -> dict[str, str]:
        """The non-empty filters under their query-string names, for the next page's link."""
        return {_PARAM.get(name, name): value for name, value in vars_of(self).items()
                if value and name not in exclude}


_PARAM = {"doc_type": "type", "date_from": "from", "date_to": "to", "reference": "ref"}


def vars_of(filters: DocumentFilters) -> dict[str, str]:
    return {name: getattr(filters, name) for name in DocumentFilters.__slots__}


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of rows and the cursor of the next page (None: this is the last)."""

    rows: list[T]
    next_cursor: int | None


def _bounded(query: SelectOfScalar[Any], limit: int) -> SelectOfScalar[Any]:
    return query.limit(limit + 1)


def search_documents(session: Session, principal: Principal, filters: DocumentFilters, *,
                     after: int | None = None, limit: int = PAGE) -> Page[DocumentRecord]:
    """Documents visible to ``principal`` matching ``filters``, newest first."""
    require_role(principal, Role.TRADER, Role.OFFICER)
    filters.check()
    query = select(DocumentRecord)
    if filters.direction:
        query = query.where(DocumentRecord.direction == filters.direction)
    if filters.doc_type:
        query = query.where(DocumentRecord.doc_type == filters.doc_type)
    if filters.issuer:
        query = query.where(DocumentRecord.issuer == filters.issuer)
    if filters.party:
        query = query.where(col(DocumentRecord.parties).contains(json.dumps(filters.party),
                                                                 autoescape=True))
    if filters.outcome:
        query = query.where(DocumentRecord.outcome == filters.outcome)
    start = parse_day(filters.date_from, "from")
    end = parse_day(filters.date_to, "to")
    if start is not None:
        query = query.where(col(DocumentRecord.created_at) >= _day_start(start))
    if end is not None:
        query = query.where(col(DocumentRecord.created_at) <
                            _day_start(end) + dt.timedelta(days=1))
    if filters.reference:
        term = filters.reference.strip()
        query = query.where(or_(
            col(DocumentRecord.document_id) == term,
            func.lower(col(DocumentRecord.reference_numbers)).contains(term.lower(),
                                                                       autoescape=True)))
    if after is not None:
        query = query.where(col(DocumentRecord.pk) < after)
    if principal.role is Role.TRADER:
        query = query.where(col(DocumentRecord.parties).contains(json.dumps(principal.party),
                                                                 autoescape=True))
    rows = list(session.exec(_bounded(query.order_by(col(DocumentRecord.pk).desc()),
                                      limit)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([row for row in rows if visible(row, principal)],
                rows[-1].pk if more and rows else None)


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """The audit log search: event name prefix, actor, subject text, days."""

    event: str = ""
    actor: str = ""
    subject: str = ""
    date_from: str = ""
    date_to: str = ""

    def params(self) -> dict[str, str]:
        """The non-empty filters under their query-string names."""
        return {_PARAM.get(name, name): getattr(self, name) for name in AuditFilters.__slots__
                if getattr(self, name)}


def search_audit(session: Session, principal: Principal, filters: AuditFilters, *,
                 before: int | None = None, limit: int = PAGE) -> Page[AuditEventRecord]:
    """Audit events matching ``filters`` (operators only), newest first."""
    require_role(principal, Role.OPERATOR)
    query = select(AuditEventRecord)
    if filters.event:
        query = query.where(col(AuditEventRecord.event).startswith(filters.event,
                                                                   autoescape=True))
    if filters.actor:
        query = query.where(col(AuditEventRecord.actor).contains(filters.actor,
                                                                 autoescape=True))
    if filters.subject:
        query = query.where(col(AuditEventRecord.subject).contains(filters.subject,
                                                                   autoescape=True))
    start = parse_day(filters.date_from, "from")
    end = parse_day(filters.date_to, "to")
    if start is not None:
        query = query.where(col(AuditEventRecord.at) >= _day_start(start))
    if end is not None:
        query = query.where(col(AuditEventRecord.at) < _day_start(end) + dt.timedelta(days=1))
    if before is not None:
        query = query.where(col(AuditEventRecord.seq) < before)
    rows = list(session.exec(_bounded(query.order_by(col(AuditEventRecord.seq).desc()),
                                      limit)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].seq if more and rows else None)
