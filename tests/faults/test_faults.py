"""Exactly once under faults: real node processes, SIGKILLs at random moments, a faulty path.

SG-CUSTOMS (A) sends certificates of origin to CN-CUSTOMS (B) through :class:`FaultProxy`,
which refuses connections, answers 503, drops answers after B stored the message and hangs
past A's timeout. Meanwhile a seeded RNG picks moments and processes to SIGKILL (A's API,
A's delivery worker, B's API — while they send, receive and commit) and restarts them.

- SQLite: one ``node serve`` process per node (API and worker in one).
- PostgreSQL: per node, two API processes (``node serve --no-worker``) and two ``node
  worker`` processes on one database; the proxy spreads envelopes over B's two APIs.

At the end: every document is at B exactly once, every delivery at A is delivered/accepted
with a receipt that verifies against B's root, no outbound message is left undelivered, and
both audit chains are intact (``tradeaccord audit verify``). The run prints its seed and
``sent, delivered, duplicates, lost, kills`` (and the faults drawn).

``TRADEACCORD_FAULT_MESSAGES`` sets the documents across both runs (default 120: the
suite stays quick; ``.ci/run`` sets a moderate value; docs/security.md gives the 2,000+
command). ``TRADEACCORD_FAULT_SEED`` replays a run. Each run is bounded by a hard timeout.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from node.client import NodeClient
from node.pilot import setup_network
from node.services.apikeys import Role
from protocol.certificates import CertUsage
from protocol.jws import GeneralJWS, JWSType, verify
from protocol.receipt import Outcome, Receipt
from protocol.timeutil import utc_now
from tests.faults.fault_proxy import FaultProxy
from tests.node.conftest import CN, COO_AGREEMENT, EXPORTER, SG, certificate_of_origin
from tests.node.databases import DatabaseFactory, require_postgres
from tests.node.processes import (
    FAST,
    ROOT,
    NodeProcess,
    clean_env,
    create_keys,
    free_port,
    sqlite_rows,
    submit_tolerant,
    wait_until,
    write_node_env,
)

pytestmark = pytest.mark.slow

TOTAL = int(os.environ.get("TRADEACCORD_FAULT_MESSAGES", "120"))
SEED = int(os.environ.get("TRADEACCORD_FAULT_SEED", str(random.SystemRandom().randrange(2**32))))
TIMEOUT_SECONDS = 2.0  # A's delivery timeout; the proxy hangs past it
RUN_BUDGET = 240 + TOTAL  # seconds: the hard bound of one run
SUBMITTERS = 3


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite:///"):
        return sqlite_rows(Path(url.removeprefix("sqlite:///")), sql)
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         connect_timeout=5) as conn:
        return conn.execute(sql).fetchall()


@dataclass
class Node:
    """One authority's processes: ``apis`` (each serving on its port) and ``workers``."""

    directory: Path
    database: str
    apis: list[NodeProcess]
    workers: list[NodeProcess]
    api_has_worker: bool
    keys: dict[str, str] = field(default_factory=dict)

    def processes(self) -> list[NodeProcess]:
        return [*self.apis, *self.workers]

    def start(self) -> None:
        for api in self.apis:
            api.serve(worker=self.api_has_worker, timeout=90)
        for worker in self.workers:
            worker.work()

    def restart(self, process: NodeProcess) -> None:
        if process in self.workers:
            process.work()
        else:
            process.serve(worker=self.api_has_worker, timeout=90)

    def stop(self) -> None:
        for process in self.processes():
            process.stop()


@dataclass
class Run:
    a: Node
    b: Node
    proxy: FaultProxy
    b_root: Any
    kills: list[str] = field(default_factory=list)
    slow_restarts: list[NodeProcess] = field(default_factory=list)


