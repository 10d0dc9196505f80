"""The append-only, hash-chained audit log.

Each event's hash is SHA-256 over the RFC 8785 form of
``{"seq", "at", "event", "actor", "subject", "details", "prev"}``, where ``prev`` is the
previous event's hash (64 zeros for the first). Sequence numbers run 1, 2, 3, … without
gaps, so a deleted, inserted, reordered or edited event breaks the chain at a known place.
Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by
the write transaction's lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from node.errors import NodeError
from node.services import webhook_events
from node.storage.database import WRITER_LOCK, advisory_lock
from node.storage.models import AuditEventRecord
from protocol.canonical import canonicalize
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time

GENESIS = "0" * 64


def _event_hash(seq: int, at: dt.datetime, event: str, actor: str, subject: str,
                details: Mapping[str, Any], prev: str) -> str:
    body = {"seq": seq, "at": format_time(at), "event": event, "actor": actor,
            "subject": subject, "details": dict(details), "prev": prev}
    return hashlib.sha256(canonicalize(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One event to append: what happened, who did it, to what, and the details."""

    event: str
    actor: str
    subject: str
    details: Mapping[str, Any]


def append_events(session: Session, events: Sequence[AuditEvent],
                  at: dt.datetime) -> list[AuditEventRecord]:
    """Append events in order, in the caller's transaction (committed with its work).

    The chain head is read once per call (two columns), and the events are written by one
    multi-row insert, so a batch (an envelope's documents, a batch submission) costs one
    read and one insert, not one per event. The caller's pending changes are flushed first.
    Returns the appended events (not attached to the session).
    """
    if not events:
        return []
    session.flush()
    # Held from the transaction's start in a write session (storage.database); taken here
    # too for a caller outside one (re-entrant within a transaction; nothing on SQLite).
    advisory_lock(session, WRITER_LOCK)
    head = session.exec(
        select(AuditEventRecord.seq, AuditEventRecord.hash)
        .order_by(col(AuditEventRecord.seq).desc()).limit(1)
    ).first()
    seq = 0 if head is None else head[0]
    prev = GENESIS if head is None else head[1]
    at = at.astimezone(dt.UTC).replace(microsecond=(at.microsecond // 1000) * 1000)
    records = []
    for item in events:
        seq += 1
        subject = item.subject[:256]
        details = canonicalize(dict(item.details))
        digest = _event_hash(seq, at, item.event, item.actor, subject, json.loads(details),
                             prev)
        records.append(AuditEventRecord(seq=seq, at=at, event=item.event, actor=item.actor,
                                        subject=subject, details=details.decode("utf-8"),
                                        prev_hash=prev, hash=digest))
        prev = digest
    session.execute(insert(AuditEventRecord), [
        {"seq": r.seq, "at": r.at, "event": r.event, "actor": r.actor, "subject": r.subject,
         "details": r.details, "prev_hash": r.prev_hash, "hash": r.hash} for r in records])
    # Notifications for these events are queued in the same transaction (ADR 0031).
    webhook_events.enqueue(session, records)
    return records


def append_event(session: Session, *, event: str, actor: str, subject: str,
                 details: Mapping[str, Any], at: dt.datetime) -> AuditEventRecord:
    """Append one event in the caller's transaction (committed with the caller's work)."""
    return append_events(session, [AuditEvent(event, actor, subject, details)], at)[0]


def verify_chain(session: Session, *, batch: int = 1000) -> int:
    """Check the whole chain; return the number of events, or raise AUDIT_CHAIN_BROKEN
    naming the first broken entry (``context['seq']``)."""
    prev, expected_seq, count = GENESIS, 1, 0
    last = 0
    while True:
        rows = session.exec(
            select(AuditEventRecord).where(col(AuditEventRecord.seq) > last)
            .order_by(col(AuditEventRecord.seq)).limit(batch)
        ).all()
        if not rows:
            return count
        for row in rows:
            if row.seq != expected_seq:
                raise NodeError(ReasonCode.AUDIT_CHAIN_BROKEN,
                                f"entry {expected_seq} is missing (found {row.seq})",
                                seq=expected_seq)
            try:
                details = json.loads(row.details)
            except ValueError as exc:
                raise NodeError(ReasonCode.AUDIT_CHAIN_BROKEN,
                                f"entry {row.seq} has unreadable details", seq=row.seq) from exc
            digest = _event_hash(row.seq, row.at, row.event, row.actor, row.subject, details,
                                 row.prev_hash)
            if row.prev_hash != prev or digest != row.hash:
                raise NodeError(ReasonCode.AUDIT_CHAIN_BROKEN,
                                f"entry {row.seq} does not match its hash chain", seq=row.seq)
            prev, expected_seq, last = row.hash, expected_seq + 1, row.seq
            count += 1


def list_events(session: Session, *, after: int | None = None, limit: int = 50,
                event: str | None = None, actor: str | None = None,
                subject: str | None = None, since: dt.datetime | None = None
                ) -> list[dict[str, Any]]:
    """Events oldest first, as JSON objects (``seq``, ``at``, ``event``, ``actor``,
    ``subject``, ``details``, ``hash``): after sequence number ``after``, at most
    ``limit``. ``event`` ending in ``.`` matches every event it starts (``document.``)."""
    query = select(AuditEventRecord)
    if after is not None:
        query = query.where(col(AuditEventRecord.seq) > after)
    if event is not None:
        query = query.where(col(AuditEventRecord.event).startswith(event, autoescape=True)
                            if event.endswith(".") else AuditEventRecord.event == event)
    if actor is not None:
        query = query.where(AuditEventRecord.actor == actor)
    if subject is not None:
        query = query.where(AuditEventRecord.subject == subject)
    if since is not None:
        query = query.where(col(AuditEventRecord.at) >= since)
    rows = session.exec(query.order_by(col(AuditEventRecord.seq)).limit(limit)).all()
    return [{"seq": row.seq, "at": format_time(row.at), "event": row.event, "actor": row.actor,
             "subject": row.subject, "details": json.loads(row.details), "hash": row.hash}
            for row in rows]
