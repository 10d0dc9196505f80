"""The importing customs: from a forwarded declaration to a signed import clearance decision.

A ``declaration`` envelope is received like any documents envelope — each document is
verified and recognised on its own, under this node's agreement with *its* issuer (a chamber's
certificate of origin under the agreement with that chamber), and answered in the signed
receipt. ``plan`` then works out, outside any transaction:

1. the envelope is well formed for its kind: it carries the declaration it names once,
   issued by the sending customs, and that customs' released export decision
   (``ENVELOPE_MALFORMED`` otherwise: nothing is stored);
2. a declaration that this node does not recognise is not cleared here: the receipt says why
   (the exporting node shows it as not recognised);
3. the import declaration is derived through the agreement's equivalence mapping, signed by
   this node and bound to the original by id and digest (``references`` and
   ``extensions["tradeaccord:derivedFrom"]``); a declaration held for review or whose
   mapping fails is held;
4. every reference of the forwarded documents resolves among them or documents held here;
5. the import rules (``clearance.assess_import``, rules as data) decide on the preference
   claimed and on the certificates the goods need; the decision is signed.

``store`` runs inside the receiving transaction: the declaration, its documents and
timeline, the derived declaration, the decision, and the ``clearance-decision`` envelope
back to the exporting customs in the outbox. An officer later releases or rejects a held
import declaration (``review``): a new signed decision goes back the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from clearance import CertificateFact, ImportDecision, assess_import
from node.context import NodeContext
from node.errors import ConflictError
from node.services.apikeys import Principal, Role
from node.services.audit import append_event
from node.services.declarations import records
from node.services.declarations.decisions import (
    DecisionContent,
    Procedure,
    SignedDecision,
    reference,
    rules_of,
    sign_decision,
)
from node.services.declarations.exporting import flow_ref
from node.services.declarations.states import (
    CERTIFICATE_TYPES,
    Decision,
    DeclarationSide,
    DeclarationState,
    DocumentPart,
    Step,
    can,
)
from node.services.documents import enqueue_control, require_role
from node.services.preparation import party_ids
from node.storage.database import read_session
from node.storage.models import DeclarationRecord, DocumentRecord, OutboundMessageRecord
from protocol.envelope import Envelope, EnvelopeKind
from protocol.errors import EnvelopeError, ProtocolError
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.receipt import DocumentOutcome, Outcome, Receipt
from protocol.references import reference_problems
from protocol.signed_document import document_sha256, sign_document
from protocol.timeutil import format_time
from trust_registry import TrustRegistry


@dataclass(frozen=True, slots=True)
class Received:
    """One document of the envelope as the receiving path decided it."""

    jws: GeneralJWS
    document: dict[str, Any] | None
    outcome: DocumentOutcome
    mapped: dict[str, Any] | None

    @property
    def identity(self) -> tuple[str, str]:
        return (str((self.document or {}).get("issuer", "")), self.outcome.document_id)


@dataclass(slots=True)
class ImportPlan:
    """What ``store`` writes (computed before the transaction)."""

    envelope: Envelope
    declaration: Received
    export_decision: Received
    derived: tuple[GeneralJWS, dict[str, Any], str] | None
    decision: Decision
    reasons: list[ReasonCode]
    findings: list[dict[str, Any]]
    preference: dict[str, Any]
    signed: SignedDecision
    received: list[Received] = field(default_factory=list)
    parts: dict[tuple[str, str], DocumentPart] = field(default_factory=dict)


def _malformed(message: str) -> EnvelopeError:
    return EnvelopeError(ReasonCode.ENVELOPE_MALFORMED, message)


def _recognition(item: Received) -> dict[str, Any]:
    outcome = item.outcome
    return {"recognised": outcome.outcome is Outcome.ACCEPTED, "outcome": outcome.outcome.value,
            "reasons": [code.value for code in outcome.reasons],
            "agreementId": outcome.agreement_id, "recognisedAs": outcome.recognised_as}


def plan(ctx: NodeContext, registry: TrustRegistry, envelope: Envelope,
         received: Sequence[Received], at: dt.datetime) -> ImportPlan | None:
    """Steps 1–5 of the module docstring; ``None`` when the declaration is not recognised."""
    declaration_id = str(envelope.body["declarationId"])
    # Step 1
    found = [item for item in received if item.document is not None
             and item.document.get("type") == "customs-declaration"
             and item.document.get("id") == declaration_id]
    if len(found) != 1:
        raise _malformed(f"a declaration envelope carries declaration {declaration_id} once")
    declaration = found[0]
    assert declaration.document is not None
    if declaration.document.get("issuer") != envelope.sender:
        raise _malformed("a declaration is forwarded by the customs that issued it")
    decisions = [item for item in received if item.document is not None
                 and item.document.get("type") == "clearance-decision"
                 and item.document.get("issuer") == envelope.sender
                 and item.document["body"].get("declarationId") == declaration_id]
    if not decisions:
        raise _malformed("a declaration envelope carries the export clearance decision")
    export_decision = decisions[-1]
    assert export_decision.document is not None
    if DecisionContent.of(export_decision.document).decision is not Decision.RELEASED:
        raise _malformed("only a declaration released at export is forwarded")
    # Step 2
    if declaration.outcome.outcome is Outcome.REJECTED:
        return None
    parts = {item.identity: _part(item, declaration, export_decision) for item in received}
    reasons: list[ReasonCode] = []
    findings: list[dict[str, Any]] = []
    # Step 3
    derived = _derive(ctx, declaration, at)
    if derived is None:
        reasons.extend(declaration.outcome.reasons or (ReasonCode.MAPPING_FAILED,))
    subject = derived[1] if derived is not None else declaration.document
    # Step 4
    for code, finding in _reference_findings(ctx, received):
        reasons.append(code)
        findings.append(finding)
    # Step 5 (a document of a version the import rules do not read counts as absent; a
    # declaration of such a version is held for an officer)
    versions = ctx.import_rules.document_versions
    certificates = [
        CertificateFact(document=item.document,
                        recognised=item.outcome.outcome is Outcome.ACCEPTED,
                        reasons=item.outcome.reasons,
                        issuer_roles=_roles(registry, str(item.document.get("issuer"))))
        for item in received
        if item.document is not None and item.document.get("type") in CERTIFICATE_TYPES
        and str(item.document.get("version")) in versions.get(str(item.document["type"]), ())]
    preference: dict[str, Any] = {"claimed": False, "eligible": None, "reasons": []}
    if str(subject.get("version")) in versions.get("customs-declaration", ()):
        assessment = assess_import(subject, certificates, ctx.import_rules)
        findings.extend(finding.to_dict() for finding in assessment.findings)
        reasons.extend(assessment.reasons)
        if assessment.decision is ImportDecision.HELD and not assessment.reasons:
            reasons.append(ReasonCode.REVIEW_REQUIRED)
        preference = {"claimed": assessment.preference.claimed,
                      "eligible": assessment.preference.eligible,
                      "reasons": [code.value for code in assessment.preference.reasons]}
    else:
        reasons.append(ReasonCode.DOC_TYPE_UNKNOWN)
    decision = Decision.HELD if reasons else Decision.RELEASED
    sha = derived[2] if derived is not None else declaration.outcome.document_sha256
    signed = sign_decision(
        ctx, procedure=Procedure.IMPORT, decision=decision, declaration=subject,
        declaration_sha256=sha, at=at, reasons=reasons, findings=findings, preference=preference,
        extra_references=[
            *([reference(declaration.document, declaration.outcome.document_sha256)]
              if derived is not None else []),
            reference(export_decision.document, export_decision.outcome.document_sha256)],
        related_decision_id=str(export_decision.document["id"]),
        ucr=declaration.document["body"].get("ucr"),
        customs_office=None if derived is not None else
        str(declaration.document["body"]["transport"]["portOfDischarge"]),
        extra_parties=_traders(declaration.document), rules=rules_of(ctx.import_rules))
    return ImportPlan(envelope, declaration, export_decision, derived, decision,
                      list(dict.fromkeys(reasons)), findings, preference, signed,
                      list(received), parts)


def _traders(declaration: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The export declaration's declarant and exporter: the import decision names them too,
    so that the trader who declared at export can read it there."""
    return [dict(p) for p in declaration.get("parties", ())
            if p.get("role") in ("declarant", "exporter")]


