"""Database tables (SQLModel). Signed bytes are stored exactly as received or produced.

Tables:

- ``document``: every signed document this node holds, outbound (issued here) or inbound
  (received), with its header fields, visibility (party ids) and, for inbound documents,
  the decision (outcome, reasons, agreement, domestic type, registry version).
- ``delivery``: one row per (outbound document, peer authority): the delivery state and the
  receiver's signed outcome. Rows without ``message_id`` are not yet assembled into a message.
- ``outbound_message``: the outbox — one signed envelope per row, with attempts, backoff,
  lease, dead-letter state and the verified receipt.
- ``inbound_message``: every envelope accepted by the peer endpoint, with the signed receipt
  we answered (a repeat of the message gets the same receipt).
- ``audit_event``: the append-only, hash-chained audit log.
- ``api_key``: hashed API keys with roles (and a party id for traders).
- ``registry_state``: the trust registry versions the node has held (the newest is current).
- ``declaration``: single declarations, at the exporting customs (``side`` export: the
  trader's joint status) and at the importing customs (``side`` import), with both
  clearance decisions, findings, the preference outcome and the forwarding message.
- ``declaration_document``: the documents of a declaration (declaration, supporting
  documents, certificates, decisions), each with its recognition at this node.
- ``declaration_event``: a declaration's timeline (at, event, by, details).
- ``idempotency_key``: a client's ``Idempotency-Key`` per API key, with the digest of the
  request it came with and the answer it got (a retry gets that answer again).
- ``title_record``: a transferable record this node issued (as its control registry) or held
  in custody, with its node state, holder, custodian, chain head and any custody change
  awaiting the control registry (``node.services.titles``).
- ``title_entry``: the recorded title entries of a record, one per ``(record, sequence)``.
- ``webhook_subscription``: callback URLs registered by traders, officers and operators,
  with the event types wanted and the HMAC secret that signs the notifications.
- ``webhook_delivery``: the webhook outbox — one signed notification per (event,
  subscription), with attempts, backoff, lease and dead state (ADR 0031).
- ``document_status``: issuers' signed status statements (revoked, replaced) on documents
  issued or held here; where each went is tracked by its outbox messages (``flow_ref``
  ``status:<pk>``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, DateTime, Index, LargeBinary, Text, UniqueConstraint, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Mapper
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from node.storage.references import reference_numbers


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in and out, on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stored: dt.datetime = value  # the driver gives datetimes for this column
        if stored.tzinfo is None:
            return stored.replace(tzinfo=dt.UTC)
        return stored.astimezone(dt.UTC)


def _utc_column(*, nullable: bool = False, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(UTCDateTime(), nullable=nullable, index=index)


class DocumentRecord(SQLModel, table=True):
    __tablename__ = "document"
    __table_args__ = (
        UniqueConstraint("direction", "document_id", "sha256", name="uq_document_dir_id_sha"),
        Index("ix_document_direction_created", "direction", "created_at"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    document_id: str = Field(index=True, max_length=128)
    sha256: str = Field(max_length=64)
    direction: str = Field(max_length=16)  # outbound | inbound
    doc_type: str = Field(max_length=64)
    doc_version: str = Field(max_length=16)
    issuer: str = Field(max_length=64)
    parties: str = Field(sa_column=Column(Text, nullable=False))  # JSON array of party ids
    signed_bytes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: dt.datetime = Field(sa_column=_utc_column())
    submitted_by: str | None = Field(default=None, max_length=64)
    # inbound only
    received_from: str | None = Field(default=None, max_length=64)
    message_id: str | None = Field(default=None, max_length=128, index=True)
    outcome: str | None = Field(default=None, max_length=32)
    reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    checks: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    agreement_id: str | None = Field(default=None, max_length=128)
    recognised_as: str | None = Field(default=None, max_length=64)
    registry_version: int | None = None
    mapped_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # The officer's reason in plain words (inbound, once released or rejected).
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # ``|a|b|``: the numbers printed on the document, for search (node.storage.references);
    # filled from the signed bytes on insert, whoever inserts.
    reference_numbers: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


@event.listens_for(DocumentRecord, "before_insert")
def _fill_reference_numbers(_mapper: Mapper[Any], _connection: Connection,
                            target: DocumentRecord) -> None:
    if target.reference_numbers is None:
        target.reference_numbers = reference_numbers(target.signed_bytes)


class DeliveryRecord(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("document_pk", "peer", name="uq_delivery_doc_peer"),)

    pk: int | None = Field(default=None, primary_key=True)
    document_pk: int = Field(foreign_key="document.pk", index=True)
    peer: str = Field(max_length=64, index=True)
    state: str = Field(max_length=32, index=True)
    message_id: str | None = Field(default=None, max_length=128, index=True)
    outcome: str | None = Field(default=None, max_length=32)
    reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    agreement_id: str | None = Field(default=None, max_length=128)
    recognised_as: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime = Field(sa_column=_utc_column())
    updated_at: dt.datetime = Field(sa_column=_utc_column())
    # Set when the peer later reported its officer's decision (a status-change envelope);
    # the decision then stands over the outcome of the original receipt.
    peer_decided_at: dt.datetime | None = Field(default=None,
                                                sa_column=_utc_column(nullable=True))
    # The peer officer's reason in plain words, from that status-change notice.
    peer_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class OutboundMessageRecord(SQLModel, table=True):
    __tablename__ = "outbound_message"
    __table_args__ = (Index("ix_outbound_state_next", "state", "next_attempt_at"),)

    pk: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=128, unique=True)
    peer: str = Field(max_length=64, index=True)
    kind: str = Field(default="documents", max_length=32)
    envelope_bytes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    envelope_sha256: str = Field(max_length=64)
    state: str = Field(max_length=32)  # pending | sending | delivered | dead
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_column=_utc_column())
    lease_until: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    receipt_bytes: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: dt.datetime = Field(sa_column=_utc_column())
    expires_at: dt.datetime = Field(sa_column=_utc_column())
    delivered_at: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # The flow object a control message belongs to (``declaration:<pk>``), so that its
    # receipt, failure or re-signing reaches that flow.
    flow_ref: str | None = Field(default=None, max_length=64, index=True)
    # When the message goes dead if still undelivered, set by an operator's retry; None: its
    # creation plus the delivery deadline (see node.services.delivery.dead_letter_at).
    dead_letter_at: dt.datetime | None = Field(default=None,
                                               sa_column=_utc_column(nullable=True))


class InboundMessageRecord(SQLModel, table=True):
    __tablename__ = "inbound_message"

    pk: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=128, unique=True)
    sender: str = Field(max_length=64, index=True)
    kind: str = Field(default="documents", max_length=32)
    envelope_sha256: str = Field(max_length=64)
    envelope_bytes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    receipt_bytes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: dt.datetime = Field(sa_column=_utc_column())
    expires_at: dt.datetime = Field(sa_column=_utc_column())


class AuditEventRecord(SQLModel, table=True):
    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True)  # assigned by the appender: 1, 2, 3, … without gaps
    at: dt.datetime = Field(sa_column=_utc_column())
    event: str = Field(max_length=64)
    actor: str = Field(max_length=128)
    subject: str = Field(max_length=256)
    details: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class ApiKeyRecord(SQLModel, table=True):
    __tablename__ = "api_key"

    pk: int | None = Field(default=None, primary_key=True)
    key_id: str = Field(max_length=32, unique=True)
    secret_sha256: str = Field(max_length=64)
    role: str = Field(max_length=16)
    party: str | None = Field(default=None, max_length=128)
    label: str | None = Field(default=None, max_length=128)
    created_at: dt.datetime = Field(sa_column=_utc_column())
    revoked_at: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class RegistryStateRecord(SQLModel, table=True):
    __tablename__ = "registry_state"

    version: int = Field(primary_key=True)
    registry_json: str = Field(sa_column=Column(Text, nullable=False))
    installed_at: dt.datetime = Field(sa_column=_utc_column())
    installed_by: str = Field(max_length=128)


class DeclarationRecord(SQLModel, table=True):
    """One single declaration at this node (see ``node.services.declarations``)."""

    __tablename__ = "declaration"
    __table_args__ = (UniqueConstraint("side", "exporting_authority", "declaration_id",
                                       name="uq_declaration_side_exporter_id"),)

    pk: int | None = Field(default=None, primary_key=True)
    declaration_id: str = Field(max_length=128, index=True)
    declaration_sha256: str = Field(max_length=64)
    side: str = Field(max_length=16)  # DeclarationSide: export | import
    state: str = Field(max_length=32, index=True)  # DeclarationState
    exporting_authority: str = Field(max_length=64)
    importing_authority: str = Field(max_length=64)
    parties: str = Field(sa_column=Column(Text, nullable=False))  # JSON array of party ids
    ucr: str | None = Field(default=None, max_length=64)
    submitted_by: str | None = Field(default=None, max_length=64)
    export_decision: str = Field(max_length=16)  # Decision
    export_reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    export_findings: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    export_decided_at: dt.datetime | None = Field(default=None,
                                                  sa_column=_utc_column(nullable=True))
    import_decision: str = Field(max_length=16)  # Decision
    import_reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    import_findings: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    import_decided_at: dt.datetime | None = Field(default=None,
                                                  sa_column=_utc_column(nullable=True))
    preference: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    import_declaration_id: str | None = Field(default=None, max_length=128)
    created_at: dt.datetime = Field(sa_column=_utc_column())
    updated_at: dt.datetime = Field(sa_column=_utc_column())


class DeclarationDocumentRecord(SQLModel, table=True):
    """A document of a declaration, with the part it plays and its recognition here."""

    __tablename__ = "declaration_document"
    __table_args__ = (UniqueConstraint("declaration_pk", "document_pk",
                                       name="uq_declaration_document"),)

    pk: int | None = Field(default=None, primary_key=True)
    declaration_pk: int = Field(foreign_key="declaration.pk", index=True)
    document_pk: int = Field(foreign_key="document.pk", index=True)
    part: str = Field(max_length=32)  # DocumentPart
    position: int = 0
    recognition: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class DeclarationEventRecord(SQLModel, table=True):
    """One entry of a declaration's timeline."""

    __tablename__ = "declaration_event"

    pk: int | None = Field(default=None, primary_key=True)
    declaration_pk: int = Field(foreign_key="declaration.pk", index=True)
    at: dt.datetime = Field(sa_column=_utc_column())
    event: str = Field(max_length=64)
    by: str = Field(max_length=128)
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class IdempotencyKeyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("principal", "key", name="uq_idempotency_principal_key"),)

    pk: int | None = Field(default=None, primary_key=True)
    principal: str = Field(max_length=32)  # the API key id that presented the key
    key: str = Field(max_length=255)
    request_sha256: str = Field(max_length=64)
    status_code: int
    response_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(sa_column=_utc_column())


