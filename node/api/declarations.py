"""``/v1/declarations``: single declaration, bilateral clearance.

Traders submit a package once at the exporting customs node and follow the joint status;
officers at either node release or reject a held declaration with a reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep, PrincipalDep, read_json, require_object
from node.api.schemas import (
    DeclarationList,
    DeclarationPackage,
    DeclarationStatus,
    ReviewRequest,
    request_body,
)
from node.services import declarations as service
from node.services.declarations import views
from node.services.declarations.states import DeclarationSide, DeclarationState
from node.storage.database import read_session, storage_errors
from protocol.timeutil import utc_now

router = APIRouter(prefix="/v1/declarations", tags=["declarations"])

BODY_MODELS = (DeclarationPackage, ReviewRequest)
_AUTHORITY = r"^[A-Z]{2}-[A-Z0-9]+(-[A-Z0-9]+)*$"


@router.post("", status_code=201, operation_id="submitDeclaration",
             response_model=DeclarationStatus,
             openapi_extra=request_body(DeclarationPackage))
async def submit(request: Request, ctx: ContextDep, principal: PrincipalDep,
                 to: Annotated[str | None, Query(pattern=_AUTHORITY, description=(
                     "The importing customs authority (or importingAuthority in the "
                     "package)"))] = None) -> JSONResponse:
    """Submit a declaration package once at the exporting customs: the documents are
    signed or verified, references checked, the package reconciled and cleared for export
    (released: forwarded at once; held: an officer decides). Answers the joint status."""
    limit = ctx.limits.max_envelope_bytes
    data = await read_json(request, ctx, limit)
    package = service.DeclarationPackage.from_dict(
        data, limits=ctx.limits, max_documents=ctx.limits.max_documents_per_envelope - 2)

    def _run() -> dict[str, Any]:
        with storage_errors():
            record = service.submit(ctx, principal, package, to, utc_now())
            with read_session(ctx.engine) as session:
                return views.joint_status(session, record)

    return JSONResponse(await run_in_threadpool(_run), status_code=201)


@router.get("", operation_id="listDeclarations", response_model=DeclarationList)
def list_declarations(ctx: ContextDep, principal: PrincipalDep,
                      state: DeclarationState | None = None,
                      side: DeclarationSide | None = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100,
                      after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
                      ) -> dict[str, Any]:
    """Declarations visible to the caller (a trader: those naming its party), newest first."""
    with storage_errors(), read_session(ctx.engine) as session:
        rows = service.list_declarations(session, principal, limit=limit, after=after,
                                         state=state, side=side)
        return {"declarations": [views.summary(row) for row in rows]}


@router.get("/{declaration_id}", operation_id="getDeclaration", response_model=DeclarationStatus)
def get_declaration(declaration_id: str, ctx: ContextDep,
                    principal: PrincipalDep) -> dict[str, Any]:
    """The joint status: both decisions with reasons and findings, the forwarding, the
    preference outcome, the documents and the timeline."""
    with storage_errors(), read_session(ctx.engine) as session:
        return service.status(session, principal, declaration_id)


async def _review(declaration_id: str, request: Request, ctx: ContextDep,
                  principal: PrincipalDep, release: bool) -> dict[str, Any]:
    body = require_object(await read_json(request, ctx), {"reason"}, {"reason"})

    def _run() -> dict[str, Any]:
        with storage_errors():
            return service.review(ctx, principal, declaration_id, release=release,
                                  reason=body["reason"], at=utc_now())

    return await run_in_threadpool(_run)


@router.post("/{declaration_id}/release", operation_id="releaseDeclaration",
             response_model=DeclarationStatus, openapi_extra=request_body(ReviewRequest))
async def release(declaration_id: str, request: Request, ctx: ContextDep,
                  principal: PrincipalDep) -> dict[str, Any]:
    """Officer: release a declaration held at this node (export: it is forwarded then;
    import: the signed decision goes back to the exporting customs)."""
    return await _review(declaration_id, request, ctx, principal, release=True)


@router.post("/{declaration_id}/reject", operation_id="rejectDeclaration",
             response_model=DeclarationStatus, openapi_extra=request_body(ReviewRequest))
async def reject(declaration_id: str, request: Request, ctx: ContextDep,
                 principal: PrincipalDep) -> dict[str, Any]:
    """Officer: reject a declaration held at this node, with the reason."""
    return await _review(declaration_id, request, ctx, principal, release=False)