def _part(item: Received, declaration: Received, export_decision: Received) -> DocumentPart:
    if item is declaration:
        return DocumentPart.DECLARATION
    if item is export_decision or (item.document or {}).get("type") == "clearance-decision":
        return DocumentPart.EXPORT_DECISION
    if (item.document or {}).get("type") in CERTIFICATE_TYPES:
        return DocumentPart.CERTIFICATE
    return DocumentPart.SUPPORTING


def _roles(registry: TrustRegistry, authority_id: str) -> tuple[str, ...]:
    authority = registry.authorities.get(authority_id)  # type: ignore[call-overload]
    return tuple(authority.roles) if authority is not None else ()


def _derive(ctx: NodeContext, declaration: Received, at: dt.datetime
            ) -> tuple[GeneralJWS, dict[str, Any], str] | None:
    """The import declaration, signed here, or None (held for review, or no mapping)."""
    if declaration.outcome.outcome is not Outcome.ACCEPTED or declaration.mapped is None:
        return None
    assert declaration.document is not None
    derived = dict(declaration.mapped)
    derived["id"] = str(uuid.uuid4())
    derived["issuer"] = ctx.authority_id
    derived["issuedAt"] = format_time(at.replace(microsecond=0))
    derived["references"] = [*derived.get("references", ()),
                             reference(declaration.document, declaration.outcome.document_sha256)]
    try:
        ctx.schemas.validate(derived)
    except ProtocolError:
        return None
    jws = sign_document(derived, ctx.document_signer, signed_at=at)
    return jws, derived, document_sha256(jws)