class TitleRecordRow(SQLModel, table=True):
    """A transferable record at this node (see ``node.services.titles``). The signed bill
    and every entry are kept as signed; the other columns are derived from the chain."""

    __tablename__ = "title_record"
    __table_args__ = (UniqueConstraint("control_registry", "transport_document_reference",
                                       name="uq_title_registry_reference"),)

    pk: int | None = Field(default=None, primary_key=True)
    record_id: str = Field(max_length=128, unique=True)
    control_registry: str = Field(max_length=64)
    transport_document_reference: str = Field(max_length=64)
    bill_bytes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    bill_sha256: str = Field(max_length=64)
    state: str = Field(max_length=32, index=True)  # TitleNodeState
    holder: str = Field(max_length=128)
    custodian: str = Field(max_length=64)
    sequence: int
    head: str = Field(max_length=64)
    # JSON array of the party ids that may see the record (the bill's parties, every holder)
    parties: str = Field(sa_column=Column(Text, nullable=False))
    # A custody change signed here, awaiting the control registry's countersignature.
    pending_entry: bytes | None = Field(default=None,
                                        sa_column=Column(LargeBinary, nullable=True))
    # The reason codes of the last refused custody change (JSON array).
    last_refusal: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(sa_column=_utc_column())
    updated_at: dt.datetime = Field(sa_column=_utc_column())