def _build(base: Path, backend: str, databases: DatabaseFactory) -> Run:
    pairs = 2 if backend == "postgresql" else 1
    ports = {name: [free_port() for _ in range(pairs)] for name in ("a", "b")}
    proxy = FaultProxy([f"http://127.0.0.1:{port}" for port in ports["b"]], seed=SEED,
                       hang_seconds=TIMEOUT_SECONDS + 1.5)
    proxy_port = proxy.start()
    urls = {SG.authority_id: f"http://127.0.0.1:{ports['a'][0]}",
            CN.authority_id: f"http://127.0.0.1:{proxy_port}"}
    directories = setup_network(base / "net", (SG, CN), urls, (COO_AGREEMENT,), at=utc_now())
    nodes: dict[str, Node] = {}
    for name, authority in (("a", SG), ("b", CN)):
        directory = directories[authority.authority_id].path
        url = databases.new_url() if backend == "postgresql" \
            else f"sqlite:///{directory / 'node.db'}"
        write_node_env(directory, {**FAST, "TRADEACCORD_DATABASE_URL": url,
                                   "TRADEACCORD_DELIVERY_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
                                   "TRADEACCORD_DELIVERY_BATCH_SIZE": "5"})
        apis = [NodeProcess(authority.authority_id, directory, port, name=f"api{i}")
                for i, port in enumerate(ports[name], start=1)]
        workers = [NodeProcess(authority.authority_id, directory, name=f"worker{i}")
                   for i in range(1, pairs + 1)] if backend == "postgresql" else []
        node = Node(directory, url, apis, workers, api_has_worker=backend == "sqlite")
        node.keys = create_keys(url, {"trader": (Role.TRADER, EXPORTER),
                                      "operator": (Role.OPERATOR, None)})
        nodes[name] = node
    return Run(nodes["a"], nodes["b"], proxy, directories[CN.authority_id].root_certificate)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Run]:
    backend = request.param
    if backend == "postgresql":
        require_postgres()
    databases = DatabaseFactory(backend, tmp_path)
    built = _build(tmp_path, backend, databases)
    try:
        yield built
    finally:
        built.a.stop()
        built.b.stop()
        built.proxy.stop()
        databases.drop_all()


def _submit_all(run: Run, ids: list[str], deadline: float) -> list[str]:
    """Submit every document through A's API processes, surviving their kills."""
    chunks = [ids[i::SUBMITTERS] for i in range(SUBMITTERS)]

    def _chunk(index: int) -> list[str]:
        api = run.a.apis[index % len(run.a.apis)]
        with NodeClient(api.url, run.a.keys["trader"], timeout=30) as trader:
            return [submit_tolerant(trader, certificate_of_origin(doc_id), [CN.authority_id],
                                    deadline=deadline) for doc_id in chunks[index]]

    with ThreadPoolExecutor(SUBMITTERS) as pool:
        return [doc_id for done in pool.map(_chunk, range(SUBMITTERS)) for doc_id in done]


def _final_at_a(run: Run) -> int:
    return int(_rows(run.a.database, "SELECT count(*) FROM delivery "
                                     "WHERE state <> 'pending'")[0][0])


def _killer(run: Run, rng: random.Random, kills: int, stop: threading.Event) -> None:
    """SIGKILL ``kills`` processes at random moments (0.3–2 s apart), each restarted at once."""
    victims = [(node, process) for node in (run.a, run.b) for process in node.processes()]
    for _ in range(kills):
        if stop.wait(rng.uniform(0.3, 2.0)):
            return
        node, process = rng.choice(victims)
        process.kill()
        run.kills.append(f"{process.authority_id}/{process.name}")
        try:
            node.restart(process)
        except TimeoutError:
            # A busy machine may take longer to bring an API up: the test waits for it
            # again (within the run's budget) before it checks anything.
            run.slow_restarts.append(process)


def _audit_verify(node: Node) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "node.cli", "audit", "verify", "--authority-dir",
         str(node.directory)], capture_output=True, text=True, env=clean_env(), cwd=ROOT,
        timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit log intact" in result.stdout


