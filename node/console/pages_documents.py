"""Documents: the officer's inbox, the document page (paper form, checks, receipt, review),
the printable view, the signed download, the trader's list and the submission form."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from node.api.deps import ContextDep
from node.console import queries
from node.console.fields import anchor_of, field_rows
from node.console.paper import paper_form
from node.console.web import ConsoleRoute, Viewer, ViewerDep, form_text, read_form, redirect, render
from node.context import NodeContext
from node.errors import AuthError, NotFoundError, RequestError, StorageError
from node.services import documents as service
from node.services import trust
from node.services.apikeys import Role
from node.storage.database import read_session, storage_errors, write_session
from node.storage.models import DocumentRecord, InboundMessageRecord
from protocol.errors import CodedError
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.receipt import Receipt
from protocol.strict_json import parse_json
from protocol.timeutil import utc_now

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Direction = Annotated[str | None, Query(pattern="^(inbound|outbound)$")]
Cursor = Annotated[int | None, Query(ge=0, le=2**62)]
Text = Annotated[str, Query(max_length=200)]


def _filters(**values: str) -> queries.DocumentFilters:
    return queries.DocumentFilters(**{name: value.strip() for name, value in values.items()})


def _choices(ctx: NodeContext) -> dict[str, Any]:
    registry = ctx.registry.current()
    return {"types": sorted({doc_type for doc_type, _version in ctx.schemas.types()}),
            "authorities": sorted(registry.authorities), "outcomes": queries.OUTCOMES}


@router.get("/inbox")
def inbox(request: Request, ctx: ContextDep, viewer: ViewerDep, type_: Annotated[
        str, Query(alias="type", max_length=200)] = "", issuer: Text = "", party: Text = "",
          outcome: Text = "", from_: Annotated[str, Query(alias="from", max_length=10)] = "",
          to: Annotated[str, Query(max_length=10)] = "", ref: Text = "",
          after: Cursor = None) -> Response:
    """Documents received from peers, with filters and paging (officers; a trader sees the
    received documents that name its party)."""
    filters = _filters(direction="inbound", doc_type=type_, issuer=issuer, party=party,
                       outcome=outcome, date_from=from_, date_to=to, reference=ref)
    with storage_errors(), read_session(ctx.engine) as session:
        page = queries.search_documents(session, viewer.principal, filters, after=after)
    return render(request, "inbox.html", viewer=viewer, title="Inbox", page=page,
                  filters=filters, held=outcome == "held-for-review", **_choices(ctx))


@router.get("/documents")
def documents(request: Request, ctx: ContextDep, viewer: ViewerDep,
              direction: Annotated[str, Query(pattern="^(|inbound|outbound)$")] = "",
              type_: Annotated[str, Query(alias="type", max_length=200)] = "",
              ref: Text = "", after: Cursor = None) -> Response:
    """Documents visible to the viewer, both directions (a trader: those naming its party)."""
    filters = _filters(direction=direction, doc_type=type_, reference=ref)
    with storage_errors(), read_session(ctx.engine) as session:
        page = queries.search_documents(session, viewer.principal, filters, after=after)
        views = [service.view(session, row) for row in page.rows]
    return render(request, "documents.html", viewer=viewer, title="Documents", page=page,
                  views=views, filters=filters, **_choices(ctx))


def _receipt(raw: bytes | None) -> dict[str, Any] | None:
    """A stored signed receipt, decoded for reading (it was verified when stored)."""
    if not raw:
        return None
    jws = GeneralJWS.parse(raw)
    receipt = Receipt.from_dict(jws.payload_json())
    header = jws.signatures[0].protected_b64
    return {"receipt": receipt, "raw": json.loads(raw), "kid": _kid(header)}


def _kid(protected_b64: str) -> str | None:
    try:
        padded = protected_b64 + "=" * (-len(protected_b64) % 4)
        header = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error):
        return None
    return str(header.get("kid")) if isinstance(header, dict) else None


def _stored_checks(record: DocumentRecord) -> dict[str, str]:
    """The checks decided at receipt, with recognition: an agreement was applied or not."""
    checks: dict[str, str] = json.loads(record.checks)
    passed = all(status == "VALID" for status in checks.values())
    checks["recognition"] = "VALID" if record.agreement_id else \
        ("INVALID" if passed else "SKIPPED")
    return checks


def document_context(ctx: NodeContext, session: Session, viewer: Viewer, document_id: str,
                     direction: str | None) -> dict[str, Any]:
    """What the document page and the printable view show."""
    service.require_role(viewer.principal, Role.TRADER, Role.OFFICER)
    record = service.get_visible(session, viewer.principal, document_id, direction)
    view = service.view(session, record)
    document = GeneralJWS.parse(record.signed_bytes).payload_json()
    inbound_receipt = None
    if record.direction == "inbound" and record.message_id:
        message = session.exec(select(InboundMessageRecord).where(
            InboundMessageRecord.message_id == record.message_id)).first()
        inbound_receipt = _receipt(message.receipt_bytes if message else None)
    deliveries = [{"delivery": service.delivery_view(d, view.receipts.get(d.message_id or "")),
                   "receipt": _receipt(view.receipts.get(d.message_id or ""))}
                  for d in view.deliveries]
    # Checked again now, as at the time it was stored: the signer, the anchor it chains
    # to and the agreement clause (the stored decision stays the decision of record).
    report = trust.verify_and_recognise(
        record.signed_bytes, registry=ctx.registry.current(), receiver=ctx.authority_id,
        at=record.created_at, schemas=ctx.schemas, limits=ctx.limits)
    return {"record": record, "data": view.to_dict(include_document=False),
            "document": document, "paper": paper_form(document), "report": report,
            "checks": _stored_checks(record) if record.direction == "inbound" else
            report["checks"], "inbound_receipt": inbound_receipt, "deliveries": deliveries,
            "can_review": viewer.role is Role.OFFICER and record.direction == "inbound"
            and record.outcome == "held-for-review",
            "direction_query": f"?direction={record.direction}"}


@router.get("/documents/{document_id}")
def document_page(request: Request, document_id: str, ctx: ContextDep, viewer: ViewerDep,
                  direction: Direction = None,
                  done: Annotated[str, Query(pattern="^(|released|rejected|submitted)$")] = "",
                  ) -> Response:
    """The document as a person reads it, beside its checks, its receipt and the review."""
    with storage_errors(), read_session(ctx.engine) as session:
        context = document_context(ctx, session, viewer, document_id, direction)
    return render(request, "document.html", viewer=viewer, title=context["paper"].title,
                  done=done, reason_error=None, reason="", **context)


@router.get("/documents/{document_id}/print")
def document_print(request: Request, document_id: str, ctx: ContextDep, viewer: ViewerDep,
                   direction: Direction = None) -> Response:
    """The paper form alone, for printing (the print stylesheet hides the rest)."""
    with storage_errors(), read_session(ctx.engine) as session:
        context = document_context(ctx, session, viewer, document_id, direction)
    return render(request, "print.html", viewer=viewer, title=context["paper"].title,
                  **context)


@router.get("/documents/{document_id}/signed")
def document_signed(document_id: str, ctx: ContextDep, viewer: ViewerDep,
                    direction: Direction = None) -> Response:
    """The signed document (JWS JSON) exactly as stored, as a download."""
    service.require_role(viewer.principal, Role.TRADER, Role.OFFICER)
    with storage_errors(), read_session(ctx.engine) as session:
        record = service.get_visible(session, viewer.principal, document_id, direction)
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in record.document_id)
    return Response(record.signed_bytes, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{safe}.jws.json"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


async def _review(request: Request, document_id: str, ctx: NodeContext, viewer: Viewer,
                  release: bool) -> Response:
    form = await read_form(request)
    reason = form_text(form, "reason")
    if not release and not reason:
        with storage_errors(), read_session(ctx.engine) as session:
            context = document_context(ctx, session, viewer, document_id, "inbound")
        return render(request, "document.html", status=422, viewer=viewer,
                      title=context["paper"].title, done="", reason=reason,
                      reason_error="Give the reason for the rejection: it is sent to the "
                      "sender.", **context)

    def _run() -> None:
        with storage_errors(), write_session(ctx.engine) as session:
            service.review(ctx, session, viewer.principal, document_id, release=release,
                           reason=reason or None, at=utc_now())
            session.commit()

    await run_in_threadpool(_run)
    outcome = "released" if release else "rejected"
    return redirect(f"/documents/{document_id}?direction=inbound&done={outcome}")


@router.post("/documents/{document_id}/release")
async def release(request: Request, document_id: str, ctx: ContextDep,
                  viewer: ViewerDep) -> Response:
    """Officer: accept a held document; the reason travels to the sender."""
    return await _review(request, document_id, ctx, viewer, release=True)


@router.post("/documents/{document_id}/reject")
async def reject(request: Request, document_id: str, ctx: ContextDep,
                 viewer: ViewerDep) -> Response:
    """Officer: reject a held document with the reason the sender is told."""
    return await _review(request, document_id, ctx, viewer, release=False)


# -- submitting ------------------------------------------------------------------------------


def peers(ctx: NodeContext) -> list[str]:
    """Authorities this node can send to (in the registry with an endpoint)."""
    registry = ctx.registry.current()
    return sorted(a for a in registry.authorities
                  if a != ctx.authority_id and trust.endpoint(registry, a))


async def upload_text(form: FormData, file_field: str, text_field: str) -> bytes:
    """The uploaded file's bytes, else the text box's (the form was size-checked)."""
    upload = form.get(file_field)
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read()
        if data.strip():
            return data
    return form_text(form, text_field).encode("utf-8")


def parse_upload(ctx: NodeContext, raw: bytes, limit: int) -> Any:
    """The upload as strict I-JSON (duplicate members, NaN… refused with their codes)."""
    if not raw.strip():
        raise RequestError(ReasonCode.REQUEST_INVALID, "choose a JSON file or paste the JSON",
                           pointer="")
    return parse_json(raw, max_bytes=limit, max_depth=ctx.limits.max_depth)


def upload_errors(data: Any, error: CodedError) -> dict[str, Any]:
    """The error of an upload set against the field its pointer names (no fields when the
    upload is not JSON at all)."""
    pointer = error.context.get("pointer")
    if isinstance(error, AuthError) and error.code is ReasonCode.FORBIDDEN and data is not None:
        pointer = "/parties"  # the role may submit: the document does not name its party
    elif isinstance(error, AuthError | NotFoundError | StorageError):
        raise error  # not a defect of the upload: the page for the error itself
    if data is None:
        return {"error": error, "rows": [], "target": None, "anchor": None}
    rows, target = field_rows(data, error_pointer=pointer if isinstance(pointer, str) else "",
                              error=error.message)
    return {"error": error, "rows": rows, "target": target,
            "anchor": anchor_of(target) if target is not None else None}


@router.get("/submit")
def submit_page(request: Request, ctx: ContextDep, viewer: ViewerDep) -> Response:
    """Upload a document for this node to validate, sign and (optionally) send."""
    service.require_role(viewer.principal, Role.TRADER, Role.OFFICER)
    return render(request, "submit.html", viewer=viewer, title="Submit a document",
                  peers=peers(ctx), chosen=[], text="", failure=None)


@router.post("/submit")
async def submit(request: Request, ctx: ContextDep, viewer: ViewerDep) -> Response:
    """Validate, sign and store the uploaded document; errors are shown against fields."""
    service.require_role(viewer.principal, Role.TRADER, Role.OFFICER)
    form = await read_form(request)
    raw = await upload_text(form, "file", "text")
    chosen = [value for value in form.getlist("send_to") if isinstance(value, str)]
    data: Any = None
    try:
        data = parse_upload(ctx, raw, ctx.limits.max_document_bytes)

        def _run() -> str:
            with storage_errors(), write_session(ctx.engine) as session:
                record = service.submit(ctx, session, viewer.principal, data, chosen,
                                        utc_now())
                session.commit()
            ctx.metrics.documents_submitted.inc()
            return record.document_id

        document_id = await run_in_threadpool(_run)
    except CodedError as error:
        return render(request, "submit.html", status=422, viewer=viewer,
                      title="Submit a document", peers=peers(ctx), chosen=chosen,
                      text=raw.decode("utf-8", "replace"),
                      failure=upload_errors(data, error))
    return redirect(f"/documents/{document_id}?direction=outbound&done=submitted")

