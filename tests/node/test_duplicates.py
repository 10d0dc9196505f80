"""A document already decided by the receiver answers every later copy with that decision.

The sender of a document whose answers were all lost lets it go dead, then sends it again
(or an operator retries it, re-assembled into a new envelope): the receiver holds the
document already, and must answer with what it decided, so that the sender never shows
"rejected" for a document the receiver accepted. Two messages carrying one document at
the same moment (PostgreSQL, several API processes) store it once; the loser of the
unique-key race answers from the winner's decision instead of failing with a 500.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol.jws import GeneralJWS
from protocol.receipt import Receipt
from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory, database_factory, require_postgres  # noqa: F401
from tests.node.inprocess import InProcessNetwork
from tests.node.shared_network import envelope, issued

SG_ID, CN_ID = "SG-CUSTOMS", "CN-CUSTOMS"


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[InProcessNetwork]:
    # Short-lived envelopes (an operator's retry re-assembles them) and a short deadline.
    network = InProcessNetwork(tmp_path / "net", database_factory,
                               envelope_ttl_seconds=60, delivery_deadline_seconds=0.3)
    try:
        yield network
    finally:
        network.close()


def _lose_every_answer(net: InProcessNetwork) -> list[bool]:
    """Route SG's sends to CN, which stores them, but lose CN's answers while the returned
    switch is on."""
    losing = [True]
    cn = httpx.ASGITransport(net[CN_ID].app)

    async def deliver_then_lose(request: httpx.Request) -> httpx.Response:
        response = await cn.handle_async_request(request)
        await response.aread()
        if losing[0]:
            raise httpx.ReadError("the answer was lost", request=request)
        return response

    net[SG_ID].routes.handler = deliver_then_lose
    return losing


def _until_dead(net: InProcessNetwork) -> dict[str, Any]:
    for _ in range(200):  # bounded: the deadline is 0.3 s away
        net.deliver(SG_ID)
        [message] = _outbox(net)
        if message["state"] == "dead":
            return message
        time.sleep(0.02)
    pytest.fail("the message did not go dead")


def _outbox(net: InProcessNetwork) -> list[dict[str, Any]]:
    return list(net.request(SG_ID, "GET", "/v1/outbox", caller="operator").json()["messages"])


def _delivery(net: InProcessNetwork, document_id: str) -> dict[str, Any]:
    status = net.request(SG_ID, "GET", f"/v1/documents/{document_id}/status",
                         caller="trader").json()
    [delivery] = status["deliveries"]
    return dict(delivery)


def _submit_accepted_but_dead(net: InProcessNetwork) -> tuple[str, list[bool]]:
    losing = _lose_every_answer(net)
    response = net.request(SG_ID, "POST", "/v1/documents", caller="trader",
                           json={"document": certificate_of_origin(), "sendTo": [CN_ID]})
    assert response.status_code == 201, response.text
    document_id = str(response.json()["id"])
    _until_dead(net)
    assert _delivery(net, document_id)["state"] == "dead"
    inbox = net.request(CN_ID, "GET", "/v1/inbox", caller="officer").json()["documents"]
    assert [(d["id"], d["outcome"]) for d in inbox] == [(document_id, "accepted")]
    return document_id, losing


def test_resent_dead_letter_is_answered_with_the_original_acceptance(
        net: InProcessNetwork) -> None:
    document_id, losing = _submit_accepted_but_dead(net)
    losing[0] = False
    response = net.request(SG_ID, "POST", f"/v1/documents/{document_id}/send",
                           caller="trader", json={"to": [CN_ID]})
    assert response.status_code == 202, response.text
    net.deliver(SG_ID)
    delivery = _delivery(net, document_id)
    assert (delivery["state"], delivery["outcome"], delivery["reasons"],
            delivery["agreementId"]) == ("delivered", "accepted", [], "SG-CN-COO-2026")
    inbox = net.request(CN_ID, "GET", "/v1/inbox", caller="officer").json()["documents"]
    assert len(inbox) == 1  # stored once


def test_operator_retry_of_a_reassembled_envelope_is_answered_with_the_original_acceptance(
        net: InProcessNetwork) -> None:
    document_id, losing = _submit_accepted_but_dead(net)
    losing[0] = False
    [dead] = _outbox(net)
    retried = net.request(SG_ID, "POST", f"/v1/outbox/{dead['messageId']}/retry",
                          caller="operator")
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "retired"  # expiring soon: re-assembled
    net.deliver(SG_ID)
    delivery = _delivery(net, document_id)
    assert delivery["messageId"] != dead["messageId"]
    assert (delivery["state"], delivery["outcome"], delivery["reasons"]) == (
        "delivered", "accepted", [])


# -- PostgreSQL: two messages carrying one document at once -----------------------------------


@pytest.fixture
def pg_net(tmp_path: Path) -> Iterator[InProcessNetwork]:
    require_postgres()
    databases = DatabaseFactory("postgresql", tmp_path)
    network = InProcessNetwork(tmp_path / "net", databases)
    try:
        yield network
    finally:
        network.close()
        databases.drop_all()


@pytest.mark.postgres
def test_two_messages_carrying_one_document_at_once_answer_from_the_winner_not_500(
        pg_net: InProcessNetwork) -> None:
    # Both requests reach the receiving node at once. They used to race between reading
    # "not held yet" and storing (the loser answered 500 on the unique key); a node's
    # writers now take the writer lock at their first statement (storage.database), so the
    # second reads what the first stored and answers the same decision as a duplicate.
    sg = pg_net[SG_ID].directory
    document = issued(sg, certificate_of_origin())
    bodies = [envelope(sg, CN_ID, (document,)) for _ in range(2)]

    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(pg_net[CN_ID].app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://cn") as client:
            return list(await asyncio.gather(*(
                client.post("/v1/peer/envelopes", content=body,
                            headers={"content-type": "application/json"})
                for body in bodies)))

    responses = pg_net.run(both())
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    outcomes = [Receipt.from_dict(GeneralJWS.parse(r.content).payload_json()).outcomes
                for r in responses]
    assert [[(o.outcome.value, o.reasons, o.agreement_id) for o in each] for each in outcomes] \
        == [[("accepted", (), "SG-CN-COO-2026")]] * 2
    inbox = pg_net.request(CN_ID, "GET", "/v1/inbox", caller="officer").json()["documents"]
    assert len(inbox) == 1
