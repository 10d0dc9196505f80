"""The conformance scenarios: each a small object with an id, a side, what it expects and a
function that plays it and returns what it observed.

A scenario passes when every member of ``expected`` equals the member of the same name in
what ``play`` observed (the observation may say more). New scenarios are new ``Scenario``
values in ``SCENARIOS``; ``requires`` names an option without which the scenario is
reported ``skipped``. The revocation scenarios play the kit as the issuer of documents the
node accepted and read the node's public signed status answer; the transferable-record
scenarios play it as the carrier node (control registry) of its own bills of lading.
Scenarios run in list order and may rely on earlier ones (the agreement is proposed, then
countersigned, then used).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from node.conformance import mutations
from node.conformance.peer import Answer, KitAuthority, wait_for
from node.conformance.run import KitRun
from node.conformance.vectors import ObjectKind, VectorPack
from protocol.canonical import canonicalize
from protocol.envelope import EnvelopeKind, StatusChangeNotice, envelope_sha256
from protocol.errors import CodedError
from protocol.jws import GeneralJWS, JWSType, Signer, sign
from protocol.reason_codes import ReasonCode
from protocol.receipt import Outcome
from protocol.signed_document import document_sha256
from protocol.status_statement import (
    DocumentStatus,
    StatusStatement,
    sign_statement,
    verify_answer,
)
from protocol.timeutil import format_time, utc_now
from protocol.title_entry import TitleAction, TitleEntry, TitleRecord, entry_sha256, sign_entry
from protocol.title_messages import TitleMessage
from protocol.validation_profile import ValidationProfile
from trust_registry import (
    Agreement,
    AgreementId,
    Authority,
    AuthorityId,
    DocType,
    TrustAnchor,
    TrustRegistry,
    build_scope,
    propose_agreement,
)


class Side(StrEnum):
    """Which role the kit plays: ``registry`` (operator API, both sides' roots), ``sender``
    (it sends envelopes to the node), ``receiver`` (the node sends to it)."""

    REGISTRY = "registry"
    SENDER = "sender"
    RECEIVER = "receiver"


Observed = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    side: Side
    title: str
    expected: Mapping[str, Any]
    play: Callable[[KitRun], Observed]
    requires: tuple[str, ...] = field(default=())


# -- registry ---------------------------------------------------------------------------


def _install_authority(run: KitRun) -> Observed:
    result = run.operator.add_authority(run.kit.registry_entry(run.server.url))
    authorities = run.operator.registry()["authorities"]
    return {"changed": result.get("changed"), "listed": run.kit.authority_id in authorities}


def _agreement_types(run: KitRun) -> list[str]:
    types = ["certificate-of-origin", "phytosanitary-certificate"]
    if run.options.hold_type and run.options.hold_type not in types:
        types.append(run.options.hold_type)
    return types


def _propose(run: KitRun) -> Observed:
    at = utc_now()
    scope = build_scope(proposer=AuthorityId(run.kit.authority_id),
                        partner=AuthorityId(run.node_id),
                        document_types=[DocType(t) for t in _agreement_types(run)])
    agreement = Agreement(agreement_id=AgreementId(run.agreement_id),
                          parties=(AuthorityId(run.kit.authority_id), AuthorityId(run.node_id)),
                          legal_reference="TradeAccord conformance run",
                          valid_from=at - dt.timedelta(minutes=1), valid_until=None, scope=scope)
    proposal = propose_agreement(agreement, run.kit.root_signer, signed_at=at)
    result = run.operator.add_proposal(proposal.to_json())
    return {"changed": result.get("changed"),
            "listed": run.agreement_id in result.get("agreements", [])}


def _not_in_force(run: KitRun) -> Observed:
    answer, receipt = run.send_documents(run.sign(run.document()))
    return _outcome(answer.status, receipt)


def _countersign(run: KitRun) -> Observed:
    result = run.operator.countersign(run.agreement_id)
    agreement = result.get("agreement")
    dual = False
    if agreement is not None:
        node = Authority(id=AuthorityId(run.node_id), country=run.node_id[:2], name=run.node_id,
                         anchors=(TrustAnchor(certificate=run.node_root,
                                              valid_from=run.node_root.not_valid_before_utc),))
        mine = TrustRegistry.create(Authority.from_dict(run.kit.registry_entry(run.server.url)))
        # add_agreement refuses unless both roots' signatures verify
        mine.add_authority(node).add_agreement(canonicalize(agreement), at=utc_now())
        dual = True
    return {"changed": result.get("changed"), "dualSigned": dual}


def _status(run: KitRun, status: str) -> Any:
    return run.operator.change_agreement_status(run.agreement_id, status, "conformance run")


def _suspension(run: KitRun) -> Observed:
    _status(run, "suspended")
    answer, receipt = run.send_documents(run.sign(run.document()))
    suspended = _outcome(answer.status, receipt)
    _status(run, "in-force")
    answer, receipt = run.send_documents(run.sign(run.document()))
    resumed = _outcome(answer.status, receipt)
    return {"whileSuspended": [suspended.get("outcome"), suspended.get("reasons")],
            "afterResume": resumed.get("outcome")}


# -- the kit sends ------------------------------------------------------------------------


def _outcome(status: int, receipt: Any) -> Observed:
    if receipt is None:
        return {"http": status}
    [outcome] = receipt.outcomes
    return {"http": status, "outcome": outcome.outcome.value,
            "reasons": [code.value for code in outcome.reasons],
            "agreementId": outcome.agreement_id, "recognisedAs": outcome.recognised_as}


def _accepted(run: KitRun) -> Observed:
    signed = run.sign(run.document())
    envelope = run.envelope((signed,))
    answer = run.post(envelope)
    receipt = answer.receipt(run)
    run.notes["accepted"] = (envelope, answer.body, signed)
    observed = _outcome(answer.status, receipt)
    observed["receiptAnswersMessage"] = receipt.envelope_sha256 == _sha_of(envelope)
    observed["agreementIsOurs"] = observed.pop("agreementId") == run.agreement_id
    return observed


def _sha_of(envelope: bytes) -> str:
    return envelope_sha256(GeneralJWS.parse(envelope))


def _duplicate(run: KitRun) -> Observed:
    envelope, first, _signed = run.notes["accepted"]
    again = run.post(envelope)
    return {"http": again.status, "sameReceipt": again.body == first,
            "duplicateHeader": again.duplicate}


def _same_id_other_digest(run: KitRun) -> Observed:
    envelope, _first, _signed = run.notes["accepted"]
    message_id = GeneralJWS.parse(envelope).payload_json()["messageId"]
    other = run.envelope((run.sign(run.document()),), message_id=message_id)
    answer = run.post(other)
    return {"http": answer.status, "code": answer.code}


def _document_duplicate(run: KitRun) -> Observed:
    _envelope, _first, signed = run.notes["accepted"]
    answer, receipt = run.send_documents(signed)
    return _outcome(answer.status, receipt)


def _refused(build: Callable[[KitRun], bytes], content_type: str = "application/json"
             ) -> Callable[[KitRun], Observed]:
    def play(run: KitRun) -> Observed:
        answer = run.post(build(run), content_type)
        return {"http": answer.status, "code": answer.code}
    return play


def _rejected(build: Callable[[KitRun], bytes]) -> Callable[[KitRun], Observed]:
    """A document the node must reject in its receipt, with the first reason code."""
    def play(run: KitRun) -> Observed:
        answer = run.post(build(run))
        if answer.status != 200:
            return {"http": answer.status, "code": answer.code}
        receipt = answer.receipt(run)
        [outcome] = receipt.outcomes
        return {"http": 200, "outcome": outcome.outcome.value,
                "firstReason": outcome.reasons[0].value if outcome.reasons else None}
    return play


def _wrapped(document_bytes: Callable[[KitRun], bytes]) -> Callable[[KitRun], bytes]:
    """An envelope around a raw (possibly spoilt) signed document."""
    def build(run: KitRun) -> bytes:
        spoilt = json.loads(document_bytes(run))
        envelope = json.loads(GeneralJWS.parse(run.envelope((run.sign(run.document()),)))
                              .payload)
        envelope["body"]["documents"] = [spoilt]
        return sign(canonicalize(envelope), run.kit.node_signer, typ=JWSType.ENVELOPE,
                    signed_at=utc_now()).to_json()
    return build


def _doc(edit: Callable[[dict[str, Any]], None] | None = None, doc_type: str =
         "certificate-of-origin") -> Callable[[KitRun], bytes]:
    return _wrapped(lambda run: run.sign(run.document(doc_type, edit)).to_json())


def _set(pointer: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        *parents, last = pointer.strip("/").split("/")
        node: Any = document
        for step in parents:
            node = node[int(step)] if isinstance(node, list) else node[step]
        node[last] = value
    return edit


def _changed_payload(run: KitRun) -> bytes:
    return mutations.changed_payload(run.sign(run.document()),
                                     _set("/body/exportingCountry", "CN"))


def _alg_none(run: KitRun) -> bytes:
    return mutations.alg_none(run.sign(run.document()))


def _stranger(run: KitRun) -> bytes:
    return run.sign(run.document(), signer=run.stranger.document_signer).to_json()


def _future(run: KitRun) -> bytes:
    return run.sign(run.document(), signed_at=utc_now() + dt.timedelta(days=1)).to_json()


def _expired_envelope(run: KitRun) -> bytes:
    return run.envelope((run.sign(run.document()),),
                        created_at=utc_now() - dt.timedelta(minutes=30),
                        ttl=dt.timedelta(minutes=10))


def _extra_member(run: KitRun) -> bytes:
    envelope = json.loads(GeneralJWS.parse(run.envelope((run.sign(run.document()),))).payload)
    envelope["priority"] = "high"
    return sign(canonicalize(envelope), run.kit.node_signer, typ=JWSType.ENVELOPE,
                signed_at=utc_now()).to_json()


# Vectors whose code a node gives without trusting the vector authority: the chain check
# fails (CHAIN_UNTRUSTED) beside them, and JSON-level ones cannot ride inside an envelope.
_VECTOR_SKIP = {"VALID", "CHAIN_UNTRUSTED", "CERT_EXPIRED", "JSON_MALFORMED",
                "JSON_DUPLICATE_MEMBER", "AMOUNT_MISMATCH"}


def _vector_documents(run: KitRun) -> Observed:
    """Every applicable document vector of the pack, in an envelope signed by the kit: the
    receipt rejects it and names the vector's code among its reasons."""
    pack = VectorPack.load()
    mismatches: list[str] = []
    played = 0
    for vector in pack:
        if vector.object is not ObjectKind.DOCUMENT or vector.expected in _VECTOR_SKIP \
                or vector.profile is not ValidationProfile.STANDARD:
            continue
        document = json.loads(pack.data(vector))
        envelope = json.loads(GeneralJWS.parse(run.envelope((run.sign(run.document()),)))
                              .payload)
        envelope["body"]["documents"] = [document]
        answer = run.post(sign(canonicalize(envelope), run.kit.node_signer,
                               typ=JWSType.ENVELOPE, signed_at=utc_now()).to_json())
        played += 1
        if answer.status != 200:
            mismatches.append(f"{vector.id}: HTTP {answer.status} {answer.code}")
            continue
        [outcome] = answer.receipt(run).outcomes
        reasons = [code.value for code in outcome.reasons]
        if outcome.outcome is not Outcome.REJECTED or vector.expected not in reasons:
            mismatches.append(f"{vector.id}: {outcome.outcome.value} {reasons}")
    return {"played": played > 0, "mismatches": mismatches}


def _held_release(run: KitRun) -> Observed:
    hold_type = str(run.options.hold_type)
    signed = run.sign(run.document(hold_type))
    answer, receipt = run.send_documents(signed)
    held = _outcome(answer.status, receipt)
    document_id = json.loads(signed.payload)["id"]
    run.officer.release(document_id)

    def notice() -> Any:
        for received in run.state.status_changes():
            body = StatusChangeNotice.from_dict(received.envelope.body)
            if body.document_id == document_id:
                return body
        return None

    change = wait_for(notice, timeout=run.options.timeout)
    return {"held": [held.get("outcome"), held.get("reasons")],
            "statusChange": None if change is None else change.outcome,
            "digestMatches": change is not None and
            change.document_sha256 == document_sha256(signed)}


# -- the node sends -----------------------------------------------------------------------


def _delivery(run: KitRun, *answers: Answer, leave: tuple[str, ...] = ("pending",)
              ) -> tuple[str, dict[str, Any] | None]:
    document_id = run.node_sends_planned(answers)
    return document_id, run.settled_delivery(document_id, leave=leave)


def _receiver_accepted(run: KitRun) -> Observed:
    document_id, delivery = _delivery(run, Answer())
    return {"state": delivery and delivery["state"], "outcome": delivery and delivery["outcome"],
            "envelopes": len(run.state.envelopes_for(document_id))}


def _retry(status: int, code: ReasonCode) -> Callable[[KitRun], Observed]:
    def play(run: KitRun) -> Observed:
        document_id, delivery = _delivery(run, Answer(status=status, code=code), Answer())
        received = run.state.envelopes_for(document_id)
        return {"state": delivery and delivery["state"],
                "answered": [r.answered for r in received],
                "sameBytes": len({r.body for r in received}) == 1}
    return play


def _receiver_rejected(run: KitRun) -> Observed:
    _document_id, delivery = _delivery(
        run, Answer(outcome=Outcome.REJECTED, reasons=(ReasonCode.SCHEMA_INVALID,)))
    return {"state": delivery and delivery["state"], "reasons": delivery and delivery["reasons"]}


def _receiver_refused(run: KitRun) -> Observed:
    document_id, delivery = _delivery(run, Answer(status=409, code=ReasonCode.CONFLICT))
    return {"state": delivery and delivery["state"],
            "reasons": delivery and delivery["reasons"],
            "envelopes": len(run.state.envelopes_for(document_id))}


def _receiver_held(run: KitRun) -> Observed:
    document_id, delivery = _delivery(
        run, Answer(outcome=Outcome.HELD_FOR_REVIEW, reasons=(ReasonCode.REVIEW_REQUIRED,)))
    held = delivery and delivery["state"]
    signed = run.officer.signed(document_id)
    notice = StatusChangeNotice(document_id=document_id,
                                document_sha256=document_sha256(GeneralJWS.parse(signed)),
                                outcome="accepted", reasons=(), decided_at=utc_now())
    answer = run.post(run.envelope((), kind=EnvelopeKind.STATUS_CHANGE, body=notice.to_dict()))
    receipt = answer.receipt(run) if answer.status == 200 else None
    after = run.settled_delivery(document_id, leave=("pending", "delivered-with-warnings"))
    return {"held": held, "http": answer.status,
            "receiptOutcomes": None if receipt is None else len(receipt.outcomes),
            "after": after and after["state"]}


# -- revocation and replacement (the kit is the issuer) -------------------------------------


def _statement(run: KitRun, signed: GeneralJWS, *, issuer: str | None = None,
               replacement: GeneralJWS | None = None) -> StatusStatement:
    """A revocation (or, with ``replacement``, a replacement) of the kit's ``signed``."""
    at = utc_now()
    payload = json.loads(signed.payload)
    return StatusStatement(
        statement_id=f"conformance-{uuid.uuid4()}",
        status=DocumentStatus.REVOKED if replacement is None else DocumentStatus.REPLACED,
        document_id=str(payload["id"]), document_sha256=document_sha256(signed),
        issuer=issuer or run.kit.authority_id, effective_at=at, issued_at=at,
        reason="conformance run",
        replacement_id=None if replacement is None else
        str(json.loads(replacement.payload)["id"]),
        replacement_sha256=None if replacement is None else document_sha256(replacement))


def _revocation_envelope(run: KitRun, statement: Mapping[str, Any]) -> bytes:
    return run.envelope((), kind=EnvelopeKind.REVOCATION, body={"statement": dict(statement)})


def _signed_statement(run: KitRun, statement: StatusStatement,
                      signer: Signer | None = None) -> dict[str, Any]:
    return sign_statement(statement, signer or run.kit.document_signer,
                          signed_at=utc_now()).to_dict()


def _status_answer(run: KitRun, document_id: str) -> str | None:
    """What the node's signed status answer says of the kit's document (None when the
    answer is missing or does not verify under the node's root)."""
    response = run.http.get(f"/v1/status/{document_id}",
                            params={"issuer": run.kit.authority_id})
    if response.status_code != 200:
        return None
    try:
        answer = verify_answer(response.content, anchors=lambda _evidence: [run.node_root],
                                at=utc_now())
    except CodedError:
        return None
    return answer.status.value if answer.responder == run.node_id else None


def _accepted_document(run: KitRun) -> tuple[GeneralJWS, str | None]:
    signed = run.sign(run.document())
    _answer, receipt = run.send_documents(signed)
    outcome = None if receipt is None else receipt.outcomes[0].outcome.value
    return signed, outcome


def _revocation(run: KitRun) -> Observed:
    signed, sent = _accepted_document(run)
    document_id = str(json.loads(signed.payload)["id"])
    before = _status_answer(run, document_id)
    answer = run.post(_revocation_envelope(
        run, _signed_statement(run, _statement(run, signed))))
    receipt = answer.receipt(run) if answer.status == 200 else None
    run.notes["revoked"] = signed
    return {"document": sent, "statusBefore": before, "http": answer.status,
            "receiptOutcomes": None if receipt is None else len(receipt.outcomes),
            "statusAfter": _status_answer(run, document_id)}


def _revocation_not_issuer(run: KitRun) -> Observed:
    """The kit's document, withdrawn by a statement naming the node as issuer but signed
    by the kit: the signer is not the issuer."""
    signed, _sent = _accepted_document(run)
    document_id = str(json.loads(signed.payload)["id"])
    statement = _statement(run, signed, issuer=run.node_id)
    answer = run.post(_revocation_envelope(run, _signed_statement(run, statement)))
    return {"http": answer.status, "code": answer.code,
            "statusAfter": _status_answer(run, document_id)}


def _revocation_again(run: KitRun) -> Observed:
    """A second, different statement for the document revoked before: a status is final."""
    signed = run.notes["revoked"]
    answer = run.post(_revocation_envelope(
        run, _signed_statement(run, _statement(run, signed))))
    return {"http": answer.status, "code": answer.code}


def _replacement(run: KitRun) -> Observed:
    original, _sent = _accepted_document(run)
    corrected, sent = _accepted_document(run)
    document_id = str(json.loads(original.payload)["id"])
    answer = run.post(_revocation_envelope(run, _signed_statement(
        run, _statement(run, original, replacement=corrected))))
    receipt = answer.receipt(run) if answer.status == 200 else None
    return {"replacement": sent, "http": answer.status,
            "receiptOutcomes": None if receipt is None else len(receipt.outcomes),
            "statusAfter": _status_answer(run, document_id)}


def _statement_malformed(run: KitRun) -> Observed:
    """A statement signed by the issuer whose payload lacks ``reason``: STATUS_INVALID."""
    signed, _sent = _accepted_document(run)
    payload = _statement(run, signed).to_dict()
    del payload["reason"]
    statement = sign(canonicalize(payload), run.kit.document_signer, typ=JWSType.STATUS,
                     signed_at=utc_now()).to_dict()
    answer = run.post(_revocation_envelope(run, statement))
    return {"http": answer.status, "code": answer.code,
            "statusAfter": _status_answer(run, str(json.loads(signed.payload)["id"]))}


# -- transferable records (the kit is the bill's carrier node: its control registry) -------

SECOND_AUTHORITY = "AQ-CONFORMANCE-KIT-NODE-B"
"""A second authority of the kit's: a node in custody that is not the control registry."""
_SHIPPER = "SG-UEN-201912345K"
_BANK = "SG-BIC-DBSSSGSG"
_CONSIGNEE = "CN-USCC-91310000MA1FL5ABCD"


def _title_chain(run: KitRun, *, to: str, via: tuple[str, Signer] | None = None
                 ) -> tuple[GeneralJWS, list[GeneralJWS]]:
    """A fresh bill signed by the kit and its chain: ISSUE (kit in custody), ENDORSE to a
    bank (kit in custody, or ``via``'s authority), ENDORSE to the consignee moving custody
    to ``to``. Each entry is signed by the node in custody before it (``via``'s key for
    the last when given, with no countersignature of the kit)."""
    at = utc_now().replace(microsecond=0)
    document = run.document("bill-of-lading")
    document["body"]["transportDocumentReference"] = f"AQKIT{uuid.uuid4().hex[:10].upper()}"
    bill = run.sign(document, signed_at=at)
    carrier = next(p["id"] for p in document["parties"] if p["role"] == "carrier")
    kit = (run.kit.authority_id, run.kit.node_signer)
    middle = via or kit
    steps = ((TitleAction.ISSUE, carrier, _SHIPPER, kit[0], kit[1]),
             (TitleAction.ENDORSE, _SHIPPER, _BANK, middle[0], kit[1]),
             (TitleAction.ENDORSE, _BANK, _CONSIGNEE, to, middle[1]))
    entries: list[GeneralJWS] = []
    previous = document_sha256(bill)
    for sequence, (action, acting, holder, custodian, key) in enumerate(steps):
        entry = TitleEntry(record_id=str(document["id"]), sequence=sequence, action=action,
                           acting_holder=acting, holder=holder, custodian=custodian,
                           at=at, previous=previous)
        signed = sign_entry(entry, key, signed_at=at)
        entries.append(signed)
        previous = entry_sha256(signed)
    return bill, entries


def _title_envelope(run: KitRun, bill: GeneralJWS, entries: list[GeneralJWS]) -> bytes:
    """A ``custody-transfer`` of the record to the node, from the kit."""
    message = TitleMessage.transfer(TitleRecord(bill, tuple(entries)))
    return run.envelope((), kind=EnvelopeKind.TITLE_TRANSFER, body=message.to_dict())


def _title_accepted(run: KitRun) -> Observed:
    bill, entries = _title_chain(run, to=run.node_id)
    envelope = _title_envelope(run, bill, entries)
    answer = run.post(envelope)
    receipt = answer.receipt(run) if answer.status == 200 else None
    run.notes["title"] = (bill, entries)
    return {"http": answer.status, "code": answer.code,
            "receiptAnswersMessage": receipt is not None and
            receipt.envelope_sha256 == _sha_of(envelope)}


def _title_replayed(run: KitRun) -> Observed:
    """The chain the node took, handed over again in a new envelope."""
    bill, entries = run.notes["title"]
    answer = run.post(_title_envelope(run, bill, entries))
    return {"http": answer.status, "code": answer.code}


def _title_chain_broken(run: KitRun) -> Observed:
    bill, entries = _title_chain(run, to=run.node_id)
    entries[1], entries[2] = entries[2], entries[1]
    answer = run.post(_title_envelope(run, bill, entries))
    return {"http": answer.status, "code": answer.code}


def _title_countersignature_missing(run: KitRun) -> Observed:
    """A second node of the kit's, installed in the node's registry by the operator API,
    has custody in the middle and moves it to the node without the kit's countersignature."""
    second = KitAuthority.create(run.options.workdir / "second-node",
                                 at=utc_now() - dt.timedelta(hours=1),
                                 authority_id=SECOND_AUTHORITY)
    installed = run.operator.add_authority(second.registry_entry(run.server.url))
    bill, entries = _title_chain(run, to=run.node_id,
                                 via=(second.authority_id, second.node_signer))
    answer = run.post(_title_envelope(run, bill, entries))
    return {"installed": installed.get("changed"), "http": answer.status, "code": answer.code}


def _title_not_a_message(run: KitRun) -> Observed:
    answer = run.post(run.envelope((), kind=EnvelopeKind.TITLE_TRANSFER,
                                   body={"note": "no title message"}))
    return {"http": answer.status, "code": answer.code}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("registry-authority", Side.REGISTRY,
             "The kit's authority is installed in the node's registry by the operator API",
             {"changed": True, "listed": True}, _install_authority),
    Scenario("registry-proposal", Side.REGISTRY,
             "The node records the kit's proposal (signed by the kit's root only)",
             {"changed": True, "listed": True}, _propose),
    Scenario("sender-proposal-not-in-force", Side.SENDER,
             "A document under a proposal only is rejected: AGREEMENT_NOT_IN_FORCE",
             {"http": 200, "outcome": "rejected", "reasons": ["AGREEMENT_NOT_IN_FORCE"]},
             _not_in_force),
    Scenario("registry-countersignature", Side.REGISTRY,
             "The node countersigns with its root; both roots' signatures verify",
             {"changed": True, "dualSigned": True}, _countersign),
    Scenario("sender-accepted", Side.SENDER,
             "A valid document is accepted under the agreement, with a signed receipt",
             {"http": 200, "outcome": "accepted", "reasons": [], "agreementIsOurs": True,
              "recognisedAs": "certificate-of-origin", "receiptAnswersMessage": True},
             _accepted),
    Scenario("sender-duplicate-message", Side.SENDER,
             "The same envelope again gets the same receipt (at-least-once, exactly-once)",
             {"http": 200, "sameReceipt": True, "duplicateHeader": "true"}, _duplicate),
    Scenario("sender-same-id-other-digest", Side.SENDER,
             "The same message id with other content is refused: MESSAGE_DUPLICATE",
             {"http": 409, "code": "MESSAGE_DUPLICATE"}, _same_id_other_digest),
    Scenario("sender-document-duplicate", Side.SENDER,
             "An accepted document in a new envelope is answered with its original decision "
             "(accepted, as DCSA PINT's DUPE), not decided twice",
             {"http": 200, "outcome": "accepted", "reasons": []},
             _document_duplicate),
    Scenario("sender-wrong-recipient", Side.SENDER,
             "An envelope addressed to another authority: 421 WRONG_RECIPIENT",
             {"http": 421, "code": "WRONG_RECIPIENT"},
             _refused(lambda run: run.envelope((run.sign(run.document()),),
                                               recipient="ZZ-SOMEONE-ELSE"))),
    Scenario("sender-expired-message", Side.SENDER,
             "An envelope past its expiresAt: 400 MESSAGE_EXPIRED",
             {"http": 400, "code": "MESSAGE_EXPIRED"}, _refused(_expired_envelope)),
    Scenario("sender-unknown", Side.SENDER,
             "An envelope from an authority not in the registry: 403 SENDER_UNKNOWN",
             {"http": 403, "code": "SENDER_UNKNOWN"},
             _refused(lambda run: run.envelope((run.sign(run.document()),),
                                               sender="AQ-UNKNOWN-PEER"))),
    Scenario("sender-envelope-signature", Side.SENDER,
             "An envelope not signed by the sender's node key: 401 ENVELOPE_SIGNATURE_INVALID",
             {"http": 401, "code": "ENVELOPE_SIGNATURE_INVALID"},
             _refused(lambda run: run.envelope((run.sign(run.document()),),
                                               signer=run.stranger.node_signer))),
    Scenario("sender-envelope-malformed", Side.SENDER,
             "An envelope with an unknown member: 400 ENVELOPE_MALFORMED",
             {"http": 400, "code": "ENVELOPE_MALFORMED"}, _refused(_extra_member)),
    Scenario("sender-json-malformed", Side.SENDER,
             "A body that is not JSON: 400 JSON_MALFORMED",
             {"http": 400, "code": "JSON_MALFORMED"}, _refused(lambda run: b'{"payload":')),
    Scenario("sender-content-type", Side.SENDER,
             "A body that is not application/json: 415 CONTENT_TYPE_UNSUPPORTED",
             {"http": 415, "code": "CONTENT_TYPE_UNSUPPORTED"},
             _refused(lambda run: run.envelope((run.sign(run.document()),)), "text/plain")),
    Scenario("sender-reject-signature-invalid", Side.SENDER,
             "A document changed after signing is rejected: SIGNATURE_INVALID",
             {"http": 200, "outcome": "rejected", "firstReason": "SIGNATURE_INVALID"},
             _rejected(_wrapped(_changed_payload))),
    Scenario("sender-reject-alg-none", Side.SENDER,
             "A document whose header says alg none is rejected: ALG_NOT_ALLOWED",
             {"http": 200, "outcome": "rejected", "firstReason": "ALG_NOT_ALLOWED"},
             _rejected(_wrapped(_alg_none))),
    Scenario("sender-reject-chain-untrusted", Side.SENDER,
             "A document signed under another root with the kit's id: CHAIN_UNTRUSTED",
             {"http": 200, "outcome": "rejected", "firstReason": "CHAIN_UNTRUSTED"},
             _rejected(_wrapped(_stranger))),
    Scenario("sender-reject-signing-time", Side.SENDER,
             "A document signed a day in the future is rejected: SIGNING_TIME_INVALID",
             {"http": 200, "outcome": "rejected", "firstReason": "SIGNING_TIME_INVALID"},
             _rejected(_wrapped(_future))),
    Scenario("sender-reject-schema", Side.SENDER,
             "A document with an unknown member is rejected: SCHEMA_INVALID",
             {"http": 200, "outcome": "rejected", "firstReason": "SCHEMA_INVALID"},
             _rejected(_doc(_set("/body/colour", "red")))),
    Scenario("sender-reject-doc-type", Side.SENDER,
             "A document of a type with no schema is rejected: DOC_TYPE_UNKNOWN",
             {"http": 200, "outcome": "rejected", "firstReason": "DOC_TYPE_UNKNOWN"},
             _rejected(_doc(_set("/type", "import-licence")))),
    Scenario("sender-reject-code-unknown", Side.SENDER,
             "A document with HS 999999 is rejected (validation profile standard or strict): "
             "CODE_UNKNOWN",
             {"http": 200, "outcome": "rejected", "firstReason": "CODE_UNKNOWN"},
             _rejected(_doc(_set("/body/goodsItems/0/hsCode", "999999")))),
    Scenario("sender-reject-not-covered", Side.SENDER,
             "A document type outside the agreement is rejected: DOC_TYPE_NOT_COVERED",
             {"http": 200, "outcome": "rejected", "firstReason": "DOC_TYPE_NOT_COVERED"},
             _rejected(_doc(doc_type="commercial-invoice"))),
    Scenario("sender-vector-documents", Side.SENDER,
             "Each document vector of the pack (integrity, schema and code refusals) is "
             "rejected with its code",
             {"played": True, "mismatches": []}, _vector_documents),
    Scenario("sender-held-release", Side.SENDER,
             "A document the node holds for review; the officer releases it; the node sends "
             "a status change",
             {"held": ["held-for-review", ["REVIEW_REQUIRED"]], "statusChange": "accepted",
              "digestMatches": True},
             _held_release, requires=("hold_type",)),
    Scenario("sender-revocation", Side.SENDER,
             "The kit (issuer) revokes a document the node accepted: the node's signed receipt "
             "takes the revocation envelope and its signed status answer says revoked",
             {"document": "accepted", "statusBefore": "good", "http": 200,
              "receiptOutcomes": 0, "statusAfter": "revoked"}, _revocation),
    Scenario("sender-revocation-not-issuer", Side.SENDER,
             "A revocation naming another issuer than its signer: 403 STATUS_NOT_ISSUER, "
             "the document stays good",
             {"http": 403, "code": "STATUS_NOT_ISSUER", "statusAfter": "good"},
             _revocation_not_issuer),
    Scenario("sender-revocation-final", Side.SENDER,
             "Another statement for a revoked document: 409 STATE_INVALID (a status is final)",
             {"http": 409, "code": "STATE_INVALID"}, _revocation_again),
    Scenario("sender-replacement", Side.SENDER,
             "The kit replaces a document by another it sent: the status answer says replaced",
             {"replacement": "accepted", "http": 200, "receiptOutcomes": 0,
              "statusAfter": "replaced"}, _replacement),
    Scenario("sender-statement-malformed", Side.SENDER,
             "A signed statement with a member missing: 400 STATUS_INVALID, nothing changes",
             {"http": 400, "code": "STATUS_INVALID", "statusAfter": "good"},
             _statement_malformed),
    Scenario("sender-title-transfer", Side.SENDER,
             "The kit (control registry of its bill) hands custody of a transferable record "
             "to the node: accepted with a signed receipt",
             {"http": 200, "code": None, "receiptAnswersMessage": True}, _title_accepted),
    Scenario("sender-title-replayed", Side.SENDER,
             "The same custody transfer again, in a new envelope: 400 TITLE_ENTRY_REPLAYED",
             {"http": 400, "code": "TITLE_ENTRY_REPLAYED"}, _title_replayed),
    Scenario("sender-title-chain-broken", Side.SENDER,
             "A custody transfer whose entries are reordered: 400 TITLE_CHAIN_BROKEN",
             {"http": 400, "code": "TITLE_CHAIN_BROKEN"}, _title_chain_broken),
    Scenario("sender-title-countersignature-missing", Side.SENDER,
             "A custody transfer whose last custody change lacks the control registry's "
             "countersignature: 400 TITLE_COUNTERSIGNATURE_MISSING",
             {"installed": True, "http": 400, "code": "TITLE_COUNTERSIGNATURE_MISSING"},
             _title_countersignature_missing),
    Scenario("sender-title-not-a-message", Side.SENDER,
             "A title-transfer envelope whose body is no title message: 400 TITLE_ENTRY_INVALID",
             {"http": 400, "code": "TITLE_ENTRY_INVALID"}, _title_not_a_message),
    Scenario("registry-suspension", Side.REGISTRY,
             "While the agreement is suspended documents are rejected (AGREEMENT_SUSPENDED); "
             "after resumption accepted",
             {"whileSuspended": ["rejected", ["AGREEMENT_SUSPENDED"]], "afterResume": "accepted"},
             _suspension),
    Scenario("receiver-accepted", Side.RECEIVER,
             "The node sends a document; the kit's accepting receipt makes it delivered",
             {"state": "delivered", "outcome": "accepted", "envelopes": 1}, _receiver_accepted),
    Scenario("receiver-retry-5xx", Side.RECEIVER,
             "The kit answers 503 first: the node retries the same envelope, then delivered",
             {"state": "delivered", "answered": [503, 200], "sameBytes": True},
             _retry(503, ReasonCode.INTERNAL_ERROR)),
    Scenario("receiver-retry-429", Side.RECEIVER,
             "The kit answers 429 first: the node retries the same envelope, then delivered",
             {"state": "delivered", "answered": [429, 200], "sameBytes": True},
             _retry(429, ReasonCode.REQUEST_INVALID)),
    Scenario("receiver-rejected", Side.RECEIVER,
             "The kit's receipt rejects the document: the delivery is rejected with its reason",
             {"state": "rejected", "reasons": ["SCHEMA_INVALID"]}, _receiver_rejected),
    Scenario("receiver-refused-4xx", Side.RECEIVER,
             "The kit refuses the envelope (409): the delivery fails, no retry",
             {"state": "failed", "reasons": ["CONFLICT"], "envelopes": 1}, _receiver_refused),
    Scenario("receiver-held-status-change", Side.RECEIVER,
             "The kit holds the document, then sends a status change: delivered",
             {"held": "delivered-with-warnings", "http": 200, "receiptOutcomes": 0,
              "after": "delivered"}, _receiver_held),
)


def check(expected: Mapping[str, Any], observed: Mapping[str, Any]) -> bool:
    """Whether every expected member is observed with the same value."""
    return all(key in observed and observed[key] == value for key, value in expected.items())


def now_text() -> str:
    return format_time(utc_now())
