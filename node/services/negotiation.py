"""Agreements negotiated node to node, carried by ``agreement-proposal`` envelopes.

Body of the envelope: ``{"action", "agreementId", "jws", "reason"}`` where ``action`` is

- ``propose``: ``jws`` is the agreement signed by the proposer's root;
- ``countersigned``: ``jws`` is the agreement signed by both roots (in force);
- ``declined``: ``jws`` is null, ``reason`` the partner operator's words;
- ``status``: ``jws`` is a party's signed status change (suspend, resume, terminate).

States of a negotiation at each node (``NegotiationState``)::

    proposer:  proposed ──(countersigned arrives)──▶ in-force
                       └─(declined arrives)───────▶ declined
    partner:   received ──(operator countersigns)──▶ in-force
                        └─(operator declines)──────▶ declined

Every signed object is verified by the trust registry before anything is stored (a proposal
or agreement not signed by the parties' roots is refused with its AGREEMENT_* code); each
step changes the registry and the negotiation and queues the answer in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from node.context import NodeContext
from node.errors import ConflictError, NotFoundError, RequestError
from node.services import trust
from node.services.apikeys import Principal, Role
from node.services.audit import append_event
from node.services.documents import enqueue_control, require_role
from node.services.inbound import record_control_message, stored_receipt
from node.storage.database import write_session
from node.storage.models import NegotiationRecord
from protocol.envelope import Envelope, EnvelopeKind
from protocol.errors import EnvelopeError
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time
from trust_registry import Agreement, AgreementStatus, TrustRegistry
from trust_registry.agreements import countersign_agreement, propose_agreement, sign_status_change

MAX_REASON = 2000


class NegotiationState(StrEnum):
    PROPOSED = "proposed"
    RECEIVED = "received"
    IN_FORCE = "in-force"
    DECLINED = "declined"


class Action(StrEnum):
    PROPOSE = "propose"
    COUNTERSIGNED = "countersigned"
    DECLINED = "declined"
    STATUS = "status"


_BODY = {"action", "agreementId", "jws", "reason"}


def _body(action: Action, agreement_id: str, jws: GeneralJWS | None,
          reason: str | None = None) -> dict[str, Any]:
    return {"action": action.value, "agreementId": agreement_id,
            "jws": jws.to_dict() if jws is not None else None, "reason": reason}


def view(record: NegotiationRecord) -> dict[str, Any]:
    return {"agreementId": record.agreement_id, "partner": record.partner,
            "side": record.side, "state": record.state, "reason": record.reason,
            "createdAt": format_time(record.created_at),
            "updatedAt": format_time(record.updated_at),
            "proposal": GeneralJWS.parse(record.proposal_bytes).to_dict(),
            "agreement": GeneralJWS.parse(record.agreement_bytes).to_dict()
            if record.agreement_bytes else None}


def _install(ctx: NodeContext, session: Session, registry: TrustRegistry,
             current: TrustRegistry, actor: str) -> TrustRegistry | None:
    if registry is current:
        return None
    ctx.registry.install(session, registry, actor=actor)
    return registry


def _find(session: Session, agreement_id: str, partner: str | None = None
          ) -> NegotiationRecord | None:
    query = select(NegotiationRecord).where(NegotiationRecord.agreement_id == agreement_id)
    if partner is not None:
        query = query.where(NegotiationRecord.partner == partner)
    return session.exec(query.order_by(col(NegotiationRecord.pk).desc())).first()


# -- operator actions (the caller commits, then calls ctx.registry.after_commit) -----------


def propose(ctx: NodeContext, session: Session, principal: Principal, agreement: Agreement,
            at: dt.datetime) -> tuple[NegotiationRecord, TrustRegistry | None]:
    """Sign the agreement with this authority's root, record it as a proposal and send it
    to the partner's node."""
    require_role(principal, Role.OPERATOR)
    partner = next(p for p in agreement.parties if p != ctx.authority_id)
    registry = ctx.registry.current(session)
    if not trust.endpoint(registry, partner):
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"{partner} has no node endpoint in the registry")
    if _find(session, agreement.agreement_id, partner) is not None:
        raise ConflictError(ReasonCode.CONFLICT,
                            f"agreement {agreement.agreement_id} is already negotiated")
    signer = ctx.authority.root_signer(ctx.settings.passphrase_bytes())
    proposal = propose_agreement(agreement, signer, signed_at=at)
    installed = _install(ctx, session, registry.add_proposal(proposal, at=at, limits=ctx.limits),
                         registry, f"{principal.name}:negotiation-propose")
    record = NegotiationRecord(agreement_id=agreement.agreement_id, partner=partner,
                               side="proposer", state=NegotiationState.PROPOSED.value,
                               proposal_bytes=proposal.to_json(), created_at=at, updated_at=at)
    session.add(record)
    enqueue_control(ctx, session, peer=partner, kind=EnvelopeKind.AGREEMENT_PROPOSAL,
                    body=_body(Action.PROPOSE, agreement.agreement_id, proposal), at=at)
    append_event(session, event="negotiation.proposed", actor=principal.name,
                 subject=f"agreement:{agreement.agreement_id}", details={"to": partner}, at=at)
    return record, installed