def _check(run: Run, ids: list[str]) -> dict[str, int]:
    """Exactly once, receipts verified, audit chains intact; returns the counts to print."""
    inbound = _rows(run.b.database, "SELECT document_id, message_id, outcome FROM document "
                                    "WHERE direction = 'inbound'")
    at_b: dict[str, list[str]] = {}
    for document_id, message_id, outcome in inbound:
        assert outcome == "accepted", (document_id, outcome)
        at_b.setdefault(document_id, []).append(message_id)
    duplicates = sum(len(copies) - 1 for copies in at_b.values())
    lost = len(set(ids) - set(at_b))
    messages = [row[0] for row in _rows(run.b.database, "SELECT message_id FROM inbound_message")]
    assert len(messages) == len(set(messages))
    assert dict(_rows(run.a.database, "SELECT state, count(*) FROM outbound_message "
                                      "GROUP BY state")).keys() == {"delivered"}
    receipts: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {}
    delivered = 0
    with NodeClient(run.a.apis[0].url, run.a.keys["trader"], timeout=30) as trader:
        for doc_id in ids:
            status = trader.status(doc_id)
            [delivery] = status["deliveries"]
            assert (delivery["state"], delivery["outcome"]) == ("delivered", "accepted"), \
                delivery
            assert delivery["receipt"] is not None
            delivered += 1
            receipts.setdefault(delivery["messageId"], (delivery["receipt"], []))[1].append(
                (doc_id, status["sha256"]))
    for message_id, (receipt_json, documents) in receipts.items():
        verified = verify(GeneralJWS.parse(json.dumps(receipt_json)), typ=JWSType.RECEIPT,
                          anchors=[run.b_root], at=utc_now(), usage=CertUsage.ENVELOPE_SIGNING)
        receipt = Receipt.from_dict(verified.payload_json())
        assert (receipt.message_id, receipt.sender, receipt.recipient) == (
            message_id, CN.authority_id, SG.authority_id)
        outcomes = {o.document_id: (o.document_sha256, o.outcome) for o in receipt.outcomes}
        for doc_id, sha256 in documents:
            assert outcomes[doc_id] == (sha256, Outcome.ACCEPTED)
    _audit_verify(run.a)
    _audit_verify(run.b)
    redelivered = sum(1 for count in run.proxy.forwarded.values() if count > 1)
    return {"sent": len(ids), "delivered": delivered, "duplicates": duplicates, "lost": lost,
            "kills": len(run.kills), "messages": len(receipts), "redelivered": redelivered}


def test_every_document_delivered_exactly_once_through_kills_and_a_faulty_path(
        run: Run, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.params["run"]
    documents = max(10, TOTAL // 2)
    rng = random.Random(f"{SEED}-{backend}")
    print(f"\nfault run {backend}: seed {SEED} (TRADEACCORD_FAULT_SEED={SEED} replays it), "
          f"{documents} documents")
    started = time.monotonic()
    deadline = started + RUN_BUDGET
    run.b.start()
    run.a.start()
    ids = [f"fault-{uuid.uuid4().hex[:8]}-{i:05d}" for i in range(documents)]
    stop = threading.Event()
    killer = threading.Thread(target=_killer, daemon=True, name="killer",
                              args=(run, rng, max(3, min(12, documents // 25)), stop))
    killer.start()
    try:
        submitted = _submit_all(run, ids, deadline)
        assert sorted(submitted) == sorted(ids)
        killer.join(timeout=max(1.0, deadline - time.monotonic()))
        assert not killer.is_alive(), "the killer did not finish in time"
        for process in run.slow_restarts:
            process.wait_ready(max(1.0, deadline - time.monotonic()))
        wait_until(lambda: _final_at_a(run) == documents,
                   timeout=max(1.0, deadline - time.monotonic()),
                   what="every delivery at A final", interval=0.25)
    finally:
        stop.set()
        killer.join(timeout=120)
    counts = _check(run, ids)
    faults = {fault.value: count for fault, count in sorted(run.proxy.faults.items())}
    print(f"fault run {backend}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
          + f"; faults {faults}; killed {run.kills}; "
          f"{time.monotonic() - started:.0f} s")
    assert counts["duplicates"] == 0 and counts["lost"] == 0
    assert counts["delivered"] == documents

