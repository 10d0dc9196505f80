"""What a holder, a carrier and an officer do with a transferable record at this node.

- ``issue``: the carrier's node (an authority with the ``transferable-records`` role) signs
  the bill and the ``ISSUE`` entry; it is the record's control registry. A second bill with
  the same ``transportDocumentReference`` from this issuer is refused (CONFLICT).
- ``act``: the holder (a trader key whose party holds the title) transfers, endorses,
  blank-endorses or surrenders; the carrier's officer accepts or rejects a surrender. The
  node in custody signs the entry. Kept at this node, it is recorded at once; a change of
  custody signed by the control registry itself is recorded and sent to the new custodian
  (``custody-transfer``); one signed by any other node waits for the control registry
  (``custody-request``, state ``pending-custody``) and moves nothing until it answers.

Every refusal leaves storage unchanged. A concurrent action on the same record loses at the
row lock or at the unique ``(record, sequence)`` with ``TITLE_CONFLICT``.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError

from node.context import NodeContext
from node.errors import AuthError, ConflictError, RequestError
from node.services import trust
from node.services.apikeys import Principal, Role
from node.services.audit import append_event
from node.services.documents import enqueue_control, require_role
from node.services.preparation import prepare
from node.services.titles import records
from node.services.titles.states import TitleNodeState, require_actionable
from node.storage.database import read_session, write_session
from node.storage.models import TitleRecordRow
from protocol.envelope import EnvelopeKind
from protocol.errors import TitleError
from protocol.reason_codes import ReasonCode
from protocol.signed_document import document_sha256, sign_document
from protocol.title_chain import BILL_OF_LADING, TitleState
from protocol.title_entry import TitleAction, TitleRecord, entry_sha256, sign_entry
from protocol.title_messages import TitleMessage
from trust_registry.titles import TRANSFERABLE_RECORDS_ROLE

__all__ = ["FLOW", "TitleOperation", "act", "issue"]

FLOW = "title"


class TitleOperation(StrEnum):
    """What a caller asks of a record (each becomes one title entry)."""

    TRANSFER = "transfer"
    ENDORSE = "endorse"
    BLANK_ENDORSE = "blank-endorse"
    SURRENDER = "surrender"
    ACCEPT_SURRENDER = "accept-surrender"
    REJECT_SURRENDER = "reject-surrender"


_ANSWERS = (TitleOperation.ACCEPT_SURRENDER, TitleOperation.REJECT_SURRENDER)


def flow_ref(row: TitleRecordRow) -> str:
    return f"{FLOW}:{row.pk}"


def issue(ctx: NodeContext, principal: Principal, document: Any, holder: str,
          at: dt.datetime) -> TitleRecordRow:
    """Sign ``document`` (a ``bill-of-lading``) and its ``ISSUE`` entry naming ``holder``;
    store both. Officers, or a trader whose party is the bill's carrier, may issue."""
    require_role(principal, Role.OFFICER, Role.TRADER)
    registry = ctx.registry.current()
    own = registry.authorities.get(ctx.authority_id)  # type: ignore[call-overload]
    if own is None or TRANSFERABLE_RECORDS_ROLE not in own.roles:
        raise RequestError(ReasonCode.ISSUER_ROLE_MISSING,
                           f"{ctx.authority_id} lacks the {TRANSFERABLE_RECORDS_ROLE} role: it "
                           "may not issue transferable records")
    prepared = prepare(document, ctx.authority_id, at)
    if prepared.get("type") != BILL_OF_LADING:
        raise RequestError(ReasonCode.SCHEMA_INVALID,
                           f"a transferable record is a {BILL_OF_LADING}")
    ctx.validate_for_signing(prepared)
    state = TitleState.initial(prepared, bill_sha256="0" * 64, signed_at=at)
    if principal.role is Role.TRADER and principal.party != state.carrier:
        raise AuthError(ReasonCode.FORBIDDEN,
                        f"only the carrier {state.carrier} (or an officer) issues this bill")
    bill = sign_document(prepared, ctx.document_signer, signed_at=at)
    state = TitleState.initial(prepared, bill_sha256=document_sha256(bill), signed_at=at)
    entry = state.next_entry(TitleAction.ISSUE, acting_holder=state.carrier, holder=holder,
                             custodian=ctx.authority_id, at=at)
    entry_jws = sign_entry(entry, ctx.node_signer, signed_at=at)
    record = TitleRecord(bill, (entry_jws,))
    evidence = records.verify_chain_of(ctx, record, at)
    reference = str(prepared["body"]["transportDocumentReference"])
    with write_session(ctx.engine) as session:
        row = TitleRecordRow(
            record_id=evidence.record_id, control_registry=ctx.authority_id,
            transport_document_reference=reference, bill_bytes=bill.to_json(),
            bill_sha256=evidence.bill_sha256, state=TitleNodeState.ACTIVE.value,
            holder=holder, custodian=ctx.authority_id, sequence=0, head=evidence.head,
            parties="[]", created_at=at, updated_at=at)
        records.update_from(row, evidence, ctx.authority_id, at)
        session.add(row)
        try:
            session.flush()
            records.store_entries(session, row, record.entries, 0, at)
            session.flush()
        except IntegrityError as exc:
            raise ConflictError(ReasonCode.CONFLICT,
                                f"a transferable record {evidence.record_id} or with reference "
                                f"{reference} was already issued here") from exc
        append_event(session, event="title.issued", actor=principal.name,
                     subject=f"title:{row.record_id}",
                     details={"holder": holder, "billSha256": row.bill_sha256,
                              "transportDocumentReference": reference}, at=at)
        session.commit()
    return row


