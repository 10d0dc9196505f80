"""The retry schedule: operator settings, a deadline (24 hours by default) rather than a
count, exponential backoff with full jitter, capped; every dead letter counted and logged.

The schedule is stepped with an explicit clock (``claim``/``record_failure``), so a day of
retries takes seconds; the in-process tests run the worker with a short schedule against a
``MockTransport`` peer that keeps failing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.context import NodeContext
from node.services.delivery import backoff_seconds, claim, record_failure
from node.settings import Settings
from node.storage.database import read_session, write_session
from node.storage.models import OutboundMessageRecord
from protocol.reason_codes import ReasonCode
from protocol.timeutil import parse_time, utc_now
from tests.node.conftest import CN, certificate_of_origin, sg_context
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)
from tests.node.inprocess import InProcessNetwork

DEFAULTS = {name: Settings.model_fields[name].default
            for name in ("delivery_backoff_base_seconds", "delivery_backoff_max_seconds",
                         "delivery_deadline_seconds", "delivery_max_attempts",
                         "envelope_ttl_seconds", "delivery_timeout_seconds")}
DAY = dt.timedelta(days=1)


@given(attempts=st.integers(1, 10_000), base=st.floats(0.001, 10), cap=st.floats(0.01, 3600),
       seed=st.integers(0, 2**32))
def test_backoff_is_full_jitter_below_the_capped_exponential(attempts: int, base: float,
                                                             cap: float, seed: int) -> None:
    delay = backoff_seconds(attempts, base, cap, random.Random(seed))
    assert 0 <= delay <= min(cap, base * 2 ** min(attempts - 1, 62))


def test_backoff_spreads_over_the_whole_interval() -> None:
    rng = random.Random(7)
    delays = [backoff_seconds(20, 1.0, 600.0, rng) for _ in range(2000)]
    assert min(delays) < 30 and max(delays) > 570  # full jitter: [0, 600], not [300, 600]


@pytest.fixture
def ctx(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[NodeContext]:
    """SG's node context with the default retry schedule (no HTTP, no worker loop)."""
    with sg_context(tmp_path, database_factory, **DEFAULTS) as context:
        yield context


def _message(ctx: NodeContext, at: dt.datetime) -> int:
    with write_session(ctx.engine) as session:
        row = OutboundMessageRecord(
            message_id="m-1", peer=CN.authority_id, envelope_bytes=b"{}",
            envelope_sha256="0" * 64, state="pending", attempts=0, next_attempt_at=at,
            created_at=at,
            expires_at=at + dt.timedelta(seconds=ctx.settings.envelope_ttl_seconds))
        session.add(row)
        session.commit()
        return row.pk or 0


def _dead_letters(ctx: NodeContext) -> float | None:
    return ctx.metrics.registry.get_sample_value("tradeaccord_delivery_dead_total",
                                                 {"code": "PEER_UNREACHABLE"})


def _row(ctx: NodeContext, pk: int) -> OutboundMessageRecord:
    with read_session(ctx.engine) as session:
        row = session.get(OutboundMessageRecord, pk)
        assert row is not None
        return row


def test_default_schedule_retries_a_failing_peer_for_24_hours_then_dead_letters(
        ctx: NodeContext, caplog: pytest.LogCaptureFixture) -> None:
    start = utc_now()
    pk = _message(ctx, start)
    at, attempts_at = start, []
    rng = random.Random(1)
    for _ in range(5000):  # bounded: about 300 attempts are expected
        [claimed] = claim(ctx, at, 4)
        attempts_at.append(at)
        with caplog.at_level(logging.WARNING, logger="tradeaccord.delivery"):
            record_failure(ctx, claimed, code=ReasonCode.PEER_UNREACHABLE, error="down",
                           final=False, at=at, rng=rng)
        row = _row(ctx, pk)
        if row.state == "dead":
            break
        assert row.state == "pending"
        at = row.next_attempt_at
    else:
        pytest.fail("the message never went dead")
    assert attempts_at[-1] - start >= DAY  # retried for at least 24 hours
    gaps = [b - a for a, b in itertools.pairwise(attempts_at)]
    assert max(gaps) <= dt.timedelta(seconds=600)  # capped
    assert len(set(gaps)) > len(gaps) // 2  # jittered
    assert row.last_error is not None and row.last_error.startswith("PEER_UNREACHABLE")
    dead = [r for r in caplog.records if "is dead" in r.getMessage()]
    assert [r.levelno for r in dead] == [logging.WARNING]
    assert _dead_letters(ctx) == 1


def test_max_attempts_when_set_dead_letters_before_the_deadline(ctx: NodeContext) -> None:
    ctx.settings = ctx.settings.model_copy(update={"delivery_max_attempts": 3})
    start = utc_now()
    pk = _message(ctx, start)
    at = start
    for _ in range(3):
        [claimed] = claim(ctx, at, 4)
        record_failure(ctx, claimed, code=ReasonCode.PEER_UNREACHABLE, error="down",
                       final=False, at=at, rng=random.Random(2))
        at = _row(ctx, pk).next_attempt_at
    row = _row(ctx, pk)
    assert (row.state, row.attempts) == ("dead", 3)
    assert _dead_letters(ctx) == 1


# -- in process: the worker, the outbox view, the metric ---------------------------------------


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[InProcessNetwork]:
    network = InProcessNetwork(tmp_path / "net", database_factory,
                               delivery_deadline_seconds=0.5,
                               delivery_backoff_base_seconds=0.02,
                               delivery_backoff_max_seconds=0.1)
    try:
        yield network
    finally:
        network.close()


def _outbox(net: InProcessNetwork) -> list[dict[str, object]]:
    response = net.request("SG-CUSTOMS", "GET", "/v1/outbox", caller="operator")
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def test_time_to_dead_letter_is_visible_per_message_and_dead_letters_are_counted(
        net: InProcessNetwork, caplog: pytest.LogCaptureFixture) -> None:
    net["SG-CUSTOMS"].routes.handler = lambda request: httpx.Response(503)
    response = net.request("SG-CUSTOMS", "POST", "/v1/documents", caller="trader",
                           json={"document": certificate_of_origin(), "sendTo": ["CN-CUSTOMS"]})
    assert response.status_code == 201, response.text
    assert net.deliver("SG-CUSTOMS") == 1
    [message] = _outbox(net)
    assert message["state"] == "pending"
    created, dead_at = parse_time(str(message["createdAt"])), parse_time(str(message["deadLetterAt"]))
    assert dead_at == created + dt.timedelta(seconds=0.5)
    assert parse_time(str(message["nextAttemptAt"])) <= dead_at
    with caplog.at_level(logging.WARNING, logger="tradeaccord.delivery"):
        for _ in range(200):  # bounded: the deadline is half a second away
            net.deliver("SG-CUSTOMS")
            [message] = _outbox(net)
            if message["state"] == "dead":
                break
            time.sleep(0.02)
    assert message["state"] == "dead" and message["deadLetterAt"] is None
    assert sum("is dead" in r.getMessage() for r in caplog.records) == 1
    metrics = net.request("SG-CUSTOMS", "GET", "/metrics").text
    assert 'tradeaccord_delivery_dead_total{code="PEER_UNREACHABLE"} 1.0' in metrics
    # An operator's retry gives the message a new deadline from now.
    retried = net.request("SG-CUSTOMS", "POST", f"/v1/outbox/{message['messageId']}/retry",
                          caller="operator")
    assert retried.status_code == 200, retried.text
    view = retried.json()
    assert view["state"] == "pending"
    assert parse_time(view["deadLetterAt"]) > dead_at
