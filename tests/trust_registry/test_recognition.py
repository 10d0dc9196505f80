"""The recognition decision: a scenario table (±1 s around every boundary) and its steps."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from protocol.certificates import fingerprint
from protocol.jws import Signer
from protocol.reason_codes import ReasonCode
from tests.trust_registry.conftest import (
    BILL,
    CN,
    COO,
    COUNTERSIGNED_AT,
    DAY,
    INVOICE,
    JP,
    KR,
    PHYTO,
    SECOND,
    SG,
    SIGNER_NOT_BEFORE,
    SOFTWARE,
    T0,
    VALID_FROM,
    VALID_UNTIL,
    World,
)
from trust_registry import (
    AgreementStatus,
    DocType,
    NotRecognisedError,
    Revocation,
    RevocationMatch,
    RevocationReason,
    ScopeItem,
    TrustRegistry,
    recognise,
)
from trust_registry import model as model_module

REVOKED_AT = T0 + 50 * DAY
ROTATED_AT = T0 + 60 * DAY
RETIRED_AT = T0 + 90 * DAY
SUSPENDED_AT = T0 + 100 * DAY
RESUMED_AT = T0 + 150 * DAY
TERMINATED_AT = T0 + 200 * DAY
LATE_COUNTERSIGN = T0 + 30 * DAY


# -- registries, built once per session (World is session-scoped) ---------------------------


@functools.cache
def base(w: World) -> TrustRegistry:
    return w.base_registry()


@functools.cache
def proposal_only(w: World) -> TrustRegistry:
    return w.authorities_registry().add_proposal(w.proposal(w.agreement()), at=COUNTERSIGNED_AT)


@functools.cache
def late_countersign(w: World) -> TrustRegistry:
    signed = w.signed(w.agreement(), proposed_at=T0 + 20 * DAY, countersigned_at=LATE_COUNTERSIGN)
    return w.authorities_registry().add_agreement(signed, at=LATE_COUNTERSIGN + DAY)


@functools.cache
def suspended(w: World) -> TrustRegistry:
    return w.with_status(base(w), AgreementStatus.SUSPENDED, SUSPENDED_AT)


@functools.cache
def resumed(w: World) -> TrustRegistry:
    return w.with_status(suspended(w), AgreementStatus.IN_FORCE, RESUMED_AT)


@functools.cache
def terminated(w: World) -> TrustRegistry:
    return w.with_status(base(w), AgreementStatus.TERMINATED, TERMINATED_AT, by=CN)


@functools.cache
def low_reliability(w: World) -> TrustRegistry:
    return w.authorities_registry(cn_reliability=SOFTWARE).add_agreement(
        w.signed(w.agreement()), at=COUNTERSIGNED_AT)


@functools.cache
def revoked(w: World) -> TrustRegistry:
    return base(w).revoke(CN, Revocation.of_certificate(
        w.cn.signer.certificate, effective_at=REVOKED_AT, reason=RevocationReason.KEY_COMPROMISE))


@functools.cache
def revoked_by_serial(w: World) -> TrustRegistry:
    return base(w).revoke(CN, Revocation.of_certificate(
        w.cn.signer.certificate, effective_at=REVOKED_AT, match=RevocationMatch.ISSUER_SERIAL))


@functools.cache
def cn_customs_only(w: World) -> TrustRegistry:
    """CN holds only the customs role in SG's registry: it may not issue certificates of
    origin or phytosanitary certificates there."""
    return base(w).update_authority(CN, roles=("customs",))


@functools.cache
def cn_origin_only(w: World) -> TrustRegistry:
    return base(w).update_authority(CN, roles=("origin",))


@functools.cache
def rotated(w: World) -> TrustRegistry:
    return base(w).rotate_anchor(CN, new_root=w.rotation.new_root.certificate,
                                 endorsement=w.rotation.endorsement, at=ROTATED_AT,
                                 retire_previous_at=RETIRED_AT)


# -- signers ------------------------------------------------------------------------------


def cn_signer(w: World) -> Signer:
    return w.cn.signer


def cn_new_root_signer(w: World) -> Signer:
    return w.rotation.signer


def jp_signer(w: World) -> Signer:
    return w.jp.signer


def kr_signer(w: World) -> Signer:
    return w.kr.signer


def sg_signer(w: World) -> Signer:
    return w.sg.signer


def rogue_cn_signer(w: World) -> Signer:
    return w.rogue_cn.signer


@functools.cache
def cn_short_lived_signer(w: World) -> Signer:
    return w.cn.new_signer(not_before=SIGNER_NOT_BEFORE, days=10)  # expired before T0


# -- the scenario table -------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One recognition scenario: ``expect`` None means accepted."""

    name: str
    registry: Callable[[World], TrustRegistry]
    signed_at: dt.datetime
    at: dt.datetime
    expect: ReasonCode | None
    issuer: str = CN
    receiver: str = SG
    doc_type: str = COO
    signer: Callable[[World], Signer] = cn_signer

    def __str__(self) -> str:
        return self.name


