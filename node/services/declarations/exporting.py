"""The exporting customs: one submission, reconciliation, export clearance, forwarding.

``submit`` takes a trader's package (``package.py``) and, in this order:

1. resolves every item: documents to sign here are schema-validated and signed; signed
   documents are verified (integrity, chain, schema: a failure refuses the package with its
   reason code) and recognised under this node's registry; held documents are read;
2. checks the package: one export ``customs-declaration`` issued here, supporting documents
   and certificates of the allowed types, no document twice, an importing customs known to
   the registry (role ``customs``, an endpoint, the declaration's destination country);
3. checks that every ``references[]`` entry of every item resolves — to an item of the
   package or a document held here — with the exact digest (``REFERENCE_UNRESOLVED``,
   ``REFERENCE_MISMATCH``: the package is refused, nothing is stored); held documents
   referenced but not listed join the package;
4. reconciles the documents (``clearance.reconcile``, rules as data) and decides: **held**
   when a finding of severity ``hold`` exists (``RECONCILIATION_MISMATCH``) or a document
   signed elsewhere is not recognised here (``CERTIFICATE_NOT_RECOGNISED`` and its codes),
   else **released**; the decision is a signed ``clearance-decision``;
5. stores, in one transaction, the documents, the declaration, its timeline and audit
   events and — when released — the ``declaration`` envelope to the importing customs in the
   outbox (the outbox rule: stored and queued together, or neither).

An officer releases a held declaration (a new signed decision with the officer's reason; it
is forwarded then) or rejects it (final). The forwarding message's receipt, failure and
retry reach the declaration through ``node.services.flows``; the importing customs' signed
decision arrives in a ``clearance-decision`` envelope (``record_import_decision``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from clearance import Finding, Severity, reconcile
from node.context import NodeContext
from node.errors import AuthError, ConflictError, NotFoundError, RequestError
from node.services import trust
from node.services.apikeys import Principal, Role
from node.services.audit import append_event
from node.services.declarations import records
from node.services.declarations.decisions import (
    DecisionContent,
    Procedure,
    SignedDecision,
    rules_of,
    sign_decision,
)
from node.services.declarations.package import DeclarationPackage, ItemForm, PackageItem
from node.services.declarations.states import (
    CERTIFICATE_TYPES,
    SUPPORTING_TYPES,
    Decision,
    DeclarationSide,
    DeclarationState,
    DocumentPart,
    Step,
    can,
)
from node.services.documents import enqueue_control, require_role
from node.services.preparation import party_ids, prepare
from node.storage.database import read_session, write_session
from node.storage.models import DeclarationRecord, DocumentRecord, OutboundMessageRecord
from protocol.envelope import EnvelopeKind
from protocol.errors import DocumentReferenceError, ProtocolError
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.receipt import Outcome, Receipt
from protocol.references import reference_problems
from protocol.signed_document import document_sha256, sign_document, verify_document
from trust_registry import TrustRegistry
from trust_registry.errors import TrustError
from trust_registry.roles import Role as AuthorityRole
from trust_registry.roles import holds_required_role
from trust_registry.verification import cached_chain_check

FLOW = "declaration"
ATTACHED = "attached"  # direction of a document signed elsewhere, supplied in a package


def flow_ref(pk: int) -> str:
    return f"{FLOW}:{pk}"


@dataclass(slots=True)
class ResolvedItem:
    """A package item made concrete: its signed form, content and recognition here."""

    pointer: str
    form: ItemForm
    jws: GeneralJWS
    document: dict[str, Any]
    sha256: str
    own: bool
    record: DocumentRecord | None = None
    part: DocumentPart = DocumentPart.SUPPORTING
    recognition: dict[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> tuple[str, str]:
        return (str(self.document["issuer"]), str(self.document["id"]))

    @property
    def doc_type(self) -> str:
        return str(self.document["type"])

    @property
    def recognised(self) -> bool:
        return self.own or bool(self.recognition.get("recognised"))


# -- 1. resolving items ----------------------------------------------------------------------


def recognition_of(ctx: NodeContext, registry: TrustRegistry, jws: GeneralJWS,
                   at: dt.datetime, pointer: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a document signed elsewhere and recognise it for this node.

    Returns (document, recognition). A document that fails integrity, chain or schema is
    refused with its code (the package is bad input); one that is merely not recognised is
    returned with ``recognised`` false and the reason codes.
    """
    verification = verify_document(jws, anchors=lambda ev: trust.issuer_anchors(registry, ev, at),
                                   at=at, schemas=ctx.schemas, limits=ctx.limits,
                                   chain_check=cached_chain_check(registry),
                                   profile=ctx.profile, content=ctx.content)
    if not verification.valid or verification.document is None:
        code = verification.reasons[0] if verification.reasons else ReasonCode.SCHEMA_INVALID
        raise RequestError(code, f"{pointer}: the signed document does not verify: "
                           + "; ".join(verification.messages), pointer=pointer)
    document = verification.document
    try:
        acceptance = trust.recognise(registry, receiver=ctx.authority_id, document=document,
                                     evidence=verification.integrity[0], at=at)
    except TrustError as error:
        return document, {"recognised": False, "reasons": [c.value for c in error.codes],
                          "message": error.message}
    return document, {"recognised": True, "reasons": [],
                      "agreementId": acceptance.agreement_id,
                      "recognisedAs": acceptance.recognised_as,
                      "registryVersion": acceptance.registry_version}


def _resolve(ctx: NodeContext, session: Session, registry: TrustRegistry, principal: Principal,
             item: PackageItem, at: dt.datetime) -> ResolvedItem:
    if item.form is ItemForm.DOCUMENT:
        assert item.document is not None
        try:
            prepared = prepare(item.document, ctx.authority_id, at)
        except RequestError as error:
            raise RequestError(error.code, f"{item.pointer}/document: {error.message}",
                               pointer=f"{item.pointer}/document") from error
        try:
            ctx.validate_for_signing(prepared)
        except ProtocolError as error:
            pointer = f"{item.pointer}/document{error.context.get('pointer', '')}"
            raise RequestError(error.code, f"{item.pointer}/document: {error.message}",
                               pointer=pointer, **{k: v for k, v in error.context.items()
                                                   if k != "pointer"}) from error
        own_roles = registry.authorities[ctx.authority_id].roles  # type: ignore[index]
        if not holds_required_role(str(prepared["type"]), own_roles):
            raise RequestError(ReasonCode.ISSUER_ROLE_MISSING,
                               f"{item.pointer}/document: this node ({ctx.authority_id}, roles "
                               f"{', '.join(own_roles) or 'none'}) may not issue a "
                               f"{prepared['type']}; give the one its issuer signed",
                               pointer=f"{item.pointer}/document")
        jws = sign_document(prepared, ctx.document_signer, signed_at=at)
        return ResolvedItem(item.pointer, item.form, jws, prepared, document_sha256(jws),
                            own=True)
    if item.form is ItemForm.SIGNED:
        assert item.signed is not None
        document, recognition = recognition_of(ctx, registry, item.signed, at,
                                               f"{item.pointer}/signed")
        own = document.get("issuer") == ctx.authority_id
        return ResolvedItem(item.pointer, item.form, item.signed, document,
                            document_sha256(item.signed), own=own,
                            recognition={} if own else recognition)
    assert item.document_id is not None
    record = _held_document(session, principal, item.document_id, item.pointer)
    return _from_record(ctx, registry, record, item.pointer, item.form, at)


def _held_document(session: Session, principal: Principal, document_id: str,
                   pointer: str) -> DocumentRecord:
    query = select(DocumentRecord).where(DocumentRecord.document_id == document_id)
    for record in session.exec(query.order_by(col(DocumentRecord.pk).desc())).all():
        if principal.role is Role.OFFICER or principal.party in json.loads(record.parties):
            return record
    raise NotFoundError(ReasonCode.NOT_FOUND, f"{pointer}: no document {document_id} held "
                        "here is visible to you", pointer=pointer)


