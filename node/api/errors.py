"""The one place where errors leave the API: reason code → HTTP status and an RFC 9457 body.

Every error answers ``application/problem+json`` (ADR 0030)::

    {"type": "https://tradeaccord.dev/errors#DOCUMENT_DUPLICATE",   stable per reason code
     "title": "…",                 the reason code's description (same for every occurrence)
     "status": 409, "detail": "…",  what was expected and what was found
     "instance": "/v1/documents",   the request path
     "code": "DOCUMENT_DUPLICATE", "reasons": ["DOCUMENT_DUPLICATE"],   extension members
     "error": {"code": …, "message": …, "reasons": […]}}   deprecated: the pre-0030 body

Unexpected exceptions answer 500 INTERNAL_ERROR without details (logged with the request id).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from node.errors import http_status
from protocol.errors import CodedError
from protocol.reason_codes import ReasonCode

log = logging.getLogger("tradeaccord.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
# The problem type of a reason code: an identifier (RFC 9457 §3.1.1), the same on every node,
# whose fragment is the code's anchor in docs/errors.md.
PROBLEM_TYPE_BASE = "https://tradeaccord.dev/errors#"


def problem_type(code: ReasonCode) -> str:
    """The stable ``type`` URI of the problem a reason code names."""
    return PROBLEM_TYPE_BASE + code.value


class ProblemResponse(JSONResponse):
    """A JSON response with the problem-details media type."""

    media_type = PROBLEM_MEDIA_TYPE


def problem_body(code: ReasonCode, message: str, reasons: tuple[ReasonCode, ...] = (),
                 *, status: int, instance: str | None = None) -> dict[str, Any]:
    """The RFC 9457 body, with ``code``/``reasons`` and the deprecated ``error`` member."""
    listed = [r.value for r in (reasons or (code,))]
    body: dict[str, Any] = {"type": problem_type(code), "title": code.description,
                            "status": status, "detail": message}
    if instance is not None:
        body["instance"] = instance
    body.update({"code": code.value, "reasons": listed,
                 "error": {"code": code.value, "message": message, "reasons": listed}})
    return body


def error_response(code: ReasonCode, message: str, reasons: tuple[ReasonCode, ...] = (),
                   status: int | None = None, request: Request | None = None) -> JSONResponse:
    """A problem-details answer for ``code`` (status from the code unless given)."""
    resolved = status or http_status(code)
    instance = request.url.path if request is not None else None
    return ProblemResponse(status_code=resolved,
                           content=problem_body(code, message, reasons, status=resolved,
                                                instance=instance))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CodedError)
    async def _domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CodedError)  # ProtocolError, TrustError and NodeError alike
        return error_response(exc.code, exc.message, exc.codes, request=request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = "/".join(str(part) for part in first.get("loc", ()))
        return error_response(ReasonCode.REQUEST_INVALID,
                              f"{where}: {first.get('msg', 'invalid request')}", status=422,
                              request=request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: ReasonCode.NOT_FOUND, 405: ReasonCode.REQUEST_INVALID}.get(
            exc.status_code, ReasonCode.REQUEST_INVALID)
        response = error_response(code, str(exc.detail), status=exc.status_code,
                                  request=request)
        if exc.headers:  # e.g. Allow on a 405
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc,
                  extra={"request_id": getattr(request.state, "request_id", None)})
        return error_response(ReasonCode.INTERNAL_ERROR, "unexpected error; see the node log",
                              status=500, request=request)
