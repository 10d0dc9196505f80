"""Declarations: the list, the joint status drawn across both countries, the officer's
release and rejection, and the trader's package upload."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep
from node.console.pages_documents import parse_upload, peers, upload_errors, upload_text
from node.console.timeline import lanes
from node.console.web import ConsoleRoute, Viewer, ViewerDep, form_text, read_form, redirect, render
from node.context import NodeContext
from node.errors import RequestError
from node.services import declarations as service
from node.services.apikeys import Role
from node.services.declarations import records, views
from node.services.declarations.states import DeclarationSide, DeclarationState
from node.services.documents import require_role
from node.storage.database import read_session, storage_errors
from protocol.errors import CodedError
from protocol.reason_codes import ReasonCode
from protocol.timeutil import utc_now

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE = 50


@router.get("/declarations")
def declarations(request: Request, ctx: ContextDep, viewer: ViewerDep,
                 state: Annotated[str, Query(max_length=40)] = "",
                 side: Annotated[str, Query(pattern="^(|export|import)$")] = "",
                 after: Annotated[int | None, Query(ge=0, le=2**62)] = None) -> Response:
    """Declarations visible to the viewer, newest first, by state and side."""
    try:
        chosen_state = DeclarationState(state) if state else None
    except ValueError:
        raise RequestError(ReasonCode.REQUEST_INVALID, f"no declaration state {state!r}") from None
    with storage_errors(), read_session(ctx.engine) as session:
        rows = service.list_declarations(session, viewer.principal, limit=PAGE + 1, after=after,
                                         state=chosen_state,
                                         side=DeclarationSide(side) if side else None)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    params = {name: value for name, value in (("state", state), ("side", side)) if value}
    return render(request, "declarations.html", viewer=viewer, title="Declarations",
                  rows=[views.summary(row) for row in rows], state=state, side=side,
                  states=[s.value for s in DeclarationState], params=params,
                  next_cursor=rows[-1].pk if more and rows else None)


def _status(ctx: NodeContext, viewer: Viewer, declaration_id: str) -> dict[str, Any]:
    with storage_errors(), read_session(ctx.engine) as session:
        status = service.status(session, viewer.principal, declaration_id)
        record = records.get_visible(session, viewer.principal, declaration_id)
    held_here = (record.side == DeclarationSide.EXPORT.value
                 and record.state == DeclarationState.EXPORT_HELD.value) or \
        (record.side == DeclarationSide.IMPORT.value
         and record.state == DeclarationState.IMPORT_HELD.value)
    return {"joint": status, "entries": lanes(status["timeline"]),
            "can_review": viewer.role is Role.OFFICER and held_here,
            "export_country": status["export"]["authority"].split("-")[0],
            "import_country": status["import"]["authority"].split("-")[0]}


@router.get("/declarations/new")
def new_declaration(request: Request, ctx: ContextDep, viewer: ViewerDep) -> Response:
    """Upload a declaration package (traders and officers, at the exporting customs)."""
    require_role(viewer.principal, Role.TRADER, Role.OFFICER)
    return render(request, "declaration_new.html", viewer=viewer,
                  title="Submit a declaration", peers=peers(ctx), to="", text="", failure=None)


@router.post("/declarations/new")
async def submit_declaration(request: Request, ctx: ContextDep, viewer: ViewerDep) -> Response:
    """Check and submit the package; its errors are shown against its fields."""
    require_role(viewer.principal, Role.TRADER, Role.OFFICER)
    form = await read_form(request)
    raw = await upload_text(form, "file", "text")
    to = form_text(form, "to") or None
    data: Any = None
    try:
        data = parse_upload(ctx, raw, ctx.limits.max_envelope_bytes)
        package = service.DeclarationPackage.from_dict(
            data, limits=ctx.limits, max_documents=ctx.limits.max_documents_per_envelope - 2)

        def _run() -> str:
            with storage_errors():
                return service.submit(ctx, viewer.principal, package, to,
                                      utc_now()).declaration_id

        declaration_id = await run_in_threadpool(_run)
    except CodedError as error:
        return render(request, "declaration_new.html", status=422, viewer=viewer,
                      title="Submit a declaration", peers=peers(ctx), to=to or "",
                      text=raw.decode("utf-8", "replace"), failure=upload_errors(data, error))
    return redirect(f"/declarations/{declaration_id}?done=submitted")


@router.get("/declarations/{declaration_id}")
def declaration_page(request: Request, declaration_id: str, ctx: ContextDep,
                     viewer: ViewerDep,
                     done: Annotated[str, Query(pattern="^(|released|rejected|submitted)$")] = "",
                     ) -> Response:
    """The joint status: both decisions, the timeline across both countries, the findings
    with the disagreeing values side by side, the documents."""
    return render(request, "declaration.html", viewer=viewer,
                  title=f"Declaration {declaration_id}", done=done, reason="",
                  reason_error=None, **_status(ctx, viewer, declaration_id))


async def _review(request: Request, declaration_id: str, ctx: NodeContext, viewer: Viewer,
                  release: bool) -> Response:
    form = await read_form(request)
    reason = form_text(form, "reason")
    if not reason:
        return render(request, "declaration.html", status=422, viewer=viewer,
                      title=f"Declaration {declaration_id}", done="", reason=reason,
                      reason_error="Give the reason for the decision: it is recorded in the "
                      "signed decision and reaches the trader.",
                      **_status(ctx, viewer, declaration_id))

    def _run() -> None:
        with storage_errors():
            service.review(ctx, viewer.principal, declaration_id, release=release,
                           reason=reason, at=utc_now())

    await run_in_threadpool(_run)
    return redirect(f"/declarations/{declaration_id}?done="
                    f"{'released' if release else 'rejected'}")


@router.post("/declarations/{declaration_id}/release")
async def release(request: Request, declaration_id: str, ctx: ContextDep,
                  viewer: ViewerDep) -> Response:
    """Officer: release a declaration held at this node."""
    return await _review(request, declaration_id, ctx, viewer, release=True)


@router.post("/declarations/{declaration_id}/reject")
async def reject(request: Request, declaration_id: str, ctx: ContextDep,
                 viewer: ViewerDep) -> Response:
    """Officer: reject a declaration held at this node."""
    return await _review(request, declaration_id, ctx, viewer, release=False)
