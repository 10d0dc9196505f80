"""``/v1/webhooks``: register, list and remove callback URLs (ADR 0031, docs/webhooks.md).

Any role may register; a trader's webhook gets only its party's events. Each caller sees
and removes its own webhooks; an operator sees and removes all.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep, IdPath, PrincipalDep, read_json, require_object
from node.api.models import WebhookCreate, WebhookCreated, WebhookList, WebhookView
from node.api.schemas import documented
from node.services import webhooks as service
from node.storage.database import read_session, storage_errors, write_session
from protocol.timeutil import utc_now

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=201, operation_id="registerWebhook",
             **documented(answer=WebhookCreated, status=201, body=WebhookCreate))
async def register(request: Request, ctx: ContextDep, principal: PrincipalDep) -> JSONResponse:
    """Register a callback URL: ``{"url": "https://…", "events": [...]?}``. The answer holds
    the signing ``secret``, shown only here."""
    body = require_object(await read_json(request, ctx), {"url", "events"}, {"url"})

    def _run() -> dict[str, Any]:
        with storage_errors(), write_session(ctx.engine) as session:
            created = service.register(session, principal, body, utc_now())
            session.commit()
            return created

    return JSONResponse(await run_in_threadpool(_run), status_code=201)


@router.get("", operation_id="listWebhooks", **documented(answer=WebhookList))
def list_webhooks(ctx: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    """The caller's webhooks (an operator: every webhook), without their secrets."""
    with storage_errors(), read_session(ctx.engine) as session:
        return {"webhooks": service.list_subscriptions(session, principal)}


@router.delete("/{webhook_id}", operation_id="removeWebhook", **documented(answer=WebhookView))
async def remove(webhook_id: IdPath, ctx: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    """Remove a webhook; notifications not yet sent are dropped."""

    def _run() -> dict[str, Any]:
        with storage_errors(), write_session(ctx.engine) as session:
            removed = service.remove(session, principal, webhook_id, utc_now())
            session.commit()
            return removed

    return await run_in_threadpool(_run)
