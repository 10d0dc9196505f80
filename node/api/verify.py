"""``POST /v1/verify``: verify any signed document and say whether this node recognises it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep, PrincipalDep, read_body
from node.api.models import VerifyResult
from node.api.schemas import GeneralJWSIn, documented
from node.services import trust
from protocol.timeutil import utc_now

router = APIRouter(prefix="/v1", tags=["verify"])


@router.post("/verify", operation_id="verifyDocument",
             **documented(answer=VerifyResult, body=GeneralJWSIn))
async def verify_document(request: Request, ctx: ContextDep,
                          principal: PrincipalDep) -> dict[str, Any]:
    """Body: a signed document (JWS JSON). Answer: the named checks (json, integrity, chain,
    schema, and codes and arithmetic as this node's validation profile runs them), the
    profile, the reason codes, and ``recognition`` as this node would decide it now."""
    body = await read_body(request, ctx.limits.max_document_bytes)

    def _run() -> dict[str, Any]:
        return trust.verify_and_recognise(
            body, registry=ctx.registry.current(), receiver=ctx.authority_id, at=utc_now(),
            schemas=ctx.schemas, limits=ctx.limits, profile=ctx.profile, content=ctx.content)

    return await run_in_threadpool(_run)