def _reference_findings(ctx: NodeContext, received: Sequence[Received]
                        ) -> list[tuple[ReasonCode, dict[str, Any]]]:
    """Hold findings for forwarded references that resolve neither in the envelope nor here."""
    known: dict[str, dict[str, str]] = {}
    for item in received:
        if item.document is not None:
            known.setdefault(item.outcome.document_id, {})[item.outcome.document_sha256] = \
                item.outcome.document_type
    wanted = {str(ref["id"]) for item in received for ref in (item.document or {}).get(
        "references", ()) if str(ref["id"]) not in known}
    if wanted:
        with read_session(ctx.engine) as session:
            for record in session.exec(select(DocumentRecord).where(
                    col(DocumentRecord.document_id).in_(sorted(wanted)))).all():
                known.setdefault(record.document_id, {})[record.sha256] = record.doc_type
    findings: list[tuple[ReasonCode, dict[str, Any]]] = []
    for item in received:
        if item.document is None:
            continue
        for problem in reference_problems(item.document, lambda i: known.get(i, {})):
            findings.append((problem.code, {
                "ruleId": "IMP-REF-01", "ruleVersion": "1.0",
                "title": "Every reference resolves with its digest",
                "severity": "hold", "message": problem.message,
                "subjects": [{"documentId": problem.document_id,
                              "documentType": item.outcome.document_type,
                              "pointer": problem.pointer, "value": problem.reference_id,
                              "note": problem.code.value}]}))
    return findings


