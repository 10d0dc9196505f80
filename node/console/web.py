"""The console's plumbing: templates, the signed-in viewer, CSRF, and HTML error pages.

Every console route uses ``ConsoleRoute``, which (1) refuses a state-changing request whose
form has no valid CSRF token, or whose ``Origin`` is another site, before the handler runs;
(2) bounds the size of form bodies; and (3) turns the node's coded errors into HTML pages
with the status the API would answer (403, 404, 409, 422…) and a missing sign-in into a
redirect to the sign-in page. Handlers therefore hold no authorisation or CSRF code of their
own beyond the ``ViewerDep`` they declare and the service calls they make — the same
services, with the same checks, as the API routes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from node.api.deps import ContextDep, get_context
from node.console import presentation
from node.console.sessions import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    Session,
    SessionKeys,
)
from node.context import NodeContext
from node.errors import http_status
from node.services.apikeys import Principal, Role
from node.storage.database import read_session
from node.storage.models import ApiKeyRecord
from protocol.errors import CodedError
from protocol.reason_codes import ReasonCode
from protocol.timeutil import utc_now

# Headers on every console response: no framing, no third-party anything, no caching of
# pages that show documents.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                               "base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small fields beside an upload


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in page."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person: the principal of its API key, the session and its CSRF token."""

    principal: Principal
    session: Session
    csrf: str
    label: str | None

    @property
    def role(self) -> Role:
        return self.principal.role


class ConsoleState:
    """Per-app console state: the template environment and, once the node's keys are in
    memory, the session keys."""

    def __init__(self) -> None:
        self.templates = Environment(
            loader=PackageLoader("node.console", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        presentation.install_filters(self.templates)
        self._keys: SessionKeys | None = None

    def keys(self, ctx: NodeContext) -> SessionKeys:
        if self._keys is None:
            self._keys = SessionKeys.derive(ctx.node_signer.key)
        return self._keys


def console_state(request: Request) -> ConsoleState:
    return request.app.state.console  # type: ignore[no-any-return]


def session_lifetime(ctx: NodeContext) -> dt.timedelta:
    return dt.timedelta(seconds=ctx.settings.console_session_seconds)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def _principal_of(ctx: NodeContext, key_id: str) -> tuple[Principal, str | None] | None:
    with read_session(ctx.engine) as session:
        record = session.exec(select(ApiKeyRecord).where(ApiKeyRecord.key_id == key_id)).first()
    if record is None or record.revoked_at is not None:
        return None
    return Principal(key_id=record.key_id, role=Role(record.role), party=record.party), \
        record.label


def current_session(request: Request) -> Session | None:
    ctx = get_context(request)
    keys = console_state(request).keys(ctx)
    return keys.verify(request.cookies.get(SESSION_COOKIE), at=utc_now())


async def get_viewer(request: Request, ctx: ContextDep) -> Viewer:
    """The signed-in viewer, or ``SignInRequired`` (the route class redirects)."""
    session = current_session(request)
    if session is None:
        raise SignInRequired
    found = await run_in_threadpool(_principal_of, ctx, session.key_id)
    if found is None:  # the key was revoked (or deleted) since sign-in
        raise SignInRequired
    principal, label = found
    request.state.principal = principal.name
    keys = console_state(request).keys(ctx)
    return Viewer(principal=principal, session=session, csrf=keys.csrf_token(session.nonce),
                  label=label)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


async def read_form(request: Request) -> FormData:
    """The (already checked) form of a state-changing request."""
    return await request.form()


def form_text(form: FormData, name: str) -> str:
    """A text field of the form ('' when absent or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def render(request: Request, template: str, *, status: int = 200,
           viewer: Viewer | None = None, headers: Mapping[str, str] | None = None,
           **context: Any) -> HTMLResponse:
    """Render a page template with the layout's context (viewer, node, navigation)."""
    state = console_state(request)
    ctx = get_context(request)
    html = state.templates.get_template(template).render(
        viewer=viewer, node=ctx.authority, path=request.url.path,
        nav=presentation.navigation(viewer.role if viewer else None),
        csrf_field=CSRF_FIELD, **context)
    response = HTMLResponse(html, status_code=status)
    for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
        response.headers[name] = value
    return response


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _error_page(request: Request, status: int, code: ReasonCode | None, message: str,
                viewer: Viewer | None = None) -> HTMLResponse:
    title = {400: "The request was not as expected", 401: "Sign in first",
             403: "Not allowed", 404: "Not found", 409: "Not possible now",
             413: "Too large", 422: "Not valid", 503: "The node's database is unavailable",
             }.get(status, "Something went wrong")
    return render(request, "error.html", status=status, viewer=viewer, title=title, code=code,
                  message=message)


async def _check_unsafe(request: Request) -> HTMLResponse | None:
    """CSRF, origin and size checks of a state-changing request: None when it may go on."""
    ctx = get_context(request)
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        return _error_page(request, 403, ReasonCode.FORBIDDEN,
                           "This form was sent from another site and is refused.")
    declared = request.headers.get("content-length")
    limit = ctx.limits.max_envelope_bytes + _FORM_OVERHEAD
    if declared is None or not declared.isdigit():
        return _error_page(request, 411 if declared is None else 400, ReasonCode.REQUEST_INVALID,
                           "A form must be sent with its length.")
    if int(declared) > limit:
        return _error_page(request, 413, ReasonCode.JSON_TOO_LARGE,
                           f"The form holds {declared} bytes; at most {limit} are accepted.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _error_page(request, 403, ReasonCode.FORBIDDEN,
                           "Console forms carry a CSRF token; this request has none.")
    form = await request.form(max_files=2, max_fields=64, max_part_size=limit)
    keys = console_state(request).keys(ctx)
    session = current_session(request)
    nonce = session.nonce if session is not None else request.cookies.get(SIGNIN_COOKIE)
    token = form.get(CSRF_FIELD)
    if not keys.csrf_valid(nonce, token if isinstance(token, str) else None):
        return _error_page(request, 403, ReasonCode.FORBIDDEN,
                           "The form's security token is missing or stale. Go back, reload "
                           "the page and send the form again.")
    return None


class ConsoleRoute(APIRoute):
    """A console page: CSRF-checked when it changes state, errors as HTML pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                if request.method not in SAFE_METHODS:
                    refused = await _check_unsafe(request)
                    if refused is not None:
                        return refused
                return await handler(request)
            except SignInRequired:
                if request.method in SAFE_METHODS:
                    target = request.url.path + (f"?{request.url.query}" if request.url.query
                                                 else "")
                    return redirect(f"/signin?next={quote(target, safe='')}")
                return _error_page(request, 401, ReasonCode.AUTH_REQUIRED,
                                   "Your session has ended. Sign in again.")
            except CodedError as error:
                status = http_status(error.code)
                if error.code is ReasonCode.AUTH_REQUIRED:
                    status = 403
                return _error_page(request, status, error.code, error.message)
            except RequestValidationError as error:
                first = error.errors()[0] if error.errors() else {}
                where = " ".join(str(part) for part in first.get("loc", ()))
                return _error_page(request, 400, ReasonCode.REQUEST_INVALID,
                                   f"{where}: {first.get('msg', 'not as expected')}")
            finally:
                await request.close()  # the uploaded files' temporary files

        return console_handler
