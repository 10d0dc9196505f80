"""Webhooks: subscriptions, signed notifications, and the worker that delivers them (ADR 0031).

- A trader (for its party), an officer or an operator (an integrating customs system)
  registers an ``http(s)`` callback URL and the event types it wants
  (``webhook_events.WebhookEvent``); the answer shows the subscription's secret once.
- Notifications are queued in the transaction of the change they report
  (``webhook_events.enqueue``) and sent by ``WebhookWorker`` with the delivery worker's
  retry schedule: exponential backoff with full jitter (``delivery.backoff_seconds``), dead
  after ``delivery_deadline_seconds`` or ``delivery_max_attempts``. Any 2xx answer delivers;
  anything else (a refusal, a 5xx, a timeout, no connection) is retried.
- Signing follows the Standard Webhooks scheme: headers ``webhook-id`` (the event id, the
  same on every retry: the receiver's deduplication key), ``webhook-timestamp`` (Unix
  seconds at sending) and ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
  ``id.timestamp.body`` with the secret's bytes. ``verify_signature`` is what a receiver runs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_
from sqlmodel import Session, col, or_, select

from node.context import NodeContext
from node.errors import NotFoundError, RequestError
from node.services.apikeys import Principal, Role
from node.services.audit import append_event
from node.services.delivery import backoff_seconds
from node.services.webhook_events import WebhookDeliveryState, WebhookEvent
from node.settings import Settings
from node.storage.database import write_session
from node.storage.models import WebhookDeliveryRecord, WebhookSubscriptionRecord
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time, utc_now

log = logging.getLogger("tradeaccord.webhooks")

SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 2000
MAX_SUBSCRIPTIONS_PER_OWNER = 20
# How far a receiver should accept a timestamp from its own clock (replay window).
DEFAULT_TOLERANCE_SECONDS = 300


# -- signatures (pure) ------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh subscription secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for ``body`` sent as ``event_id`` at ``timestamp``."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(secret: str, event_id: str, timestamp: int, body: bytes
                      ) -> dict[str, str]:
    return {"content-type": "application/json", "webhook-id": event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, event_id, timestamp, body)}


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: int,
                     tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """True when ``headers`` carry a valid signature of ``body`` by ``secret`` made within
    ``tolerance`` seconds of ``now`` (Unix seconds). A receiver also refuses an event id it
    has already processed (replays within the window)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    event_id, stamp = lowered.get("webhook-id"), lowered.get("webhook-timestamp", "")
    if not event_id or not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    expected = sign(secret, event_id, int(stamp), body)
    offered = lowered.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


# -- subscriptions -----------------------------------------------------------------------------------


def check_url(url: Any) -> str:
    """An absolute ``http``/``https`` URL with a host, or REQUEST_INVALID."""
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL_LENGTH:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"url must be a string of 1 to {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise RequestError(ReasonCode.REQUEST_INVALID, f"url is not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"url must be an absolute http(s) URL, not {url!r}")
    if parts.username or parts.password or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           "url must carry no credentials, spaces or control characters")
    return url


def check_events(events: Any) -> list[str]:
    """The event types asked for (all when absent), each a ``WebhookEvent``."""
    if events is None:
        return sorted(kind.value for kind in WebhookEvent)
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise RequestError(ReasonCode.REQUEST_INVALID, "events must be a non-empty array of "
                           "event types")
    unknown = sorted(set(events) - {kind.value for kind in WebhookEvent})
    if unknown:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"unknown event types {unknown}; known: "
                           f"{[kind.value for kind in WebhookEvent]}")
    return sorted(set(events))


def _visible(principal: Principal) -> Any:
    """Subscriptions the caller may see: its own; an operator's, all."""
    query = select(WebhookSubscriptionRecord).where(
        col(WebhookSubscriptionRecord.removed_at).is_(None))
    if principal.role is not Role.OPERATOR:
        query = query.where(WebhookSubscriptionRecord.owner == principal.name)
    return query


def view(row: WebhookSubscriptionRecord, *, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": row.subscription_id, "url": row.url,
                            "events": json.loads(row.events), "owner": row.owner,
                            "party": row.party, "createdAt": format_time(row.created_at)}
    if secret is not None:
        data["secret"] = secret
    return data


def register(session: Session, principal: Principal, body: Mapping[str, Any],
             at: dt.datetime) -> dict[str, Any]:
    """Store a subscription for the caller; the view with the secret (shown only here)."""
    url = check_url(body.get("url"))
    events = check_events(body.get("events"))
    owned = session.exec(select(WebhookSubscriptionRecord).where(
        WebhookSubscriptionRecord.owner == principal.name,
        col(WebhookSubscriptionRecord.removed_at).is_(None))).all()
    if len(owned) >= MAX_SUBSCRIPTIONS_PER_OWNER:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"at most {MAX_SUBSCRIPTIONS_PER_OWNER} webhooks per API key")
    secret = new_secret()
    row = WebhookSubscriptionRecord(
        subscription_id=str(uuid.uuid4()), url=url, events=json.dumps(events),
        owner=principal.name, role=principal.role.value,
        party=principal.party if principal.role is Role.TRADER else None,
        secret=secret, created_at=at)
    session.add(row)
    session.flush()
    append_event(session, event="webhook.registered", actor=principal.name,
                 subject=f"webhook:{row.subscription_id}",
                 details={"url": url, "events": events}, at=at)
    return view(row, secret=secret)


def list_subscriptions(session: Session, principal: Principal) -> list[dict[str, Any]]:
    rows = session.exec(_visible(principal).order_by(
        col(WebhookSubscriptionRecord.pk))).all()
    return [view(row) for row in rows]


def remove(session: Session, principal: Principal, subscription_id: str,
           at: dt.datetime) -> dict[str, Any]:
    """Remove one of the caller's subscriptions (an operator: any); its pending
    notifications are not sent. NOT_FOUND for another's or an unknown id."""
    row = session.exec(_visible(principal).where(
        WebhookSubscriptionRecord.subscription_id == subscription_id)).first()
    if row is None:
        raise NotFoundError(ReasonCode.NOT_FOUND, f"no webhook {subscription_id}")
    row.removed_at = at
    session.add(row)
    for pending in session.exec(select(WebhookDeliveryRecord).where(
            WebhookDeliveryRecord.subscription_pk == row.pk,
            col(WebhookDeliveryRecord.state).in_([WebhookDeliveryState.PENDING.value,
                                                   WebhookDeliveryState.SENDING.value]))):
        pending.state = WebhookDeliveryState.DEAD.value
        pending.last_error = "the webhook was removed"
        session.add(pending)
    append_event(session, event="webhook.removed", actor=principal.name,
                 subject=f"webhook:{subscription_id}", details={"url": row.url}, at=at)
    return {**view(row), "removedAt": format_time(at)}


def deliveries(session: Session, subscription_pk: int) -> list[WebhookDeliveryRecord]:
    return list(session.exec(select(WebhookDeliveryRecord).where(
        WebhookDeliveryRecord.subscription_pk == subscription_pk)
        .order_by(col(WebhookDeliveryRecord.pk))).all())


# -- the worker ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    pk: int
    event_id: str
    url: str
    secret: str
    payload: bytes
    attempts: int


def claim(ctx: NodeContext, at: dt.datetime, limit: int) -> list[Claimed]:
    """Take due notifications (pending and due, or sending with an expired lease) with a
    lease of the delivery timeout + 5 s, each attempt counted."""
    lease = dt.timedelta(seconds=ctx.settings.delivery_timeout_seconds + 5)
    claimed: list[Claimed] = []
    with write_session(ctx.engine) as session:
        query = select(WebhookDeliveryRecord, WebhookSubscriptionRecord).join(
            WebhookSubscriptionRecord,
            col(WebhookSubscriptionRecord.pk) == col(WebhookDeliveryRecord.subscription_pk)).where(
            or_(
                and_(col(WebhookDeliveryRecord.state) == WebhookDeliveryState.PENDING.value,
                     col(WebhookDeliveryRecord.next_attempt_at) <= at),
                and_(col(WebhookDeliveryRecord.state) == WebhookDeliveryState.SENDING.value,
                     col(WebhookDeliveryRecord.lease_until) < at)))
        query = query.order_by(col(WebhookDeliveryRecord.next_attempt_at)).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=WebhookDeliveryRecord)
        for row, subscription in session.exec(query).all():
            row.state = WebhookDeliveryState.SENDING.value
            row.attempts += 1
            row.lease_until = at + lease
            session.add(row)
            claimed.append(Claimed(row.pk or 0, row.event_id, subscription.url,
                                   subscription.secret, row.payload, row.attempts))
        session.commit()
    return claimed