def store(ctx: NodeContext, session: Session, import_plan: ImportPlan,
          stored: Mapping[tuple[str, str], DocumentRecord], at: dt.datetime) -> None:
    """Write the plan in the receiving transaction (once per declaration: a declaration
    forwarded again — a re-assembled message — leaves the first one as it is)."""
    envelope = import_plan.envelope
    declaration = import_plan.declaration
    assert declaration.document is not None
    declaration_id = str(declaration.document["id"])
    if records.find(session, side=DeclarationSide.IMPORT, declaration_id=declaration_id,
                    exporting_authority=envelope.sender) is not None:
        return
    actor = f"peer:{envelope.sender}"
    export = DecisionContent.of(import_plan.export_decision.document or {})
    record = DeclarationRecord(
        declaration_id=declaration_id, declaration_sha256=declaration.outcome.document_sha256,
        side=DeclarationSide.IMPORT.value, state="", exporting_authority=envelope.sender,
        importing_authority=ctx.authority_id,
        parties=json.dumps(party_ids(declaration.document)),
        ucr=declaration.document["body"].get("ucr"),
        export_decision=export.decision.value, export_reasons=json.dumps(list(export.reasons)),
        export_findings=json.dumps(list(export.findings)), export_decided_at=export.decided_at,
        import_decision=import_plan.decision.value,
        import_reasons=records.codes(import_plan.reasons),
        import_findings=json.dumps(import_plan.findings), import_decided_at=at,
        preference=json.dumps(import_plan.preference),
        import_declaration_id=import_plan.derived[1]["id"] if import_plan.derived else None,
        created_at=at, updated_at=at)
    records.move(session, record, Step.IMPORT_RELEASED if import_plan.decision is
                 Decision.RELEASED else Step.IMPORT_HELD, at)
    session.flush()
    position = 0
    for item in import_plan.received:
        document = stored.get(item.identity)
        if document is None:
            continue
        records.link(session, record, document, import_plan.parts.get(
            item.identity, DocumentPart.SUPPORTING), position, _recognition(item))
        position += 1
    if import_plan.derived is not None:
        jws, derived, sha = import_plan.derived
        derived_record = _store_own(ctx, session, jws, derived, sha, at)
        records.link(session, record, derived_record, DocumentPart.IMPORT_DECLARATION, position)
    _decide(ctx, session, record, import_plan.signed, at, actor=ctx.authority_id,
            received_by=actor, envelope=envelope)


def _store_own(ctx: NodeContext, session: Session, jws: GeneralJWS, document: Mapping[str, Any],
               sha: str, at: dt.datetime) -> DocumentRecord:
    record = DocumentRecord(
        document_id=str(document["id"]), sha256=sha, direction="outbound",
        doc_type=str(document["type"]), doc_version=str(document["version"]),
        issuer=ctx.authority_id, parties=json.dumps(party_ids(document)),
        signed_bytes=jws.to_json(), created_at=at, submitted_by="node")
    session.add(record)
    session.flush()
    append_event(session, event="document.issued", actor="node",
                 subject=f"document:{record.document_id}",
                 details={"sha256": sha, "type": record.doc_type}, at=at)
    return record


def _decide(ctx: NodeContext, session: Session, record: DeclarationRecord,
            signed: SignedDecision, at: dt.datetime, *, actor: str,
            received_by: str | None = None, envelope: Envelope | None = None,
            officer_reason: str | None = None) -> None:
    """Store a signed import decision, note it on the timeline and send it to the
    exporting customs."""
    decision_record = _store_own(ctx, session, signed.jws, signed.document, signed.sha256, at)
    records.link(session, record, decision_record, DocumentPart.IMPORT_DECISION, 2000)
    if envelope is not None and received_by is not None:
        records.add_event(session, record, event="received", by=envelope.sender, at=at,
                          details={"messageId": envelope.message_id,
                                   "documents": len(envelope.documents)})
    content = signed.document["body"]
    details: dict[str, Any] = {"decisionId": signed.document_id, "reasons": content["reasons"]}
    if officer_reason is not None:
        details["reason"] = officer_reason
    records.add_event(session, record, event=f"import-{content['decision']}", by=actor, at=at,
                      details=details)
    message = enqueue_control(ctx, session, peer=record.exporting_authority,
                              kind=EnvelopeKind.CLEARANCE_DECISION,
                              body={"declarationId": record.declaration_id},
                              documents=(signed.jws,), flow_ref=flow_ref(record.pk or 0), at=at)
    records.add_event(session, record, event="decision-queued", by=ctx.authority_id, at=at,
                      details={"messageId": message.message_id,
                               "to": record.exporting_authority}, audit=False)


