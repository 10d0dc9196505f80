"""The delivery worker: assembles outbox envelopes, sends them, records signed receipts.

Guarantees:

- **Nothing is lost.** A delivery row is written with its document (or by ``send``) in one
  transaction; it stays until a verified receipt answers it, a peer refuses it, or it dies
  at its deadline (``dead_letter_at``: ``delivery_deadline_seconds`` after the message was
  made, 24 hours by default, never past the envelope's expiry; or after
  ``delivery_max_attempts`` when that is set). A worker killed at any moment leaves rows
  ``pending`` or ``sending`` with a lease; an expired lease makes the message claimable
  again. Every message that goes dead is counted (``tradeaccord_delivery_dead_total``) and
  logged at WARNING.
- **Stable message ids.** An envelope is built and signed once, when deliveries are
  assembled into a message; every retry sends the same bytes, so the receiver's
  deduplication by message id turns at-least-once delivery into exactly-once effect.
- **No message sent twice at once.** Claims are compare-and-set updates, under
  ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and the write lock on SQLite. A claim is a lease
  of ``delivery_timeout_seconds`` + 5 s counted from a clock read after assembly; the HTTP
  exchange is bounded to end before the lease does (``send_budget``), and a claim whose
  lease is nearly spent is not sent at all, so another worker can only take the message
  over once this one has stopped sending it.
- Retries use exponential backoff with full jitter, capped, and a last attempt at the
  deadline; a peer's 4xx refusal is final (state ``failed`` until an operator retries);
  transport errors and 5xx are retried.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from node.bounded_read import read_within, with_body
from node.context import NodeContext
from node.errors import ConflictError, DeliveryError, NotFoundError
from node.services import flows, trust
from node.services.audit import append_event
from node.services.documents import DeliveryState, enqueue_control
from node.settings import Settings
from node.storage.database import read_session, write_session
from node.storage.models import DeliveryRecord, DocumentRecord, OutboundMessageRecord
from protocol.envelope import (
    DOCUMENT_KINDS,
    EnvelopeKind,
    build_envelope,
    envelope_sha256,
    sign_envelope,
)
from protocol.errors import ProtocolError
from protocol.jws import GeneralJWS, JWSType, verify
from protocol.reason_codes import ReasonCode
from protocol.receipt import Outcome, Receipt
from protocol.timeutil import utc_now

log = logging.getLogger("tradeaccord.delivery")
SelectT = TypeVar("SelectT", bound=SelectOfScalar[Any])

PEER_PATH = "/v1/peer/envelopes"
OUTCOME_STATE = {
    Outcome.ACCEPTED: DeliveryState.DELIVERED,
    Outcome.HELD_FOR_REVIEW: DeliveryState.DELIVERED_WITH_WARNINGS,
    Outcome.REJECTED: DeliveryState.REJECTED,
}


def backoff_seconds(attempts: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter after attempt ``attempts`` (1, 2, …): uniform in
    [0, min(cap, base·2^(n−1))]."""
    # The exponent is bounded: past 2^62 the cap has long been reached.
    ceiling = min(cap, base * (2 ** min(62, max(0, attempts - 1))))
    return rng.uniform(0, ceiling)


def dead_letter_at(row: OutboundMessageRecord, settings: Settings) -> dt.datetime:
    """When ``row`` goes dead if it is still undelivered: the deadline an operator's retry
    set, else its creation plus the delivery deadline; and early enough that a last attempt
    (up to the delivery timeout) reaches the peer before the envelope expires (the receiver
    would refuse it then)."""
    deadline = row.dead_letter_at or row.created_at + dt.timedelta(
        seconds=settings.delivery_deadline_seconds)
    return min(deadline, row.expires_at - dt.timedelta(
        seconds=settings.delivery_timeout_seconds))


