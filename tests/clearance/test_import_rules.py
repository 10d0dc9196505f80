"""Import clearance: tariff preference (a) and plant health (b) in every branch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from clearance import (
    CertificateFact,
    Finding,
    ImportAssessment,
    ImportDecision,
    ImportRuleSet,
    PreferenceOutcome,
    Severity,
    assess_import,
)
from protocol.reason_codes import ReasonCode as R
from tests.clearance.conftest import fresh

ORIGIN = ("origin",)
PLANTS = ("plant-protection",)
COO_ID = "bb8caa76-c399-43eb-9147-44c1c4afb92c"
PHYTO_ID = "4cf7ebf8-49a0-4151-a78b-7798a1eef579"


def declaration() -> dict[str, Any]:
    return fresh("customs-declaration")


def coo(
    recognised: bool = True,
    roles: tuple[str, ...] = ORIGIN,
    reasons: tuple[R, ...] = (),
    edit: Callable[[dict[str, Any]], None] | None = None,
    doc_id: str | None = None,
) -> CertificateFact:
    document = fresh("certificate-of-origin")
    if edit is not None:
        edit(document)
    if doc_id is not None:
        document["id"] = doc_id
    return CertificateFact(document, recognised, reasons, roles)


def phyto(
    recognised: bool = True,
    roles: tuple[str, ...] = PLANTS,
    reasons: tuple[R, ...] = (),
    edit: Callable[[dict[str, Any]], None] | None = None,
) -> CertificateFact:
    document = fresh("phytosanitary-certificate")
    if edit is not None:
        edit(document)
    return CertificateFact(document, recognised, reasons, roles)


def _rule(assessment: ImportAssessment, rule_id: str) -> Finding:
    return next(f for f in assessment.findings if f.rule_id == rule_id)


def test_clean_declaration_is_released_with_preference(import_rules: ImportRuleSet) -> None:
    assessment = assess_import(declaration(), [coo(), phyto()], import_rules)
    assert assessment == ImportAssessment(
        decision=ImportDecision.RELEASED,
        reasons=(),
        findings=(),
        preference=PreferenceOutcome(claimed=True, eligible=True, reasons=(), certificate_ids=(COO_ID,)),
    )
    assert assessment.preference.to_dict() == {"claimed": True, "eligible": True, "reasons": []}


def test_nothing_claimed(import_rules: ImportRuleSet) -> None:
    decl = declaration()
    for item in decl["body"]["goodsItems"]:
        del item["preference"]
    assessment = assess_import(decl, [phyto()], import_rules)
    assert assessment.preference == PreferenceOutcome(claimed=False, eligible=None)
    assert assessment.preference.to_dict() == {"claimed": False, "eligible": None, "reasons": []}
    assert (assessment.decision, assessment.findings) == (ImportDecision.RELEASED, ())


def test_a_1_0_declaration_claims_nothing(import_rules: ImportRuleSet) -> None:
    decl = fresh("customs-declaration")
    decl["version"] = "1.0"
    for item in decl["body"]["goodsItems"]:
        del item["preference"]
    assert assess_import(decl, [phyto()], import_rules).preference.claimed is False


# -- (a) preference ------------------------------------------------------------------------------


def _agreement(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["body"].update(agreement=name)


def _goods(member: str, value: str) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        for item in document["body"]["goodsItems"]:
            item[member] = value

    return edit


@dataclass(frozen=True)
class PreferenceCase:
    name: str
    certificates: Callable[[], list[CertificateFact]]
    reasons: tuple[R, ...]
    cited_certificates: tuple[str, ...] = ()
    edit: Callable[[dict[str, Any]], None] | None = field(default=None)

    def __str__(self) -> str:
        return self.name


PREFERENCE_CASES = [
    PreferenceCase("no-certificate-of-origin", lambda: [phyto()], (R.CERTIFICATE_MISSING,)),
    PreferenceCase(
        "not-recognised",
        lambda: [coo(recognised=False, roles=(), reasons=(R.NO_AGREEMENT,)), phyto()],
        (R.CERTIFICATE_NOT_RECOGNISED, R.NO_AGREEMENT),
        (COO_ID,),
    ),
    PreferenceCase(
        "not-recognised-issuer-without-role",
        lambda: [coo(recognised=False, roles=("customs",), reasons=(R.ISSUER_ROLE_MISSING,)), phyto()],
        (R.CERTIFICATE_NOT_RECOGNISED, R.ISSUER_ROLE_MISSING),
        (COO_ID,),
    ),
    PreferenceCase(
        "recognised-issuer-without-role",
        lambda: [coo(roles=("customs",)), phyto()],
        (R.ISSUER_ROLE_MISSING,),
        (COO_ID,),
    ),
    PreferenceCase(
        "other-agreement",
        lambda: [coo(edit=_agreement("ASEAN-China FTA")), phyto()],
        (R.GOODS_NOT_COVERED,),
        (COO_ID,),
    ),
    PreferenceCase(
        "other-hs-code",
        lambda: [coo(edit=_goods("hsCode", "060311")), phyto()],
        (R.GOODS_NOT_COVERED,),
        (COO_ID,),
    ),
    PreferenceCase(
        "other-origin",
        lambda: [coo(edit=_goods("originCountry", "MY")), phyto()],
        (R.GOODS_NOT_COVERED,),
        (COO_ID,),
    ),
    # A phytosanitary certificate is not a certificate of origin, whatever it lists.
    PreferenceCase(
        "only-the-wrong-type", lambda: [phyto(roles=("origin", "plant-protection"))], (R.CERTIFICATE_MISSING,)
    ),
]


@pytest.mark.parametrize("case", PREFERENCE_CASES, ids=str)
def test_ineligible_preference_warns_and_does_not_hold(
    import_rules: ImportRuleSet, case: PreferenceCase
) -> None:
    assessment = assess_import(declaration(), case.certificates(), import_rules)
    assert assessment.preference == PreferenceOutcome(claimed=True, eligible=False, reasons=case.reasons)
    assert assessment.decision is ImportDecision.RELEASED
    assert assessment.reasons == ()
    finding = _rule(assessment, "IMP-PREFERENCE-01")
    assert finding.severity is Severity.WARN
    assert [(s.document_type, s.pointer, s.value) for s in finding.subjects[:2]] == [
        ("customs-declaration", "/body/goodsItems/0/preference/agreement", "RCEP"),
        ("customs-declaration", "/body/goodsItems/1/preference/agreement", "RCEP"),
    ]
    assert tuple(s.document_id for s in finding.subjects[2:]) == case.cited_certificates
    assert all(s.pointer == "/issuer" and s.value == "SG-CUSTOMS" for s in finding.subjects[2:])
    assert Finding.from_dict(finding.to_dict()) == finding


def test_one_item_covered_one_not(import_rules: ImportRuleSet) -> None:
    decl = declaration()
    decl["body"]["goodsItems"][1]["preference"]["agreement"] = "ASEAN-China FTA"
    assessment = assess_import(decl, [coo(), phyto()], import_rules)
    assert assessment.preference == PreferenceOutcome(
        claimed=True, eligible=False, reasons=(R.GOODS_NOT_COVERED,), certificate_ids=(COO_ID,)
    )
    finding = _rule(assessment, "IMP-PREFERENCE-01")
    assert finding.subjects[0].pointer == "/body/goodsItems/1/preference/agreement"
    assert finding.message.startswith("1 of 2 goods items claiming preference are not covered")


def test_only_claiming_items_need_a_certificate(import_rules: ImportRuleSet) -> None:
    decl = declaration()
    del decl["body"]["goodsItems"][1]["preference"]
    decl["body"]["goodsItems"][1]["originCountry"] = "MY"  # not preferential, not on the certificate
    assessment = assess_import(decl, [coo(), phyto()], import_rules)
    assert assessment.preference.eligible is True


def test_a_covering_unrecognised_certificate_explains_better_than_a_recognised_stranger(
    import_rules: ImportRuleSet,
) -> None:
    # The content is checked first: the reason names what would fix the declaration.
    stranger = coo(edit=_agreement("ASEAN-China FTA"), doc_id="aaaa-stranger")
    covering = coo(recognised=False, roles=ORIGIN, reasons=(R.AGREEMENT_SUSPENDED,))
    assessment = assess_import(declaration(), [stranger, covering, phyto()], import_rules)
    assert assessment.preference.reasons == (R.CERTIFICATE_NOT_RECOGNISED, R.AGREEMENT_SUSPENDED)


def test_any_trusted_covering_certificate_suffices(import_rules: ImportRuleSet) -> None:
    unrecognised = coo(recognised=False, reasons=(R.NO_AGREEMENT,), doc_id="aaaa-unrecognised")
    assessment = assess_import(declaration(), [unrecognised, coo(), phyto()], import_rules)
    assert assessment.preference == PreferenceOutcome(True, True, (), (COO_ID,))


# -- (b) plants ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlantCase:
    name: str
    certificates: Callable[[], list[CertificateFact]]
    reasons: tuple[R, ...]
    cited_certificates: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.name


def _commodities_hs(code: str) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        for commodity in document["body"]["consignment"]["commodities"]:
            commodity["hsCode"] = code

    return edit


PLANT_CASES = [
    PlantCase("no-phytosanitary-certificate", lambda: [coo()], (R.CERTIFICATE_MISSING,)),
    PlantCase(
        "not-recognised",
        lambda: [coo(), phyto(recognised=False, roles=(), reasons=(R.AGREEMENT_SUSPENDED,))],
        (R.CERTIFICATE_NOT_RECOGNISED, R.AGREEMENT_SUSPENDED),
        (PHYTO_ID,),
    ),
    PlantCase(
        "not-recognised-without-own-reasons",
        lambda: [coo(), phyto(recognised=False, roles=())],
        (R.CERTIFICATE_NOT_RECOGNISED,),
        (PHYTO_ID,),
    ),
    PlantCase(
        "recognised-issuer-without-role",
        lambda: [coo(), phyto(roles=("customs",))],
        (R.ISSUER_ROLE_MISSING,),
        (PHYTO_ID,),
    ),
    PlantCase(
        "other-commodities",
        lambda: [coo(), phyto(edit=_commodities_hs("060311"))],
        (R.GOODS_NOT_COVERED,),
        (PHYTO_ID,),
    ),
]


@pytest.mark.parametrize("case", PLANT_CASES, ids=str)
def test_plants_without_a_trusted_covering_certificate_are_held(
    import_rules: ImportRuleSet, case: PlantCase
) -> None:
    assessment = assess_import(declaration(), case.certificates(), import_rules)
    assert assessment.decision is ImportDecision.HELD
    assert assessment.reasons == case.reasons
    assert assessment.preference.eligible is True  # the certificate of origin is fine
    finding = _rule(assessment, "IMP-PLANTS-01")
    assert finding.severity is Severity.HOLD
    assert [(s.document_type, s.pointer, s.value) for s in finding.subjects[:2]] == [
        ("customs-declaration", "/body/goodsItems/0/hsCode", "060290"),
        ("customs-declaration", "/body/goodsItems/1/hsCode", "060290"),
    ]
    assert tuple(s.document_id for s in finding.subjects[2:]) == case.cited_certificates


def test_a_certificate_listing_no_hs_codes_covers_the_consignment(import_rules: ImportRuleSet) -> None:
    def without_codes(document: dict[str, Any]) -> None:
        for commodity in document["body"]["consignment"]["commodities"]:
            del commodity["hsCode"]

    assessment = assess_import(declaration(), [coo(), phyto(edit=without_codes)], import_rules)
    assert assessment.decision is ImportDecision.RELEASED


@pytest.mark.parametrize(
    ("hs_code", "plant"),
    [
        ("050100", False),
        ("060290", True),
        ("071010", True),
        ("140490", True),
        ("150100", False),
        ("850440", False),
    ],
)
def test_plants_are_hs_chapters_06_to_14(import_rules: ImportRuleSet, hs_code: str, plant: bool) -> None:
    decl = declaration()
    for item in decl["body"]["goodsItems"]:
        item["hsCode"] = hs_code
        del item["preference"]
    assessment = assess_import(decl, [], import_rules)
    assert assessment.decision is (ImportDecision.HELD if plant else ImportDecision.RELEASED)
    assert assessment.reasons == ((R.CERTIFICATE_MISSING,) if plant else ())


def test_only_the_plant_items_are_cited(import_rules: ImportRuleSet) -> None:
    decl = declaration()
    decl["body"]["goodsItems"][0]["hsCode"] = "850440"
    del decl["body"]["goodsItems"][0]["preference"]
    assessment = assess_import(decl, [coo()], import_rules)
    finding = _rule(assessment, "IMP-PLANTS-01")
    assert [s.pointer for s in finding.subjects] == ["/body/goodsItems/1/hsCode"]


# -- both rules, decision ------------------------------------------------------------------------


def test_both_failing_gives_findings_in_rule_order_and_only_hold_reasons(import_rules: ImportRuleSet) -> None:
    assessment = assess_import(declaration(), [], import_rules)
    assert [f.rule_id for f in assessment.findings] == ["IMP-PREFERENCE-01", "IMP-PLANTS-01"]
    assert assessment.decision is ImportDecision.HELD
    assert assessment.reasons == (R.CERTIFICATE_MISSING,)
    assert assessment.preference.reasons == (R.CERTIFICATE_MISSING,)


def test_certificate_order_does_not_matter(import_rules: ImportRuleSet) -> None:
    certificates = [coo(recognised=False, reasons=(R.NO_AGREEMENT,), doc_id="zzzz"), coo(roles=()), phyto()]
    expected = assess_import(declaration(), certificates, import_rules)
    assert assess_import(declaration(), certificates[::-1], import_rules) == expected


# -- misuse and value invariants -----------------------------------------------------------------


def test_misuse(import_rules: ImportRuleSet) -> None:
    with pytest.raises(ValueError):
        assess_import(fresh("commercial-invoice"), [], import_rules)
    with pytest.raises(ValueError):
        assess_import({**declaration(), "version": "9.0"}, [], import_rules)
    with pytest.raises(TypeError):
        assess_import(declaration(), [fresh("certificate-of-origin")], import_rules)  # type: ignore[list-item]
    with pytest.raises(ValueError):
        assess_import(declaration(), [coo(edit=lambda d: d.update(version="2.0"))], import_rules)
    with pytest.raises(TypeError):
        assess_import(declaration(), [], object())  # type: ignore[arg-type]


def test_value_invariants() -> None:
    with pytest.raises(ValueError):
        PreferenceOutcome(claimed=False, eligible=False)
    with pytest.raises(ValueError):
        PreferenceOutcome(claimed=True, eligible=None)
    with pytest.raises(ValueError):
        PreferenceOutcome(claimed=True, eligible=True, reasons=(R.GOODS_NOT_COVERED,))
    with pytest.raises(ValueError):
        CertificateFact({"type": "certificate-of-origin"}, True)
    with pytest.raises(ValueError):
        CertificateFact(fresh("certificate-of-origin"), True, ("NO_AGREEMENT",))  # type: ignore[arg-type]
    fact = CertificateFact(fresh("certificate-of-origin"), False, [R.NO_AGREEMENT], ["origin"])  # type: ignore[arg-type]
    assert fact.reasons == (R.NO_AGREEMENT,) and fact.issuer_roles == ("origin",)