def _received(session: Session, agreement_id: str) -> NegotiationRecord:
    record = _find(session, agreement_id)
    if record is None:
        raise NotFoundError(ReasonCode.NOT_FOUND, f"no negotiation of {agreement_id}")
    if record.side != "partner" or record.state != NegotiationState.RECEIVED.value:
        raise ConflictError(ReasonCode.STATE_INVALID,
                            f"negotiation {agreement_id} is {record.side} {record.state}, not a "
                            "received proposal")
    return record


def countersign(ctx: NodeContext, session: Session, principal: Principal, agreement_id: str,
                at: dt.datetime) -> tuple[NegotiationRecord, TrustRegistry | None]:
    """Countersign a received proposal: in force here, and sent back to the proposer."""
    require_role(principal, Role.OPERATOR)
    record = _received(session, agreement_id)
    signer = ctx.authority.root_signer(ctx.settings.passphrase_bytes())
    agreement = countersign_agreement(GeneralJWS.parse(record.proposal_bytes), signer,
                                      signed_at=at)
    registry = ctx.registry.current(session)
    installed = _install(ctx, session, registry.add_agreement(agreement, at=at,
                                                              limits=ctx.limits),
                         registry, f"{principal.name}:negotiation-countersign")
    record.state, record.agreement_bytes, record.updated_at = (
        NegotiationState.IN_FORCE.value, agreement.to_json(), at)
    session.add(record)
    enqueue_control(ctx, session, peer=record.partner, kind=EnvelopeKind.AGREEMENT_PROPOSAL,
                    body=_body(Action.COUNTERSIGNED, agreement_id, agreement), at=at)
    append_event(session, event="negotiation.countersigned", actor=principal.name,
                 subject=f"agreement:{agreement_id}", details={"to": record.partner}, at=at)
    return record, installed


def decline(ctx: NodeContext, session: Session, principal: Principal, agreement_id: str,
            reason: Any, at: dt.datetime) -> NegotiationRecord:
    """Decline a received proposal, with the reason, told to the proposer."""
    require_role(principal, Role.OPERATOR)
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"give the reason (1 to {MAX_REASON} characters)")
    record = _received(session, agreement_id)
    record.state, record.reason, record.updated_at = (NegotiationState.DECLINED.value,
                                                      reason.strip(), at)
    session.add(record)
    enqueue_control(ctx, session, peer=record.partner, kind=EnvelopeKind.AGREEMENT_PROPOSAL,
                    body=_body(Action.DECLINED, agreement_id, None, reason.strip()), at=at)
    append_event(session, event="negotiation.declined", actor=principal.name,
                 subject=f"agreement:{agreement_id}", details={"reason": reason.strip()}, at=at)
    return record


def change_status(ctx: NodeContext, session: Session, principal: Principal, agreement_id: str,
                  status: AgreementStatus, effective_at: dt.datetime, reason: str,
                  at: dt.datetime) -> TrustRegistry | None:
    """Suspend, resume or terminate an agreement here and at the partner's node."""
    require_role(principal, Role.OPERATOR)
    registry = ctx.registry.current(session)
    record = registry.agreement(agreement_id)
    partner = next(p for p in record.agreement.parties if p != ctx.authority_id)
    signer = ctx.authority.root_signer(ctx.settings.passphrase_bytes())
    try:
        change = sign_status_change(record.signed, signer, status=status,
                                    effective_at=effective_at, signed_at=at, reason=reason)
    except ValueError as exc:
        raise RequestError(ReasonCode.REQUEST_INVALID, str(exc)) from exc
    installed = _install(ctx, session, registry.change_agreement_status(change, at=at,
                                                                        limits=ctx.limits),
                         registry, f"{principal.name}:status-{status.value}")
    enqueue_control(ctx, session, peer=partner, kind=EnvelopeKind.AGREEMENT_PROPOSAL,
                    body=_body(Action.STATUS, agreement_id, change), at=at)
    append_event(session, event=f"negotiation.status-{status.value}", actor=principal.name,
                 subject=f"agreement:{agreement_id}",
                 details={"to": partner, "effectiveAt": format_time(effective_at),
                          "reason": reason}, at=at)
    return installed