def _from_record(ctx: NodeContext, registry: TrustRegistry, record: DocumentRecord,
                 pointer: str, form: ItemForm, at: dt.datetime) -> ResolvedItem:
    jws = GeneralJWS.parse(record.signed_bytes)
    if record.direction == "outbound":
        document = jws.payload_json(ctx.limits)
        return ResolvedItem(pointer, form, jws, document, record.sha256, own=True,
                            record=record)
    # Received or attached earlier: recognised again now (an agreement may have changed).
    document, recognition = recognition_of(ctx, registry, jws, at, pointer)
    return ResolvedItem(pointer, form, jws, document, record.sha256, own=False, record=record,
                        recognition=recognition)


# -- 2. the package's shape --------------------------------------------------------------------


def _classify(ctx: NodeContext, items: list[ResolvedItem]) -> None:
    declaration, *others = items
    if declaration.doc_type != "customs-declaration" or \
            declaration.document["body"].get("declarationType") != "export":
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"{declaration.pointer}: the declaration must be an export "
                           f"customs-declaration, not a {declaration.doc_type}",
                           pointer=declaration.pointer)
    if not declaration.own:
        raise RequestError(ReasonCode.ISSUER_MISMATCH,
                           f"{declaration.pointer}: the export declaration is issued by the "
                           f"exporting customs ({ctx.authority_id}), not by "
                           f"{declaration.document.get('issuer')}", pointer=declaration.pointer)
    declaration.part = DocumentPart.DECLARATION
    seen = {declaration.identity: declaration.pointer}
    for item in others:
        if item.doc_type in CERTIFICATE_TYPES:
            item.part = DocumentPart.CERTIFICATE
        elif item.doc_type in SUPPORTING_TYPES:
            item.part = DocumentPart.SUPPORTING
        else:
            allowed = ", ".join(sorted(CERTIFICATE_TYPES | SUPPORTING_TYPES))
            raise RequestError(ReasonCode.REQUEST_INVALID,
                               f"{item.pointer}: a {item.doc_type} does not belong in a "
                               f"declaration package (allowed: {allowed})", pointer=item.pointer)
        if item.identity in seen:
            raise RequestError(ReasonCode.REQUEST_INVALID,
                               f"{item.pointer}: document {item.identity[1]} of "
                               f"{item.identity[0]} is already at {seen[item.identity]}",
                               pointer=item.pointer)
        seen[item.identity] = item.pointer


def importing_authority(ctx: NodeContext, registry: TrustRegistry, declaration: Mapping[str, Any],
                        named: str | None) -> str:
    """The importing customs: known, a customs authority with an endpoint, of the
    declaration's destination country."""
    if not named:
        raise RequestError(ReasonCode.REQUEST_INVALID, "name the importing customs authority "
                           "(importingAuthority, or --to)", pointer="/importingAuthority")
    authority = registry.authorities.get(named)  # type: ignore[call-overload]
    problem = None
    if named == ctx.authority_id:
        problem = "is this node"
    elif authority is None:
        problem = "is not in this node's trust registry"
    elif AuthorityRole.CUSTOMS.value not in authority.roles:
        problem = f"is not a customs authority (roles: {', '.join(authority.roles) or 'none'})"
    elif not authority.endpoints:
        problem = "has no node endpoint in the registry"
    elif authority.country != declaration["body"].get("destinationCountry"):
        problem = (f"is in {authority.country}, but the declaration's destination country is "
                   f"{declaration['body'].get('destinationCountry')}")
    if problem:
        raise RequestError(ReasonCode.REQUEST_INVALID, f"importing authority {named} {problem}",
                           pointer="/importingAuthority")
    return named


# -- 3. references ------------------------------------------------------------------------------