def review(ctx: NodeContext, session: Session, principal: Principal, record: DeclarationRecord,
           *, release: bool, reason: str, at: dt.datetime) -> None:
    """An officer releases or rejects a declaration held at import; the signed decision goes
    back to the exporting customs."""
    require_role(principal, Role.OFFICER)
    step = Step.IMPORT_RELEASED if release else Step.IMPORT_REJECTED
    if DeclarationState(record.state) is not DeclarationState.IMPORT_HELD or \
            not can(DeclarationState(record.state), step):
        raise ConflictError(ReasonCode.STATE_INVALID,
                            f"declaration {record.declaration_id} is {record.state}; only a "
                            "declaration held at import can be released or rejected here")
    subject, sha, previous, original = _subject(session, record)
    decision = Decision.RELEASED if release else Decision.REJECTED
    reasons = [ReasonCode(code) for code in json.loads(record.import_reasons)
               if code in ReasonCode.__members__]
    if not release:
        reasons.insert(0, ReasonCode.REJECTED_BY_OFFICER)
    signed = sign_decision(
        ctx, procedure=Procedure.IMPORT, decision=decision, declaration=subject,
        declaration_sha256=sha, at=at, reasons=reasons,
        findings=json.loads(record.import_findings),
        preference=json.loads(record.preference) if record.preference else None,
        officer_reason=reason, related_decision_id=previous, ucr=record.ucr,
        customs_office=None if subject.get("issuer") == ctx.authority_id else
        str(subject["body"]["transport"]["portOfDischarge"]),
        extra_parties=_traders(original), rules=rules_of(ctx.import_rules))
    record.import_decision = decision.value
    record.import_reasons = records.codes(reasons)
    record.import_decided_at = at
    records.move(session, record, step, at)
    _decide(ctx, session, record, signed, at, actor=principal.name, officer_reason=reason)


def _subject(session: Session, record: DeclarationRecord
             ) -> tuple[dict[str, Any], str, str | None, dict[str, Any]]:
    """The declaration decided on here (the derived import declaration when there is one),
    its digest, the latest import decision's id, and the forwarded export declaration."""
    original: tuple[dict[str, Any], str] | None = None
    derived: tuple[dict[str, Any], str] | None = None
    previous = None
    for link_row, document in records.documents_of(session, record):
        content = GeneralJWS.parse(document.signed_bytes).payload_json()
        if link_row.part == DocumentPart.DECLARATION.value:
            original = (content, document.sha256)
        elif link_row.part == DocumentPart.IMPORT_DECLARATION.value:
            derived = (content, document.sha256)
        elif link_row.part == DocumentPart.IMPORT_DECISION.value:
            previous = document.document_id
    chosen = derived or original
    assert chosen is not None and original is not None
    return chosen[0], chosen[1], previous, original[0]


def decision_answered(session: Session, pk: int, message: OutboundMessageRecord,
                      receipt: Receipt, at: dt.datetime) -> None:
    """The exporting customs' receipt for one of our decisions (timeline only)."""
    record = session.get(DeclarationRecord, pk)
    if record is not None:
        records.add_event(session, record, event="decision-delivered", by=receipt.sender, at=at,
                          details={"messageId": message.message_id,
                                   "outcomes": {o.document_id: o.outcome.value
                                                for o in receipt.outcomes}})


def decision_failed(session: Session, pk: int, message: OutboundMessageRecord,
                    code: ReasonCode, at: dt.datetime) -> None:
    record = session.get(DeclarationRecord, pk)
    if record is not None:
        records.add_event(session, record, event="decision-not-delivered", by="worker", at=at,
                          details={"messageId": message.message_id, "code": code.value})
