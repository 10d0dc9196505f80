"""Operators: the registry (tables and graph), the outbox with dead letters and retry, the
audit log (search and verify), and API keys (list, create, revoke)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep
from node.console import queries
from node.console.registry_view import WARN_DAYS, agreement_rows, authority_rows, graph_svg
from node.console.web import ConsoleRoute, ViewerDep, form_text, read_form, redirect, render
from node.errors import NodeError, RequestError
from node.services.apikeys import Role, create_api_key, list_api_keys, revoke_api_key
from node.services.audit import append_event, verify_chain
from node.services.delivery import retry_message
from node.services.documents import require_role
from node.storage.database import read_session, storage_errors, write_session
from node.storage.models import OutboundMessageRecord
from protocol.reason_codes import ReasonCode
from protocol.timeutil import utc_now

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
OUTBOX_STATES = ("pending", "sending", "delivered", "failed", "dead", "retired")
Cursor = Annotated[int | None, Query(ge=0, le=2**62)]
Text = Annotated[str, Query(max_length=200)]


@router.get("/registry")
def registry_page(request: Request, ctx: ContextDep, viewer: ViewerDep) -> Response:
    """The registry in force: the graph, the authorities and the agreements."""
    require_role(viewer.principal, Role.OPERATOR)
    registry = ctx.registry.current()
    at = utc_now()
    return render(request, "registry.html", viewer=viewer, title="Registry",
                  registry=registry, graph=Markup(graph_svg(registry, at)),  # graph_svg escapes every text
                  authorities=authority_rows(registry, at),
                  agreements=agreement_rows(registry, at), warn_days=WARN_DAYS, at=at)


@router.get("/outbox")
def outbox(request: Request, ctx: ContextDep, viewer: ViewerDep,
           state: Annotated[str, Query(pattern="^(|pending|sending|delivered|failed|dead|"
                                                "retired)$")] = "",
           after: Cursor = None, done: Text = "") -> Response:
    """Outbound messages, newest first; dead letters can be sent again."""
    require_role(viewer.principal, Role.OPERATOR)
    with storage_errors(), read_session(ctx.engine) as session:
        query = select(OutboundMessageRecord)
        if state:
            query = query.where(OutboundMessageRecord.state == state)
        if after is not None:
            query = query.where(col(OutboundMessageRecord.pk) < after)
        rows = list(session.exec(query.order_by(col(OutboundMessageRecord.pk).desc())
                                 .limit(queries.PAGE + 1)).all())
    more = len(rows) > queries.PAGE
    rows = rows[:queries.PAGE]
    return render(request, "outbox.html", viewer=viewer, title="Outbox", rows=rows,
                  state=state, states=OUTBOX_STATES, done=done,
                  params={"state": state} if state else {},
                  next_cursor=rows[-1].pk if more and rows else None)


@router.post("/outbox/{message_id}/retry")
async def retry(request: Request, message_id: str, ctx: ContextDep,
                viewer: ViewerDep) -> Response:
    """Put a dead or failed message back in the queue (as ``POST /v1/outbox/{id}/retry``)."""
    require_role(viewer.principal, Role.OPERATOR)

    def _run() -> None:
        with storage_errors(), write_session(ctx.engine) as session:
            retry_message(ctx, session, message_id, viewer.principal.name, utc_now())
            session.commit()

    await run_in_threadpool(_run)
    return redirect(f"/outbox?done={message_id}")


@router.get("/audit")
def audit(request: Request, ctx: ContextDep, viewer: ViewerDep, event: Text = "",
          actor: Text = "", subject: Text = "",
          from_: Annotated[str, Query(alias="from", max_length=10)] = "",
          to: Annotated[str, Query(max_length=10)] = "", before: Cursor = None) -> Response:
    """Search the audit log."""
    filters = queries.AuditFilters(event=event.strip(), actor=actor.strip(),
                                   subject=subject.strip(), date_from=from_, date_to=to)
    with storage_errors(), read_session(ctx.engine) as session:
        page = queries.search_audit(session, viewer.principal, filters, before=before)
    rows = [(row, json.loads(row.details)) for row in page.rows]
    return render(request, "audit.html", viewer=viewer, title="Audit log", page=page,
                  rows=rows, filters=filters, verified=None)


@router.get("/audit/verify")
def audit_verify(request: Request, ctx: ContextDep, viewer: ViewerDep) -> Response:
    """Check the whole hash chain (as ``GET /v1/audit/verify``)."""
    require_role(viewer.principal, Role.OPERATOR)
    filters = queries.AuditFilters()
    with storage_errors(), read_session(ctx.engine) as session:
        verified: dict[str, object]
        try:
            verified = {"valid": True, "events": verify_chain(session)}
        except NodeError as error:
            if error.code is not ReasonCode.AUDIT_CHAIN_BROKEN:
                raise
            verified = {"valid": False, "brokenAt": error.context.get("seq"),
                        "message": error.message}
        page = queries.search_audit(session, viewer.principal, filters)
    rows = [(row, json.loads(row.details)) for row in page.rows]
    return render(request, "audit.html", viewer=viewer, title="Audit log", page=page,
                  rows=rows, filters=filters, verified=verified)


def _keys_page(request: Request, ctx: ContextDep, viewer: ViewerDep, *, status: int = 200,
               created: str | None = None, error: str | None = None,
               revoked: str = "") -> Response:
    with storage_errors(), read_session(ctx.engine) as session:
        keys = list_api_keys(session)
    return render(request, "keys.html", status=status, viewer=viewer, title="API keys",
                  keys=keys, roles=[role.value for role in Role], created=created, error=error,
                  revoked=revoked)


@router.get("/keys")
def keys_page(request: Request, ctx: ContextDep, viewer: ViewerDep,
              revoked: Text = "") -> Response:
    """The node's API keys (secrets are never stored, so never shown again)."""
    require_role(viewer.principal, Role.OPERATOR)
    return _keys_page(request, ctx, viewer, revoked=revoked)


