"""``/v1/documents``: submit (sign and store), list, get, send, status; ``/v1/inbox``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from node.api import schemas
from node.api.deps import (
    ContextDep,
    IdPath,
    PrincipalDep,
    read_body,
    read_json,
    require_object,
)
from node.api.models import (
    DocumentList,
    DocumentView,
    InboxReviewRequest,
    SendRequest,
    SignedDocument,
    SubmitDocumentRequest,
)
from node.api.schemas import documented
from node.errors import RequestError
from node.services import batch_submission as batch
from node.services import documents as service
from node.services import idempotency
from node.services.apikeys import Role
from node.storage.database import read_session, storage_errors, write_session
from protocol.canonical import canonicalize, sha256_hex
from protocol.errors import CodedError
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import utc_now

router = APIRouter(prefix="/v1", tags=["documents"])
# The largest key a cursor can name: primary keys are 32-bit INTEGER columns on PostgreSQL
# (SQLite's are 64-bit, but a node does not hold 2^31 documents); a larger value fails the
# query there (and beyond 2^63 cannot even be bound on SQLite).
MAX_CURSOR = 2**31 - 1
# Request bodies described in /openapi.json (read strictly by the routes themselves).
BODY_MODELS = (schemas.BatchSubmission,)


def _peers(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RequestError(ReasonCode.REQUEST_INVALID, "a list of authority ids is expected")
    return list(value)


@router.post("/documents", status_code=201, operation_id="submitDocument",
             **documented(answer=DocumentView, status=201, body=SubmitDocumentRequest))
async def submit_document(request: Request, ctx: ContextDep, principal: PrincipalDep,
                          idempotency_key: Annotated[str | None, Header(
                              alias=idempotency.HEADER,
                              description="Makes a retry answer as the first request did "
                              "(1 to 255 visible ASCII characters, unique per client)")] = None,
                          ) -> JSONResponse:
    """Submit a document: schema-validated, signed by this authority's document signer and
    stored. Body: ``{"document": {…}, "sendTo": ["CN-CUSTOMS"]}`` (``sendTo`` optional:
    when given, the deliveries are queued in the same transaction). With an
    ``Idempotency-Key``, a retry of the same request gets the first answer again (header
    ``Idempotent-Replayed: true``) and creates nothing; the key with another body is 409."""
    key = idempotency.check_key(idempotency_key)
    body = require_object(await read_json(request, ctx), {"document", "sendTo"}, {"document"})
    send_to = _peers(body.get("sendTo", []))

    def _run() -> tuple[int, Any, bool]:
        request_sha256 = sha256_hex(canonicalize(body)) if key is not None else ""
        now = utc_now()
        # Validation and the signature outside the write transaction (whose lock the other
        # writers wait for). A refusal with an Idempotency-Key is decided again inside,
        # after the key's stored answer (if any) is looked up.
        signed = None
        registry = ctx.registry.current()
        try:
            signed = service.sign_submission(ctx, principal, body["document"], now, registry)
        except CodedError:
            if key is None:
                raise
        with storage_errors(), write_session(ctx.engine) as session:
            pending = None
            if key is not None:
                begun = idempotency.begin(session, principal, key, request_sha256, now)
                if isinstance(begun, idempotency.StoredAnswer):
                    return begun.status_code, begun.body, True
                pending = begun
            record = service.submit(ctx, session, principal, body["document"], send_to, now,
                                    signed=signed, registry=registry if signed else None)
            view = service.view(session, record).to_dict()
            if pending is not None:
                idempotency.finish(session, pending, 201, view)
            session.commit()
        ctx.metrics.documents_submitted.inc()
        return 201, view, False

    status, answer, replayed = await run_in_threadpool(_run)
    return JSONResponse(answer, status_code=status,
                        headers={"Idempotent-Replayed": "true"} if replayed else None)


@router.post("/documents:batch", operation_id="submitDocuments",
             response_model=schemas.BatchResult, response_model_exclude_none=True,
             openapi_extra=schemas.request_body(schemas.BatchSubmission))
async def submit_documents(request: Request, ctx: ContextDep,
                           principal: PrincipalDep) -> dict[str, Any]:
    """Submit several documents (traders' systems): each validated and signed as ``POST
    /v1/documents`` does, then all stored in one transaction. Each item has its own result
    (``status`` 201 with the document, or the refusal's status and reason code); a refused
    item stores nothing. Body: ``{"documents": [{"document": {…}, "sendTo": [...]}, …]}``,
    at most ``TRADEACCORD_BATCH_MAX_DOCUMENTS`` items (else 400, nothing stored)."""
    raw = await read_body(request, ctx.limits.max_envelope_bytes)

    def _run() -> list[batch.BatchItem]:
        # Parsing a body of many documents is CPU work too: off the event loop.
        body = require_object(parse_json(raw, max_bytes=ctx.limits.max_envelope_bytes,
                                         max_depth=ctx.limits.max_depth),
                              {"documents"}, {"documents"})
        items = batch.check_batch(ctx, principal, body["documents"])
        now = utc_now()
        # Validation and signatures first, outside the write transaction (no lock held).
        signed = batch.sign_batch(ctx, principal, items, now)
        with storage_errors(), write_session(ctx.engine) as session:
            stored = batch.store_batch(ctx, session, principal, signed, now)
            session.commit()
        return stored

    results = await run_in_threadpool(_run)
    done = sum(1 for item in results if item.state is batch.ItemState.STORED)
    ctx.metrics.documents_submitted.inc(done)
    return {"stored": done, "refused": len(results) - done,
            "results": [item.result() for item in results]}


@router.get("/documents", operation_id="listDocuments", **documented(answer=DocumentList))
def list_documents(ctx: ContextDep, principal: PrincipalDep,
                   direction: Annotated[str | None, Query(pattern="^(inbound|outbound)$")] = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100,
                   after: Annotated[int | None, Query(ge=0, le=MAX_CURSOR)] = None) -> dict[str, Any]:
    """Documents visible to the caller, newest first."""
    with storage_errors(), read_session(ctx.engine) as session:
        rows = service.list_documents(session, principal, direction=direction, limit=limit,
                                      after=after)
        return {"documents": [service.view(session, row).to_dict(include_document=False)
                              for row in rows]}


@router.get("/documents/{document_id}", operation_id="getDocument",
            **documented(answer=DocumentView))
def get_document(document_id: IdPath, ctx: ContextDep, principal: PrincipalDep,
                 direction: Annotated[str | None, Query(pattern="^(inbound|outbound)$")] = None,
                 ) -> dict[str, Any]:
    """One document with its signed form (JWS) and its delivery or decision state."""
    service.require_role(principal, Role.TRADER, Role.OFFICER)
    with storage_errors(), read_session(ctx.engine) as session:
        record = service.get_visible(session, principal, document_id, direction)
        return service.view(session, record).to_dict()


@router.get("/documents/{document_id}/signed", operation_id="getSignedDocument",
            **documented(answer=SignedDocument))
def get_signed(document_id: IdPath, ctx: ContextDep, principal: PrincipalDep,
               direction: Annotated[str | None, Query(pattern="^(inbound|outbound)$")] = None,
               ) -> Response:
    """The signed document (JWS JSON) exactly as stored."""
    service.require_role(principal, Role.TRADER, Role.OFFICER)
    with storage_errors(), read_session(ctx.engine) as session:
        record = service.get_visible(session, principal, document_id, direction)
        return Response(record.signed_bytes, media_type="application/json")


@router.post("/documents/{document_id}/send", status_code=202, operation_id="sendDocument",
             **documented(answer=DocumentView, status=202, body=SendRequest))
async def send_document(document_id: IdPath, request: Request, ctx: ContextDep,
                        principal: PrincipalDep) -> JSONResponse:
    """Queue the document for delivery to peer authorities: ``{"to": ["CN-CUSTOMS"]}``."""
    service.require_role(principal, Role.TRADER, Role.OFFICER)
    body = require_object(await read_json(request, ctx), {"to"}, {"to"})
    peers = _peers(body["to"])

    def _run() -> dict[str, Any]:
        with storage_errors(), write_session(ctx.engine) as session:
            record = service.get_visible(session, principal, document_id, "outbound")
            service.enqueue(ctx, session, principal, record, peers, utc_now())
            view = service.view(session, record).to_dict(include_document=False)
            session.commit()
            return view

    return JSONResponse(await run_in_threadpool(_run), status_code=202)


@router.get("/documents/{document_id}/status", operation_id="getDocumentStatus",
            **documented(answer=DocumentView))
def document_status(document_id: IdPath, ctx: ContextDep,
                    principal: PrincipalDep) -> dict[str, Any]:
    """Delivery state per receiving authority and each receiver's signed outcome."""
    service.require_role(principal, Role.TRADER, Role.OFFICER)
    with storage_errors(), read_session(ctx.engine) as session:
        record = service.get_visible(session, principal, document_id)
        return service.view(session, record).to_dict(include_document=False)


@router.get("/inbox", operation_id="listInbox", tags=["inbox"], **documented(answer=DocumentList))
def inbox(ctx: ContextDep, principal: PrincipalDep,
          outcome: Annotated[str | None, Query(
              pattern="^(accepted|rejected|held-for-review)$")] = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 100,
          after: Annotated[int | None, Query(ge=0, le=MAX_CURSOR)] = None) -> dict[str, Any]:
    """Documents received from peers with their verification and recognition result."""
    with storage_errors(), read_session(ctx.engine) as session:
        rows = service.list_documents(session, principal, direction="inbound", limit=limit,
                                      after=after, outcome=outcome)
        return {"documents": [service.view(session, row).to_dict(include_document=False)
                              for row in rows]}


async def _review(document_id: str, request: Request, ctx: ContextDep, principal: PrincipalDep,
                  release: bool) -> dict[str, Any]:
    service.require_role(principal, Role.OFFICER)
    body: dict[str, Any] = {}
    # A chunked body has no content-length: it is a body all the same, read strictly.
    if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
        body = require_object(await read_json(request, ctx), {"reason"}, set())
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise RequestError(ReasonCode.REQUEST_INVALID, "reason must be a string")
    if not release and not reason:
        raise RequestError(ReasonCode.REQUEST_INVALID, "a rejection needs a reason")

    def _run() -> dict[str, Any]:
        with storage_errors(), write_session(ctx.engine) as session:
            record = service.review(ctx, session, principal, document_id, release=release,
                                    reason=reason, at=utc_now())
            view = service.view(session, record).to_dict(include_document=False)
            session.commit()
            return view

    return await run_in_threadpool(_run)


@router.post("/inbox/{document_id}/release", operation_id="releaseDocument", tags=["inbox"],
             **documented(answer=DocumentView, body=InboxReviewRequest))
async def release(document_id: IdPath, request: Request, ctx: ContextDep,
                  principal: PrincipalDep) -> dict[str, Any]:
    """Officer: accept a document held for review."""
    return await _review(document_id, request, ctx, principal, release=True)


@router.post("/inbox/{document_id}/reject", operation_id="rejectDocument", tags=["inbox"],
             **documented(answer=DocumentView, body=InboxReviewRequest))
async def reject(document_id: IdPath, request: Request, ctx: ContextDep,
                 principal: PrincipalDep) -> dict[str, Any]:
    """Officer: reject a document held for review, with ``{"reason": "…"}``."""
    return await _review(document_id, request, ctx, principal, release=False)
