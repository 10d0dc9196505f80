"""``create_app(settings)``: the node's FastAPI application.

The app builds its ``NodeContext`` (keys, engine, registry, schemas) and its outbound
``httpx.AsyncClient`` in the lifespan and keeps them on ``app.state``; with ``run_worker``
the delivery worker runs in the same event loop. Several apps can run in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from fastapi import FastAPI, Request, Response

from node.api import documents, ops, outbox, peer, registry, verify
from node.api.errors import install_error_handlers
from node.context import NodeContext
from node.services.delivery import DeliveryWorker
from node.settings import Settings

log = logging.getLogger("tradeaccord.api")


def make_http_client(settings: Settings) -> httpx.AsyncClient:
    """The outbound client: bounded connections, timeouts, optional mutual TLS."""
    verify_tls: bool | str = str(settings.tls_ca_file) if settings.tls_ca_file else True
    cert = None
    if settings.tls_certfile and settings.tls_keyfile:
        cert = (str(settings.tls_certfile), str(settings.tls_keyfile))
    limits = httpx.Limits(max_connections=max(1, settings.delivery_concurrency),
                          max_keepalive_connections=max(1, settings.delivery_concurrency))
    return httpx.AsyncClient(timeout=settings.delivery_timeout_seconds, limits=limits,
                             verify=verify_tls, cert=cert)


def create_app(settings: Settings, *, run_worker: bool = True,
               context: NodeContext | None = None,
               http_client: httpx.AsyncClient | None = None) -> FastAPI:
    """Build the app. ``context``/``http_client`` may be injected (tests); otherwise they
    are built from ``settings`` at startup and closed at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = context or await asyncio.to_thread(NodeContext.build, settings)
        client = http_client or make_http_client(settings)
        app.state.ctx = ctx
        app.state.http_client = client
        stop = asyncio.Event()
        task = None
        if run_worker:
            worker = DeliveryWorker(ctx, client)
            task = asyncio.create_task(worker.run(stop), name="delivery-worker")
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            if http_client is None:
                await client.aclose()
            if context is None:
                ctx.close()

    app = FastAPI(
        title="TradeAccord node",
        version="0.1.0",
        description="Sign, send, receive, verify and recognise cross-border trade documents.",
        lifespan=lifespan,
    )
    install_error_handlers(app)

    @app.middleware("http")
    async def request_context(request: Request,
                              call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        response.headers["x-request-id"] = request_id
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        ctx = getattr(request.app.state, "ctx", None)
        if ctx is not None:
            ctx.metrics.request_latency.labels(route=path, method=request.method).observe(elapsed)
        log.info("request", extra={"request_id": request_id, "method": request.method,
                                   "path": path, "status": response.status_code,
                                   "ms": round(elapsed * 1000, 2),
                                   "principal": getattr(request.state, "principal", None)})
        return response

    for module in (documents, verify, registry, outbox, peer, ops):
        app.include_router(module.router)
    return app
