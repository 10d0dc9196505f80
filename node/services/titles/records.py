"""Title records in storage: rows, their chains, verification against the registry, views.

A row's chain is its signed bill and its recorded entries in sequence order; what the API
shows is always recomputed from that chain (``verify_title``), so a row's derived columns
(holder, custodian, state) are a cache for listing, never the authority.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from node.context import NodeContext
from node.errors import NotFoundError
from node.services.apikeys import Principal, Role
from node.services.titles.states import TitleNodeState, node_state
from node.storage.models import TitleEntryRow, TitleRecordRow
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time
from protocol.title_chain import TitleEvidence
from protocol.title_entry import TitleEntry, TitleRecord, entry_sha256
from trust_registry.titles import verify_title

__all__ = ["chain_of", "get_row", "list_rows", "store_entries", "summary", "update_from",
           "verify_chain_of", "visible_row"]


def get_row(session: Session, record_id: str, *, lock: bool = False) -> TitleRecordRow | None:
    """The row of ``record_id``; with ``lock``, held until commit (``FOR UPDATE`` on
    PostgreSQL; SQLite's write transaction already serialises writers)."""
    query = select(TitleRecordRow).where(TitleRecordRow.record_id == record_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).first()


def _visible(row: TitleRecordRow, principal: Principal) -> bool:
    if principal.role is Role.OFFICER:
        return True
    return principal.role is Role.TRADER and principal.party in json.loads(row.parties)


def visible_row(session: Session, principal: Principal, record_id: str) -> TitleRecordRow:
    """The row, if the principal may see it (officers: all; traders: records naming their
    party, as a party of the bill or a holder); NOT_FOUND otherwise."""
    row = get_row(session, record_id)
    if row is None or not _visible(row, principal):
        raise NotFoundError(ReasonCode.NOT_FOUND, f"no transferable record {record_id} "
                            "visible to you")
    return row


def list_rows(session: Session, principal: Principal, *, limit: int,
              state: TitleNodeState | None = None) -> list[TitleRecordRow]:
    query = select(TitleRecordRow)
    if state is not None:
        query = query.where(TitleRecordRow.state == state.value)
    if principal.role is Role.TRADER:
        query = query.where(col(TitleRecordRow.parties).contains(json.dumps(principal.party)))
    rows = session.exec(query.order_by(col(TitleRecordRow.pk).desc()).limit(limit)).all()
    return [row for row in rows if _visible(row, principal)]


def entries_of(session: Session, row: TitleRecordRow) -> list[GeneralJWS]:
    rows = session.exec(select(TitleEntryRow).where(TitleEntryRow.record_pk == row.pk)
                        .order_by(col(TitleEntryRow.sequence))).all()
    return [GeneralJWS.parse(item.entry_bytes) for item in rows]


def chain_of(session: Session, row: TitleRecordRow, *, pending: bool = False) -> TitleRecord:
    """The recorded chain (with ``pending``: plus the custody change awaiting the registry)."""
    entries = entries_of(session, row)
    if pending and row.pending_entry is not None:
        entries.append(GeneralJWS.parse(row.pending_entry))
    return TitleRecord(GeneralJWS.parse(row.bill_bytes), tuple(entries))


def verify_chain_of(ctx: NodeContext, record: TitleRecord, at: dt.datetime, *,
                    pending: bool = False) -> TitleEvidence:
    """Verify a chain against this node's registry at ``at`` (``TitleChainError``)."""
    return verify_title(record, registry=ctx.registry.current(), at=at, schemas=ctx.schemas,
                        limits=ctx.limits, allow_pending_countersignature=pending)


def store_entries(session: Session, row: TitleRecordRow, entries: Sequence[GeneralJWS],
                  first_sequence: int, at: dt.datetime) -> None:
    """Add ``entries`` as sequences ``first_sequence``…; the unique ``(record, sequence)``
    refuses a second successor of a stored entry at flush (``IntegrityError``)."""
    assert row.pk is not None
    for offset, jws in enumerate(entries):
        session.add(TitleEntryRow(record_pk=row.pk, sequence=first_sequence + offset,
                                  sha256=entry_sha256(jws), entry_bytes=jws.to_json(),
                                  created_at=at))


def update_from(row: TitleRecordRow, evidence: TitleEvidence, authority_id: str,
                at: dt.datetime) -> None:
    """Set the row's derived columns from a verified chain (no change pending)."""
    row.holder = evidence.holder
    row.custodian = evidence.custodian
    row.sequence = evidence.state.sequence
    row.head = evidence.head
    row.state = node_state(evidence.status, evidence.custodian, authority_id).value
    parties = set(json.loads(row.parties)) if row.parties else set()
    parties.update(item.to_party for item in evidence.history)
    parties.update(party["id"] for party in evidence.document["parties"])
    row.parties = json.dumps(sorted(parties))
    row.pending_entry = None
    row.updated_at = at


def summary(ctx: NodeContext, session: Session, row: TitleRecordRow,
            at: dt.datetime) -> dict[str, Any]:
    """What ``GET /v1/titles/{id}`` answers: the verified chain's summary as this node sees
    it, its node state as ``status``, and any custody change awaiting the registry."""
    evidence = verify_chain_of(ctx, chain_of(session, row), at)
    data = evidence.summary(viewer=ctx.authority_id)
    data["status"] = row.state
    data["pending"] = None
    if row.pending_entry is not None:
        entry = TitleEntry.from_jws(GeneralJWS.parse(row.pending_entry))
        data["pending"] = {"sequence": entry.sequence, "action": entry.action.value,
                           "to": entry.holder, "custodian": entry.custodian,
                           "at": format_time(entry.at)}
    data["lastRefusal"] = json.loads(row.last_refusal) if row.last_refusal else None
    data["updatedAt"] = format_time(row.updated_at)
    return data


def brief(row: TitleRecordRow) -> dict[str, Any]:
    """A list item (from the row's columns, without verifying the chain)."""
    return {"id": row.record_id, "transportDocumentReference": row.transport_document_reference,
            "status": row.state, "holder": row.holder, "custodian": row.custodian,
            "controlRegistry": row.control_registry, "sequence": row.sequence,
            "updatedAt": format_time(row.updated_at)}


def not_custodian(row: TitleRecordRow) -> bool:
    return row.state == TitleNodeState.TRANSFERRED_AWAY.value