def _gives_up_at(row: WebhookDeliveryRecord, settings: Settings) -> dt.datetime:
    return row.created_at + dt.timedelta(seconds=settings.delivery_deadline_seconds)


def record_result(ctx: NodeContext, claimed: Claimed, *, error: str | None, at: dt.datetime,
                  rng: random.Random) -> WebhookDeliveryState:
    """Delivered (``error`` None), or back to pending with backoff, or dead per the
    schedule. Only the current claim may change the row."""
    settings = ctx.settings
    with write_session(ctx.engine) as session:
        row = session.get(WebhookDeliveryRecord, claimed.pk)
        if row is None or row.state != WebhookDeliveryState.SENDING.value or \
                row.attempts != claimed.attempts:
            return WebhookDeliveryState(row.state) if row else WebhookDeliveryState.DEAD
        row.lease_until = None
        if error is None:
            row.state = WebhookDeliveryState.DELIVERED.value
            row.delivered_at = at
            row.last_error = None
        else:
            row.last_error = error[:2000]
            deadline = _gives_up_at(row, settings)
            if at >= deadline or (settings.delivery_max_attempts is not None
                                  and claimed.attempts >= settings.delivery_max_attempts):
                row.state = WebhookDeliveryState.DEAD.value
                log.warning("webhook %s to %s gave up after %d attempts: %s",
                            claimed.event_id, claimed.url, claimed.attempts, error)
            else:
                row.state = WebhookDeliveryState.PENDING.value
                # The last attempt is made at the deadline itself.
                row.next_attempt_at = min(deadline, at + dt.timedelta(seconds=backoff_seconds(
                    claimed.attempts, settings.delivery_backoff_base_seconds,
                    settings.delivery_backoff_max_seconds, rng)))
        session.add(row)
        session.commit()
        return WebhookDeliveryState(row.state)


class WebhookWorker:
    """Sends due notifications in a loop, with bounded concurrency. ``client`` is the
    worker's own outbound client (no node client certificate is presented to receivers)."""

    def __init__(self, ctx: NodeContext, client: httpx.AsyncClient, *,
                 rng: random.Random | None = None) -> None:
        self.ctx = ctx
        self.client = client
        self.rng = rng or random.Random()

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until ``stop`` is set; a failing iteration is logged and retried."""
        while not stop.is_set():
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("webhook iteration failed")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.ctx.settings.worker_poll_seconds)

    async def run_once(self) -> int:
        """One pass; returns how many notifications were attempted."""
        claimed = await asyncio.to_thread(claim, self.ctx, utc_now(),
                                          max(1, self.ctx.settings.delivery_concurrency))
        if claimed:
            await asyncio.gather(*(self._send(item) for item in claimed))
        return len(claimed)

    async def _send(self, claimed: Claimed) -> None:
        timestamp = int(utc_now().timestamp())
        headers = signature_headers(claimed.secret, claimed.event_id, timestamp,
                                    claimed.payload)
        error: str | None
        try:
            # The answer's status is all that counts: its body is never read.
            async with self.client.stream(
                    "POST", claimed.url, content=claimed.payload, headers=headers,
                    timeout=self.ctx.settings.delivery_timeout_seconds) as response:
                status = response.status_code
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except httpx.HTTPError as exc:  # timeouts, refused connections, bad URLs alike
            error = f"{type(exc).__name__}: {exc}"
        await asyncio.to_thread(record_result, self.ctx, claimed, error=error, at=utc_now(),
                                rng=self.rng)


def make_webhook_client(settings: Settings) -> httpx.AsyncClient:
    """The worker's client: bounded, no redirects followed, the delivery timeout."""
    limits = httpx.Limits(max_connections=max(1, settings.delivery_concurrency))
    return httpx.AsyncClient(timeout=settings.delivery_timeout_seconds, limits=limits,
                             follow_redirects=False)


__all__ = ["WebhookWorker", "check_url", "claim", "list_subscriptions", "make_webhook_client",
           "new_secret", "record_result", "register", "remove", "sign", "signature_headers",
           "verify_signature"]