def listing(session: Session, principal: Principal) -> list[NegotiationRecord]:
    require_role(principal, Role.OPERATOR)
    return list(session.exec(select(NegotiationRecord).order_by(
        col(NegotiationRecord.pk).desc())).all())


def get(session: Session, principal: Principal, agreement_id: str) -> NegotiationRecord:
    require_role(principal, Role.OPERATOR)
    record = _find(session, agreement_id)
    if record is None:
        raise NotFoundError(ReasonCode.NOT_FOUND, f"no negotiation of {agreement_id}")
    return record


# -- the peer endpoint -------------------------------------------------------------------------


def _parse(body: Mapping[str, Any]) -> tuple[Action, str, GeneralJWS | None, str | None]:
    def fail(message: str) -> EnvelopeError:
        return EnvelopeError(ReasonCode.ENVELOPE_MALFORMED, f"agreement-proposal: {message}")

    if set(body) != _BODY:
        raise fail(f"the body has exactly {sorted(_BODY)}")
    try:
        action = Action(body["action"])
    except ValueError as exc:
        raise fail(f"unknown action {body['action']!r}") from exc
    agreement_id, raw, reason = body["agreementId"], body["jws"], body["reason"]
    if not isinstance(agreement_id, str) or not agreement_id:
        raise fail("agreementId must be a string")
    if (raw is None) != (action is Action.DECLINED) or (
            raw is not None and not isinstance(raw, Mapping)):
        raise fail("a declined answer carries no JWS; every other action one JWS object")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        raise fail("reason is a short string or null")
    return action, agreement_id, GeneralJWS.parse(raw) if raw is not None else None, reason


def receive(ctx: NodeContext, envelope: Envelope, digest: str, body: bytes,
            at: dt.datetime) -> bytes:
    """Apply an authenticated ``agreement-proposal`` envelope; the signed receipt bytes."""
    action, agreement_id, jws, reason = _parse(envelope.body)
    installed: TrustRegistry | None = None
    with write_session(ctx.engine) as session:
        stored = stored_receipt(session, envelope, digest)
        if stored is not None:
            return stored
        registry = ctx.registry.current(session)
        record = _find(session, agreement_id, envelope.sender)
        actor = f"peer:{envelope.sender}:negotiation-{action.value}"
        if action is Action.PROPOSE:
            if record is not None:
                raise ConflictError(ReasonCode.CONFLICT,
                                    f"agreement {agreement_id} is already negotiated")
            updated = registry.add_proposal(jws, at=at, limits=ctx.limits)  # type: ignore[arg-type]
            proposed = updated.agreement(agreement_id)
            if envelope.sender not in proposed.agreement.parties or \
                    ctx.authority_id not in proposed.agreement.parties:
                raise RequestError(ReasonCode.AGREEMENT_INVALID,
                                   f"agreement {agreement_id} is not between {envelope.sender} "
                                   f"and {ctx.authority_id}")
            installed = _install(ctx, session, updated, registry, actor)
            session.add(NegotiationRecord(
                agreement_id=agreement_id, partner=envelope.sender, side="partner",
                state=NegotiationState.RECEIVED.value, proposal_bytes=jws.to_json(),  # type: ignore[union-attr]
                created_at=at, updated_at=at))
        elif action is Action.STATUS:
            installed = _install(ctx, session, registry.change_agreement_status(
                jws, at=at, limits=ctx.limits), registry, actor)  # type: ignore[arg-type]
        else:
            if record is None or record.side != "proposer" or \
                    record.state != NegotiationState.PROPOSED.value:
                raise ConflictError(ReasonCode.STATE_INVALID,
                                    f"no proposal of {agreement_id} to {envelope.sender} awaits "
                                    "an answer")
            if action is Action.COUNTERSIGNED:
                installed = _install(ctx, session, registry.add_agreement(
                    jws, at=at, limits=ctx.limits), registry, actor)  # type: ignore[arg-type]
                record.state, record.agreement_bytes = (NegotiationState.IN_FORCE.value,
                                                        jws.to_json())  # type: ignore[union-attr]
            else:
                record.state, record.reason = NegotiationState.DECLINED.value, reason
            record.updated_at = at
            session.add(record)
        receipt_bytes = record_control_message(ctx, session, envelope, digest, body, at)
        append_event(session, event=f"negotiation.{action.value}-received",
                     actor=f"peer:{envelope.sender}", subject=f"agreement:{agreement_id}",
                     details={"messageId": envelope.message_id, "reason": reason}, at=at)
        session.commit()
    if installed is not None:
        ctx.registry.after_commit(installed)
    return receipt_bytes
