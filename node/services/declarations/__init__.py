"""Single declaration, bilateral clearance: the flow's service (no HTTP here).

- ``package``: the declaration package a trader submits once (format and parsing).
- ``states``: the state machine, decisions, document parts (pure).
- ``exporting``: submission, reference checks, reconciliation, export clearance,
  forwarding, and the importing customs' decision coming back.
- ``importing``: import clearance of a forwarded declaration.
- ``decisions``: signed ``clearance-decision`` documents.
- ``records``: declaration rows, timeline, document links.
- ``views``: the joint status.

The functions below are what the API and the CLI call.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from node.context import NodeContext
from node.errors import RequestError
from node.services.apikeys import Principal, Role
from node.services.declarations import exporting, importing, records, views
from node.services.declarations.package import PACKAGE_FORMAT, DeclarationPackage
from node.services.declarations.states import Decision, DeclarationSide, DeclarationState
from node.services.documents import require_role
from node.storage.database import write_session
from node.storage.models import DeclarationRecord
from protocol.reason_codes import ReasonCode

__all__ = ["PACKAGE_FORMAT", "Decision", "DeclarationPackage", "DeclarationSide",
           "DeclarationState", "list_declarations", "review", "status", "submit"]

_MAX_REASON = 2000


def submit(ctx: NodeContext, principal: Principal, package: DeclarationPackage,
           to: str | None, at: dt.datetime) -> DeclarationRecord:
    """Submit a package at this (exporting) node; see ``exporting.submit``."""
    return exporting.submit(ctx, principal, package, to, at)


def status(session: Session, principal: Principal, declaration_id: str) -> dict[str, Any]:
    """The joint status of a declaration visible to the principal (else NOT_FOUND)."""
    require_role(principal, Role.TRADER, Role.OFFICER)
    return views.joint_status(session, records.get_visible(session, principal, declaration_id))


def list_declarations(session: Session, principal: Principal, *, limit: int,
                      after: int | None = None, state: DeclarationState | None = None,
                      side: DeclarationSide | None = None) -> list[DeclarationRecord]:
    """Declarations visible to the principal, newest first; ``after`` is the ``cursor`` of the
    last one of the previous page."""
    require_role(principal, Role.TRADER, Role.OFFICER)
    query = select(DeclarationRecord)
    if state is not None:
        query = query.where(DeclarationRecord.state == state.value)
    if side is not None:
        query = query.where(DeclarationRecord.side == side.value)
    if after is not None:
        query = query.where(col(DeclarationRecord.pk) < after)
    if principal.role is Role.TRADER:
        query = query.where(col(DeclarationRecord.parties).contains(f'"{principal.party}"'))
    rows = session.exec(query.order_by(col(DeclarationRecord.pk).desc()).limit(limit)).all()
    return [row for row in rows if records.visible(row, principal)]


def review(ctx: NodeContext, principal: Principal, declaration_id: str, *, release: bool,
           reason: str, at: dt.datetime) -> dict[str, Any]:
    """An officer releases or rejects a held declaration, at either node; returns the joint
    status. The reason is required, recorded in the signed decision and the audit log."""
    require_role(principal, Role.OFFICER)
    if not isinstance(reason, str) or not reason.strip():
        raise RequestError(ReasonCode.REQUEST_INVALID, "give the reason for the decision "
                           "(it is recorded in the signed decision and reaches the trader)")
    if len(reason) > _MAX_REASON:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"the reason holds at most {_MAX_REASON} characters")
    with write_session(ctx.engine) as session:
        record = records.get_visible(session, principal, declaration_id, lock=True)
        if record.side == DeclarationSide.EXPORT.value:
            exporting.review(ctx, session, principal, record, release=release,
                             reason=reason.strip(), at=at)
        else:
            importing.review(ctx, session, principal, record, release=release,
                             reason=reason.strip(), at=at)
        session.flush()
        result = views.joint_status(session, record)
        session.commit()
    return result