R = ReasonCode
CASES = [
    Case("in-force", base, T0 + 10 * DAY, T0 + 11 * DAY, None),
    Case("in-force-reverse-direction", base, T0 + 10 * DAY, T0 + 11 * DAY, None,
         issuer=SG, receiver=CN, signer=sg_signer),
    Case("proposed-only", proposal_only, T0 + 10 * DAY, T0 + 11 * DAY, R.AGREEMENT_NOT_IN_FORCE),
    # validFrom
    Case("validFrom-1s", base, VALID_FROM - SECOND, VALID_FROM + SECOND, R.AGREEMENT_NOT_YET_VALID),
    Case("validFrom", base, VALID_FROM, VALID_FROM, None),
    Case("validFrom+1s", base, VALID_FROM + SECOND, VALID_FROM + SECOND, None),
    # the countersignature, when later than validFrom
    Case("countersign-1s", late_countersign, LATE_COUNTERSIGN - SECOND, LATE_COUNTERSIGN + DAY,
         R.AGREEMENT_NOT_IN_FORCE),
    Case("countersign", late_countersign, LATE_COUNTERSIGN, LATE_COUNTERSIGN, None),
    # validUntil (exclusive)
    Case("validUntil-1s", base, VALID_UNTIL - SECOND, VALID_UNTIL - SECOND, None),
    Case("expired-at-decision-validUntil", base, VALID_UNTIL - SECOND, VALID_UNTIL,
         R.AGREEMENT_EXPIRED),
    Case("expired-at-decision+1s", base, VALID_UNTIL - DAY, VALID_UNTIL + SECOND, R.AGREEMENT_EXPIRED),
    Case("expired-signed+1s", base, VALID_UNTIL + SECOND, VALID_UNTIL + 2 * SECOND,
         R.AGREEMENT_EXPIRED),
    # suspension: from its effective time on, even for documents signed before
    Case("suspension-1s", suspended, SUSPENDED_AT - SECOND, SUSPENDED_AT - SECOND, None),
    Case("suspension-decided-at-effective", suspended, SUSPENDED_AT - SECOND, SUSPENDED_AT,
         R.AGREEMENT_SUSPENDED),
    Case("suspension-decided+1s", suspended, SUSPENDED_AT - SECOND, SUSPENDED_AT + SECOND,
         R.AGREEMENT_SUSPENDED),
    Case("suspension-signed+1s", suspended, SUSPENDED_AT + SECOND, SUSPENDED_AT + SECOND,
         R.AGREEMENT_SUSPENDED),
    # resumption: signed before the suspension → recognised again; signed during → never
    Case("resumed-signed-before-suspension", resumed, SUSPENDED_AT - SECOND, RESUMED_AT + SECOND,
         None),
    Case("resumed-signed-during-suspension", resumed, SUSPENDED_AT + SECOND, RESUMED_AT + SECOND,
         R.AGREEMENT_SUSPENDED),
    Case("resumption-1s", resumed, RESUMED_AT - SECOND, RESUMED_AT, R.AGREEMENT_SUSPENDED),
    Case("resumption", resumed, RESUMED_AT, RESUMED_AT, None),
    Case("resumed-past-at-during-suspension", resumed, SUSPENDED_AT - DAY, SUSPENDED_AT + DAY,
         R.AGREEMENT_SUSPENDED),
    # termination
    Case("termination-1s", terminated, TERMINATED_AT - SECOND, TERMINATED_AT - SECOND, None),
    Case("terminated-decided+1s", terminated, TERMINATED_AT - SECOND, TERMINATED_AT + SECOND,
         R.AGREEMENT_TERMINATED),
    Case("terminated-signed-at-effective", terminated, TERMINATED_AT, TERMINATED_AT,
         R.AGREEMENT_TERMINATED),
    # scope
    Case("wrong-direction", base, T0 + DAY, T0 + DAY, R.DIRECTION_NOT_COVERED, doc_type=PHYTO),
    Case("type-not-covered", base, T0 + DAY, T0 + DAY, R.DOC_TYPE_NOT_COVERED, doc_type=BILL),
    # issuer roles: a certificate of origin only from an origin authority, a phytosanitary
    # certificate only from a plant-protection one; other types need no role
    Case("role-origin-missing", cn_customs_only, T0 + DAY, T0 + DAY, R.ISSUER_ROLE_MISSING),
    Case("role-plant-protection-missing", cn_origin_only, T0 + DAY, T0 + DAY,
         R.ISSUER_ROLE_MISSING, doc_type=PHYTO),
    Case("role-origin-held", cn_origin_only, T0 + DAY, T0 + DAY, None),
    Case("role-not-required", cn_customs_only, T0 + DAY, T0 + DAY, None, doc_type=INVOICE),
    # reliability
    Case("reliability-met", base, T0 + DAY, T0 + DAY, None, doc_type=INVOICE),
    Case("reliability-shortfall", low_reliability, T0 + DAY, T0 + DAY,
         R.RELIABILITY_INSUFFICIENT, doc_type=INVOICE),
    Case("reliability-not-required", low_reliability, T0 + DAY, T0 + DAY, None),
    # revocation of the signer certificate
    Case("revocation-1s", revoked, REVOKED_AT - SECOND, REVOKED_AT + 10 * DAY, None),
    Case("revocation", revoked, REVOKED_AT, REVOKED_AT, R.CERT_REVOKED),
    Case("revocation+1s", revoked, REVOKED_AT + SECOND, REVOKED_AT + SECOND, R.CERT_REVOKED),
    Case("revocation-by-serial-1s", revoked_by_serial, REVOKED_AT - SECOND, REVOKED_AT, None),
    Case("revocation-by-serial", revoked_by_serial, REVOKED_AT, REVOKED_AT, R.CERT_REVOKED),
    # root rotation: new anchor from ROTATED_AT, old anchor until RETIRED_AT
    Case("new-root-before-its-window-1s", rotated, ROTATED_AT - SECOND, ROTATED_AT,
         R.ANCHOR_NOT_VALID, signer=cn_new_root_signer),
    Case("new-root-window-start", rotated, ROTATED_AT, ROTATED_AT, None, signer=cn_new_root_signer),
    Case("new-root-after-old-retired", rotated, RETIRED_AT + SECOND, RETIRED_AT + SECOND, None,
         signer=cn_new_root_signer),
    Case("old-root-retirement-1s", rotated, RETIRED_AT - SECOND, RETIRED_AT + 10 * DAY, None),
    Case("old-root-at-retirement", rotated, RETIRED_AT, RETIRED_AT, R.ANCHOR_NOT_VALID),
    Case("old-root-retirement+1s", rotated, RETIRED_AT + SECOND, RETIRED_AT + SECOND,
         R.ANCHOR_NOT_VALID),
    # issuer and chain
    Case("unknown-issuer", base, T0 + DAY, T0 + DAY, R.ISSUER_UNKNOWN, issuer=KR, signer=kr_signer),
    Case("issuer-mismatch", base, T0 + DAY, T0 + DAY, R.ISSUER_MISMATCH, signer=jp_signer),
    Case("untrusted-chain", base, T0 + DAY, T0 + DAY, R.CHAIN_UNTRUSTED, signer=rogue_cn_signer),
    Case("signer-certificate-expired", base, T0 + DAY, T0 + DAY, R.CERT_EXPIRED,
         signer=cn_short_lived_signer),
    Case("signed-in-the-future", base, T0 + DAY, T0, R.SIGNING_TIME_INVALID),
    Case("no-agreement", base, T0 + DAY, T0 + DAY, R.NO_AGREEMENT, issuer=JP, signer=jp_signer),
    Case("no-agreement-other-receiver", base, T0 + DAY, T0 + DAY, R.NO_AGREEMENT, receiver=JP),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_recognition_scenario(world: World, case: Case) -> None:
    registry = case.registry(world)
    header, evidence = world.document(case.signer(world), issuer=case.issuer,
                                      doc_type=case.doc_type, signed_at=case.signed_at)
    if case.expect is None:
        acceptance = recognise(registry, receiver=case.receiver, document=header,
                               evidence=evidence, at=case.at)
        assert acceptance.issuer == case.issuer
        assert acceptance.receiver == case.receiver
        assert acceptance.document_type == case.doc_type
        assert acceptance.signed_at == case.signed_at
        assert acceptance.registry_version == registry.version
        item = registry.agreement(acceptance.agreement_id).agreement.scope[acceptance.clause]
        assert (item.document_type, item.issuer, item.receiver) == (
            case.doc_type, case.issuer, case.receiver)
        assert acceptance.recognised_as == item.recognised_as
    else:
        with pytest.raises(NotRecognisedError) as caught:
            recognise(registry, receiver=case.receiver, document=header, evidence=evidence,
                      at=case.at)
        assert caught.value.code is case.expect


# -- the acceptance value -----------------------------------------------------------------


def test_acceptance_names_agreement_clause_anchor_and_version(world: World) -> None:
    registry = base(world)
    header, evidence = world.document(world.cn.signer, issuer=CN, doc_type=COO,
                                      signed_at=T0 + DAY)
    acceptance = recognise(registry, receiver=SG, document=header, evidence=evidence,
                           at=T0 + 2 * DAY)
    assert acceptance.to_dict() == {
        "agreementId": "SG-CN-1",
        "clause": 0,
        "issuer": CN,
        "receiver": SG,
        "documentType": COO,
        "recognisedAs": "preferential-certificate-of-origin",
        "mappingId": "coo-cn-to-sg-1.0",
        "anchorFingerprint": fingerprint(world.cn.root_certificate),
        "registryVersion": registry.version,
        "signedAt": "2026-01-02T00:00:00Z",
    }
    with pytest.raises(AttributeError):
        acceptance.clause = 1  # type: ignore[misc]


def test_rotated_root_acceptance_names_the_new_anchor(world: World) -> None:
    header, evidence = world.document(world.rotation.signer, issuer=CN, doc_type=COO,
                                      signed_at=RETIRED_AT)
    acceptance = recognise(rotated(world), receiver=SG, document=header, evidence=evidence,
                           at=RETIRED_AT)
    assert acceptance.anchor_fingerprint == fingerprint(world.rotation.new_root.certificate)


# -- inputs (step 1) ------------------------------------------------------------------------


def test_naive_decision_time_is_misuse(world: World) -> None:
    header, evidence = world.document(world.cn.signer, issuer=CN, doc_type=COO, signed_at=T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        recognise(base(world), receiver=SG, document=header, evidence=evidence,
                  at=dt.datetime(2026, 1, 2))


def test_header_without_string_issuer_is_refused(world: World) -> None:
    header, evidence = world.document(world.cn.signer, issuer=CN, doc_type=COO, signed_at=T0)
    with pytest.raises(NotRecognisedError) as caught:
        recognise(base(world), receiver=SG, document={**header, "issuer": None},
                  evidence=evidence, at=T0)
    assert caught.value.code is ReasonCode.SCHEMA_INVALID


def test_document_issuer_must_match_the_header_not_only_the_certificate(world: World) -> None:
    # JP's signer, and the header claims JP: chain fine, but no JP–SG agreement.
    header, evidence = world.document(world.jp.signer, issuer=JP, doc_type=COO, signed_at=T0)
    with pytest.raises(NotRecognisedError) as caught:
        recognise(base(world), receiver=SG, document=header, evidence=evidence, at=T0)
    assert caught.value.code is ReasonCode.NO_AGREEMENT


# -- the chain cache (step 4) ---------------------------------------------------------------


def test_repeated_signer_costs_no_chain_validation(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = TrustRegistry.from_dict(base(world).to_dict())  # a fresh, empty cache
    calls: list[object] = []
    real = model_module.validate_chain

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(model_module, "validate_chain", counting)
    for day in (1, 2, 3):  # three documents, three evidence objects, one signer
        header, evidence = world.document(world.cn.signer, issuer=CN, doc_type=COO,
                                          signed_at=T0 + day * DAY)
        recognise(registry, receiver=SG, document=header, evidence=evidence, at=T0 + 4 * DAY)
    assert len(calls) == 1
    # A signing time outside the cached validity window validates again (and fails).
    header, evidence = world.document(world.cn.signer, issuer=CN, doc_type=COO,
                                      signed_at=SIGNER_NOT_BEFORE - SECOND)
    with pytest.raises(NotRecognisedError) as caught:
        recognise(registry, receiver=SG, document=header, evidence=evidence, at=T0)
    assert caught.value.code is ReasonCode.CERT_NOT_YET_VALID
    assert len(calls) == 2


def test_untrusted_chain_is_remembered_and_still_refused(world: World) -> None:
    registry = base(world)
    for _ in range(2):
        header, evidence = world.document(world.rogue_cn.signer, issuer=CN, doc_type=COO,
                                          signed_at=T0)
        with pytest.raises(NotRecognisedError) as caught:
            recognise(registry, receiver=SG, document=header, evidence=evidence, at=T0)
        assert caught.value.code is ReasonCode.CHAIN_UNTRUSTED


# -- several candidate agreements (step 11) -------------------------------------------------


@functools.cache
def two_agreements(w: World) -> TrustRegistry:
    older = w.agreement(agreement_id="SG-CN-0", valid_from=T0 - 100 * DAY, valid_until=None,
                        scope=(ScopeItem(document_type=COO, issuer=CN, receiver=SG,
                                         recognised_as=DocType("old-certificate-of-origin")),))
    newer = w.agreement(agreement_id="SG-CN-2", valid_from=T0 + 30 * DAY, valid_until=None,
                        scope=(ScopeItem(document_type=COO, issuer=CN, receiver=SG,
                                         recognised_as=DocType("new-certificate-of-origin")),))
    return w.authorities_registry().add_agreements(
        [w.signed(older), w.signed(newer)], at=COUNTERSIGNED_AT)


@pytest.mark.parametrize(("signed_at", "expected"), [
    (T0 + 30 * DAY - SECOND, "SG-CN-0"),  # the newer one is not yet valid: the older applies
    (T0 + 30 * DAY, "SG-CN-2"),  # both in force: the latest validFrom wins
])
def test_latest_valid_from_wins_among_agreements_in_force(world: World, signed_at: dt.datetime,
                                                          expected: str) -> None:
    header, evidence = world.document(world.cn.signer, issuer=CN, doc_type=COO, signed_at=signed_at)
    acceptance = recognise(two_agreements(world), receiver=SG, document=header,
                           evidence=evidence, at=signed_at)
    assert acceptance.agreement_id == expected


def test_falls_back_to_an_older_agreement_when_the_newer_is_suspended(world: World) -> None:
    registry = world.with_status(two_agreements(world), AgreementStatus.SUSPENDED,
                                 T0 + 40 * DAY, agreement_id="SG-CN-2")
    header, evidence = world.document(world.cn.signer, issuer=CN, doc_type=COO,
                                      signed_at=T0 + 41 * DAY)
    acceptance = recognise(registry, receiver=SG, document=header, evidence=evidence,
                           at=T0 + 41 * DAY)
    assert acceptance.agreement_id == "SG-CN-0"
    assert acceptance.recognised_as == "old-certificate-of-origin"


def test_every_candidate_failing_reports_each_code(world: World) -> None:
    registry = world.with_status(two_agreements(world), AgreementStatus.TERMINATED,
                                 T0 + 40 * DAY, agreement_id="SG-CN-0")
    registry = world.with_status(registry, AgreementStatus.SUSPENDED, T0 + 42 * DAY,
                                 agreement_id="SG-CN-2")
    header, evidence = world.document(world.cn.signer, issuer=CN, doc_type=COO,
                                      signed_at=T0 + 43 * DAY)
    with pytest.raises(NotRecognisedError) as caught:
        recognise(registry, receiver=SG, document=header, evidence=evidence, at=T0 + 43 * DAY)
    # SG-CN-2 (the later validFrom) is tried first.
    assert caught.value.codes == (ReasonCode.AGREEMENT_SUSPENDED, ReasonCode.AGREEMENT_TERMINATED)


def test_a_proposal_beside_an_agreement_in_force_does_not_block_it(world: World) -> None:
    newer = world.agreement(agreement_id="SG-CN-9", valid_from=T0 + 5 * DAY, valid_until=None)
    registry = base(world).add_proposal(world.proposal(newer), at=COUNTERSIGNED_AT)
    header, evidence = world.document(world.cn.signer, issuer=CN, doc_type=COO,
                                      signed_at=T0 + 6 * DAY)
    acceptance = recognise(registry, receiver=SG, document=header, evidence=evidence,
                           at=T0 + 6 * DAY)
    assert acceptance.agreement_id == "SG-CN-1"
