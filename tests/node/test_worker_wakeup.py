"""The delivery worker's concurrency and wake-up: claims respect the per-peer bound; a
transaction that queues outbound work wakes the workers of its process when it commits
(never when it rolls back); a running worker delivers what is submitted without waiting
for its poll interval."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.context import NodeContext
from node.services import documents
from node.services.apikeys import Principal, Role
from node.services.delivery import claim
from node.storage.database import write_session
from node.storage.models import OutboundMessageRecord
from protocol.timeutil import utc_now
from tests.node.conftest import (
    CN,
    EXPORTER,
    certificate_of_origin,
    sg_context,
)
from tests.node.databases import DatabaseFactory
from tests.node.inprocess import InProcessNetwork

TRADER = Principal(key_id="k-test", role=Role.TRADER, party=EXPORTER)


@pytest.fixture
def ctx(tmp_path: Path, database_factory: DatabaseFactory) -> Iterator[NodeContext]:
    with sg_context(tmp_path, database_factory) as context:
        yield context


def _messages(ctx: NodeContext, count: int, peer: str, at: dt.datetime) -> None:
    with write_session(ctx.engine) as session:
        for n in range(count):
            session.add(OutboundMessageRecord(
                message_id=f"m-{peer}-{n}", peer=peer, envelope_bytes=b"{}",
                envelope_sha256="0" * 64, state="pending", attempts=0, next_attempt_at=at,
                created_at=at, expires_at=at + dt.timedelta(days=1)))
        session.commit()


def test_claims_keep_each_peer_within_its_bound(ctx: NodeContext) -> None:
    at = utc_now()
    _messages(ctx, 5, CN.authority_id, at)
    _messages(ctx, 2, "JP-CUSTOMS", at)
    # 3 already in flight to CN: one more for CN, and JP's two.
    claimed = claim(ctx, at, 10, busy={CN.authority_id: 3}, per_peer=4)
    assert sorted(c.peer for c in claimed) == [CN.authority_id, "JP-CUSTOMS", "JP-CUSTOMS"]
    # The rest of CN's messages stay claimable once a slot frees.
    again = claim(ctx, at, 10, busy={CN.authority_id: 2}, per_peer=4)
    assert [c.peer for c in again] == [CN.authority_id, CN.authority_id]
    # Nothing in flight any more: CN's last two are claimed, then nothing is due.
    assert [c.peer for c in claim(ctx, at, 10, per_peer=4)] == [CN.authority_id] * 2
    assert claim(ctx, at, 10, per_peer=4) == []


def test_a_commit_that_queues_work_wakes_the_worker_and_a_rollback_does_not(
        ctx: NodeContext) -> None:
    def submit(document_id: str, commit: bool) -> None:
        with write_session(ctx.engine) as session:
            documents.submit(ctx, session, TRADER, certificate_of_origin(document_id),
                             [CN.authority_id], utc_now())
            if commit:
                session.commit()
            else:
                session.rollback()

    async def scenario() -> tuple[bool, bool]:
        wake = ctx.outbox.attach()
        try:
            await asyncio.to_thread(submit, "COO-ROLLED-BACK", False)
            await asyncio.sleep(0.05)  # let any wake-up scheduled from the thread run
            after_rollback = wake.is_set()
            await asyncio.to_thread(submit, "COO-COMMITTED", True)
            await asyncio.wait_for(wake.wait(), 30)
            return after_rollback, wake.is_set()
        finally:
            ctx.outbox.detach(wake)

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(scenario()) == (False, True)
    finally:
        loop.close()


def test_a_running_worker_delivers_a_submission_without_waiting_for_its_poll(
        tmp_path: Path, database_factory: DatabaseFactory) -> None:
    # The poll interval is an hour: only the wake-up can start the delivery.
    net = InProcessNetwork(tmp_path / "net", database_factory, worker_poll_seconds=3600)
    try:
        sg = net["SG-CUSTOMS"]

        async def scenario() -> str:
            stop = asyncio.Event()
            worker = asyncio.create_task(sg.worker().run(stop))
            await asyncio.sleep(0.1)  # the worker's first pass found nothing; it now waits
            try:
                await asyncio.to_thread(submit_here)
                for _ in range(300):  # bounded: 30 s
                    state = await asyncio.to_thread(delivery_state)
                    if state not in ("pending", None):
                        return state
                    await asyncio.sleep(0.1)
                return "still pending"
            finally:
                stop.set()
                await asyncio.wait_for(worker, 60)

        def submit_here() -> None:
            with write_session(sg.ctx.engine) as session:
                documents.submit(sg.ctx, session, TRADER, certificate_of_origin("COO-WOKEN"),
                                 [CN.authority_id], utc_now())
                session.commit()

        def delivery_state() -> str | None:
            with write_session(sg.ctx.engine) as session:
                record = documents.get_visible(session, TRADER, "COO-WOKEN", "outbound")
                views = documents.view(session, record).to_dict()["deliveries"]
                return str(views[0]["state"]) if views else None

        assert net.run(scenario()) == "delivered"
    finally:
        net.close()
