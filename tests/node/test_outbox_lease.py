"""Outbox claims and leases, step by step with an explicit clock (no HTTP, no worker loop).

A claim's ``attempts`` is the message's attempt number as stored, and it fences the claim:
once the lease has expired and another worker has claimed the message, the first worker's
late failure report must not put the message back in the queue while the second sends it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.context import NodeContext
from node.pilot import setup_network
from node.services.delivery import claim, record_failure
from node.storage.database import read_session, write_session
from node.storage.models import OutboundMessageRecord
from protocol.reason_codes import ReasonCode
from protocol.timeutil import utc_now
from tests.node.conftest import CN, COO_AGREEMENT, SG, fast_settings
from tests.node.databases import DatabaseFactory


@pytest.fixture
def ctx(tmp_path: Path, database_factory: DatabaseFactory) -> Iterator[NodeContext]:
    directories = setup_network(tmp_path / "net", (SG, CN),
                                {CN.authority_id: "http://127.0.0.1:9"}, (COO_AGREEMENT,),
                                at=utc_now())
    context = NodeContext.build(fast_settings(directories[SG.authority_id].path,
                                              database_factory.new_url()))
    try:
        yield context
    finally:
        context.close()


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