def _check_references(ctx: NodeContext, session: Session, registry: TrustRegistry,
                      principal: Principal, items: list[ResolvedItem], at: dt.datetime
                      ) -> list[ResolvedItem]:
    """Every reference resolves; returns the held documents referenced but not listed."""
    known: dict[str, dict[str, str]] = {}
    for item in items:
        known.setdefault(str(item.document["id"]), {})[item.sha256] = item.doc_type
    wanted = {str(ref["id"]) for item in items for ref in item.document.get("references", ())
              if str(ref["id"]) not in known}
    held: dict[str, list[DocumentRecord]] = {}
    if wanted:
        for record in session.exec(select(DocumentRecord).where(
                col(DocumentRecord.document_id).in_(sorted(wanted)))).all():
            held.setdefault(record.document_id, []).append(record)
            known.setdefault(record.document_id, {})[record.sha256] = record.doc_type
    problems = [problem for item in items
                for problem in reference_problems(item.document, lambda i: known.get(i, {}))]
    if problems:
        first = problems[0]
        raise DocumentReferenceError(first.code, f"{first.message} ({first.pointer})",
                                     pointer=first.pointer, document_id=first.document_id,
                                     reference_id=first.reference_id,
                                     problems=[p.to_dict() for p in problems])
    # Referenced held documents travel with the declaration (the receiver resolves them too).
    listed = {item.sha256 for item in items}
    extra: list[ResolvedItem] = []
    for item in items:
        for ref in item.document.get("references", ()):
            for record in held.get(str(ref["id"]), ()):
                if record.sha256 == ref["sha256"] and record.sha256 not in listed:
                    if principal.role is Role.TRADER and \
                            principal.party not in json.loads(record.parties):
                        raise AuthError(ReasonCode.FORBIDDEN,
                                        f"{item.document['id']} references {record.document_id},"
                                        " a document you may not see")
                    resolved = _from_record(ctx, registry, record, "(referenced)",
                                            ItemForm.HELD, at)
                    resolved.part = DocumentPart.REFERENCED
                    extra.append(resolved)
                    listed.add(record.sha256)
    return extra


# -- 4. the export decision -------------------------------------------------------------------


def _check_versions(items: list[ResolvedItem], versions: Mapping[str, tuple[str, ...]]) -> None:
    """Every document of a type the rules read has a version they read (DOC_TYPE_UNKNOWN)."""
    for item in items:
        known = versions.get(item.doc_type)
        version = str(item.document.get("version"))
        if known is not None and version not in known:
            raise RequestError(ReasonCode.DOC_TYPE_UNKNOWN,
                               f"{item.pointer}: this node's reconciliation rules read "
                               f"{item.doc_type} {', '.join(known)}, not {version}",
                               pointer=item.pointer)


def export_decision(items: list[ResolvedItem], findings: tuple[Finding, ...]
                    ) -> tuple[Decision, list[ReasonCode]]:
    """Held on a hold finding or an unrecognised document signed elsewhere; else released."""
    reasons: list[ReasonCode] = []
    if any(finding.severity is Severity.HOLD for finding in findings):
        reasons.append(ReasonCode.RECONCILIATION_MISMATCH)
    for item in items:
        if not item.recognised:
            reasons.append(ReasonCode.CERTIFICATE_NOT_RECOGNISED)
            reasons.extend(ReasonCode(code) for code in item.recognition.get("reasons", ())
                           if code in ReasonCode.__members__)
    reasons = list(dict.fromkeys(reasons))
    return (Decision.HELD if reasons else Decision.RELEASED), reasons


# -- 5. storing ---------------------------------------------------------------------------------


def _store_item(ctx: NodeContext, session: Session, principal: Principal, item: ResolvedItem,
                at: dt.datetime) -> DocumentRecord:
    if item.record is not None:
        return item.record
    issuer, document_id = item.identity
    direction = "outbound" if item.own else ATTACHED
    existing = session.exec(select(DocumentRecord).where(
        DocumentRecord.direction == direction, DocumentRecord.issuer == issuer,
        DocumentRecord.document_id == document_id)).first()
    if existing is not None:
        if existing.sha256 != item.sha256:
            raise ConflictError(ReasonCode.CONFLICT,
                                f"{item.pointer}: document {document_id} of {issuer} is already "
                                "held here with other content", pointer=item.pointer)
        return existing
    record = DocumentRecord(
        document_id=document_id, sha256=item.sha256, direction=direction,
        doc_type=item.doc_type, doc_version=str(item.document.get("version", "")),
        issuer=issuer, parties=json.dumps(party_ids(item.document)),
        signed_bytes=item.jws.to_json(), created_at=at, submitted_by=principal.name)
    if not item.own:
        record.outcome = (Outcome.ACCEPTED if item.recognised else Outcome.REJECTED).value
        record.reasons = json.dumps(item.recognition.get("reasons", []))
        record.agreement_id = item.recognition.get("agreementId")
        record.recognised_as = item.recognition.get("recognisedAs")
        record.registry_version = item.recognition.get("registryVersion")
    session.add(record)
    session.flush()
    append_event(session, event="document.issued" if item.own else "document.attached",
                 actor=principal.name, subject=f"document:{document_id}",
                 details={"sha256": item.sha256, "type": item.doc_type, "issuer": issuer}, at=at)
    return record