def _locking(query: SelectT, session: Session) -> SelectT:
    """Row locks that skip rows another worker holds (PostgreSQL); SQLite's write lock
    already serialises claimers."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def _any(ctx: NodeContext, query: SelectOfScalar[Any]) -> bool:
    """Whether ``query`` finds a row (a read transaction, no lock taken)."""
    with read_session(ctx.engine) as session:
        return session.exec(query.limit(1)).first() is not None


def assemble(ctx: NodeContext, at: dt.datetime) -> int:
    """Group unassembled deliveries per peer into signed envelopes (one transaction)."""
    settings = ctx.settings
    waiting = and_(col(DeliveryRecord.state) == DeliveryState.PENDING,
                   col(DeliveryRecord.message_id).is_(None))
    # A read first: an idle worker takes no write lock (on SQLite, the one the API's
    # writers wait for).
    if not _any(ctx, select(DeliveryRecord.pk).where(waiting)):
        return 0
    with write_session(ctx.engine) as session:
        query = select(DeliveryRecord).where(waiting).order_by(
            col(DeliveryRecord.pk)).limit(settings.delivery_batch_size * 4)
        rows = session.exec(_locking(query, session)).all()
        if not rows:
            return 0
        per_peer: dict[str, list[DeliveryRecord]] = defaultdict(list)
        for row in rows:
            per_peer[row.peer].append(row)
        batch = min(settings.delivery_batch_size, ctx.limits.max_documents_per_envelope)
        made = 0
        for peer, deliveries in per_peer.items():
            for start in range(0, len(deliveries), batch):
                chunk = deliveries[start:start + batch]
                documents = session.exec(select(DocumentRecord).where(
                    col(DocumentRecord.pk).in_([d.document_pk for d in chunk]))).all()
                by_pk = {document.pk: document for document in documents}
                jws_list = tuple(GeneralJWS.parse(by_pk[d.document_pk].signed_bytes)
                                 for d in chunk)
                message_id = str(uuid.uuid4())
                envelope = build_envelope(
                    message_id=message_id, sender=ctx.authority_id, recipient=peer,
                    created_at=at, ttl=dt.timedelta(seconds=settings.envelope_ttl_seconds),
                    documents=jws_list)
                signed = sign_envelope(envelope, ctx.node_signer, signed_at=at)
                session.add(OutboundMessageRecord(
                    message_id=message_id, peer=peer, envelope_bytes=signed.to_json(),
                    envelope_sha256=envelope_sha256(signed), state="pending", attempts=0,
                    next_attempt_at=at, created_at=at, expires_at=envelope.expires_at))
                for delivery in chunk:
                    delivery.message_id = message_id
                    delivery.updated_at = at
                    session.add(delivery)
                made += 1
        session.commit()
        return made


@dataclass(frozen=True, slots=True)
class Claimed:
    pk: int
    message_id: str
    peer: str
    envelope: bytes
    envelope_sha256: str
    attempts: int
    lease_until: dt.datetime | None = None


# Time a send must leave before its lease ends: clocks of workers (and of the database)
# never agree to the millisecond.
LEASE_SLACK_SECONDS = 1.0


def send_budget(claimed: Claimed, timeout: float, now: dt.datetime) -> float:
    """Seconds the HTTP exchange of ``claimed`` may take: the delivery timeout, but ending
    ``LEASE_SLACK_SECONDS`` before the lease (after which another worker may claim the
    message and send it). Zero or less: do not send."""
    if claimed.lease_until is None:
        return timeout
    remaining = (claimed.lease_until - now).total_seconds() - LEASE_SLACK_SECONDS
    return min(timeout, remaining)


def claim(ctx: NodeContext, at: dt.datetime, limit: int, *,
          busy: Mapping[str, int] | None = None, per_peer: int | None = None) -> list[Claimed]:
    """Lease up to ``limit`` due messages to this worker (compare-and-set per row). With
    ``per_peer``, no peer gets more than that many in flight, counting the ``busy`` ones
    this worker is already sending (a peer's messages beyond it wait for the next claim)."""
    lease = dt.timedelta(seconds=ctx.settings.delivery_timeout_seconds + 5)
    due = or_(
        and_(col(OutboundMessageRecord.state) == "pending",
             col(OutboundMessageRecord.next_attempt_at) <= at),
        and_(col(OutboundMessageRecord.state) == "sending",
             col(OutboundMessageRecord.lease_until) < at),
    )
    claimed: list[Claimed] = []
    expired: list[tuple[str, str]] = []
    if not _any(ctx, select(OutboundMessageRecord.pk).where(due)):
        return claimed  # nothing due: no write transaction
    with write_session(ctx.engine) as session:
        load: Counter[str] = Counter(busy or {})
        # Read beyond ``limit`` when peers are capped, so that one peer's backlog does not
        # hide the others' due messages.
        query = select(OutboundMessageRecord).where(due).order_by(
            col(OutboundMessageRecord.next_attempt_at)).limit(
                limit if per_peer is None else limit * 4)
        for row in session.exec(_locking(query, session)).all():
            if len(claimed) >= limit:
                break
            if per_peer is not None and load[row.peer] >= per_peer:
                continue
            if row.expires_at <= at:
                _finish_dead(ctx, session, row, ReasonCode.MESSAGE_EXPIRED, "envelope expired",
                             at)
                expired.append((row.message_id, row.peer))
                continue
            attempts = row.attempts + 1  # read now: the ORM update below refreshes ``row``
            result = session.execute(
                update(OutboundMessageRecord)
                .where(col(OutboundMessageRecord.pk) == row.pk, due)
                .values(state="sending", lease_until=at + lease,
                        attempts=OutboundMessageRecord.attempts + 1)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                load[row.peer] += 1
                claimed.append(Claimed(row.pk or 0, row.message_id, row.peer,
                                       row.envelope_bytes, row.envelope_sha256, attempts,
                                       at + lease))
        session.commit()
    for message_id, peer in expired:
        _went_dead(ctx, message_id, peer, ReasonCode.MESSAGE_EXPIRED, "envelope expired")
    return claimed


def _deliveries(session: Session, message_id: str) -> list[DeliveryRecord]:
    return list(session.exec(select(DeliveryRecord).where(
        DeliveryRecord.message_id == message_id)).all())


def _finish_dead(ctx: NodeContext, session: Session, row: OutboundMessageRecord,
                 code: ReasonCode, error: str, at: dt.datetime, state: str = "dead") -> None:
    row.state = state
    row.last_error = f"{code.value}: {error}"
    row.lease_until = None
    session.add(row)
    delivery_state = DeliveryState.DEAD if state == "dead" else DeliveryState.FAILED
    for delivery in _deliveries(session, row.message_id):
        delivery.state = delivery_state
        delivery.reasons = json.dumps([code.value])
        delivery.updated_at = at
        session.add(delivery)
    append_event(session, event=f"delivery.{state}", actor="worker",
                 subject=f"message:{row.message_id}",
                 details={"peer": row.peer, "code": code.value, "error": error[:500]}, at=at)
    flows.on_failure(ctx, session, row, code, at)


def _went_dead(ctx: NodeContext, message_id: str, peer: str, code: ReasonCode,
               error: str) -> None:
    """Every dead letter is counted and logged (after its transaction committed)."""
    ctx.metrics.dead_letters.labels(code=code.value).inc()
    log.warning("message %s to %s is dead: %s %s", message_id, peer, code.value, error[:500],
                extra={"message_id": message_id, "peer": peer, "code": code.value})


def verify_receipt(ctx: NodeContext, claimed: Claimed, body: bytes, at: dt.datetime) -> Receipt:
    """The receipt must be signed by the peer's registered node key and answer this message."""
    registry = ctx.registry.current()
    try:
        jws = GeneralJWS.parse(body, limits=ctx.limits)
        # A transport signature authenticates the peer now: its chain is checked at ``at``.
        verified = verify(jws, typ=JWSType.RECEIPT,
                          anchors=lambda _e: trust.anchors(registry, claimed.peer, at),
                          at=at, usage=trust.ENVELOPE_USAGE, limits=ctx.limits, chain_at=at)
        if not trust.is_node_certificate(registry, claimed.peer,
                                         verified.signatures[0].integrity.leaf):
            raise ProtocolError(ReasonCode.RECEIPT_INVALID,
                                "receipt not signed by the peer's registered node key")
        receipt = Receipt.from_dict(verified.payload_json(ctx.limits))
        receipt.check_matches(message_id=claimed.message_id,
                              envelope_sha256=claimed.envelope_sha256, sender=claimed.peer)
    except ProtocolError as exc:
        raise ProtocolError(ReasonCode.RECEIPT_INVALID, f"{exc.code.value}: {exc.message}") \
            from exc
    return receipt


def record_receipt(ctx: NodeContext, claimed: Claimed, receipt: Receipt, body: bytes,
                   at: dt.datetime) -> None:
    with write_session(ctx.engine) as session:
        row = session.get(OutboundMessageRecord, claimed.pk)
        if row is None or row.state == "delivered":
            return
        row.state = "delivered"
        row.receipt_bytes = body
        row.delivered_at = at
        row.lease_until = None
        row.last_error = None
        session.add(row)
        by_sha = {outcome.document_sha256: outcome for outcome in receipt.outcomes}
        # The message's deliveries with their documents' digests, in one query.
        answered = session.exec(
            select(DeliveryRecord, DocumentRecord.sha256)
            .join(DocumentRecord, col(DocumentRecord.pk) == DeliveryRecord.document_pk)
            .where(DeliveryRecord.message_id == claimed.message_id)).all()
        for delivery, sha256 in answered:
            if delivery.peer_decided_at is not None:
                continue  # the peer's later decision arrived first and stands
            outcome = by_sha.get(sha256)
            if outcome is None:
                delivery.state = DeliveryState.FAILED
                delivery.reasons = json.dumps([ReasonCode.RECEIPT_INVALID.value])
            else:
                delivery.state = OUTCOME_STATE[outcome.outcome]
                delivery.outcome = outcome.outcome.value
                delivery.reasons = json.dumps([code.value for code in outcome.reasons])
                delivery.agreement_id = outcome.agreement_id
                delivery.recognised_as = outcome.recognised_as
            delivery.updated_at = at
            session.add(delivery)
            ctx.metrics.documents_out.labels(state=delivery.state).inc()
            ctx.metrics.delivery_latency.observe(max(0.0, (at - delivery.created_at)
                                                     .total_seconds()))
        append_event(session, event="delivery.receipt", actor=f"peer:{claimed.peer}",
                     subject=f"message:{claimed.message_id}",
                     details={"receiptId": receipt.receipt_id,
                              "outcomes": {o.document_id: o.outcome.value
                                           for o in receipt.outcomes}}, at=at)
        flows.on_receipt(ctx, session, row, receipt, at)
        session.commit()


def record_failure(ctx: NodeContext, claimed: Claimed, *, code: ReasonCode, error: str,
                   final: bool, at: dt.datetime, rng: random.Random) -> None:
    settings = ctx.settings
    dead = False
    with write_session(ctx.engine) as session:
        row = session.get(OutboundMessageRecord, claimed.pk)
        # Only the current claim may put the message back: a worker whose lease expired
        # (another worker claimed it since, with attempts + 1) must not touch it.
        if row is None or row.state != "sending" or row.attempts != claimed.attempts:
            return
        deadline = dead_letter_at(row, settings)
        if final:
            _finish_dead(ctx, session, row, code, error, at, state="failed")
        elif at >= deadline or (settings.delivery_max_attempts is not None
                                and claimed.attempts >= settings.delivery_max_attempts):
            _finish_dead(ctx, session, row, code, error, at)
            dead = True
        else:
            row.state = "pending"
            row.lease_until = None
            row.last_error = f"{code.value}: {error}"[:2000]
            # The last attempt is made at the deadline itself.
            row.next_attempt_at = min(deadline, at + dt.timedelta(seconds=backoff_seconds(
                claimed.attempts, settings.delivery_backoff_base_seconds,
                settings.delivery_backoff_max_seconds, rng)))
            session.add(row)
        session.commit()
    if dead:
        _went_dead(ctx, claimed.message_id, claimed.peer, code, error)


def retry_message(ctx: NodeContext, session: Session, message_id: str, actor: str,
                  at: dt.datetime) -> OutboundMessageRecord:
    """Operator action: put a dead or failed message back in the queue.

    An envelope still within its validity is re-sent as is (same message id); an expired
    one is dissolved and its documents re-assembled into a new envelope.
    """
    row = session.exec(select(OutboundMessageRecord).where(
        OutboundMessageRecord.message_id == message_id)).first()
    if row is None:
        raise NotFoundError(ReasonCode.NOT_FOUND, f"no outbound message {message_id}")
    if row.state not in ("dead", "failed"):
        raise ConflictError(ReasonCode.STATE_INVALID,
                            f"message {message_id} is {row.state}; only dead or failed "
                            "messages can be retried")
    reassemble = row.expires_at <= at + dt.timedelta(minutes=5)
    successor = row
    if reassemble and row.kind != EnvelopeKind.DOCUMENTS.value:
        # An expired control message is signed afresh with the same body (and the same
        # documents, for the kinds that carry them), still linked to its flow.
        kind = EnvelopeKind(row.kind)
        body = dict(GeneralJWS.parse(row.envelope_bytes).payload_json()["body"])
        documents = tuple(GeneralJWS.parse(item) for item in body.pop("documents", ())) \
            if kind in DOCUMENT_KINDS else ()
        successor = enqueue_control(ctx, session, peer=row.peer, kind=kind, body=body, at=at,
                                    documents=documents, flow_ref=row.flow_ref)
    row.state = "retired" if reassemble else "pending"
    row.attempts = 0
    row.next_attempt_at = at
    # A new deadline from now (still bounded by the envelope's expiry).
    row.dead_letter_at = at + dt.timedelta(seconds=ctx.settings.delivery_deadline_seconds)
    row.last_error = None
    session.add(row)
    for delivery in _deliveries(session, message_id):
        delivery.state = DeliveryState.PENDING
        delivery.reasons = "[]"
        if reassemble:
            delivery.message_id = None
        delivery.updated_at = at
        session.add(delivery)
    append_event(session, event="delivery.retried", actor=actor, subject=f"message:{message_id}",
                 details={"reassembled": reassemble}, at=at)
    ctx.outbox.after_commit(session)
    flows.on_retry(ctx, session, successor, at)
    return row


def outbox_depth(ctx: NodeContext) -> int:
    with read_session(ctx.engine) as session:
        return int(session.exec(select(func.count()).select_from(DeliveryRecord).where(
            col(DeliveryRecord.state) == DeliveryState.PENDING)).one())


class DeliveryWorker:
    """Runs assemble → claim → send → record, keeping up to ``delivery_concurrency``
    envelopes in flight (``delivery_peer_concurrency`` per peer): a slot that frees is
    refilled at once, and new work committed in this process wakes the worker (other
    processes' work is found by polling every ``worker_poll_seconds``)."""

    def __init__(self, ctx: NodeContext, client: httpx.AsyncClient, *,
                 rng: random.Random | None = None) -> None:
        self.ctx = ctx
        self.client = client
        self.rng = rng or random.Random()
        self._semaphore = asyncio.Semaphore(max(1, ctx.settings.delivery_concurrency))
        self._next_depth_reading = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._in_flight: dict[asyncio.Task[None], str] = {}  # send task -> peer

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until ``stop`` is set, then finish the sends under way; a failing pass is
        logged and retried at the next poll."""
        wake = self.ctx.outbox.attach()
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                wake.clear()
                try:
                    await self._fill(wake)
                except Exception:
                    log.exception("delivery iteration failed")
                # Until new work is committed here, a send ends (a slot frees), the poll
                # interval passes, or the worker is told to stop.
                waking = asyncio.create_task(wake.wait())
                try:
                    await asyncio.wait({waking, stopping},
                                       timeout=self.ctx.settings.worker_poll_seconds,
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waking.cancel()
        finally:
            stopping.cancel()
            self.ctx.outbox.detach(wake)
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _fill(self, wake: asyncio.Event) -> int:
        """Assemble what is waiting and claim as many messages as there are free slots;
        each is sent by its own task, which sets ``wake`` when it ends."""
        settings = self.ctx.settings
        free = max(1, settings.delivery_concurrency) - len(self._in_flight)
        await self._assemble()
        if free <= 0:
            return 0
        busy = Counter(self._in_flight.values())
        # Claimed no more than can be sent at once (see ``run_once``); the lease starts from
        # the clock after assembly.
        claimed = await asyncio.to_thread(claim, self.ctx, utc_now(), free, busy=busy,
                                          per_peer=max(1, settings.delivery_peer_concurrency))
        for item in claimed:
            task = asyncio.create_task(self._send(item), name=f"send-{item.message_id}")
            self._in_flight[task] = item.peer

            def _done(done: asyncio.Task[None]) -> None:
                self._in_flight.pop(done, None)
                wake.set()
                if not done.cancelled() and done.exception() is not None:
                    log.error("send failed", exc_info=done.exception())

            task.add_done_callback(_done)
        return len(claimed)

    async def _assemble(self) -> None:
        now = utc_now()
        await asyncio.to_thread(assemble, self.ctx, now)
        if now >= self._next_depth_reading:
            # The queue depth gauge, for workers that run without the API's /metrics.
            self.ctx.metrics.outbox_depth.set(await asyncio.to_thread(outbox_depth, self.ctx))
            self._next_depth_reading = now + dt.timedelta(seconds=5)

    async def run_once(self) -> int:
        """One pass, its sends awaited; returns how many messages were attempted."""
        await self._assemble()
        # No more than can be sent at once: a claimed message waiting for the semaphore
        # would spend its lease (timeout + 5 s) queueing and could be claimed again by
        # another worker while this one still sends it. The lease starts from the clock
        # after assembly (which may have waited for the write lock), not from ``now``.
        settings = self.ctx.settings
        claimed = await asyncio.to_thread(
            claim, self.ctx, utc_now(), max(1, settings.delivery_concurrency),
            per_peer=max(1, settings.delivery_peer_concurrency))
        if claimed:
            await asyncio.gather(*(self._send(item) for item in claimed))
        return len(claimed)

    async def _send(self, claimed: Claimed) -> None:
        async with self._semaphore:
            registry = self.ctx.registry.current()
            endpoint = trust.endpoint(registry, claimed.peer)
            if not endpoint:
                await self._failure(claimed, ReasonCode.PEER_UNREACHABLE,
                                    "no endpoint in the registry", final=False)
                return
            timeout = send_budget(claimed, self.ctx.settings.delivery_timeout_seconds,
                                  utc_now())
            if timeout <= 0:
                # The lease is spent (claiming waited too long): another worker may take the
                # message over at any moment, so this one must not send it. It comes up
                # again when the lease expires.
                log.info("lease of %s spent before sending; left for the next claim",
                         claimed.message_id)
                return
            try:
                # httpx's timeout bounds each phase (connect, write, read); the lease needs
                # the whole exchange bounded, and over before the lease ends. The answer is
                # read as a stream, no larger than a document may be (a receipt is smaller).
                async with asyncio.timeout(timeout), self.client.stream(
                        "POST", endpoint.rstrip("/") + PEER_PATH, content=claimed.envelope,
                        headers={"content-type": "application/json"},
                        timeout=timeout) as streamed:
                    response = with_body(streamed, await read_within(
                        streamed, self.ctx.limits.max_document_bytes))
            except (httpx.HTTPError, TimeoutError) as exc:
                self.ctx.metrics.delivery_attempts.labels(result="unreachable").inc()
                await self._failure(claimed, ReasonCode.PEER_UNREACHABLE,
                                    f"{type(exc).__name__}: {exc}", final=False)
                return
            except DeliveryError as exc:  # an answer beyond the cap
                self.ctx.metrics.delivery_attempts.labels(result="too-large").inc()
                await self._failure(claimed, exc.code, exc.message, final=False)
                return
            await self._answer(claimed, response)

    async def _answer(self, claimed: Claimed, response: httpx.Response) -> None:
        now = utc_now()
        if response.status_code == 200:
            try:
                receipt = await asyncio.to_thread(verify_receipt, self.ctx, claimed,
                                                  response.content, now)
            except ProtocolError as exc:
                self.ctx.metrics.delivery_attempts.labels(result="bad-receipt").inc()
                await self._failure(claimed, exc.code, exc.message, final=False)
                return
            self.ctx.metrics.delivery_attempts.labels(result="delivered").inc()
            await asyncio.to_thread(record_receipt, self.ctx, claimed, receipt,
                                    response.content, now)
            return
        code, message = _error_of(response)
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            self.ctx.metrics.delivery_attempts.labels(result="refused").inc()
            await self._failure(claimed, code, f"HTTP {response.status_code}: {message}",
                                final=True)
        else:
            self.ctx.metrics.delivery_attempts.labels(result="error").inc()
            await self._failure(claimed, ReasonCode.PEER_UNREACHABLE,
                                f"HTTP {response.status_code}: {message}", final=False)

    async def _failure(self, claimed: Claimed, code: ReasonCode, error: str, *,
                       final: bool) -> None:
        log.warning("delivery of %s to %s failed: %s %s", claimed.message_id, claimed.peer,
                    code.value, error)
        await asyncio.to_thread(record_failure, self.ctx, claimed, code=code, error=error,
                                final=final, at=utc_now(), rng=self.rng)


def _error_of(response: httpx.Response) -> tuple[ReasonCode, str]:
    """A peer's refusal: RFC 9457 problem details (``code``, ``detail``), or the ``error``
    object of peers before ADR 0030."""
    try:
        body = response.json()
        if "code" in body:
            return ReasonCode(body["code"]), str(body.get("detail", ""))
        error = body["error"]
        return ReasonCode(error["code"]), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError):
        return ReasonCode.PEER_REFUSED, response.text[:200]
