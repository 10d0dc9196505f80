"""The inbound message record every received envelope leaves: the message-id check that makes
a repeat answer with the receipt already given, and the signed receipt of a control message
(status change, title transfer, revocation, agreement proposal: no document outcomes).

Shared by ``node.services.receiving`` and the flows it dispatches to, so that each stores and
answers a message the same way (ADR 0009: one receipt per message id, exactly once).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlmodel import Session, select

from node.context import NodeContext
from node.errors import ConflictError
from node.storage.models import InboundMessageRecord
from protocol.envelope import Envelope
from protocol.reason_codes import ReasonCode
from protocol.receipt import Receipt, sign_receipt


def stored_receipt(session: Session, envelope: Envelope, digest: str) -> bytes | None:
    """The receipt already given for this message id, or None for a new message. The same id
    from another sender or with other bytes is a ``ConflictError(MESSAGE_DUPLICATE)``."""
    record = session.exec(select(InboundMessageRecord).where(
        InboundMessageRecord.message_id == envelope.message_id)).first()
    if record is None:
        return None
    if record.sender != envelope.sender or record.envelope_sha256 != digest:
        raise ConflictError(ReasonCode.MESSAGE_DUPLICATE,
                            f"message id {envelope.message_id} was used for another envelope")
    return record.receipt_bytes


def record_control_message(ctx: NodeContext, session: Session, envelope: Envelope,
                           digest: str, body: bytes, at: dt.datetime) -> bytes:
    """Sign the receipt of a control message (no document outcomes) and add the inbound
    message record to the caller's transaction; returns the receipt bytes. The caller
    commits (a concurrent copy then fails on the message id's unique key)."""
    receipt = Receipt(receipt_id=str(uuid.uuid4()), message_id=envelope.message_id,
                      envelope_sha256=digest, sender=ctx.authority_id,
                      recipient=envelope.sender, received_at=at, outcomes=())
    receipt_bytes = sign_receipt(receipt, ctx.node_signer, signed_at=at).to_json()
    session.add(InboundMessageRecord(
        message_id=envelope.message_id, sender=envelope.sender, kind=envelope.kind.value,
        envelope_sha256=digest, envelope_bytes=body, receipt_bytes=receipt_bytes,
        received_at=at, expires_at=envelope.expires_at))
    return receipt_bytes
