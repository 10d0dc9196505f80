"""``/v1/outbox`` (operators): outbound messages, their states, and dead-letter retry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep, IdPath, PrincipalDep
from node.api.models import AuditVerification, OutboxList, OutboxMessage
from node.api.schemas import documented
from node.errors import NodeError
from node.services.apikeys import Role
from node.services.audit import verify_chain
from node.services.delivery import dead_letter_at, retry_message
from node.services.documents import require_role
from node.settings import Settings
from node.storage.database import read_session, storage_errors, write_session
from node.storage.models import OutboundMessageRecord
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time, utc_now

router = APIRouter(prefix="/v1", tags=["operations"])


def _message_view(row: OutboundMessageRecord, settings: Settings) -> dict[str, Any]:
    dead_at = dead_letter_at(row, settings) if row.state in ("pending", "sending") else None
    return {
        "messageId": row.message_id,
        "kind": row.kind,
        "to": row.peer,
        "state": row.state,
        "attempts": row.attempts,
        "nextAttemptAt": format_time(row.next_attempt_at),
        "lastError": row.last_error,
        "createdAt": format_time(row.created_at),
        "expiresAt": format_time(row.expires_at),
        # When it goes dead if still undelivered (null once it left the queue).
        "deadLetterAt": format_time(dead_at) if dead_at else None,
        "deliveredAt": format_time(row.delivered_at) if row.delivered_at else None,
    }


@router.get("/outbox", operation_id="listOutbox", **documented(answer=OutboxList))
def list_outbox(ctx: ContextDep, principal: PrincipalDep,
                state: Annotated[str | None, Query(
                    pattern="^(pending|sending|delivered|failed|dead|retired)$")] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Outbound messages, newest first."""
    require_role(principal, Role.OPERATOR)
    with storage_errors(), read_session(ctx.engine) as session:
        query = select(OutboundMessageRecord)
        if state:
            query = query.where(OutboundMessageRecord.state == state)
        rows = session.exec(query.order_by(col(OutboundMessageRecord.pk).desc())
                            .limit(limit)).all()
        return {"messages": [_message_view(row, ctx.settings) for row in rows]}


@router.post("/outbox/{message_id}/retry", operation_id="retryMessage",
             **documented(answer=OutboxMessage))
async def retry(message_id: IdPath, ctx: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    """Put a dead or failed message back in the queue."""
    require_role(principal, Role.OPERATOR)

    def _run() -> dict[str, Any]:
        with storage_errors(), write_session(ctx.engine) as session:
            row = retry_message(ctx, session, message_id, principal.name, utc_now())
            view = _message_view(row, ctx.settings)
            session.commit()
            return view

    return await run_in_threadpool(_run)


@router.get("/audit/verify", operation_id="verifyAuditLog",
            **documented(answer=AuditVerification))
def verify_audit(ctx: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    """Check the audit log's hash chain: ``{"valid": true, "events": n}``, or
    ``{"valid": false, "code": "AUDIT_CHAIN_BROKEN", "brokenAt": seq, "message"}``."""
    require_role(principal, Role.OPERATOR)
    with storage_errors(), read_session(ctx.engine) as session:
        try:
            return {"valid": True, "events": verify_chain(session)}
        except NodeError as error:
            if error.code is not ReasonCode.AUDIT_CHAIN_BROKEN:
                raise
            return {"valid": False, "code": error.code.value,
                    "brokenAt": error.context.get("seq"), "message": error.message}
