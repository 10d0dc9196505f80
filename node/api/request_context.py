"""The request context: request id, latency metric and one log line per HTTP request.

A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's
``BaseHTTPMiddleware`` runs the app in a separate task and streams the response through a
memory channel, which costs more per request than the handler of a small route. This one
only wraps ``send``.

Contract (unchanged from the decorator version it replaces):

- ``request.state.request_id`` is the caller's ``X-Request-Id`` or a new hex id, and every
  response carries it back as ``x-request-id``;
- the route's latency is observed in ``tradeaccord_request_seconds`` (label: the route's
  path template, or ``unmatched``);
- one ``request`` log line with request id, method, route, status, milliseconds and the
  authenticated principal (when a dependency set ``request.state.principal``).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("tradeaccord.api")


class RequestContextMiddleware:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
        # Not reached when the app raised: the server error handler outside logs that one.
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        path = getattr(route, "path", "unmatched")
        method = scope["method"]
        app_state = getattr(scope.get("app"), "state", None)
        ctx = getattr(app_state, "ctx", None)
        if ctx is not None:
            ctx.metrics.request_latency.labels(route=path, method=method).observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            fields = {"request_id": request_id, "method": method, "path": path,
                      "status": status, "ms": round(elapsed * 1000, 2)}
            principal = state.get("principal")
            if principal is not None:
                fields["principal"] = principal
            log.info("request", extra=fields)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1")) or None
    return None
