"""What the delivery worker tells the flows about their messages.

An outbound message may belong to a flow object (``OutboundMessageRecord.flow_ref``, e.g.
``declaration:42``). When such a message is answered with a verified receipt, goes dead or
is refused, or is re-signed by an operator's retry, the owning flow is told here — in the
same transaction as the delivery worker's own update, so that the flow's state and the
message's state never disagree.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from node.context import NodeContext
from node.services.declarations import exporting, importing
from node.services.titles import FLOW as TITLE_FLOW
from node.services.titles import custody_request_failed
from node.storage.models import OutboundMessageRecord
from protocol.envelope import EnvelopeKind
from protocol.reason_codes import ReasonCode
from protocol.receipt import Receipt


def _parse(ref: str | None) -> tuple[str, int] | None:
    if not ref or ":" not in ref:
        return None
    kind, _, pk = ref.partition(":")
    return (kind, int(pk)) if pk.isdigit() else None


def on_receipt(ctx: NodeContext, session: Session, message: OutboundMessageRecord,
               receipt: Receipt, at: dt.datetime) -> None:
    """A verified receipt answered ``message``."""
    target = _parse(message.flow_ref)
    if target is None or target[0] != exporting.FLOW:
        return
    if message.kind == EnvelopeKind.DECLARATION.value:
        exporting.forward_answered(ctx, session, target[1], message, receipt, at)
    elif message.kind == EnvelopeKind.CLEARANCE_DECISION.value:
        importing.decision_answered(session, target[1], message, receipt, at)


def on_failure(ctx: NodeContext, session: Session, message: OutboundMessageRecord,
               code: ReasonCode, at: dt.datetime) -> None:
    """``message`` went dead or was refused by the peer."""
    target = _parse(message.flow_ref)
    if target is not None and target[0] == TITLE_FLOW:
        custody_request_failed(session, target[1], message, code, at)
        return
    if target is None or target[0] != exporting.FLOW:
        return
    if message.kind == EnvelopeKind.DECLARATION.value:
        exporting.forward_failed(session, target[1], message, code, at)
    elif message.kind == EnvelopeKind.CLEARANCE_DECISION.value:
        importing.decision_failed(session, target[1], message, code, at)


def on_retry(ctx: NodeContext, session: Session, message: OutboundMessageRecord,
             at: dt.datetime) -> None:
    """An operator put ``message`` (or its re-signed successor) back in the queue."""
    target = _parse(message.flow_ref)
    if target is not None and target[0] == exporting.FLOW and \
            message.kind == EnvelopeKind.DECLARATION.value:
        exporting.forward_retried(session, target[1], message, at)
