"""Revocation and replacement: ``/v1/documents/{id}/revoke|replace``, ``/v1/statements``
(where each statement has got to), ``GET /v1/status/{documentId}`` (the signed status
answer any verifier may ask for, without an API key) and the evidence bundles
(``/v1/evidence/documents/{id}``, ``/v1/evidence/declarations/{id}``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from node.api.deps import IDENTIFIER_PATTERN, ContextDep, IdPath, PrincipalDep, read_json
from node.api.lifecycle_schemas import (
    BODY_MODELS,
    ReplaceRequest,
    RevokeRequest,
    StatementList,
    StatementView,
    StatusAnswerSigned,
    parse_body,
)
from node.api.schemas import documented
from node.errors import RequestError
from node.services import evidence_export
from node.services import lifecycle as service
from node.storage.database import read_session, storage_errors, write_session
from protocol.reason_codes import ReasonCode
from protocol.timeutil import parse_time, utc_now

__all__ = ["BODY_MODELS", "router"]

router = APIRouter(prefix="/v1", tags=["lifecycle"])
# A binary answer: its media type declared as /metrics declares its text (ADR 0030).
_ZIP: dict[int | str, dict[str, Any]] = {
    200: {"description": "The evidence bundle (ZIP, docs/evidence.md)",
          "content": {"application/zip": {"schema": {"type": "string"}}}}}


def _effective(body: RevokeRequest) -> dt.datetime | None:
    if body.effectiveAt is None:
        return None
    try:
        return parse_time(body.effectiveAt)
    except (TypeError, ValueError) as exc:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"effectiveAt must be an RFC 3339 time: {exc}") from exc


@router.post("/documents/{document_id}/revoke", status_code=201, operation_id="revokeDocument",
             **documented(answer=StatementView, status=201, body=RevokeRequest))
async def revoke(document_id: IdPath, request: Request, ctx: ContextDep,
                 principal: PrincipalDep) -> JSONResponse:
    """Officer of the issuing node: revoke the document. Body ``{"reason": "…",
    "effectiveAt": "…" (default now), "alsoTo": [ids] (peers beyond those it went to)}``.
    The signed statement is queued to every node that received the document."""
    body = parse_body(RevokeRequest, await read_json(request, ctx))
    effective = _effective(body)

    def _run() -> dict[str, Any]:
        with storage_errors(), write_session(ctx.engine) as session:
            status = service.revoke(ctx, session, principal, document_id, reason=body.reason,
                                    effective_at=effective, also_to=body.alsoTo, at=utc_now())
            session.commit()
            return service.statement_view(session, status).to_dict()

    return JSONResponse(await run_in_threadpool(_run), status_code=201)


@router.post("/documents/{document_id}/replace", status_code=201,
             operation_id="replaceDocument",
             **documented(answer=StatementView, status=201, body=ReplaceRequest))
async def replace(document_id: IdPath, request: Request, ctx: ContextDep,
                  principal: PrincipalDep) -> JSONResponse:
    """Officer of the issuing node: replace the document by a corrected one. Body
    ``{"reason", "document": {…}}`` (signed here, naming the original in its references,
    sent where the original went) or ``{"reason", "replacementId"}`` (one issued here
    already), with ``effectiveAt`` and ``alsoTo`` as for revoke."""
    body = parse_body(ReplaceRequest, await read_json(request, ctx))
    effective = _effective(body)

    def _run() -> dict[str, Any]:
        with storage_errors(), write_session(ctx.engine) as session:
            status = service.replace(ctx, session, principal, document_id,
                                     document=body.document,
                                     replacement_id=body.replacementId, reason=body.reason,
                                     effective_at=effective, also_to=body.alsoTo, at=utc_now())
            session.commit()
            return service.statement_view(session, status).to_dict()

    return JSONResponse(await run_in_threadpool(_run), status_code=201)


@router.get("/statements", operation_id="listStatements", **documented(answer=StatementList))
def list_statements(ctx: ContextDep, principal: PrincipalDep,
                    document_id: Annotated[str | None, Query(
                        alias="documentId", pattern=IDENTIFIER_PATTERN)] = None,
                    undelivered: Annotated[bool, Query(
                        description="Only statements that have not arrived everywhere")] = False,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Officers and operators: status statements issued or received here, each with its
    delivery to every holder (``deliveries``) and ``pending``: where it has not arrived."""
    with storage_errors(), read_session(ctx.engine) as session:
        views = service.statements(session, principal, document_id=document_id,
                                   undelivered=undelivered, limit=limit)
        return {"statements": [{**view.to_dict(), "pending": view.pending}
                               for view in views]}


@router.get("/status/{document_id}", operation_id="getDocumentLifecycleStatus",
            **documented(answer=StatusAnswerSigned))
def status(document_id: IdPath, ctx: ContextDep,
           issuer: Annotated[str | None, Query(pattern=r"^[A-Z]{2}-[A-Z0-9]+(-[A-Z0-9]+)*$")]
           = None) -> Response:
    """The signed status answer (``tradeaccord-status-answer+jws``, node key): ``good``,
    ``revoked``, ``replaced`` (with the issuer's signed statement) or ``unknown``. No API
    key needed, in the spirit of OCSP."""
    with storage_errors(), read_session(ctx.engine) as session:
        signed = service.answer(ctx, session, document_id, issuer, utc_now())
    return Response(signed, media_type="application/json")


@router.get("/evidence/documents/{document_id}", operation_id="exportDocumentEvidence",
            response_class=Response, responses=_ZIP)
def document_evidence(document_id: IdPath, ctx: ContextDep, principal: PrincipalDep) -> Response:
    """Officer: the signed evidence bundle (ZIP, ``docs/evidence.md``) of a document held
    here: the signed documents, receipts, status statements, registry versions, decisions
    and audit entries."""
    with storage_errors(), read_session(ctx.engine) as session:
        data = evidence_export.export_document(ctx, session, principal, document_id, utc_now())
    return Response(data, media_type="application/zip")


@router.get("/evidence/declarations/{declaration_id}", operation_id="exportDeclarationEvidence",
            response_class=Response, responses=_ZIP)
def declaration_evidence(declaration_id: IdPath, ctx: ContextDep,
                         principal: PrincipalDep) -> Response:
    """Officer: the signed evidence bundle of a declaration and all its documents."""
    with storage_errors(), read_session(ctx.engine) as session:
        data = evidence_export.export_declaration(ctx, session, principal, declaration_id,
                                                  utc_now())
    return Response(data, media_type="application/zip")
