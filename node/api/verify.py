"""``POST /v1/verify``: verify any signed document and say whether this node recognises it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep, PrincipalDep, read_body
from node.api.models import VerifyResult
from node.api.schemas import GeneralJWSIn, documented
from node.services import lifecycle, trust
from node.storage.database import read_session
from protocol.timeutil import utc_now

router = APIRouter(prefix="/v1", tags=["verify"])


@router.post("/verify", operation_id="verifyDocument",
             **documented(answer=VerifyResult, body=GeneralJWSIn))
async def verify_document(request: Request, ctx: ContextDep,
                          principal: PrincipalDep) -> dict[str, Any]:
    """Body: a signed document (JWS JSON). Answer: the named checks (json, integrity, chain,
    schema, and codes and arithmetic as this node's validation profile runs them), the
    profile, the reason codes, ``recognition`` as this node would decide it now, and the
    document's ``status`` as this node knows it (a revocation or replacement in effect now
    makes it invalid: DOCUMENT_REVOKED, DOCUMENT_REPLACED)."""
    body = await read_body(request, ctx.limits.max_document_bytes)

    def _run() -> dict[str, Any]:
        now = utc_now()
        report = trust.verify_and_recognise(
            body, registry=ctx.registry.current(), receiver=ctx.authority_id, at=now,
            schemas=ctx.schemas, limits=ctx.limits, profile=ctx.profile, content=ctx.content)
        with read_session(ctx.engine) as session:
            return lifecycle.with_status(ctx, session, report, now)

    return await run_in_threadpool(_run)
