"""Agreements: content rules, root signatures, proposals, status history."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.jws import GeneralJWS, JWSSignature, JWSType, sign
from protocol.reason_codes import ReasonCode
from tests.trust_registry.conftest import (
    CN,
    COO,
    COUNTERSIGNED_AT,
    DAY,
    JP,
    PROPOSED_AT,
    REGISTERED_AT,
    SECOND,
    SG,
    T0,
    VALID_FROM,
    World,
)
from trust_registry import (
    Agreement,
    AgreementError,
    AgreementStatus,
    Direction,
    DocType,
    NotRecognisedError,
    ScopeItem,
    SignedAgreement,
    StatusChange,
    TrustError,
    build_scope,
    countersign_agreement,
    propose_agreement,
    recognise,
    sign_status_change,
)

# -- attacks ----------------------------------------------------------------------------------


def test_rejects_agreement_with_one_signature(world: World) -> None:
    registry = world.authorities_registry()
    proposal = world.proposal(world.agreement())
    with pytest.raises(AgreementError) as caught:
        registry.add_agreement(proposal, at=REGISTERED_AT)
    assert caught.value.code is ReasonCode.AGREEMENT_SIGNATURE_MISSING
    # Recorded as a proposal, it still recognises nothing.
    holding = registry.add_proposal(proposal, at=REGISTERED_AT)
    header, evidence = world.document(world.cn.signer, issuer=CN, doc_type=COO,
                                      signed_at=T0 + DAY)
    with pytest.raises(NotRecognisedError) as refused:
        recognise(holding, receiver=SG, document=header, evidence=evidence, at=T0 + DAY)
    assert refused.value.code is ReasonCode.AGREEMENT_NOT_IN_FORCE


def test_rejects_agreement_signed_by_non_party(world: World) -> None:
    registry = world.authorities_registry()
    proposal = world.proposal(world.agreement())
    # JP's root adds a signature to SG-CN-1 (bypassing countersign_agreement's own check).
    forged = _append_signature(proposal, world, world.jp)
    with pytest.raises(AgreementError) as caught:
        registry.add_agreement(forged, at=REGISTERED_AT)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID
    with pytest.raises(AgreementError) as caught:
        countersign_agreement(proposal, world.jp.root, signed_at=COUNTERSIGNED_AT)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID


def test_rejects_agreement_countersigned_by_a_rogue_root_with_the_partners_name(world: World) -> None:
    proposal = world.proposal(world.agreement())
    forged = countersign_agreement(proposal, world.rogue_cn.root, signed_at=COUNTERSIGNED_AT)
    with pytest.raises(AgreementError) as caught:
        world.authorities_registry().add_agreement(forged, at=REGISTERED_AT)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID
    assert ReasonCode.CHAIN_UNTRUSTED in caught.value.codes


def test_rejects_agreement_signed_by_a_document_signer_instead_of_the_root(world: World) -> None:
    agreement = world.agreement()
    jws = sign(agreement.payload(), world.sg.signer, typ=JWSType.AGREEMENT, signed_at=PROPOSED_AT)
    with pytest.raises(AgreementError) as caught:
        world.authorities_registry().add_proposal(jws, at=REGISTERED_AT)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID


def test_rejects_agreement_with_changed_payload(world: World) -> None:
    signed = world.signed(world.agreement())
    payload = json.loads(b64url_decode(signed.payload_b64))
    payload["scope"][0]["recognisedAs"] = "anything-we-like"
    tampered = GeneralJWS(b64url_encode(canonicalize(payload)), signed.signatures)
    with pytest.raises(AgreementError) as caught:
        world.authorities_registry().add_agreement(tampered, at=REGISTERED_AT)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID
    assert ReasonCode.SIGNATURE_INVALID in caught.value.codes


def test_rejects_agreement_signed_in_the_future(world: World) -> None:
    signed = world.signed(world.agreement(), countersigned_at=REGISTERED_AT + DAY)
    with pytest.raises(AgreementError) as caught:
        world.authorities_registry().add_agreement(signed, at=REGISTERED_AT)
    assert ReasonCode.SIGNING_TIME_INVALID in caught.value.codes


def test_rejects_an_agreement_typed_as_a_snapshot(world: World) -> None:
    agreement = world.agreement()
    jws = sign(agreement.payload(), world.sg.root, typ=JWSType.SNAPSHOT, signed_at=PROPOSED_AT)
    with pytest.raises(AgreementError) as caught:
        SignedAgreement.parse(jws)
    assert ReasonCode.TYP_MISMATCH in caught.value.codes


def test_a_status_change_cannot_pass_for_an_agreement(world: World) -> None:
    record = world.base_registry().agreement("SG-CN-1")
    statement = sign_status_change(record.signed, world.sg.root, status=AgreementStatus.SUSPENDED,
                                   effective_at=T0, signed_at=T0)
    with pytest.raises(AgreementError) as caught:
        SignedAgreement.parse(statement)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID


def _append_signature(jws: GeneralJWS, world: World, party: Any) -> GeneralJWS:
    extra = sign(jws.payload, party.root, typ=JWSType.AGREEMENT, signed_at=COUNTERSIGNED_AT)
    return GeneralJWS(jws.payload_b64, (*jws.signatures, *extra.signatures))


# -- proposals and countersignatures ----------------------------------------------------------


def test_countersigned_agreement_replaces_its_proposal(world: World) -> None:
    agreement = world.agreement()
    proposal = world.proposal(agreement)
    registry = world.authorities_registry().add_proposal(proposal, at=REGISTERED_AT)
    assert registry.agreement("SG-CN-1").status_at(T0) is AgreementStatus.PROPOSED
    signed = countersign_agreement(proposal, world.cn.root, signed_at=COUNTERSIGNED_AT)
    upgraded = registry.add_agreement(signed, at=REGISTERED_AT)
    assert upgraded.version == registry.version + 1
    assert upgraded.agreement("SG-CN-1").is_dual_signed
    assert upgraded.agreement("SG-CN-1").status_at(T0) is AgreementStatus.IN_FORCE
    # Re-adding the same agreement, or its proposal, changes nothing.
    assert upgraded.add_agreement(signed, at=REGISTERED_AT) is upgraded
    assert upgraded.add_proposal(proposal, at=REGISTERED_AT) is upgraded


def test_another_payload_under_a_known_id_is_refused(world: World) -> None:
    registry = world.base_registry()
    other = world.agreement(valid_until=None)
    with pytest.raises(AgreementError) as caught:
        registry.add_agreement(world.signed(other), at=REGISTERED_AT)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID
    assert ReasonCode.CONFLICT in caught.value.codes


def test_countersign_refuses_a_party_that_signed_already(world: World) -> None:
    proposal = world.proposal(world.agreement())
    with pytest.raises(AgreementError):
        countersign_agreement(proposal, world.sg.root, signed_at=COUNTERSIGNED_AT)


def test_propose_refuses_a_non_party_and_a_non_root_signer(world: World) -> None:
    with pytest.raises(AgreementError):
        propose_agreement(world.agreement(), world.jp.root, signed_at=PROPOSED_AT)
    with pytest.raises(ValueError, match="root Signer"):
        propose_agreement(world.agreement(), world.sg.signer, signed_at=PROPOSED_AT)


def test_agreement_with_a_party_outside_the_registry_is_refused(world: World) -> None:
    kr_agreement = world.agreement(
        agreement_id="SG-KR-1", parties=(SG, "KR-CUSTOMS"),
        scope=(ScopeItem(document_type=COO, issuer=SG, receiver="KR-CUSTOMS",  # type: ignore[arg-type]
                         recognised_as=COO),))
    with pytest.raises(AgreementError) as caught:
        world.authorities_registry().add_agreement(world.signed(kr_agreement), at=REGISTERED_AT)
    assert ReasonCode.ISSUER_UNKNOWN in caught.value.codes


def test_in_force_from_is_the_later_of_valid_from_and_the_countersignature(world: World) -> None:
    signed = SignedAgreement.parse(world.signed(world.agreement()))
    assert signed.countersigned_at == COUNTERSIGNED_AT
    assert signed.in_force_from == VALID_FROM
    late = SignedAgreement.parse(world.signed(world.agreement(), countersigned_at=T0 + DAY))
    assert late.in_force_from == T0 + DAY
    proposal = SignedAgreement.parse(world.proposal(world.agreement()))
    assert proposal.in_force_from is None
    assert proposal.missing == (CN,)


# -- content rules ----------------------------------------------------------------------------


def _payload(world: World) -> dict[str, Any]:
    return world.agreement().to_dict()


BAD_CONTENT = {
    "unknown-member": lambda d: d | {"extra": 1},
    "missing-member": lambda d: {k: v for k, v in d.items() if k != "legalReference"},
    "wrong-format": lambda d: d | {"agreementFormat": "tradeaccord-agreement-9.9"},
    "same-party-twice": lambda d: d | {"parties": [SG, SG]},
    "three-parties": lambda d: d | {"parties": [SG, CN, JP]},
    "until-before-from": lambda d: d | {"validUntil": "2025-01-01T00:00:00Z"},
    "until-equals-from": lambda d: d | {"validUntil": d["validFrom"]},
    "naive-time": lambda d: d | {"validFrom": "2026-01-01T00:00:00"},
    "empty-scope": lambda d: d | {"scope": []},
    "scope-from-a-non-party": lambda d: d | {"scope": [d["scope"][0] | {"from": JP}]},
    "scope-to-itself": lambda d: d | {"scope": [d["scope"][0] | {"to": CN}]},
    "scope-repeats-an-item": lambda d: d | {"scope": [d["scope"][0], d["scope"][0]]},
    "scope-bad-type": lambda d: d | {"scope": [d["scope"][0] | {"documentType": "Bad Type"}]},
    "scope-unknown-reliability": lambda d: d | {
        "scope": [d["scope"][0] | {"minimumReliability": {"keyProtection": "magic"}}]},
    "scope-unknown-member": lambda d: d | {"scope": [d["scope"][0] | {"note": "x"}]},
    "bad-agreement-id": lambda d: d | {"agreementId": "no spaces allowed"},
}


@pytest.mark.parametrize("mutation", list(BAD_CONTENT), ids=str)
def test_malformed_agreement_content_is_refused(world: World, mutation: str) -> None:
    payload = BAD_CONTENT[mutation](_payload(world))
    with pytest.raises(AgreementError) as caught:
        Agreement.from_dict(payload)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID


def test_agreement_round_trips_through_its_payload(world: World) -> None:
    agreement = world.agreement()
    assert Agreement.from_dict(json.loads(agreement.payload())) == agreement


@pytest.mark.parametrize(("direction", "flows"), [
    (Direction.BOTH, {(SG, CN), (CN, SG)}),
    (Direction.OUTBOUND, {(SG, CN)}),
    (Direction.INBOUND, {(CN, SG)}),
])
def test_build_scope_directions(direction: Direction, flows: set[tuple[str, str]]) -> None:
    scope = build_scope(proposer=SG, partner=CN, document_types=[COO], direction=direction)
    assert {(item.issuer, item.receiver) for item in scope} == flows
    assert all(item.recognised_as == COO for item in scope)


def test_build_scope_pairs_recognised_types_with_document_types() -> None:
    scope = build_scope(proposer=SG, partner=CN, document_types=[COO, DocType("bill-of-lading")],
                        recognised_as=[DocType("origin"), DocType("ebl")],
                        direction=Direction.OUTBOUND)
    assert [(i.document_type, i.recognised_as) for i in scope] == [
        (COO, "origin"), ("bill-of-lading", "ebl")]
    with pytest.raises(ValueError, match="one per document type"):
        build_scope(proposer=SG, partner=CN, document_types=[COO, DocType("bill-of-lading")],
                    recognised_as=[DocType("a"), DocType("b"), DocType("c")])


# -- status history ---------------------------------------------------------------------------


def _change(world: World, by: Any, status: AgreementStatus, effective_at: dt.datetime,
            signed_at: dt.datetime | None = None) -> GeneralJWS:
    record = world.base_registry().agreement("SG-CN-1")
    return sign_status_change(record.signed, by.root, status=status, effective_at=effective_at,
                              signed_at=signed_at or effective_at - DAY)


def test_status_history_answers_for_any_time(world: World) -> None:
    registry = world.base_registry()
    for by, status, when in ((world.sg, AgreementStatus.SUSPENDED, T0 + 10 * DAY),
                             (world.sg, AgreementStatus.IN_FORCE, T0 + 20 * DAY),
                             (world.cn, AgreementStatus.TERMINATED, T0 + 30 * DAY)):
        registry = registry.change_agreement_status(_change(world, by, status, when), at=when - DAY)
    record = registry.agreement("SG-CN-1")
    expected = [
        (COUNTERSIGNED_AT - SECOND, AgreementStatus.PROPOSED),
        (COUNTERSIGNED_AT, AgreementStatus.IN_FORCE),
        (T0 + 10 * DAY - SECOND, AgreementStatus.IN_FORCE),
        (T0 + 10 * DAY, AgreementStatus.SUSPENDED),
        (T0 + 20 * DAY, AgreementStatus.IN_FORCE),
        (T0 + 30 * DAY, AgreementStatus.TERMINATED),
        (T0 + 999 * DAY, AgreementStatus.TERMINATED),
    ]
    assert [(t, record.status_at(t)) for t, _ in expected] == expected


@pytest.mark.parametrize(("steps", "code"), [
    # resume what is in force
    ([("sg", AgreementStatus.IN_FORCE, 10)], ReasonCode.STATE_INVALID),
    # suspend twice
    ([("sg", AgreementStatus.SUSPENDED, 10), ("cn", AgreementStatus.SUSPENDED, 11)],
     ReasonCode.STATE_INVALID),
    # the other party resumes
    ([("sg", AgreementStatus.SUSPENDED, 10), ("cn", AgreementStatus.IN_FORCE, 11)],
     ReasonCode.STATE_INVALID),
    # anything after termination
    ([("sg", AgreementStatus.TERMINATED, 10), ("sg", AgreementStatus.IN_FORCE, 11)],
     ReasonCode.STATE_INVALID),
    # out of time order
    ([("sg", AgreementStatus.SUSPENDED, 10), ("sg", AgreementStatus.IN_FORCE, 9)],
     ReasonCode.AGREEMENT_INVALID),
], ids=["resume-in-force", "suspend-twice", "resume-by-other-party", "after-termination",
        "out-of-order"])
def test_invalid_status_transitions_are_refused(world: World, steps: list[tuple[str, AgreementStatus, int]],
                                                code: ReasonCode) -> None:
    registry = world.base_registry()
    *allowed, last = steps
    for who, status, day in allowed:
        registry = registry.change_agreement_status(
            _change(world, getattr(world, who), status, T0 + day * DAY), at=T0 + (day - 1) * DAY)
    who, status, day = last
    before = registry.to_dict()
    with pytest.raises(AgreementError) as caught:
        registry.change_agreement_status(_change(world, getattr(world, who), status, T0 + day * DAY),
                                         at=T0 + (day + 1) * DAY)
    assert caught.value.code is code
    assert registry.to_dict() == before


def test_status_change_cannot_be_retroactive(world: World) -> None:
    statement = _change(world, world.sg, AgreementStatus.SUSPENDED, T0 + 10 * DAY,
                        signed_at=T0 + 11 * DAY)
    with pytest.raises(AgreementError) as caught:
        world.base_registry().change_agreement_status(statement, at=T0 + 11 * DAY)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID


def test_status_change_by_a_non_party_root_is_refused(world: World) -> None:
    record = world.base_registry().agreement("SG-CN-1")
    with pytest.raises(AgreementError):
        sign_status_change(record.signed, world.jp.root, status=AgreementStatus.SUSPENDED,
                           effective_at=T0, signed_at=T0)
    # A rogue root carrying CN's name signs a suspension: parsed, but not trusted.
    forged = sign_status_change(record.signed, world.rogue_cn.root, status=AgreementStatus.SUSPENDED,
                                effective_at=T0 + DAY, signed_at=T0)
    with pytest.raises(AgreementError) as caught:
        world.base_registry().change_agreement_status(forged, at=T0)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID
    assert ReasonCode.CHAIN_UNTRUSTED in caught.value.codes


def test_status_change_of_a_proposal_is_refused(world: World) -> None:
    registry = world.authorities_registry().add_proposal(world.proposal(world.agreement()),
                                                        at=REGISTERED_AT)
    proposal = registry.agreement("SG-CN-1").signed
    statement = sign_status_change(proposal, world.sg.root, status=AgreementStatus.SUSPENDED,
                                   effective_at=T0, signed_at=T0)
    with pytest.raises(AgreementError) as caught:
        registry.change_agreement_status(statement, at=T0)
    assert caught.value.code is ReasonCode.AGREEMENT_NOT_IN_FORCE


def test_status_change_bound_to_other_content_is_refused(world: World) -> None:
    other = SignedAgreement.parse(world.signed(world.agreement(valid_until=None)))
    statement = sign_status_change(other, world.sg.root, status=AgreementStatus.SUSPENDED,
                                   effective_at=T0, signed_at=T0)
    with pytest.raises(AgreementError) as caught:
        world.base_registry().change_agreement_status(statement, at=T0)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID


def test_status_change_payload_is_strict(world: World) -> None:
    statement = _change(world, world.sg, AgreementStatus.SUSPENDED, T0 + DAY)
    payload = json.loads(b64url_decode(statement.payload_b64))
    payload["status"] = "proposed"
    resigned = sign(canonicalize(payload), world.sg.root, typ=JWSType.AGREEMENT, signed_at=T0)
    with pytest.raises(AgreementError):
        StatusChange.parse(resigned)


def test_unsigned_signature_entry_is_refused(world: World) -> None:
    signed = world.signed(world.agreement())
    bogus = JWSSignature(signed.signatures[1].protected_b64,
                         base64.urlsafe_b64encode(b"\0" * 64).rstrip(b"=").decode())
    with pytest.raises(TrustError) as caught:
        world.authorities_registry().add_agreement(
            GeneralJWS(signed.payload_b64, (signed.signatures[0], bogus)), at=REGISTERED_AT)
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID
