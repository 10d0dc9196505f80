"""Sign-in, sign-out and the start page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep
from node.console.sessions import SESSION_COOKIE, SIGNIN_COOKIE, new_nonce
from node.console.web import (
    ConsoleRoute,
    ViewerDep,
    console_state,
    current_session,
    form_text,
    is_https,
    read_form,
    redirect,
    render,
    safe_next,
    session_lifetime,
)
from node.errors import AuthError
from node.services.apikeys import Principal, Role, authenticate
from node.services.audit import append_event
from node.storage.database import storage_errors, write_session
from protocol.timeutil import utc_now

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

_HOME = {Role.OFFICER: "/inbox", Role.TRADER: "/documents", Role.OPERATOR: "/registry"}


@router.get("/")
def home(viewer: ViewerDep) -> Response:
    """Each role starts where its work is."""
    return redirect(_HOME[viewer.role])


@router.get("/signin")
def signin_page(request: Request, ctx: ContextDep,
                next_: Annotated[str | None, Query(alias="next")] = None) -> Response:
    """The sign-in form; its CSRF token is bound to a fresh ``ta_signin`` cookie."""
    if current_session(request) is not None:
        return redirect(safe_next(next_))
    nonce = new_nonce()
    keys = console_state(request).keys(ctx)
    response = render(request, "signin.html", next=safe_next(next_),
                      signin_csrf=keys.csrf_token(nonce), error=None)
    response.set_cookie(SIGNIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="strict",
                        secure=is_https(request), path="/signin")
    return response


@router.post("/signin")
async def signin(request: Request, ctx: ContextDep) -> Response:
    """Present an API key once; answer with the session cookie."""
    form = await read_form(request)
    target = safe_next(form_text(form, "next"))
    at = utc_now()

    def _run() -> Principal:
        with storage_errors(), write_session(ctx.engine) as session:
            principal = authenticate(session, form_text(form, "api_key"))
            append_event(session, event="console.signed-in", actor=principal.name,
                         subject=f"apikey:{principal.key_id}", details={}, at=at)
            session.commit()
            return principal

    try:
        principal = await run_in_threadpool(_run)
    except AuthError:
        keys = console_state(request).keys(ctx)
        nonce = request.cookies.get(SIGNIN_COOKIE) or ""
        return render(request, "signin.html", status=401, next=target,
                      signin_csrf=keys.csrf_token(nonce),
                      error="That API key is unknown, revoked or mistyped.")
    keys = console_state(request).keys(ctx)
    lifetime = session_lifetime(ctx)
    response = redirect(target if target != "/" else _HOME[principal.role])
    response.set_cookie(SESSION_COOKIE, keys.issue(principal.key_id, at=at, lifetime=lifetime),
                        max_age=int(lifetime.total_seconds()), httponly=True,
                        samesite="strict", secure=is_https(request), path="/")
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
async def signout(request: Request, viewer: ViewerDep) -> Response:
    """Forget the session cookie in this browser."""
    response = redirect("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=is_https(request))
    return response
