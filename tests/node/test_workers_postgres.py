"""Two delivery worker processes drain one PostgreSQL outbox without sending a message twice.

SG-CUSTOMS (A) keeps its outbox in a fresh PostgreSQL database; its API runs as
``node serve --no-worker`` and two ``node worker`` processes share the database. A's
registry points CN-CUSTOMS's endpoint at a counting reverse proxy in this test process,
which forwards every envelope to CN-CUSTOMS (B, a real ``node serve`` process) and records
the message id of each one. Small envelopes (5 documents) make many messages to fight over.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from node.client import NodeClient
from node.pilot import setup_network
from node.services.apikeys import Role
from protocol.timeutil import utc_now
from tests.node.conftest import CN, COO_AGREEMENT, EXPORTER, SG, certificate_of_origin
from tests.node.databases import DatabaseFactory, require_postgres
from tests.node.processes import (
    FAST,
    NodeProcess,
    create_keys,
    free_port,
    sqlite_rows,
    submit_tolerant,
    wait_until,
    write_node_env,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DOCUMENTS = 150  # 30 envelopes of 5 for two workers to fight over
SUBMITTERS = 4
PEER_PATH = "/v1/peer/envelopes"
Send = Callable[[dict[str, Any]], Any]
Receive = Callable[[], Any]


class CountingProxy:
    """An ASGI reverse proxy for the peer endpoint that counts envelopes per message id.

    It must not itself make a message travel twice. Its client to B opens a connection per
    envelope: a pooled one may be closed by B's server (idle for its keep-alive timeout)
    just as the proxy sends on it, and that failed forward, answered 500, made A's worker
    send the message again (the test's flake). A forward that fails anyway is answered 502
    and recorded in ``failures``, so that the assertions say what happened."""

    def __init__(self, target: str, *, delay: float = 0.0) -> None:
        self.target = target.rstrip("/")
        self.delay = delay
        self.forwarded: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.overlapping: set[str] = set()
        self.failures: list[str] = []
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] != "POST" or scope["path"] != PEER_PATH or self.client is None:
            await _respond(send, 404, b'{"error": {"code": "NOT_FOUND", "message": "proxy"}}')
            return
        message_id = _message_id(body)
        self.forwarded[message_id] += 1
        self.in_flight[message_id] += 1
        if self.in_flight[message_id] > 1:
            self.overlapping.add(message_id)
        try:
            await asyncio.sleep(self.delay)  # a slow peer: answers just within the timeout
            response = await self.client.post(self.target + PEER_PATH, content=body,
                                              headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            self.failures.append(f"{message_id}: {type(exc).__name__}: {exc}")
            self.statuses[502] += 1
            await _respond(send, 502, b'{"error": {"code": "PEER_UNREACHABLE", '
                                      b'"message": "proxy"}}')
            return
        finally:
            self.in_flight[message_id] -= 1
        self.statuses[response.status_code] += 1
        await _respond(send, response.status_code, response.content)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client = httpx.AsyncClient(
                    timeout=30, limits=httpx.Limits(max_keepalive_connections=0))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def _message_id(body: bytes) -> str:
    payload = json.loads(body)["payload"]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return str(json.loads(decoded)["messageId"])


class ProxyServer:
    def __init__(self, proxy: CountingProxy, port: int) -> None:
        # Idle connections are kept longer than A's client keeps them (httpx: 5 s), so a
        # worker never sends on a connection the proxy is closing at that moment.
        config = uvicorn.Config(proxy, host="127.0.0.1", port=port, log_level="warning",
                                access_log=False, lifespan="on", timeout_keep_alive=30)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="proxy")

    def start(self) -> None:
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive(), timeout=30,
                   what="proxy started")
        assert self.server.started

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.ident is not None:
            self.thread.join(timeout=30)


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    require_postgres()
    factory = DatabaseFactory("postgresql", tmp_path)
    try:
        yield factory.new_url()
    finally:
        factory.drop_all()


def _pg_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         connect_timeout=5) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


@dataclass
class Stack:
    a: NodeProcess
    b: NodeProcess
    workers: list[NodeProcess]
    proxy: CountingProxy
    trader_key: str
    database: str

    def submit(self, ids: list[str]) -> None:
        deadline = time.monotonic() + 90

        def _chunk(chunk: list[str]) -> list[str]:
            with NodeClient(self.a.url, self.trader_key) as trader:
                return [submit_tolerant(trader, certificate_of_origin(doc_id),
                                        [CN.authority_id], deadline=deadline)
                        for doc_id in chunk]

        with ThreadPoolExecutor(SUBMITTERS) as pool:
            chunks = [ids[k::SUBMITTERS] for k in range(SUBMITTERS)]
            submitted = [i for done in pool.map(_chunk, chunks) for i in done]
        assert sorted(submitted) == sorted(ids)

    def wait_final(self, count: int) -> None:
        def _final() -> bool:
            assert all(worker.alive() for worker in self.workers), \
                [w.tail() for w in self.workers]
            [(final,)] = _pg_rows(self.database,
                                  "SELECT count(*) FROM delivery WHERE state <> 'pending'")
            return final == count

        wait_until(_final, timeout=120, what="every delivery at A final", interval=0.2)

    def check_sent_once(self, ids: list[str]) -> None:
        """Every delivery accepted, every message forwarded once on its first attempt, B
        holding each message and each document once."""
        database = self.database
        assert _pg_rows(database, "SELECT state, outcome, count(*) FROM delivery "
                                  "GROUP BY state, outcome") == [("delivered", "accepted", len(ids))]
        messages = dict(_pg_rows(database, "SELECT message_id, attempts FROM outbound_message "
                                           "WHERE state = 'delivered' "
                                           "AND receipt_bytes IS NOT NULL"))
        [(total,)] = _pg_rows(database, "SELECT count(*) FROM outbound_message")
        assert len(messages) == total
        # The proxy forwarded each message exactly once, never two copies at the same time.
        assert self.proxy.failures == []
        assert self.proxy.overlapping == set()
        assert dict(self.proxy.forwarded) == dict.fromkeys(messages, 1)
        assert set(messages.values()) == {1}
        assert dict(self.proxy.statuses) == {200: total}
        b_db = self.b.directory / "node.db"
        inbound_messages = [row[0] for row in sqlite_rows(b_db, "SELECT message_id "
                                                                "FROM inbound_message")]
        assert sorted(inbound_messages) == sorted(messages)
        documents = [row[0] for row in sqlite_rows(b_db, "SELECT document_id FROM document "
                                                         "WHERE direction = 'inbound'")]
        assert sorted(documents) == sorted(ids)


@pytest.fixture
def stack_factory(tmp_path: Path, postgres_url: str) -> Iterator[Callable[..., Stack]]:
    """B serving, the proxy in front of B, A's API (no worker) on PostgreSQL and ``workers``
    worker processes (not started). Everything stops before the database is dropped."""
    made: list[tuple[Stack, ProxyServer]] = []

    def _make(*, workers: int = 2, delay: float = 0.0, **settings: str) -> Stack:
        ports = {"a": free_port(), "b": free_port(), "proxy": free_port()}
        urls = {SG.authority_id: f"http://127.0.0.1:{ports['a']}",
                CN.authority_id: f"http://127.0.0.1:{ports['proxy']}"}
        directories = setup_network(tmp_path / "net", (SG, CN), urls, (COO_AGREEMENT,),
                                    at=utc_now())
        a_dir, b_dir = directories[SG.authority_id].path, directories[CN.authority_id].path
        write_node_env(a_dir, {**FAST, "TRADEACCORD_DATABASE_URL": postgres_url, **settings})
        write_node_env(b_dir, FAST)
        keys = create_keys(postgres_url, {"trader": (Role.TRADER, EXPORTER)})
        proxy = CountingProxy(f"http://127.0.0.1:{ports['b']}", delay=delay)
        stack = Stack(NodeProcess(SG.authority_id, a_dir, ports["a"], name="api"),
                      NodeProcess(CN.authority_id, b_dir, ports["b"], name="api"),
                      [NodeProcess(SG.authority_id, a_dir, name=f"w{i}")
                       for i in range(1, workers + 1)],
                      proxy, keys["trader"], postgres_url)
        server = ProxyServer(proxy, ports["proxy"])
        made.append((stack, server))
        stack.b.serve()
        server.start()
        stack.a.serve(worker=False)
        return stack

    try:
        yield _make
    finally:
        for stack, server in made:
            for process in (*stack.workers, stack.a, stack.b):
                process.stop()
            server.stop()


def test_two_workers_never_send_a_message_twice(stack_factory: Callable[..., Stack]) -> None:
    # A generous timeout: on a loaded machine a round trip through the proxy may take
    # seconds, and a timed-out attempt is (rightly) sent again, which this test would count.
    stack = stack_factory(TRADEACCORD_DELIVERY_BATCH_SIZE="5",
                          TRADEACCORD_DELIVERY_TIMEOUT_SECONDS="30")
    for worker in stack.workers:
        worker.work()
    ids = [f"pg-{uuid.uuid4().hex[:8]}-{i:04d}" for i in range(DOCUMENTS)]
    stack.submit(ids)  # while both workers assemble and claim
    stack.wait_final(DOCUMENTS)
    stack.check_sent_once(ids)


def test_slow_peer_lease_outlives_every_send(stack_factory: Callable[..., Stack]) -> None:
    """A peer that answers within the timeout, slowly: a message a worker has claimed must
    not come up for claiming again (lease expired) while that worker still sends it."""
    # 7 s of delay in the proxy, then B's own time: 3 s of room before the 10 s timeout, so
    # that a loaded machine does not time the attempt out (a timeout is rightly retried).
    stack = stack_factory(workers=3, delay=7.0, TRADEACCORD_DELIVERY_BATCH_SIZE="1",
                          TRADEACCORD_DELIVERY_CONCURRENCY="1",
                          TRADEACCORD_DELIVERY_TIMEOUT_SECONDS="10")
    ids = [f"slow-{uuid.uuid4().hex[:8]}-{i}" for i in range(4)]
    stack.submit(ids)  # four messages wait; then three workers take them
    for worker in stack.workers:
        worker.work()
    stack.wait_final(len(ids))
    stack.check_sent_once(ids)
