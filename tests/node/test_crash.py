"""Crash tests with real processes: nothing is lost, nothing is taken twice.

SG-CUSTOMS (A) and CN-CUSTOMS (B) run as ``python -m node.cli node serve`` subprocesses on
SQLite. A trader at A submits 200 certificates of origin for B; while the envelopes flow,
one node is killed with SIGKILL and restarted on the same port and directory. Afterwards
every document is at B exactly once, every delivery at A is ``delivered``/``accepted`` and
answered by a receipt that verifies against B's root, and both audit chains are intact.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from tests.node.conftest import CN, COO_AGREEMENT, EXPORTER, SG, certificate_of_origin
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

pytestmark = pytest.mark.slow

DOCUMENTS = 200  # the fault runs (tests/faults) carry the large counts
KILL_AT = 50  # B holds at least this many (and fewer than DOCUMENTS) when the kill lands
SUBMITTERS = 4
FINAL = ("delivered", "delivered-with-warnings", "rejected", "failed", "dead")


@dataclass
class Pair:
    a: NodeProcess
    b: NodeProcess
    keys: dict[str, str]
    b_root: Any

    @property
    def a_db(self) -> Path:
        return self.a.directory / "node.db"

    @property
    def b_db(self) -> Path:
        return self.b.directory / "node.db"

    def held_at_b(self) -> int:
        return int(sqlite_rows(self.b_db, "SELECT count(*) FROM document "
                                          "WHERE direction = 'inbound'")[0][0])

    def final_at_a(self) -> int:
        marks = ", ".join("?" * len(FINAL))
        return int(sqlite_rows(self.a_db, f"SELECT count(*) FROM delivery WHERE state IN "
                                          f"({marks})", *FINAL)[0][0])


@pytest.fixture
def pair_factory(tmp_path: Path) -> Iterator[Callable[..., Pair]]:
    made: list[Pair] = []

    def _make(**settings: str) -> Pair:
        ports = {SG.authority_id: free_port(), CN.authority_id: free_port()}
        urls = {aid: f"http://127.0.0.1:{port}" for aid, port in ports.items()}
        directories = setup_network(tmp_path / "net", (SG, CN), urls, (COO_AGREEMENT,),
                                    at=utc_now())
        for directory in directories.values():
            write_node_env(directory.path, {**FAST, **settings})
        a_dir, b_dir = directories[SG.authority_id], directories[CN.authority_id]
        keys = {
            **{f"a-{name}": key for name, key in create_keys(
                f"sqlite:///{a_dir.path / 'node.db'}",
                {"trader": (Role.TRADER, EXPORTER), "operator": (Role.OPERATOR, None)}).items()},
            **{f"b-{name}": key for name, key in create_keys(
                f"sqlite:///{b_dir.path / 'node.db'}",
                {"officer": (Role.OFFICER, None), "operator": (Role.OPERATOR, None)}).items()},
        }
        pair = Pair(NodeProcess(SG.authority_id, a_dir.path, ports[SG.authority_id]),
                    NodeProcess(CN.authority_id, b_dir.path, ports[CN.authority_id]),
                    keys, b_dir.root_certificate)
        made.append(pair)
        return pair

    yield _make
    for pair in made:
        pair.a.stop()
        pair.b.stop()


def _submit_all(pair: Pair, ids: list[str], deadline: float) -> list[str]:
    """Submit every document with a few clients at once; survive A going away."""
    chunks = [ids[i::SUBMITTERS] for i in range(SUBMITTERS)]

    def _chunk(chunk: list[str]) -> list[str]:
        with NodeClient(pair.a.url, pair.keys["a-trader"], timeout=30) as trader:
            return [submit_tolerant(trader, certificate_of_origin(doc_id),
                                    [CN.authority_id], deadline=deadline) for doc_id in chunk]

    with ThreadPoolExecutor(SUBMITTERS) as pool:
        return [doc_id for done in pool.map(_chunk, chunks) for doc_id in done]


def _crash_and_recover(pair: Pair, victim: NodeProcess) -> None:
    """Start both nodes, submit DOCUMENTS in the background, SIGKILL ``victim`` once B holds
    some but not all of them, restart it, and wait (bounded) until A has a final state for
    every delivery."""
    ids = [f"crash-{uuid.uuid4().hex[:8]}-{i:04d}" for i in range(DOCUMENTS)]
    pair.b.serve()
    pair.a.serve()
    outcome: dict[str, Any] = {}

    def _background() -> None:
        try:
            outcome["ids"] = _submit_all(pair, ids, time.monotonic() + 90)
        except Exception as exc:  # noqa: BLE001 - re-raised in the test thread
            outcome["error"] = exc

    submitter = threading.Thread(target=_background, name="submitter", daemon=True)
    submitter.start()
    wait_until(lambda: pair.held_at_b() >= KILL_AT, timeout=60,
               what=f"B receiving {KILL_AT} documents", interval=0.01)
    victim.kill()
    held = pair.held_at_b()
    assert KILL_AT <= held < DOCUMENTS, "the kill must land mid-batch"
    victim.serve()
    submitter.join(timeout=120)
    assert not submitter.is_alive(), "submission did not finish"
    if "error" in outcome:
        raise outcome["error"]
    assert sorted(outcome["ids"]) == sorted(ids)
    wait_until(lambda: pair.final_at_a() == DOCUMENTS, timeout=120,
               what="every delivery at A final", interval=0.2)
    _check_exactly_once(pair, ids)


def _check_exactly_once(pair: Pair, ids: list[str]) -> None:
    # B: every document once, each inbound message once.
    inbound = sqlite_rows(pair.b_db, "SELECT document_id, message_id, outcome FROM document "
                                     "WHERE direction = 'inbound'")
    assert len(inbound) == DOCUMENTS
    assert sorted(row[0] for row in inbound) == sorted(ids)
    assert {row[2] for row in inbound} == {"accepted"}
    messages = [row[0] for row in sqlite_rows(pair.b_db,
                                              "SELECT message_id FROM inbound_message")]
    assert len(messages) == len(set(messages))
    assert {row[1] for row in inbound} <= set(messages)
    at_b = {row[0]: row[1] for row in inbound}
    # A: every message delivered; every delivery delivered/accepted with B's receipt.
    assert dict(sqlite_rows(pair.a_db, "SELECT state, count(*) FROM outbound_message "
                                       "GROUP BY state")).keys() == {"delivered"}
    by_message: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {}
    with NodeClient(pair.a.url, pair.keys["a-trader"]) as trader:
        for doc_id in ids:
            status = trader.status(doc_id)
            [delivery] = status["deliveries"]
            assert (delivery["to"], delivery["state"], delivery["outcome"]) == (
                CN.authority_id, "delivered", "accepted"), delivery
            assert delivery["receipt"] is not None
            assert delivery["messageId"] == at_b[doc_id]
            by_message.setdefault(delivery["messageId"], (delivery["receipt"], []))[1].append(
                (doc_id, status["sha256"]))
    # Each distinct receipt is signed by B's node key under B's root and names its documents.
    for message_id, (receipt_json, documents) in by_message.items():
        verified = verify(GeneralJWS.parse(json.dumps(receipt_json)), typ=JWSType.RECEIPT,
                          anchors=[pair.b_root], at=utc_now(),
                          usage=CertUsage.ENVELOPE_SIGNING)
        receipt = Receipt.from_dict(verified.payload_json())
        assert (receipt.message_id, receipt.sender, receipt.recipient) == (
            message_id, CN.authority_id, SG.authority_id)
        outcomes = {o.document_id: (o.document_sha256, o.outcome) for o in receipt.outcomes}
        for doc_id, sha256 in documents:
            assert outcomes[doc_id] == (sha256, Outcome.ACCEPTED)
    # The kill broke neither audit chain.
    for node, key in ((pair.a, "a-operator"), (pair.b, "b-operator")):
        with NodeClient(node.url, pair.keys[key]) as operator:
            assert operator.audit_verify()["valid"] is True


def test_receiver_killed_mid_batch_gets_every_document_once(
        pair_factory: Callable[..., Pair]) -> None:
    pair = pair_factory()
    _crash_and_recover(pair, pair.b)


def test_sender_killed_mid_batch_finishes_its_outbox_after_restart(
        pair_factory: Callable[..., Pair]) -> None:
    # The lease of a message in flight when A dies is timeout + 5 s: keep it short.
    pair = pair_factory(TRADEACCORD_DELIVERY_TIMEOUT_SECONDS="2")
    _crash_and_recover(pair, pair.a)
