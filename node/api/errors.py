"""The one place where errors leave the API: reason code → HTTP status and a small body.

Body: ``{"error": {"code": "…", "message": "…", "reasons": ["…"]}}``. Unexpected exceptions
answer 500 INTERNAL_ERROR without details (they are logged with the request id).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from node.errors import http_status
from protocol.errors import CodedError
from protocol.reason_codes import ReasonCode

log = logging.getLogger("tradeaccord.api")


def error_response(code: ReasonCode, message: str, reasons: tuple[ReasonCode, ...] = (),
                   status: int | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status or http_status(code),
        content={"error": {"code": code.value, "message": message,
                           "reasons": [r.value for r in (reasons or (code,))]}},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CodedError)
    async def _domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CodedError)  # ProtocolError, TrustError and NodeError alike
        return error_response(exc.code, exc.message, exc.codes)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = "/".join(str(part) for part in first.get("loc", ()))
        return error_response(ReasonCode.REQUEST_INVALID,
                              f"{where}: {first.get('msg', 'invalid request')}", status=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: ReasonCode.NOT_FOUND, 405: ReasonCode.REQUEST_INVALID}.get(
            exc.status_code, ReasonCode.REQUEST_INVALID)
        return error_response(code, str(exc.detail), status=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc,
                  extra={"request_id": getattr(request.state, "request_id", None)})
        return error_response(ReasonCode.INTERNAL_ERROR, "unexpected error; see the node log",
                              status=500)
