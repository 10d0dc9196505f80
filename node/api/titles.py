"""``/v1/titles``: transferable records (electronic bills of lading) at this node.

The carrier's node issues; the holder (a trader key whose party holds the title) transfers,
endorses, blank-endorses and surrenders; the carrier's officer accepts or rejects a
surrender. Reads verify the whole chain. Refusals carry their TITLE_* reason code and leave
storage unchanged (``node.services.titles``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep, IdPath, PrincipalDep, read_json
from node.api.schemas import documented, request_body
from node.api.title_schemas import (
    BODY_MODELS,
    TitleIssueRequest,
    TitleList,
    TitleRecordExport,
    TitleRejectRequest,
    TitleTransferRequest,
    TitleView,
)
from node.errors import RequestError
from node.services import titles as service
from node.services.apikeys import Role
from node.services.documents import require_role
from node.storage.database import read_session, storage_errors
from protocol.canonical import canonicalize
from protocol.reason_codes import ReasonCode
from protocol.timeutil import utc_now

__all__ = ["BODY_MODELS", "router"]

router = APIRouter(prefix="/v1/titles", tags=["titles"])
ModelT = TypeVar("ModelT", bound=BaseModel)


class ExportFormat(StrEnum):
    TRADEACCORD = "tradeaccord"
    DCSA_EBL_3 = "dcsa-ebl-3"


def _parse(model: type[ModelT], data: Any) -> ModelT:
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(part) for part in first.get("loc", ()))
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"{where}: {first.get('msg', 'invalid')}") from exc


def _view(ctx: ContextDep, principal: PrincipalDep, record_id: str) -> dict[str, Any]:
    now = utc_now()
    with storage_errors(), read_session(ctx.engine) as session:
        row = service.visible_row(session, principal, record_id)
        return service.summary(ctx, session, row, now)


@router.post("", status_code=201, operation_id="issueTitle", response_model=TitleView,
             response_model_by_alias=True, openapi_extra=request_body(TitleIssueRequest))
async def issue(request: Request, ctx: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    """The carrier's node signs the bill and its issuance entry naming the first holder
    (this node must hold the ``transferable-records`` role; the bill's
    ``transportDocumentReference`` is unique per issuer)."""
    body = _parse(TitleIssueRequest, await read_json(request, ctx))

    def _run() -> dict[str, Any]:
        with storage_errors():
            row = service.issue(ctx, principal, body.bill, body.holder, utc_now())
        return _view(ctx, principal, row.record_id)

    return await run_in_threadpool(_run)


@router.get("", operation_id="listTitles", response_model=TitleList)
def list_titles(ctx: ContextDep, principal: PrincipalDep,
                status: service.TitleNodeState | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Records visible to the caller (a trader: those naming its party), newest first."""
    require_role(principal, Role.TRADER, Role.OFFICER)
    with storage_errors(), read_session(ctx.engine) as session:
        rows = service.list_rows(session, principal, limit=limit, state=status)
        return {"titles": [service.brief(row) for row in rows]}


@router.get("/{record_id}", operation_id="getTitle", response_model=TitleView,
            response_model_by_alias=True)
