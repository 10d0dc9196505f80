"""Which audit events become webhook notifications, for whom, and their queueing (ADR 0031).

Every change the node makes appends an audit event in the transaction that makes it
(``node.services.audit``). ``enqueue`` runs there too: it turns the events that matter to
an integrator into one ``webhook_delivery`` row per interested subscription, so a
notification is queued exactly when its change commits and never for a change rolled back.

Event types (``WebhookEvent``): ``document.received`` (a document arrived from a peer, with
its outcome), ``document.decision`` (an officer here released or rejected a held document),
``document.status-changed`` (a peer's officer decided on a document this node sent),
``declaration.status`` (a declaration changed state). A trader's subscription gets only the
events of documents and declarations naming its party; officers' and operators' get all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from node.storage.models import (
    AuditEventRecord,
    DeclarationRecord,
    DocumentRecord,
    WebhookDeliveryRecord,
    WebhookSubscriptionRecord,
)
from protocol.timeutil import format_time


class WebhookEvent(StrEnum):
    DOCUMENT_RECEIVED = "document.received"
    DOCUMENT_DECISION = "document.decision"
    DOCUMENT_STATUS_CHANGED = "document.status-changed"
    DECLARATION_STATUS = "declaration.status"


class WebhookDeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


_RECEIVED_OUTCOMES = {"document.accepted", "document.rejected", "document.held-for-review"}


def classify(event: str, actor: str) -> WebhookEvent | None:
    """The webhook event an audit event is, if any (pure)."""
    if event in _RECEIVED_OUTCOMES and actor.startswith("peer:"):
        return WebhookEvent.DOCUMENT_RECEIVED
    if event in ("document.released", "document.rejected"):
        return WebhookEvent.DOCUMENT_DECISION
    if event == "delivery.status-changed":
        return WebhookEvent.DOCUMENT_STATUS_CHANGED
    if event.startswith("declaration."):
        return WebhookEvent.DECLARATION_STATUS
    return None


def wants(subscription: WebhookSubscriptionRecord, kind: WebhookEvent,
          parties: frozenset[str]) -> bool:
    """Whether ``subscription`` gets an event of ``kind`` about an object naming ``parties``
    (pure): the event type is one it asked for, and a trader's party is among them."""
    if kind.value not in json.loads(subscription.events):
        return False
    return subscription.party is None or subscription.party in parties


def _subject(session: Session, kind: WebhookEvent, subject: str
             ) -> tuple[dict[str, Any], frozenset[str]]:
    """What the event is about (as the receiver reads it) and the parties it names."""
    prefix, _, object_id = subject.partition(":")
    if prefix == "declaration":
        rows = session.exec(select(DeclarationRecord).where(
            DeclarationRecord.declaration_id == object_id)).all()
        parties = frozenset(p for row in rows for p in json.loads(row.parties))
        latest = max(rows, key=lambda row: row.updated_at, default=None)
        about: dict[str, Any] = {"declarationId": object_id}
        if latest is not None:
            about.update({"side": latest.side, "state": latest.state, "ucr": latest.ucr})
        return about, parties
    direction = "outbound" if kind is WebhookEvent.DOCUMENT_STATUS_CHANGED else "inbound"
    record = session.exec(select(DocumentRecord).where(
        DocumentRecord.document_id == object_id, DocumentRecord.direction == direction)
        .order_by(col(DocumentRecord.pk).desc())).first()
    about = {"documentId": object_id}
    if record is None:
        return about, frozenset()
    about.update({"type": record.doc_type, "issuer": record.issuer,
                  "direction": record.direction, "outcome": record.outcome})
    return about, frozenset(json.loads(record.parties))


def _data(kind: WebhookEvent, details: Mapping[str, Any]) -> dict[str, Any]:
    """The event's own facts, without digests or internal ids a receiver cannot use."""
    keep = {
        WebhookEvent.DOCUMENT_RECEIVED: ("messageId", "reasons", "agreementId",
                                         "recognisedAs"),
        WebhookEvent.DOCUMENT_DECISION: ("reason",),
        WebhookEvent.DOCUMENT_STATUS_CHANGED: ("outcome", "reasons", "reason", "decidedAt"),
        WebhookEvent.DECLARATION_STATUS: ("side", "state", "reason", "decision"),
    }[kind]
    return {key: details[key] for key in keep if key in details}


def enqueue(session: Session, events: Sequence[AuditEventRecord]) -> int:
    """Queue notifications for ``events`` in the caller's transaction; returns how many."""
    kinds = [(record, classify(record.event, record.actor)) for record in events]
    relevant = [(record, kind) for record, kind in kinds if kind is not None]
    if not relevant:
        return 0
    subscriptions = session.exec(select(WebhookSubscriptionRecord).where(
        col(WebhookSubscriptionRecord.removed_at).is_(None))).all()
    if not subscriptions:
        return 0
    queued = 0
    for record, kind in relevant:
        assert kind is not None
        about, parties = _subject(session, kind, record.subject)
        for subscription in subscriptions:
            if not wants(subscription, kind, parties):
                continue
            event_id = str(uuid.uuid4())
            payload = {"id": event_id, "type": kind.value, "occurredAt": format_time(record.at),
                       "event": record.event, "subject": about,
                       "data": _data(kind, json.loads(record.details))}
            session.add(WebhookDeliveryRecord(
                event_id=event_id, subscription_pk=subscription.pk or 0, event_type=kind.value,
                payload=json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
                .encode("utf-8"),
                state=WebhookDeliveryState.PENDING.value, next_attempt_at=record.at,
                created_at=record.at))
            queued += 1
    return queued


__all__ = ["WebhookDeliveryState", "WebhookEvent", "classify", "enqueue", "wants"]
