"""Outbox claims and leases, step by step with an explicit clock (no HTTP, no worker loop).

A claim's ``attempts`` is the message's attempt number as stored, and it fences the claim:
once the lease has expired and another worker has claimed the message, the first worker's
late failure report must not put the message back in the queue while the second sends it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from node.context import NodeContext
from node.services import delivery
from node.services.delivery import Claimed, claim, record_failure, send_budget
from node.storage.database import read_session, write_session
from node.storage.models import OutboundMessageRecord
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.timeutil import utc_now
from tests.node.conftest import CN, certificate_of_origin, sg_context
from tests.node.databases import DatabaseFactory
from tests.node.inprocess import InProcessNetwork


@pytest.fixture
def ctx(tmp_path: Path, database_factory: DatabaseFactory) -> Iterator[NodeContext]:
    with sg_context(tmp_path, database_factory) as context:
        yield context


def _message(ctx: NodeContext, at: dt.datetime) -> int:
    with write_session(ctx.engine) as session:
        row = OutboundMessageRecord(
            message_id="m-1", peer=CN.authority_id, envelope_bytes=b"{}", envelope_sha256="0" * 64,
            state="pending", attempts=0, next_attempt_at=at, created_at=at,
            expires_at=at + dt.timedelta(days=1))
        session.add(row)
        session.commit()
        return row.pk or 0


def _stored(ctx: NodeContext, pk: int) -> OutboundMessageRecord:
    with read_session(ctx.engine) as session:
        row = session.get(OutboundMessageRecord, pk)
        assert row is not None
        return row


def test_claim_reports_the_stored_attempt_number(ctx: NodeContext) -> None:
    at = utc_now()
    pk = _message(ctx, at)
    [first] = claim(ctx, at, 4)
    assert first.attempts == _stored(ctx, pk).attempts == 1


def test_late_failure_of_an_expired_claim_does_not_requeue(ctx: NodeContext) -> None:
    at = utc_now()
    pk = _message(ctx, at)
    [first] = claim(ctx, at, 4)
    assert claim(ctx, at + dt.timedelta(seconds=1), 4) == []  # leased
    later = at + dt.timedelta(seconds=ctx.settings.delivery_timeout_seconds + 6)
    [second] = claim(ctx, later, 4)  # the lease expired: another worker takes it over
    assert second.attempts == 2
    record_failure(ctx, first, code=ReasonCode.PEER_UNREACHABLE, error="late", final=False,
                   at=later, rng=random.Random(1))
    row = _stored(ctx, pk)
    assert (row.state, row.attempts, row.last_error) == ("sending", 2, None)
    assert claim(ctx, later + dt.timedelta(seconds=1), 4) == []  # still the second's
    record_failure(ctx, second, code=ReasonCode.PEER_UNREACHABLE, error="down", final=False,
                   at=later, rng=random.Random(1))
    row = _stored(ctx, pk)
    assert (row.state, row.attempts) == ("pending", 2)
    assert row.last_error is not None and row.last_error.startswith("PEER_UNREACHABLE")


def test_send_budget_ends_before_the_lease() -> None:
    at = utc_now()
    claimed = Claimed(1, "m-1", CN.authority_id, b"{}", "0" * 64, 1,
                      lease_until=at + dt.timedelta(seconds=15))
    assert send_budget(claimed, 10.0, at) == 10.0
    assert send_budget(claimed, 10.0, at + dt.timedelta(seconds=8)) == pytest.approx(6.0)
    assert send_budget(claimed, 10.0, at + dt.timedelta(seconds=14.5)) <= 0


# -- two workers, a slow assembly and a peer that holds the send -------------------------------


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory) -> Iterator[InProcessNetwork]:
    network = InProcessNetwork(tmp_path / "net", database_factory,
                               delivery_timeout_seconds=2.0)  # a lease of 7 s
    try:
        yield network
    finally:
        network.close()


def test_two_workers_never_send_one_message_at_once_when_assembly_is_slow(
        net: InProcessNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    sg, cn = net["SG-CUSTOMS"], net["CN-CUSTOMS"]
    # The first assembly takes longer than the 5 s of slack in the lease (it waited for the
    # write lock, say): a lease counted from the time read before it is nearly spent.
    slow_once = [True]
    assemble = delivery.assemble

    def slow_assemble(ctx: NodeContext, at: dt.datetime) -> int:
        if slow_once and slow_once.pop():
            time.sleep(6.5)
        return assemble(ctx, at)

    monkeypatch.setattr(delivery, "assemble", slow_assemble)
    in_flight: Counter[str] = Counter()
    overlapping: list[str] = []
    sent: Counter[str] = Counter()
    sending = asyncio.Event()
    peer = httpx.ASGITransport(cn.app)

    async def hold_then_forward(request: httpx.Request) -> httpx.Response:
        # The peer holds each send for half the delivery timeout: past the old lease.
        message_id = str(GeneralJWS.parse(request.content).payload_json()["messageId"])
        sending.set()
        sent[message_id] += 1
        in_flight[message_id] += 1
        if in_flight[message_id] > 1:
            overlapping.append(message_id)
        try:
            await asyncio.sleep(1.0)
            response = await peer.handle_async_request(request)
            await response.aread()
            return response
        finally:
            in_flight[message_id] -= 1

    sg.routes.handler = hold_then_forward
    response = net.request("SG-CUSTOMS", "POST", "/v1/documents", caller="trader",
                           json={"document": certificate_of_origin(), "sendTo": ["CN-CUSTOMS"]})
    assert response.status_code == 201, response.text
    first, second = sg.worker(), sg.worker()

    async def both() -> None:
        busy = asyncio.create_task(first.run_once())
        await asyncio.wait_for(sending.wait(), 60)  # the first worker has claimed and sends
        for _ in range(300):  # bounded: the second worker polls while the first works
            await second.run_once()
            if busy.done():
                break
            await asyncio.sleep(0.05)
        await busy

    net.run(both())
    assert overlapping == []
    assert list(sent.values()) == [1]
    [message] = net.request("SG-CUSTOMS", "GET", "/v1/outbox", caller="operator").json()[
        "messages"]
    assert message["state"] == "delivered"
