"""``title-transfer`` envelopes at the receiving node, and the fate of the ones we sent.

``plan_message`` parses and verifies a received body outside any transaction and returns
what to apply inside the receiving transaction (which also stores the message and its
signed receipt, so a repeated message is answered with the same receipt). Any refusal is
raised before or during the apply: the transaction rolls back and the sender's delivery
worker gets a 4xx with the reason code.

- ``custody-request`` (we are the control registry): the chain verifies with only its last
  entry awaiting our countersignature; that entry is signed by the sender, in custody, and
  moves custody. Under the record's row lock the chain must extend the one we recorded
  (``require_extension``: a second change from a stale state is ``TITLE_CONFLICT``). We
  countersign, record, and send ``custody-granted`` to the sender and ``custody-transfer``
  to the new custodian (unless that is us) — all in one transaction. A request for the
  change we recorded last is answered with ``custody-granted`` again (PINT's ``DUPE``).
- ``custody-granted`` (we asked): the countersigned entry is our pending one; we record it
  and hold the record as ``transferred-away``.
- ``custody-refused``: the pending change is dropped; the record is ``active`` again.
- ``custody-transfer`` (we are the new custodian): from the control registry, a chain that
  verifies whole (every custody change countersigned) and names us as custodian.

``custody_request_failed`` is the delivery worker's news (``node.services.flows``): a
custody request the control registry refused (4xx) returns the record to ``active``; one
that went dead (the registry unreachable until the deadline) stays ``pending-custody``:
nothing moved, and an operator's retry resumes it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from sqlmodel import Session

from node.context import NodeContext
from node.errors import ConflictError, NotFoundError
from node.services.audit import append_event
from node.services.documents import enqueue_control
from node.services.titles import records
from node.services.titles.operations import flow_ref
from node.services.titles.states import TitleNodeState
from node.storage.models import OutboundMessageRecord, TitleRecordRow
from protocol.envelope import Envelope, EnvelopeKind
from protocol.errors import TitleError
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.title_chain import TitleEvidence, require_extension
from protocol.title_entry import TitleRecord, countersign_entry, entry_sha256
from protocol.title_messages import TitleMessage, TitleMessageKind

__all__ = ["Apply", "custody_request_failed", "plan_message"]

Apply = Callable[[Session], None]


def _stored_digests(session: Session, row: TitleRecordRow) -> list[str]:
    return [entry_sha256(jws) for jws in records.entries_of(session, row)]


def plan_message(ctx: NodeContext, envelope: Envelope, at: dt.datetime) -> Apply:
    """Verify a ``title-transfer`` body from ``envelope.sender``; return its apply step."""
    message = TitleMessage.from_dict(envelope.body, limits=ctx.limits)
    sender = envelope.sender
    if message.kind is TitleMessageKind.CUSTODY_REQUEST:
        assert message.record is not None
        return _plan_request(ctx, sender, message.record, at)
    if message.kind is TitleMessageKind.CUSTODY_TRANSFER:
        assert message.record is not None
        return _plan_transfer(ctx, sender, message.record, at)
    if message.kind is TitleMessageKind.CUSTODY_GRANTED:
        return _plan_granted(ctx, sender, message, at)
    return _plan_refused(sender, message, at)


def _plan_request(ctx: NodeContext, sender: str, record: TitleRecord, at: dt.datetime) -> Apply:
    evidence = records.verify_chain_of(ctx, record, at, pending=True)
    if evidence.control_registry != ctx.authority_id:
        raise TitleError(ReasonCode.TITLE_ENTRY_INVALID,
                         f"{ctx.authority_id} is not the control registry of "
                         f"{evidence.record_id} ({evidence.control_registry} is)")
    last = evidence.history[-1]
    before = evidence.history[-2].custodian if len(evidence.history) > 1 \
        else evidence.control_registry
    if last.by != sender:
        raise TitleError(ReasonCode.TITLE_SIGNER_NOT_CUSTODIAN,
                         f"the entry is signed by {last.by}, the request comes from {sender}")
    if last.custodian == before:
        raise TitleError(ReasonCode.TITLE_ENTRY_INVALID,
                         "the last entry does not move custody: nothing to countersign")
    if not evidence.countersignature_pending or len(record.entries[-1].signatures) != 1:
        raise TitleError(ReasonCode.TITLE_ENTRY_REPLAYED,
                         "the custody change already carries the countersignature")
    countersigned = countersign_entry(record.entries[-1], ctx.node_signer, signed_at=at)
    requested = tuple(evidence.entry_digests)
    full = TitleRecord(record.bill, (*record.entries[:-1], countersigned))
    final = records.verify_chain_of(ctx, full, at)

    def apply(session: Session) -> None:
        row = records.get_row(session, evidence.record_id, lock=True)
        if row is None or row.bill_sha256 != evidence.bill_sha256:
            raise TitleError(ReasonCode.TITLE_CHAIN_BROKEN,
                             f"this control registry recorded no record {evidence.record_id} "
                             "with that bill")
        stored = records.entries_of(session, row)
        known = [entry_sha256(jws) for jws in stored]
        if tuple(known) == requested:
            # The request of a change recorded already (its answer was lost, or an operator
            # re-sent it in a new envelope): answered again with the stored countersigned
            # entry (PINT's DUPE), nothing else changes.
            enqueue_control(ctx, session, peer=sender, kind=EnvelopeKind.TITLE_TRANSFER,
                            body=TitleMessage.granted(record_id=final.record_id,
                                                      sequence=len(known) - 1,
                                                      entry=stored[-1]).to_dict(), at=at)
            return
        require_extension(known, evidence.entry_digests)
        records.store_entries(session, row, full.entries[len(known):], len(known), at)
        records.update_from(row, final, ctx.authority_id, at)
        session.add(row)
        session.flush()
        enqueue_control(ctx, session, peer=sender, kind=EnvelopeKind.TITLE_TRANSFER,
                        body=TitleMessage.granted(record_id=final.record_id,
                                                  sequence=final.state.sequence,
                                                  entry=countersigned).to_dict(), at=at)
        if final.custodian != ctx.authority_id:
            enqueue_control(ctx, session, peer=final.custodian,
                            kind=EnvelopeKind.TITLE_TRANSFER,
                            body=TitleMessage.transfer(full).to_dict(), at=at,
                            flow_ref=flow_ref(row))
        append_event(session, event="title.custody-granted", actor=f"peer:{sender}",
                     subject=f"title:{final.record_id}",
                     details={"sequence": final.state.sequence, "holder": final.holder,
                              "custodian": final.custodian, "sha256": final.head}, at=at)

    return apply


def _plan_transfer(ctx: NodeContext, sender: str, record: TitleRecord,
                   at: dt.datetime) -> Apply:
    evidence = records.verify_chain_of(ctx, record, at)
    if sender != evidence.control_registry:
        raise TitleError(ReasonCode.TITLE_COUNTERSIGNATURE_MISSING,
                         f"custody of {evidence.record_id} is handed over by its control "
                         f"registry {evidence.control_registry}, not by {sender}")
    if evidence.custodian != ctx.authority_id:
        raise TitleError(ReasonCode.TITLE_ENTRY_INVALID,
                         f"the chain names {evidence.custodian} as custodian, not "
                         f"{ctx.authority_id}")
    reference = str(evidence.document["body"]["transportDocumentReference"])

    def apply(session: Session) -> None:
        row = records.get_row(session, evidence.record_id, lock=True)
        known: list[str] = []
        if row is None:
            row = TitleRecordRow(
                record_id=evidence.record_id, control_registry=evidence.control_registry,
                transport_document_reference=reference, bill_bytes=record.bill.to_json(),
                bill_sha256=evidence.bill_sha256, state=TitleNodeState.ACTIVE.value,
                holder=evidence.holder, custodian=evidence.custodian, sequence=0,
                head=evidence.head, parties="[]", created_at=at, updated_at=at)
            session.add(row)
            session.flush()
        else:
            if row.bill_sha256 != evidence.bill_sha256:
                raise TitleError(ReasonCode.TITLE_CHAIN_BROKEN,
                                 f"{evidence.record_id} is held here with another bill")
            known = _stored_digests(session, row)
            require_extension(known, evidence.entry_digests)
        records.store_entries(session, row, record.entries[len(known):], len(known), at)
        records.update_from(row, evidence, ctx.authority_id, at)
        session.add(row)
        append_event(session, event="title.custody-received", actor=f"peer:{sender}",
                     subject=f"title:{evidence.record_id}",
                     details={"sequence": evidence.state.sequence, "holder": evidence.holder,
                              "sha256": evidence.head}, at=at)

    return apply


def _pending_row(session: Session, sender: str, record_id: str) -> TitleRecordRow:
    row = records.get_row(session, record_id, lock=True)
    if row is None:
        raise NotFoundError(ReasonCode.NOT_FOUND, f"no transferable record {record_id} here")
    if sender != row.control_registry:
        raise TitleError(ReasonCode.TITLE_SIGNER_NOT_CUSTODIAN,
                         f"only the control registry {row.control_registry} answers a custody "
                         f"request, not {sender}")
    return row


def _plan_granted(ctx: NodeContext, sender: str, message: TitleMessage,
                  at: dt.datetime) -> Apply:
    assert message.record_id is not None and message.entry is not None
    record_id, entry = message.record_id, message.entry
    digest = entry_sha256(entry)

    def apply(session: Session) -> None:
        row = _pending_row(session, sender, record_id)
        stored = records.chain_of(session, row)
        if row.pending_entry is None:
            if digest in [entry_sha256(item) for item in stored.entries]:
                return  # already recorded (the same grant, carried by another message)
            raise ConflictError(ReasonCode.STATE_INVALID,
                                f"no custody change of {record_id} awaits the registry here")
        if entry_sha256(GeneralJWS.parse(row.pending_entry)) != digest:
            raise TitleError(ReasonCode.TITLE_CONFLICT,
                             "the granted entry is not the custody change signed here")
        evidence: TitleEvidence = records.verify_chain_of(ctx, stored.with_entry(entry), at)
        records.store_entries(session, row, (entry,), evidence.state.sequence, at)
        records.update_from(row, evidence, ctx.authority_id, at)
        session.add(row)
        append_event(session, event="title.transferred-away", actor=f"peer:{sender}",
                     subject=f"title:{record_id}",
                     details={"sequence": evidence.state.sequence, "holder": evidence.holder,
                              "custodian": evidence.custodian}, at=at)

    return apply


def _plan_refused(sender: str, message: TitleMessage, at: dt.datetime) -> Apply:
    assert message.record_id is not None

    def apply(session: Session) -> None:
        row = _pending_row(session, sender, str(message.record_id))
        if row.pending_entry is None or entry_sha256(
                GeneralJWS.parse(row.pending_entry)) != message.entry_sha256:
            return  # nothing of ours pending: an old answer
        _revert(session, row, [code.value for code in message.reasons], f"peer:{sender}", at)

    return apply


def _revert(session: Session, row: TitleRecordRow, codes: list[str], actor: str,
            at: dt.datetime) -> None:
    row.pending_entry = None
    row.state = TitleNodeState.ACTIVE.value
    row.last_refusal = json.dumps(codes)
    row.updated_at = at
    session.add(row)
    append_event(session, event="title.custody-refused", actor=actor,
                 subject=f"title:{row.record_id}", details={"reasons": codes}, at=at)


def custody_request_failed(session: Session, pk: int, message: OutboundMessageRecord,
                           code: ReasonCode, at: dt.datetime) -> None:
    """A ``title-transfer`` message of record ``pk`` was refused or went dead."""
    row = session.get(TitleRecordRow, pk)
    if row is None or row.pending_entry is None or message.state != "failed" or \
            code is ReasonCode.TITLE_ENTRY_REPLAYED:
        # Dead: stays pending-custody until an operator retries (the registry may have
        # recorded the change and its grant may still come). A replay refusal means the
        # registry holds the change: its grant is on its way.
        return
    body = GeneralJWS.parse(message.envelope_bytes).payload_json()["body"]
    if body.get("message") != TitleMessageKind.CUSTODY_REQUEST.value:
        return
    entries = body["record"]["entries"]
    if entry_sha256(GeneralJWS.parse(entries[-1])) != entry_sha256(
            GeneralJWS.parse(row.pending_entry)):
        return
    _revert(session, row, [code.value], "worker", at)