def _destination(ctx: NodeContext, authority: str | None) -> str:
    if authority is None or authority == ctx.authority_id:
        return ctx.authority_id
    registry = ctx.registry.current()
    if not trust.knows(registry, authority) or not trust.endpoint(registry, authority):
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"{authority} is not in the registry with a node endpoint")
    return authority


def act(ctx: NodeContext, principal: Principal, record_id: str, operation: TitleOperation,
        *, at: dt.datetime, to_party: str | None = None, to_authority: str | None = None,
        reason: str | None = None) -> TitleRecordRow:
    """Sign and record (or send to the control registry) the entry ``operation`` makes;
    return the row as it is afterwards. Refusals change nothing (module docstring)."""
    answer = operation in _ANSWERS
    require_role(principal, *((Role.OFFICER,) if answer else (Role.TRADER,)))
    with read_session(ctx.engine) as session:
        row = records.visible_row(session, principal, record_id)
        require_actionable(TitleNodeState(row.state), record_id=record_id,
                           custodian=row.custodian, surrender_answer=answer)
        record = records.chain_of(session, row)
    evidence = records.verify_chain_of(ctx, record, at)
    state = evidence.state
    if not answer and principal.party != evidence.holder:
        raise TitleError(ReasonCode.TITLE_NOT_HOLDER,
                         f"{principal.party} acts, but the holder is {evidence.holder}")
    at = max(at, state.at)
    holder, custodian = evidence.holder, evidence.custodian
    if operation in (TitleOperation.TRANSFER, TitleOperation.ENDORSE):
        if to_party is None:
            raise RequestError(ReasonCode.REQUEST_INVALID, "name the new holder (toParty)")
        action = TitleAction.ENDORSE if operation is TitleOperation.ENDORSE \
            else TitleAction.TRANSFER
        holder, custodian = to_party, _destination(ctx, to_authority)
    elif operation is TitleOperation.BLANK_ENDORSE:
        action = TitleAction.BLANK_ENDORSE
    elif operation is TitleOperation.SURRENDER:
        action = TitleAction.SURRENDER_FOR_DELIVERY
        holder, custodian = state.carrier, state.control_registry
    elif operation is TitleOperation.ACCEPT_SURRENDER:
        action = TitleAction.SURRENDER_ACCEPTED
    else:
        action = TitleAction.SURRENDER_REJECTED
        if state.surrendered_from is not None:
            holder, custodian = state.surrendered_from
    entry = state.next_entry(action, acting_holder=evidence.holder, holder=holder,
                             custodian=custodian, at=at,
                             reason=reason if action is TitleAction.SURRENDER_REJECTED else None)
    jws = sign_entry(entry, ctx.node_signer, signed_at=at)
    # The state machine decides before anything is stored (the control registry's
    # countersignature, when custody moves, is what the request asks for).
    state.apply(entry, digest=entry_sha256(jws), signers=[ctx.authority_id],
                countersignature_pending=True)
    moved = entry.custodian != evidence.custodian
    registry_signs = ctx.authority_id == evidence.control_registry
    extended = record.with_entry(jws)
    after = records.verify_chain_of(ctx, extended, at, pending=moved and not registry_signs)
    with write_session(ctx.engine) as session:
        locked = records.get_row(session, record_id, lock=True)
        if locked is None or locked.head != evidence.head or locked.state != row.state:
            raise ConflictError(ReasonCode.TITLE_CONFLICT,
                                f"{record_id} changed while this action was prepared; "
                                "read it again")
        if moved and not registry_signs:
            locked.pending_entry = jws.to_json()
            locked.state = TitleNodeState.PENDING_CUSTODY.value
            locked.last_refusal = None
            locked.updated_at = at
            enqueue_control(ctx, session, peer=evidence.control_registry,
                            kind=EnvelopeKind.TITLE_TRANSFER,
                            body=TitleMessage.request(extended).to_dict(), at=at,
                            flow_ref=flow_ref(locked))
        else:
            try:
                records.store_entries(session, locked, (jws,), entry.sequence, at)
                session.flush()
            except IntegrityError as exc:
                raise ConflictError(ReasonCode.TITLE_CONFLICT,
                                    f"entry {entry.sequence} of {record_id} is already "
                                    "recorded: a second change from the same state") from exc
            records.update_from(locked, after, ctx.authority_id, at)
            if moved:
                enqueue_control(ctx, session, peer=entry.custodian,
                                kind=EnvelopeKind.TITLE_TRANSFER,
                                body=TitleMessage.transfer(extended).to_dict(), at=at,
                                flow_ref=flow_ref(locked))
        session.add(locked)
        append_event(session, event=f"title.{operation.value}", actor=principal.name,
                     subject=f"title:{record_id}",
                     details={"sequence": entry.sequence, "action": action.value,
                              "holder": entry.holder, "custodian": entry.custodian,
                              "sha256": entry_sha256(jws),
                              "pending": bool(moved and not registry_signs)}, at=at)
        session.commit()
    return locked


def refusal_codes(row: TitleRecordRow) -> list[str]:
    return list(json.loads(row.last_refusal)) if row.last_refusal else []
