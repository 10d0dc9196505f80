"""Integration fixtures: real uvicorn servers on 127.0.0.1 (ephemeral ports), real HTTP.

``network`` stands up a pilot network of nodes (SG-CUSTOMS, CN-CUSTOMS, and optionally more)
each served by its own uvicorn server in a thread of this process, with the delivery worker
running in that server's event loop. Keys are generated per test (plaintext, in tmp_path).
With ``TRADEACCORD_TEST_DATABASE=postgresql`` every node gets its own PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from node.api.app import create_app, tls_client_context, uvicorn_tls_options
from node.authority import AuthorityDirectory
from node.client import NodeClient
from node.context import NodeContext
from node.pilot import AgreementSpec, AuthoritySpec, setup_network
from node.services.apikeys import Role
from node.settings import Settings, load_settings
from protocol.timeutil import utc_now
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)
from tests.node.processes import create_keys, wait_until

SG = AuthoritySpec("SG-CUSTOMS", "SG", "Singapore Customs", ("customs", "origin", "plant-protection"))
CN = AuthoritySpec("CN-CUSTOMS", "CN", "General Administration of Customs of China",
                  ("customs", "origin"))
COO_AGREEMENT = AgreementSpec("SG-CN-COO-2026", "SG-CUSTOMS", "CN-CUSTOMS",
                              ("certificate-of-origin",))
EXPORTER = "SG-UEN-201912345K"


def free_socket() -> socket.socket:
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets whose proto says TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def fast_settings(directory: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "worker_poll_seconds": 0.05,
        "delivery_backoff_base_seconds": 0.05,
        "delivery_backoff_max_seconds": 0.5,
        "delivery_timeout_seconds": 5.0,
        **overrides,
    }
    return load_settings(directory, **values)


@dataclass
class RunningNode:
    authority_id: str
    directory: AuthorityDirectory
    url: str
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)
    server: uvicorn.Server | None = None
    app: FastAPI | None = None
    thread: threading.Thread | None = None

    def client(self, role: str = "officer") -> NodeClient:
        return NodeClient(self.url, self.keys[role], verify=tls_client_context(self.settings))

    def start(self, sock: socket.socket, run_worker: bool = True) -> None:
        app = create_app(self.settings, run_worker=run_worker)
        self.app = app
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                **uvicorn_tls_options(self.settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True, name=f"node-{self.authority_id}")
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"node {self.authority_id} did not start")
            time.sleep(0.02)

    def quiesce(self) -> None:
        """Stop the worker and close its outbound connections, so that no peer holds an
        idle (TLS) connection that its server would wait on at shutdown."""
        if self.server is None or self.thread is None or not self.thread.is_alive():
            return
        loop = getattr(self.app.state, "loop", None) if self.app is not None else None
        if loop is not None:
            asyncio.run_coroutine_threadsafe(self.app.state.quiesce(), loop).result(timeout=30)

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=30)


@dataclass
class Network:
    nodes: dict[str, RunningNode]
    directories: dict[str, AuthorityDirectory] = field(default_factory=dict)

    def __getitem__(self, authority_id: str) -> RunningNode:
        return self.nodes[authority_id]


def wait_for(predicate: Callable[[], object], *, timeout: float = 30.0,
             interval: float = 0.05) -> object:
    """Poll until ``predicate()`` is truthy (bounded); return its value or fail the test."""
    try:
        return wait_until(predicate, timeout=timeout, what="condition", interval=interval)
    except TimeoutError as exc:
        pytest.fail(str(exc))


def final_delivery(client: NodeClient, document_id: str, peer: str) -> dict[str, object]:
    """Wait for the delivery of ``document_id`` to ``peer`` to leave ``pending``."""
    def _state() -> dict[str, object] | None:
        for delivery in client.status(document_id)["deliveries"]:
            if delivery["to"] == peer and delivery["state"] != "pending":
                return delivery  # type: ignore[no-any-return]
        return None

    return wait_for(_state)  # type: ignore[return-value]


@contextlib.contextmanager
def sg_context(base: Path, databases: DatabaseFactory,
               **overrides: object) -> Iterator[NodeContext]:
    """SG-CUSTOMS's node context alone (no HTTP, no worker loop), CN-CUSTOMS's endpoint at a
    closed port: for tests that drive the outbox and the delivery worker's functions."""
    directories = setup_network(base / "net", (SG, CN),
                                {CN.authority_id: "http://127.0.0.1:9"}, (COO_AGREEMENT,),
                                at=utc_now())
    context = NodeContext.build(fast_settings(directories[SG.authority_id].path,
                                              databases.new_url(), **overrides))
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def network_factory(tmp_path: Path, database_factory: DatabaseFactory,  # noqa: F811 (fixture)
                    ) -> Iterator[Callable[..., Network]]:
    started: list[RunningNode] = []

    def _make(authorities: tuple[AuthoritySpec, ...] = (SG, CN),
              agreements: tuple[AgreementSpec, ...] = (COO_AGREEMENT,),
              parties: dict[str, str] | None = None, start: bool = True, tls: bool = False,
              **overrides: object) -> Network:
        sockets = {spec.authority_id: free_socket() for spec in authorities if spec.serve}
        scheme = "https" if tls else "http"
        urls = {aid: f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
                for aid, sock in sockets.items()}
        directories = setup_network(tmp_path / "net", authorities, urls, agreements,
                                    at=utc_now())
        if tls:
            # Mutual TLS with the node certificates; every node trusts every root.
            partners = tmp_path / "net" / "partners.pem"
            partners.write_bytes(b"".join((d.path / "root.pem").read_bytes()
                                          for d in directories.values()))
        nodes: dict[str, RunningNode] = {}
        for authority_id, directory in directories.items():
            if authority_id not in sockets:
                continue  # signs offline, runs no node
            url = database_factory.new_url(migrated=True)
            tls_overrides: dict[str, object] = {}
            if tls:
                tls_overrides = {"tls_certfile": directory.path / "node.pem",
                                 "tls_keyfile": directory.path / "node.key",
                                 "tls_ca_file": tmp_path / "net" / "partners.pem"}
            settings = fast_settings(directory.path, url, **tls_overrides, **overrides)
            node = RunningNode(authority_id, directory, urls[authority_id], settings)
            trader_party = (parties or {}).get(authority_id, EXPORTER)
            node.keys = create_keys(url, {
                "trader": (Role.TRADER, trader_party), "officer": (Role.OFFICER, None),
                "operator": (Role.OPERATOR, None),
                "trader-other": (Role.TRADER, "SG-UEN-000000000X")})
            nodes[authority_id] = node
        if start:
            for authority_id, node in nodes.items():
                node.start(sockets[authority_id])
                started.append(node)
        else:
            for sock in sockets.values():
                sock.close()
        return Network(nodes, directories)

    yield _make
    for node in started:
        node.quiesce()
    for node in reversed(started):
        node.stop()


@pytest.fixture
def network(network_factory: Callable[..., Network]) -> Network:
    return network_factory()


def certificate_of_origin(document_id: str | None = None) -> dict[str, object]:
    """The example certificate of origin without ``id`` and ``issuer``: the node that signs it
    fills in its own (the example's issuer, SG-CHAMBER, is not a node in these networks)."""
    import json

    document = json.loads((Path(__file__).parents[2] / "examples" / "documents" /
                           "certificate-of-origin.json").read_text())
    document.pop("id", None)
    document.pop("issuer", None)
    if document_id:
        document["id"] = document_id
    return document  # type: ignore[no-any-return]


def example(doc_type: str) -> dict[str, object]:
    """The example of ``doc_type`` without ``id`` and ``issuer``, for the signing node to fill."""
    import json

    document = json.loads((Path(__file__).parents[2] / "examples" / "documents" /
                           f"{doc_type}.json").read_text())
    document.pop("id", None)
    document.pop("issuer", None)
    return document  # type: ignore[no-any-return]


_ = dt
