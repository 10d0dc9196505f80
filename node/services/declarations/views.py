"""The joint status: what a trader (or an officer) sees of one declaration, at either node.

``joint_status`` returns the JSON object of ``GET /v1/declarations/{id}`` and
``tradeaccord declaration status --json``: the overall ``state``, the ``export`` and
``import`` decisions with their reasons and findings, the ``forwarding`` delivery, the
``preference`` outcome, the documents with their recognition here, ``reassessment`` (a
certificate revoked or replaced after the decision), the ``timeline``, and
``transferableRecords``: each bill of lading of the declaration that is a transferable
record this node holds (``node.services.titles``), with its current holder and custodian.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from node.services.declarations import reassessment, records
from node.services.declarations.exporting import flow_ref
from node.services.declarations.states import DeclarationSide
from node.storage.models import DeclarationRecord, OutboundMessageRecord, TitleRecordRow
from protocol.envelope import EnvelopeKind
from protocol.jws import GeneralJWS
from protocol.receipt import Receipt
from protocol.timeutil import format_time

_NO_PREFERENCE: dict[str, Any] = {"claimed": False, "eligible": None, "reasons": []}


def _time(value: Any) -> str | None:
    return format_time(value) if value is not None else None


def forwarding(session: Session, record: DeclarationRecord) -> dict[str, Any]:
    """The forwarding delivery, from the newest outbox message of the declaration."""
    if record.side == DeclarationSide.IMPORT.value:
        return {"state": "received", "to": record.importing_authority, "messageId": None,
                "attempts": 0, "lastError": None, "deliveredAt": None, "outcomes": []}
    message = session.exec(select(OutboundMessageRecord).where(
        OutboundMessageRecord.flow_ref == flow_ref(record.pk or 0),
        OutboundMessageRecord.kind == EnvelopeKind.DECLARATION.value,
        OutboundMessageRecord.state != "retired").order_by(
            col(OutboundMessageRecord.pk).desc())).first()
    if message is None:
        return {"state": "not-started", "to": record.importing_authority, "messageId": None,
                "attempts": 0, "lastError": None, "deliveredAt": None, "outcomes": []}
    outcomes: list[dict[str, Any]] = []
    if message.receipt_bytes:
        receipt = Receipt.from_dict(GeneralJWS.parse(message.receipt_bytes).payload_json())
        outcomes = [{"documentId": o.document_id, "documentType": o.document_type,
                     "outcome": o.outcome.value, "reasons": [c.value for c in o.reasons],
                     "agreementId": o.agreement_id, "recognisedAs": o.recognised_as}
                    for o in receipt.outcomes]
    return {"state": message.state, "to": message.peer, "messageId": message.message_id,
            "attempts": message.attempts, "lastError": message.last_error,
            "deliveredAt": _time(message.delivered_at), "outcomes": outcomes}


def summary(record: DeclarationRecord) -> dict[str, Any]:
    """The short form used in lists."""
    return {
        "cursor": record.pk,
        "id": record.declaration_id,
        "side": record.side,
        "state": record.state,
        "ucr": record.ucr,
        "exportingAuthority": record.exporting_authority,
        "importingAuthority": record.importing_authority,
        "export": {"decision": record.export_decision},
        "import": {"decision": record.import_decision},
        "createdAt": format_time(record.created_at),
        "updatedAt": format_time(record.updated_at),
    }


def transferable_records(session: Session, document_ids: list[str]) -> list[dict[str, Any]]:
    """The transferable records among ``document_ids`` held at this node (as recorded)."""
    if not document_ids:
        return []
    rows = session.exec(select(TitleRecordRow).where(
        col(TitleRecordRow.record_id).in_(document_ids))).all()
    return [{"id": row.record_id, "status": row.state, "holder": row.holder,
             "custodian": row.custodian, "controlRegistry": row.control_registry}
            for row in rows]


def joint_status(session: Session, record: DeclarationRecord) -> dict[str, Any]:
    """The whole status (see the module docstring)."""
    documents = [{
        "id": document.document_id, "type": document.doc_type, "issuer": document.issuer,
        "sha256": document.sha256, "part": link_row.part,
        "recognition": json.loads(link_row.recognition),
    } for link_row, document in records.documents_of(session, record)]
    events = records.events_of(session, record)
    timeline = [{"at": format_time(event.at), "event": event.event, "by": event.by,
                 "details": json.loads(event.details)}
                for event in events]
    preference = json.loads(record.preference) if record.preference else dict(_NO_PREFERENCE)
    return {
        **summary(record),
        "declarationSha256": record.declaration_sha256,
        "export": {
            "authority": record.exporting_authority,
            "decision": record.export_decision,
            "reasons": json.loads(record.export_reasons),
            "findings": json.loads(record.export_findings),
            "decidedAt": _time(record.export_decided_at),
        },
        "forwarding": forwarding(session, record),
        "import": {
            "authority": record.importing_authority,
            "decision": record.import_decision,
            "reasons": json.loads(record.import_reasons),
            "findings": json.loads(record.import_findings),
            "decidedAt": _time(record.import_decided_at),
            "importDeclarationId": record.import_declaration_id,
            "preference": preference,
        },
        "documents": documents,
        # A withdrawn certificate the preference rested on (node.services.lifecycle).
        "reassessment": reassessment.summary(events),
        "timeline": timeline,
        "transferableRecords": transferable_records(
            session, [d["id"] for d in documents if d["type"] == "bill-of-lading"]),
    }
