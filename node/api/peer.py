"""The peer endpoint and the node's public description.

``POST /v1/peer/envelopes`` takes a signed envelope from a peer node and answers with a
signed receipt (200). The same message again answers with the same receipt. Refusals are
4xx with a reason code, and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep, read_body
from node.api.models import NodeDescription, SignedDocument
from node.api.schemas import GeneralJWSIn, documented
from node.services.receiving import receive_envelope
from protocol.certificates import certificate_to_pem
from protocol.errors import CodedError
from protocol.timeutil import utc_now

router = APIRouter(tags=["peer"])


@router.post("/v1/peer/envelopes", operation_id="receiveEnvelope",
             **documented(answer=SignedDocument, body=GeneralJWSIn,
                          description="The signed receipt (JWS JSON)"))
async def receive(request: Request, ctx: ContextDep) -> Response:
    """Receive a signed envelope from a peer node; answer with a signed receipt."""
    try:
        body = await read_body(request, ctx.limits.max_envelope_bytes)
        result = await run_in_threadpool(receive_envelope, ctx, body, utc_now())
    except CodedError as exc:
        ctx.metrics.envelopes_refused.labels(code=exc.code.value).inc()
        raise
    return Response(result.receipt, media_type="application/json",
                    headers={"TradeAccord-Duplicate": "true" if result.duplicate else "false"})


@router.get("/.well-known/tradeaccord", operation_id="describeNode", tags=["operations"],
            **documented(answer=NodeDescription))
def describe(ctx: ContextDep) -> dict[str, Any]:
    """The node's authority id, certificates and endpoints (public)."""
    authority = ctx.authority
    return {
        "authorityId": authority.authority_id,
        "country": authority.country,
        "name": authority.name,
        "roles": list(authority.roles),
        "protocolVersion": "1.0",
        "endpoints": {"peer": "/v1/peer/envelopes", "api": "/v1", "openapi": "/openapi.json"},
        "certificates": {
            "root": certificate_to_pem(authority.root_certificate).decode("ascii"),
            "node": certificate_to_pem(authority.node_certificate).decode("ascii"),
            "documentSigner": certificate_to_pem(authority.signer_certificate).decode("ascii"),
        },
    }
