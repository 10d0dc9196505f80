"""``create_app(settings)``: the node's FastAPI application.

The app builds its ``NodeContext`` (keys, engine, registry, schemas) and its outbound
``httpx.AsyncClient`` in the lifespan and keeps them on ``app.state``; with ``run_worker``
the delivery worker and the webhook worker run in the same event loop. Several apps can run in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from node.api import (
    declarations,
    documents,
    lifecycle,
    models,
    negotiations,
    ops,
    outbox,
    peer,
    registry,
    titles,
    verify,
    webhooks,
)
from node.api.docs import install_docs
from node.api.errors import install_error_handlers
from node.api.request_context import RequestContextMiddleware
from node.api.schemas import install_body_schemas
from node.console import install_console
from node.context import NodeContext
from node.services.delivery import DeliveryWorker
from node.services.webhooks import WebhookWorker, make_webhook_client
from node.settings import Settings


def tls_client_context(settings: Settings) -> ssl.SSLContext | bool:
    """Outbound TLS: peers' server certificates checked against ``tls_ca_file`` (else the
    system's CAs); with ``tls_certfile``/``tls_keyfile`` this node presents its certificate
    (mutual TLS). The key may be encrypted with the node passphrase."""
    certfile, keyfile, cafile = settings.tls_certfile, settings.tls_keyfile, settings.tls_ca_file
    if cafile is None and not (certfile and keyfile):
        return True
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if certfile and keyfile:
        context.load_cert_chain(str(certfile), str(keyfile), password=settings.passphrase_bytes())
    return context


def uvicorn_tls_options(settings: Settings) -> dict[str, Any]:
    """Inbound TLS for uvicorn: HTTPS with ``tls_certfile``/``tls_keyfile`` (the key may be
    encrypted with the node passphrase); with ``tls_ca_file`` every caller must present a
    client certificate that chains to it (mutual TLS)."""
    if not (settings.tls_certfile and settings.tls_keyfile):
        return {}
    options: dict[str, Any] = {"ssl_certfile": str(settings.tls_certfile),
                               "ssl_keyfile": str(settings.tls_keyfile)}
    passphrase = settings.passphrase_bytes()
    if passphrase:
        options["ssl_keyfile_password"] = passphrase.decode("utf-8")
    if settings.tls_ca_file:
        options["ssl_ca_certs"] = str(settings.tls_ca_file)
        options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return options


def make_http_client(settings: Settings) -> httpx.AsyncClient:
    """The outbound client: bounded connections, timeouts, optional mutual TLS."""
    limits = httpx.Limits(max_connections=max(1, settings.delivery_concurrency),
                          max_keepalive_connections=max(1, settings.delivery_concurrency))
    return httpx.AsyncClient(timeout=settings.delivery_timeout_seconds, limits=limits,
                             verify=tls_client_context(settings))


def create_app(settings: Settings, *, run_worker: bool = True,
               context: NodeContext | None = None,
               http_client: httpx.AsyncClient | None = None) -> FastAPI:
    """Build the app. ``context``/``http_client`` may be injected (tests); otherwise they
    are built from ``settings`` at startup and closed at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = context if context is not None else await asyncio.to_thread(NodeContext.build,
                                                                          settings)
        client = http_client or make_http_client(settings)
        app.state.ctx = ctx
        app.state.http_client = client
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        # Webhook receivers get their own client: the node's TLS client certificate and
        # peer CA are for peers only.
        hooks_client = http_client or make_webhook_client(settings)
        if run_worker:
            worker = DeliveryWorker(ctx, client)
            tasks.append(asyncio.create_task(worker.run(stop), name="delivery-worker"))
            tasks.append(asyncio.create_task(WebhookWorker(ctx, hooks_client).run(stop),
                                             name="webhook-worker"))

        async def quiesce() -> None:
            """Stop the workers and close outbound connections (idempotent)."""
            stop.set()
            for task in tasks:
                await task
            if http_client is None:
                for own in (client, hooks_client):
                    if not own.is_closed:
                        await own.aclose()

        app.state.loop = asyncio.get_running_loop()
        app.state.quiesce = quiesce
        try:
            yield
        finally:
            await quiesce()
            if context is None:
                ctx.close()

    app = FastAPI(
        title="TradeAccord node",
        version="0.1.0",
        description="Sign, send, receive, verify and recognise cross-border trade documents.",
        lifespan=lifespan,
        # /docs and /redoc are served by install_docs with node-local assets.
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
    )
    install_error_handlers(app)

    # Added last, so it runs outermost of the app's own middleware (inside Starlette's
    # server-error middleware): it sees every answer the routes and handlers give.
    app.add_middleware(RequestContextMiddleware)

    for module in (documents, declarations, titles, verify, registry, outbox, webhooks, peer,
                   ops, lifecycle, negotiations):
        app.include_router(module.router)
    # Every module's request-body models (schemas.documented / request_body refer to them).
    install_body_schemas(app, (*declarations.BODY_MODELS, *titles.BODY_MODELS,
                               *models.BODY_MODELS, *documents.BODY_MODELS,
                               *lifecycle.BODY_MODELS))
    install_docs(app)
    install_console(app)
    return app