class TitleEntryRow(SQLModel, table=True):
    """One recorded title entry; the unique ``(record, sequence)`` makes a second successor
    of the same state impossible to store, whatever races."""

    __tablename__ = "title_entry"
    __table_args__ = (UniqueConstraint("record_pk", "sequence", name="uq_title_entry_sequence"),)

    pk: int | None = Field(default=None, primary_key=True)
    record_pk: int = Field(foreign_key="title_record.pk", index=True)
    sequence: int
    sha256: str = Field(max_length=64)
    entry_bytes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: dt.datetime = Field(sa_column=_utc_column())


class WebhookSubscriptionRecord(SQLModel, table=True):
    """A callback URL registered by an API key (``node.services.webhooks``)."""

    __tablename__ = "webhook_subscription"

    pk: int | None = Field(default=None, primary_key=True)
    subscription_id: str = Field(max_length=64, unique=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    events: str = Field(sa_column=Column(Text, nullable=False))  # JSON array of event types
    owner: str = Field(max_length=64, index=True)  # the principal name that registered it
    role: str = Field(max_length=16)
    party: str | None = Field(default=None, max_length=128)  # a trader's party: its filter
    # The HMAC key (base64), shown once at registration; needed in clear to sign.
    secret: str = Field(max_length=128)
    created_at: dt.datetime = Field(sa_column=_utc_column())
    removed_at: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class WebhookDeliveryRecord(SQLModel, table=True):
    """One notification to one subscription: the webhook outbox, with retries and a lease."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_state_next", "state", "next_attempt_at"),)

    pk: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)  # the receiver's deduplication key
    subscription_pk: int = Field(index=True)
    event_type: str = Field(max_length=64)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # the exact body
    state: str = Field(max_length=16)  # WebhookDeliveryState
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_column=_utc_column())
    lease_until: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(sa_column=_utc_column())
    delivered_at: dt.datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class DocumentStatusRecord(SQLModel, table=True):
    """An issuer's signed status statement on one document (revoked or replaced), as issued
    here or received (``received_from``); at most one per document (issuer, id, digest).
    See ``node.services.lifecycle``."""

    __tablename__ = "document_status"
    __table_args__ = (UniqueConstraint("issuer", "document_id", "document_sha256",
                                       name="uq_document_status_document"),)

    pk: int | None = Field(default=None, primary_key=True)
    statement_id: str = Field(max_length=128, unique=True)
    issuer: str = Field(max_length=64)
    document_id: str = Field(max_length=128, index=True)
    document_sha256: str = Field(max_length=64)
    status: str = Field(max_length=16)  # protocol.status_statement.DocumentStatus
    effective_at: dt.datetime = Field(sa_column=_utc_column())
    reason: str = Field(sa_column=Column(Text, nullable=False))
    replacement_id: str | None = Field(default=None, max_length=128)
    replacement_sha256: str | None = Field(default=None, max_length=64)
    statement_bytes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_from: str | None = Field(default=None, max_length=64)  # None: issued here
    recorded_at: dt.datetime = Field(sa_column=_utc_column())


class NegotiationRecord(SQLModel, table=True):
    """An agreement negotiated node to node (``node.services.negotiation``): proposed here
    or received from the partner, then countersigned or declined."""

    __tablename__ = "negotiation"
    __table_args__ = (UniqueConstraint("agreement_id", "partner",
                                       name="uq_negotiation_agreement_partner"),)

    pk: int | None = Field(default=None, primary_key=True)
    agreement_id: str = Field(max_length=128, index=True)
    partner: str = Field(max_length=64)
    side: str = Field(max_length=16)  # proposer | partner (this node's part)
    state: str = Field(max_length=16)  # NegotiationState
    proposal_bytes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    agreement_bytes: bytes | None = Field(default=None,
                                          sa_column=Column(LargeBinary, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(sa_column=_utc_column())
    updated_at: dt.datetime = Field(sa_column=_utc_column())
