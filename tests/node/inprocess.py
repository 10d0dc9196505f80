"""Nodes of a pilot network as in-process apps: ``create_app`` over httpx ``ASGITransport``.

No server, no socket: each node's app runs its lifespan on one private event loop, requests
go through ``ASGITransport``, and a node's outbound client reaches its peers' apps through
``PeerRoutes`` (by the endpoint's ``host:port`` in the registry; the ports are never opened).
Tests that exercise the delivery worker's failure paths give a node an
``httpx.MockTransport`` instead, and drive the worker one pass at a time (``run_once``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from node.api.app import create_app
from node.authority import AuthorityDirectory
from node.context import NodeContext
from node.pilot import AgreementSpec, AuthoritySpec, setup_network
from node.services.apikeys import Role
from node.services.delivery import DeliveryWorker
from node.storage.database import write_session
from protocol.timeutil import utc_now
from tests.node.conftest import CN, COO_AGREEMENT, EXPORTER, SG, fast_settings
from tests.node.databases import DatabaseFactory
from tests.node.processes import create_keys
from trust_registry import TrustRegistry

T = TypeVar("T")
OTHER_PARTY = "SG-UEN-000000000X"
Handler = Callable[[httpx.Request], Awaitable[httpx.Response] | httpx.Response]


class PeerRoutes(httpx.AsyncBaseTransport):
    """Routes each request to the in-process app serving its ``host:port``; ``handler``, when
    set, answers instead (a ``MockTransport`` handler: refuse, fail, delay, …)."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.handler: Handler | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.handler is not None:
            return await httpx.MockTransport(self.handler).handle_async_request(request)
        transport = self.apps.get(request.url.netloc.decode("ascii"))
        if transport is None:
            raise httpx.ConnectError(f"no node at {request.url}", request=request)
        return await transport.handle_async_request(request)


@dataclass
class InProcessNode:
    authority_id: str
    directory: AuthorityDirectory
    endpoint: str
    ctx: NodeContext
    app: FastAPI
    routes: PeerRoutes
    outbound: httpx.AsyncClient
    keys: dict[str, str] = field(default_factory=dict)

    def worker(self) -> DeliveryWorker:
        return DeliveryWorker(self.ctx, self.outbound)


class InProcessNetwork:
    """Nodes on one private event loop. ``request`` is synchronous for the tests; close with
    ``close`` (it runs every lifespan's shutdown and closes the loop). ``created_at``: when
    the authorities' keys and agreements were made (default now)."""

    def __init__(self, base: Path, databases: DatabaseFactory, *,
                 authorities: tuple[AuthoritySpec, ...] = (SG, CN),
                 agreements: tuple[AgreementSpec, ...] = (COO_AGREEMENT,),
                 settings: Mapping[str, Mapping[str, object]] | None = None,
                 created_at: dt.datetime | None = None, **overrides: object) -> None:
        self.loop = asyncio.new_event_loop()
        self.nodes: dict[str, InProcessNode] = {}
        self._stack = contextlib.AsyncExitStack()
        endpoints = {spec.authority_id: f"http://127.0.0.1:{9001 + index}"
                     for index, spec in enumerate(authorities)}
        try:
            directories = setup_network(base, authorities, endpoints, agreements,
                                        at=created_at or utc_now())
            for authority_id, directory in directories.items():
                url = databases.new_url(migrated=True)
                node_settings = fast_settings(directory.path, url, **overrides,
                                              **(settings or {}).get(authority_id, {}))
                keys = create_keys(url, {
                    "trader": (Role.TRADER, EXPORTER), "officer": (Role.OFFICER, None),
                    "operator": (Role.OPERATOR, None),
                    "trader-other": (Role.TRADER, OTHER_PARTY)})
                ctx = NodeContext.build(node_settings)
                routes = PeerRoutes()
                outbound = httpx.AsyncClient(transport=routes)
                app = create_app(node_settings, run_worker=False, context=ctx,
                                 http_client=outbound)
                self.nodes[authority_id] = InProcessNode(
                    authority_id, directory, endpoints[authority_id], ctx, app, routes,
                    outbound, keys)
            for node in self.nodes.values():
                for other in self.nodes.values():
                    if other is not node:
                        node.routes.apps[other.endpoint.removeprefix("http://")] = \
                            httpx.ASGITransport(other.app, raise_app_exceptions=False)
                self.run(self._stack.enter_async_context(node.app.router.lifespan_context(
                    node.app)))
        except BaseException:
            self.close()
            raise

    def __getitem__(self, authority_id: str) -> InProcessNode:
        return self.nodes[authority_id]

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def request(self, authority_id: str, method: str, path: str, *, caller: str | None = None,
                headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """One request to a node's app; ``caller`` names the API key to present."""
        node = self.nodes[authority_id]
        sent = dict(headers or {})
        if caller is not None:
            sent["authorization"] = f"Bearer {node.keys[caller]}"

        async def _send() -> httpx.Response:
            transport = httpx.ASGITransport(node.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url=node.endpoint) as client:
                return await client.request(method, path, headers=sent, **kwargs)

        return self.run(_send())

    def install(self, authority_id: str, edit: Callable[[TrustRegistry], TrustRegistry]) -> None:
        """Install ``edit(current registry)`` at the node, as the operator API does."""
        ctx = self.nodes[authority_id].ctx
        with write_session(ctx.engine) as session:
            updated = edit(ctx.registry.current(session))
            ctx.registry.install(session, updated, actor="test")
            session.commit()
        ctx.registry.after_commit(updated)

    def deliver(self, authority_id: str, *, passes: int = 1) -> int:
        """Run the node's delivery worker ``passes`` times; return the messages attempted."""
        worker = self.nodes[authority_id].worker()
        return sum(self.run(worker.run_once()) for _ in range(passes))

    def close(self) -> None:
        try:
            self.run(self._stack.aclose())
            for node in self.nodes.values():
                self.run(node.outbound.aclose())
                node.ctx.close()
        finally:
            self.loop.close()
