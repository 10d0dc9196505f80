"""Typed dependencies shared by the routers, and strict request-body reading."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from node.context import NodeContext
from node.errors import RequestError
from node.services.apikeys import Principal, authenticate
from node.storage.database import read_session
from protocol.errors import JSONInputError
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json

# The form of every identifier in a path (document, message and agreement ids, as their
# schemas define them): anything else is refused (422) before it reaches a query, where
# PostgreSQL would fail on a NUL character.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
IdPath = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]


def get_context(request: Request) -> NodeContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


ContextDep = Annotated[NodeContext, Depends(get_context)]


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


# The two ways to present an API key, declared as the OpenAPI security schemes (either one
# will do); ``get_principal`` reads the headers itself, so these never refuse on their own.
BEARER_SCHEME = HTTPBearer(scheme_name="apiKeyBearer", auto_error=False,
                           description="An API key: `Authorization: Bearer <key>`")
HEADER_SCHEME = APIKeyHeader(name="X-API-Key", scheme_name="apiKeyHeader", auto_error=False,
                             description="An API key in the `X-API-Key` header")


async def get_principal(
        request: Request, ctx: ContextDep,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER_SCHEME)],
        _header: Annotated[str | None, Security(HEADER_SCHEME)]) -> Principal:
    """The caller of an authenticated route (AUTH_REQUIRED without a valid key)."""
    presented = _presented_key(request)

    def _lookup() -> Principal:
        with read_session(ctx.engine) as session:
            return authenticate(session, presented)

    principal = await run_in_threadpool(_lookup)
    request.state.principal = principal.name
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) beyond ``limit`` bytes before it is all read, and
    (415) unless it is JSON."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise RequestError(ReasonCode.CONTENT_TYPE_UNSUPPORTED,
                           f"content-type must be application/json, not {content_type!r}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise JSONInputError(ReasonCode.JSON_TOO_LARGE,
                             f"{declared} bytes exceeds the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise JSONInputError(ReasonCode.JSON_TOO_LARGE, f"body exceeds the limit of {limit}")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, ctx: NodeContext, limit: int | None = None) -> Any:
    """The body parsed as strict I-JSON (duplicate members, NaN, … refused with codes)."""
    body = await read_body(request, limit or ctx.limits.max_document_bytes)
    return parse_json(body, max_bytes=limit or ctx.limits.max_document_bytes,
                      max_depth=ctx.limits.max_depth)


def require_object(value: Any, allowed: set[str], required: set[str]) -> dict[str, Any]:
    """A request object with only ``allowed`` members and every ``required`` one."""
    if not isinstance(value, dict):
        raise RequestError(ReasonCode.REQUEST_INVALID, "the body must be a JSON object")
    unknown = set(value) - allowed
    if unknown:
        raise RequestError(ReasonCode.REQUEST_INVALID, f"unknown members: {sorted(unknown)}")
    missing = required - set(value)
    if missing:
        raise RequestError(ReasonCode.REQUEST_INVALID, f"missing members: {sorted(missing)}")
    return value