def get_title(record_id: IdPath, ctx: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    """The record: status at this node, holder, custodian, control registry and history."""
    require_role(principal, Role.TRADER, Role.OFFICER)
    return _view(ctx, principal, record_id)


async def _act(record_id: str, request: Request | None, ctx: ContextDep,
               principal: PrincipalDep, operation: service.TitleOperation) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if operation is service.TitleOperation.TRANSFER:
        assert request is not None
        body = _parse(TitleTransferRequest, await read_json(request, ctx))
        if body.endorse:
            operation = service.TitleOperation.ENDORSE
        options = {"to_party": body.toParty, "to_authority": body.toAuthority}
    elif operation is service.TitleOperation.REJECT_SURRENDER and request is not None:
        raw = await request.body()
        if raw.strip():
            options = {"reason": _parse(TitleRejectRequest, await read_json(request, ctx)).reason}

    def _run() -> dict[str, Any]:
        with storage_errors():
            service.act(ctx, principal, record_id, operation, at=utc_now(), **options)
        return _view(ctx, principal, record_id)

    return await run_in_threadpool(_run)


@router.post("/{record_id}/transfer", operation_id="transferTitle", response_model=TitleView,
             response_model_by_alias=True, openapi_extra=request_body(TitleTransferRequest))
async def transfer(record_id: IdPath, request: Request, ctx: ContextDep,
                   principal: PrincipalDep) -> dict[str, Any]:
    """The holder transfers (or, with ``endorse``, endorses) the title to ``toParty`` at the
    node of ``toAuthority``. Another node's custody takes effect once the control registry
    has countersigned (``status`` ``pending-custody`` until then)."""
    return await _act(record_id, request, ctx, principal, service.TitleOperation.TRANSFER)


@router.post("/{record_id}/blank-endorse", operation_id="blankEndorseTitle",
             response_model=TitleView, response_model_by_alias=True)
async def blank_endorse(record_id: IdPath, ctx: ContextDep,
                        principal: PrincipalDep) -> dict[str, Any]:
    """The holder blank-endorses an order bill (it then passes by transfer)."""
    return await _act(record_id, None, ctx, principal, service.TitleOperation.BLANK_ENDORSE)


@router.post("/{record_id}/surrender", operation_id="surrenderTitle", response_model=TitleView,
             response_model_by_alias=True)
async def surrender(record_id: IdPath, ctx: ContextDep, principal: PrincipalDep
                    ) -> dict[str, Any]:
    """The holder surrenders the record to the carrier for delivery."""
    return await _act(record_id, None, ctx, principal, service.TitleOperation.SURRENDER)


@router.post("/{record_id}/surrender/accept", operation_id="acceptSurrender",
             response_model=TitleView, response_model_by_alias=True)
async def accept_surrender(record_id: IdPath, ctx: ContextDep,
                           principal: PrincipalDep) -> dict[str, Any]:
    """The carrier's officer accepts a surrender: the record is accomplished."""
    return await _act(record_id, None, ctx, principal, service.TitleOperation.ACCEPT_SURRENDER)


@router.post("/{record_id}/surrender/reject", operation_id="rejectSurrender",
             response_model=TitleView, response_model_by_alias=True,
             openapi_extra=request_body(TitleRejectRequest))
async def reject_surrender(record_id: IdPath, request: Request, ctx: ContextDep,
                           principal: PrincipalDep) -> dict[str, Any]:
    """The carrier's officer rejects a surrender: the title returns to the holder."""
    return await _act(record_id, request, ctx, principal,
                      service.TitleOperation.REJECT_SURRENDER)


@router.get("/{record_id}/export", operation_id="exportTitle",
            **documented(answer=TitleRecordExport))
def export(record_id: IdPath, ctx: ContextDep, principal: PrincipalDep,
           format: ExportFormat = ExportFormat.TRADEACCORD) -> Response:
    """The signed bill and its whole recorded chain (``tradeaccord-title-record-1.0``, for
    offline ``doc verify``), or with ``format=dcsa-ebl-3`` the bill as a DCSA eBL 3.0
    TransportDocument."""
    require_role(principal, Role.TRADER, Role.OFFICER)
    with storage_errors(), read_session(ctx.engine) as session:
        row = service.visible_row(session, principal, record_id)
        record = service.chain_of(session, row)
    if format is ExportFormat.DCSA_EBL_3:
        from protocol.interop.dcsa_ebl import to_transport_document

        document = record.bill.payload_json(ctx.limits)
        content = canonicalize(to_transport_document(document, schemas=ctx.schemas))
    else:
        content = record.to_json()
    return Response(content, media_type="application/json")