@router.post("/keys")
async def create_key(request: Request, ctx: ContextDep, viewer: ViewerDep) -> Response:
    """Create a key and show it once, on this answer only (never in a URL)."""
    require_role(viewer.principal, Role.OPERATOR)
    form = await read_form(request)
    role_name, party = form_text(form, "role"), form_text(form, "party") or None
    label = form_text(form, "label")[:128] or None
    try:
        role = Role(role_name)
    except ValueError:
        return _keys_page(request, ctx, viewer, status=422, error="Choose a role.")
    at = utc_now()

    def _run() -> str:
        with storage_errors(), write_session(ctx.engine) as session:
            key = create_api_key(session, role=role, party=party, label=label, at=at)
            append_event(session, event="apikey.created", actor=viewer.principal.name,
                         subject=f"apikey:{key[3:].partition('.')[0]}",
                         details={"role": role.value, "party": party or ""}, at=at)
            session.commit()
            return key

    try:
        key = await run_in_threadpool(_run)
    except RequestError as error:
        return _keys_page(request, ctx, viewer, status=422, error=error.message)
    return _keys_page(request, ctx, viewer, created=key)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str, ctx: ContextDep,
                     viewer: ViewerDep) -> Response:
    """Revoke a key: refused from its next request on, and its console sessions end."""
    require_role(viewer.principal, Role.OPERATOR)
    at = utc_now()

    def _run() -> None:
        with storage_errors(), write_session(ctx.engine) as session:
            revoke_api_key(session, key_id, at)
            append_event(session, event="apikey.revoked", actor=viewer.principal.name,
                         subject=f"apikey:{key_id}", details={}, at=at)
            session.commit()

    await run_in_threadpool(_run)
    return redirect(f"/keys?revoked={key_id}")