def _store_decision(session: Session, ctx: NodeContext, decision: SignedDecision,
                    at: dt.datetime, actor: str) -> DocumentRecord:
    record = DocumentRecord(
        document_id=decision.document_id, sha256=decision.sha256, direction="outbound",
        doc_type="clearance-decision", doc_version=str(decision.document["version"]),
        issuer=ctx.authority_id, parties=json.dumps(party_ids(decision.document)),
        signed_bytes=decision.jws.to_json(), created_at=at, submitted_by=actor)
    session.add(record)
    session.flush()
    append_event(session, event="document.issued", actor=actor,
                 subject=f"document:{decision.document_id}",
                 details={"sha256": decision.sha256, "type": "clearance-decision"}, at=at)
    return record


def _recognition_view(item: ResolvedItem) -> dict[str, Any]:
    if item.own:
        return {"recognised": True, "issuedHere": True, "reasons": []}
    return dict(item.recognition)


def submit(ctx: NodeContext, principal: Principal, package: DeclarationPackage,
           to: str | None, at: dt.datetime) -> DeclarationRecord:
    """Steps 1–5 of the module docstring; returns the stored declaration (or the one already
    stored for the same declaration bytes: submitting again is idempotent)."""
    require_role(principal, Role.TRADER, Role.OFFICER)
    if package.importing_authority and to and package.importing_authority != to:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"the package names {package.importing_authority} as importing "
                           f"authority, the request {to}", pointer="/importingAuthority")
    registry = ctx.registry.current()
    # Steps 1–3 read only; the signing and verification run outside the write lock.
    with read_session(ctx.engine) as session:
        items = [_resolve(ctx, session, registry, principal, item, at) for item in package.items]
        _classify(ctx, items)
        declaration = items[0]
        if principal.role is Role.TRADER and \
                principal.party not in party_ids(declaration.document):
            raise AuthError(ReasonCode.FORBIDDEN, "a trader may only declare for its own party "
                            f"({principal.party})")
        importing = importing_authority(ctx, registry, declaration.document,
                                        package.importing_authority or to)
        items += _check_references(ctx, session, registry, principal, items, at)
    # The envelope to the importing customs carries every document and the export decision.
    if len(items) + 1 > ctx.limits.max_documents_per_envelope:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"the declaration carries {len(items)} documents with the ones it "
                           f"references; at most {ctx.limits.max_documents_per_envelope - 1} "
                           "travel with it", pointer="/documents")
    # Step 4
    _check_versions(items, ctx.reconciliation.document_versions)
    findings = reconcile([item.document for item in items], ctx.reconciliation)
    decision, reasons = export_decision(items, findings)
    signed = sign_decision(
        ctx, procedure=Procedure.EXPORT, decision=decision, declaration=declaration.document,
        declaration_sha256=declaration.sha256, at=at, reasons=reasons,
        findings=[finding.to_dict() for finding in findings],
        ucr=declaration.document["body"].get("ucr"), rules=rules_of(ctx.reconciliation))
    # Step 5
    try:
        with write_session(ctx.engine) as session:
            record = _store(ctx, session, principal, items, importing, decision, reasons,
                            findings, signed, at)
            session.commit()
    except IntegrityError as error:
        # A concurrent submission of the same declaration won the race.
        with read_session(ctx.engine) as session:
            existing = records.find(session, side=DeclarationSide.EXPORT,
                                    declaration_id=str(declaration.document["id"]),
                                    exporting_authority=ctx.authority_id)
        if existing is None or existing.declaration_sha256 != declaration.sha256:
            raise ConflictError(ReasonCode.CONFLICT, "the declaration was submitted "
                                "concurrently with other content") from error
        return existing
    ctx.metrics.documents_submitted.inc(len([item for item in items if item.form is
                                             ItemForm.DOCUMENT]))
    return record


