"""``/v1/negotiations``: agreements negotiated node to node (operators), and the signed
registry snapshot every node publishes at ``/.well-known/tradeaccord/registry``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep, IdPath, PrincipalDep, read_json
from node.api.lifecycle_schemas import (
    DeclineRequest,
    NegotiatedStatus,
    NegotiatedStatusRequest,
    NegotiationList,
    NegotiationView,
    RegistrySnapshot,
    parse_body,
)
from node.api.models import ProposeRequest
from node.api.registry import agreement_from_request
from node.api.schemas import documented
from node.context import NodeContext
from node.errors import RequestError
from node.services import negotiation as service
from node.services.apikeys import Role
from node.services.documents import require_role
from node.storage.database import read_session, storage_errors, write_session
from protocol.reason_codes import ReasonCode
from protocol.timeutil import parse_time, utc_now
from trust_registry import AgreementStatus, TrustRegistry

router = APIRouter(tags=["negotiations"])
SNAPSHOT_TTL = dt.timedelta(hours=24)


def _commit(ctx: NodeContext, run: Any) -> Any:
    """Run ``run(session)`` → (answer, installed registry or None) and commit."""
    with storage_errors(), write_session(ctx.engine) as session:
        answer, installed = run(session)
        session.commit()
    if installed is not None:
        ctx.registry.after_commit(installed)
    return answer


@router.post("/v1/negotiations", operation_id="proposeNegotiation", status_code=201,
             **documented(answer=NegotiationView, status=201, body=ProposeRequest))
async def propose(request: Request, ctx: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    """Operator: propose an agreement to the partner's node (signed with this root; body as
    ``POST /v1/registry/agreements/propose``); the partner's operator answers."""
    require_role(principal, Role.OPERATOR)
    body = parse_body(ProposeRequest, await read_json(request, ctx))
    at = utc_now()
    agreement = agreement_from_request(body.model_dump(exclude_none=True), ctx.authority_id, at)

    def _run() -> Any:
        return _commit(ctx, lambda session: (lambda r: (service.view(r[0]), r[1]))(
            service.propose(ctx, session, principal, agreement, at)))

    result: dict[str, Any] = await run_in_threadpool(_run)
    return result


@router.get("/v1/negotiations", operation_id="listNegotiations",
            **documented(answer=NegotiationList))
def listing(ctx: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    """Operator: negotiations proposed here or received, newest first."""
    with storage_errors(), read_session(ctx.engine) as session:
        return {"negotiations": [service.view(r) for r in service.listing(session, principal)]}


@router.get("/v1/negotiations/{agreement_id}", operation_id="getNegotiation",
            **documented(answer=NegotiationView))
def show(agreement_id: IdPath, ctx: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    """Operator: one negotiation with the signed proposal (and agreement)."""
    with storage_errors(), read_session(ctx.engine) as session:
        return service.view(service.get(session, principal, agreement_id))


@router.post("/v1/negotiations/{agreement_id}/countersign",
             operation_id="countersignNegotiation", **documented(answer=NegotiationView))
async def countersign(agreement_id: IdPath, ctx: ContextDep,
                      principal: PrincipalDep) -> dict[str, Any]:
    """Operator: countersign a received proposal; in force at both nodes."""
    at = utc_now()

    def _run() -> Any:
        return _commit(ctx, lambda session: (lambda r: (service.view(r[0]), r[1]))(
            service.countersign(ctx, session, principal, agreement_id, at)))

    result: dict[str, Any] = await run_in_threadpool(_run)
    return result


@router.post("/v1/negotiations/{agreement_id}/decline", operation_id="declineNegotiation",
             **documented(answer=NegotiationView, body=DeclineRequest))
async def decline(agreement_id: IdPath, request: Request, ctx: ContextDep,
                  principal: PrincipalDep) -> dict[str, Any]:
    """Operator: decline a received proposal: ``{"reason": "…"}``."""
    require_role(principal, Role.OPERATOR)
    body = parse_body(DeclineRequest, await read_json(request, ctx))
    at = utc_now()

    def _run() -> Any:
        return _commit(ctx, lambda session: (service.view(service.decline(
            ctx, session, principal, agreement_id, body.reason, at)), None))

    result: dict[str, Any] = await run_in_threadpool(_run)
    return result


@router.post("/v1/negotiations/{agreement_id}/status", operation_id="changeNegotiatedStatus",
             **documented(answer=NegotiatedStatus, body=NegotiatedStatusRequest))
async def change_status(agreement_id: IdPath, request: Request, ctx: ContextDep,
                        principal: PrincipalDep) -> dict[str, Any]:
    """Operator: suspend, resume or terminate an agreement here and at the partner's node:
    ``{"status": "suspended"|"in-force"|"terminated", "effectiveAt"?, "reason"?}``."""
    require_role(principal, Role.OPERATOR)
    body = parse_body(NegotiatedStatusRequest, await read_json(request, ctx))
    at = utc_now()
    try:
        status = AgreementStatus(body.status)
        effective = parse_time(body.effectiveAt) if body.effectiveAt else at
    except (ValueError, TypeError) as exc:
        raise RequestError(ReasonCode.REQUEST_INVALID, str(exc)) from exc
    reason = body.reason or ""

    def _run() -> Any:
        return _commit(ctx, lambda session: ({"agreementId": agreement_id,
                                              "status": status.value},
                                             service.change_status(ctx, session, principal,
                                                                   agreement_id, status,
                                                                   effective, reason, at)))

    result: dict[str, Any] = await run_in_threadpool(_run)
    return result


@router.get("/.well-known/tradeaccord/registry", operation_id="publishRegistry",
            **documented(answer=RegistrySnapshot))
def publish_registry(ctx: ContextDep) -> Response:
    """The registry this node holds, as a snapshot signed by its root (public; valid for 24
    hours), so that partners can compare what each side believes."""
    registry: TrustRegistry = ctx.registry.current()
    now = utc_now()
    snapshot = registry.export_snapshot(ctx.authority.root_signer(ctx.settings.passphrase_bytes()),
                                        at=now, expires_at=now + SNAPSHOT_TTL)
    return Response(snapshot.to_json(), media_type="application/json")