def _store(ctx: NodeContext, session: Session, principal: Principal, items: list[ResolvedItem],
           importing: str, decision: Decision, reasons: list[ReasonCode],
           findings: tuple[Finding, ...], signed: SignedDecision, at: dt.datetime
           ) -> DeclarationRecord:
    declaration = items[0]
    declaration_id = str(declaration.document["id"])
    existing = records.find(session, side=DeclarationSide.EXPORT, declaration_id=declaration_id,
                            exporting_authority=ctx.authority_id)
    if existing is not None:
        if existing.declaration_sha256 == declaration.sha256:
            return existing
        raise ConflictError(ReasonCode.CONFLICT, f"declaration {declaration_id} was already "
                            "submitted with other content", pointer="/declaration")
    stored = [_store_item(ctx, session, principal, item, at) for item in items]
    decision_record = _store_decision(session, ctx, signed, at, principal.name)
    record = DeclarationRecord(
        declaration_id=declaration_id, declaration_sha256=declaration.sha256,
        side=DeclarationSide.EXPORT.value, state="", exporting_authority=ctx.authority_id,
        importing_authority=importing, parties=json.dumps(party_ids(declaration.document)),
        ucr=declaration.document["body"].get("ucr"), submitted_by=principal.name,
        export_decision=decision.value, export_reasons=records.codes(reasons),
        export_findings=json.dumps([finding.to_dict() for finding in findings]),
        export_decided_at=at, import_decision=Decision.PENDING.value, created_at=at,
        updated_at=at)
    records.move(session, record, Step.EXPORT_RELEASED if decision is Decision.RELEASED
                 else Step.EXPORT_HELD, at)
    session.flush()
    for position, (item, document) in enumerate(zip(items, stored, strict=True)):
        records.link(session, record, document, item.part, position, _recognition_view(item))
    records.link(session, record, decision_record, DocumentPart.EXPORT_DECISION, len(items))
    records.add_event(session, record, event="submitted", by=principal.name, at=at,
                      details={"documents": len(items), "to": importing})
    records.add_event(session, record, event=f"export-{decision.value}", by=ctx.authority_id,
                      at=at, details={"decisionId": signed.document_id,
                                      "reasons": [code.value for code in reasons],
                                      "findings": len(findings)})
    if decision is Decision.RELEASED:
        _forward(ctx, session, record, at)
    return record


# -- officers ---------------------------------------------------------------------------------


def review(ctx: NodeContext, session: Session, principal: Principal, record: DeclarationRecord,
           *, release: bool, reason: str, at: dt.datetime) -> None:
    """An officer releases (then forwards) or rejects a declaration held at export."""
    require_role(principal, Role.OFFICER)
    step = Step.EXPORT_RELEASED if release else Step.EXPORT_REJECTED
    if not can(DeclarationState(record.state), step):
        raise ConflictError(ReasonCode.STATE_INVALID,
                            f"declaration {record.declaration_id} is {record.state}; only a "
                            "declaration held at export can be released or rejected here")
    declaration = _declaration_document(session, record)
    decision = Decision.RELEASED if release else Decision.REJECTED
    previous = json.loads(record.export_reasons)
    reasons = [ReasonCode(code) for code in previous] if release else \
        [ReasonCode.REJECTED_BY_OFFICER, *(ReasonCode(code) for code in previous)]
    signed = sign_decision(
        ctx, procedure=Procedure.EXPORT, decision=decision, declaration=declaration,
        declaration_sha256=record.declaration_sha256, at=at, reasons=reasons,
        findings=json.loads(record.export_findings), officer_reason=reason,
        related_decision_id=_latest_decision_id(session, record, DocumentPart.EXPORT_DECISION),
        ucr=record.ucr, rules=rules_of(ctx.reconciliation))
    decision_record = _store_decision(session, ctx, signed, at, principal.name)
    records.link(session, record, decision_record, DocumentPart.EXPORT_DECISION, 1000)
    record.export_decision = decision.value
    record.export_reasons = records.codes(reasons)
    record.export_decided_at = at
    records.move(session, record, step, at)
    records.add_event(session, record, event=f"export-{decision.value}", by=principal.name,
                      at=at, details={"decisionId": signed.document_id, "reason": reason,
                                      "officer": True})
    if release:
        _forward(ctx, session, record, at)


def _declaration_document(session: Session, record: DeclarationRecord) -> dict[str, Any]:
    for link_row, document in records.documents_of(session, record):
        if link_row.part == DocumentPart.DECLARATION.value:
            return GeneralJWS.parse(document.signed_bytes).payload_json()  # type: ignore[no-any-return]
    raise NotFoundError(ReasonCode.NOT_FOUND, f"declaration {record.declaration_id} has lost "
                        "its declaration document")


def _latest_decision_id(session: Session, record: DeclarationRecord,
                        part: DocumentPart) -> str | None:
    latest = None
    for link_row, document in records.documents_of(session, record):
        if link_row.part == part.value:
            latest = document.document_id
    return latest


# -- forwarding -------------------------------------------------------------------------------


_FORWARDED_PARTS = (DocumentPart.DECLARATION, DocumentPart.SUPPORTING, DocumentPart.CERTIFICATE,
                    DocumentPart.REFERENCED, DocumentPart.EXPORT_DECISION)


def _forward(ctx: NodeContext, session: Session, record: DeclarationRecord,
             at: dt.datetime) -> OutboundMessageRecord:
    """Queue the ``declaration`` envelope: every document with its issuer's signed bytes, and
    the latest export decision (earlier ones — the held decision — are not forwarded)."""
    documents: list[GeneralJWS] = []
    decision: GeneralJWS | None = None
    for link_row, document in records.documents_of(session, record):
        if link_row.part == DocumentPart.EXPORT_DECISION.value:
            decision = GeneralJWS.parse(document.signed_bytes)
        elif DocumentPart(link_row.part) in _FORWARDED_PARTS:
            documents.append(GeneralJWS.parse(document.signed_bytes))
    assert decision is not None
    message = enqueue_control(ctx, session, peer=record.importing_authority,
                              kind=EnvelopeKind.DECLARATION,
                              body={"declarationId": record.declaration_id},
                              documents=(*documents, decision), flow_ref=flow_ref(record.pk or 0),
                              at=at)
    records.add_event(session, record, event="forward-queued", by=ctx.authority_id, at=at,
                      details={"messageId": message.message_id, "to": record.importing_authority,
                               "documents": len(documents) + 1})
    return message


def forward_answered(ctx: NodeContext, session: Session, pk: int,
                     message: OutboundMessageRecord, receipt: Receipt, at: dt.datetime) -> None:
    """The importing customs' signed receipt for the forwarded declaration."""
    record = session.get(DeclarationRecord, pk)
    if record is None:
        return
    outcome = next((o for o in receipt.outcomes
                    if o.document_id == record.declaration_id
                    and o.document_sha256 == record.declaration_sha256), None)
    recognised = outcome is not None and outcome.outcome is not Outcome.REJECTED
    details = {"messageId": message.message_id, "receiptId": receipt.receipt_id,
               "outcomes": {o.document_id: o.outcome.value for o in receipt.outcomes}}
    records.add_event(session, record, event="forward-delivered", by=receipt.sender, at=at,
                      details=details)
    state = DeclarationState(record.state)
    if recognised:
        if can(state, Step.FORWARD_RECOGNISED):
            records.move(session, record, Step.FORWARD_RECOGNISED, at)
        return
    reasons = [ReasonCode.DECLARATION_NOT_RECOGNISED, *(outcome.reasons if outcome else ())]
    if can(state, Step.FORWARD_NOT_RECOGNISED):
        record.import_decision = Decision.REJECTED.value
        record.import_reasons = records.codes(reasons)
        record.import_decided_at = receipt.received_at
        records.move(session, record, Step.FORWARD_NOT_RECOGNISED, at)
        records.add_event(session, record, event="import-not-recognised", by=receipt.sender,
                          at=at, details={"reasons": [code.value for code in reasons]})


def forward_failed(session: Session, pk: int, message: OutboundMessageRecord, code: ReasonCode,
                   at: dt.datetime) -> None:
    record = session.get(DeclarationRecord, pk)
    if record is None:
        return
    records.add_event(session, record, event="forward-failed", by="worker", at=at,
                      details={"messageId": message.message_id, "code": code.value,
                               "state": message.state})
    if can(DeclarationState(record.state), Step.FORWARD_FAILED):
        records.move(session, record, Step.FORWARD_FAILED, at)


def forward_retried(session: Session, pk: int, message: OutboundMessageRecord,
                    at: dt.datetime) -> None:
    record = session.get(DeclarationRecord, pk)
    if record is None:
        return
    records.add_event(session, record, event="forward-retried", by="operator", at=at,
                      details={"messageId": message.message_id})
    if can(DeclarationState(record.state), Step.FORWARD_RETRIED):
        records.move(session, record, Step.FORWARD_RETRIED, at)


# -- the importing customs' decision ----------------------------------------------------------


def check_decision_envelope(session: Session, *, sender: str, declaration_id: str,
                            authority_id: str) -> None:
    """A ``clearance-decision`` envelope must concern a declaration this node forwarded to
    its sender (else NOT_FOUND, before anything is stored)."""
    record = records.find(session, side=DeclarationSide.EXPORT, declaration_id=declaration_id,
                          exporting_authority=authority_id)
    if record is None or record.importing_authority != sender:
        raise NotFoundError(ReasonCode.NOT_FOUND, f"no declaration {declaration_id} was "
                            f"forwarded to {sender}")


def record_import_decision(ctx: NodeContext, session: Session, *, sender: str,
                           declaration_id: str, decision_record: DocumentRecord,
                           document: Mapping[str, Any] | None, recognised: bool,
                           reasons: tuple[ReasonCode, ...], at: dt.datetime) -> None:
    """Apply the importing customs' decision to the trader's joint status (in the receiving
    transaction). A decision this node does not recognise is recorded on the timeline only;
    an older decision than the one held (they may overtake each other) changes nothing."""
    record = records.find(session, side=DeclarationSide.EXPORT, declaration_id=declaration_id,
                          exporting_authority=ctx.authority_id, lock=True)
    if record is None:
        return
    if not recognised or document is None or document.get("type") != "clearance-decision":
        records.add_event(session, record, event="import-decision-not-recognised", by=sender,
                          at=at, details={"documentId": decision_record.document_id,
                                          "reasons": [code.value for code in reasons]})
        return
    if any(document_row.pk == decision_record.pk
           for _link, document_row in records.documents_of(session, record)):
        return  # this decision arrived before (a copy in another message)
    content = DecisionContent.of(document)
    records.link(session, record, decision_record, DocumentPart.IMPORT_DECISION, 2000)
    if record.import_decided_at is not None and content.decided_at < record.import_decided_at:
        records.add_event(session, record, event="import-decision-superseded", by=sender,
                          at=content.decided_at,
                          details={"documentId": decision_record.document_id})
        return
    step = {Decision.RELEASED: Step.IMPORT_RELEASED, Decision.HELD: Step.IMPORT_HELD,
            Decision.REJECTED: Step.IMPORT_REJECTED}.get(content.decision)
    if step is None or not can(DeclarationState(record.state), step):
        records.add_event(session, record, event="import-decision-ignored", by=sender,
                          at=content.decided_at, details={"state": record.state,
                                                          "decision": content.decision.value})
        return
    record.import_decision = content.decision.value
    record.import_reasons = json.dumps(list(content.reasons))
    record.import_findings = json.dumps(list(content.findings))
    record.import_decided_at = content.decided_at
    if content.preference is not None:
        record.preference = json.dumps(content.preference)
    record.import_declaration_id = next(
        (str(ref["id"]) for ref in document.get("references", ())
         if ref.get("type") == "customs-declaration" and ref.get("id") != declaration_id), None)
    records.move(session, record, step, at)
    details: dict[str, Any] = {"documentId": decision_record.document_id,
                               "reasons": list(content.reasons), "decidedBy": content.decided_by}
    if content.reason:
        details["reason"] = content.reason
    records.add_event(session, record, event=f"import-{content.decision.value}", by=sender,
                      at=content.decided_at, details=details, audit=False)
    append_event(session, event=f"declaration.import-{content.decision.value}",
                 actor=f"peer:{sender}", subject=f"declaration:{declaration_id}",
                 details=details, at=at)
