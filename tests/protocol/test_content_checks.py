"""Validation profiles: codes by membership of their lists, and the documents' arithmetic.

The issue's example — a declaration with countries ZZ/QQ, HS 999999, currency ABC and unit
ZZZ — signs and verifies VALID under ``syntax`` and is refused under ``standard``, with
the JSON pointer and the list of every unknown code.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from protocol.codelists import INCOTERMS_2020, CodeList, CodeLists
from protocol.content import ContentChecker
from protocol.documents import DocumentSchemas
from protocol.errors import ContentError
from protocol.reason_codes import ReasonCode
from protocol.signed_document import CheckStatus, sign_document, verify_document
from protocol.validation_profile import ValidationProfile

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "documents"


@pytest.fixture(scope="module")
def schemas() -> DocumentSchemas:
    return DocumentSchemas.load()


@pytest.fixture(scope="module")
def checker(schemas) -> ContentChecker:
    return ContentChecker.load(schemas)


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"))


def issue_example(issuer: str = "SG-CUSTOMS") -> dict[str, Any]:
    """The declaration of issue 13: schema-valid, with codes that exist in no list."""
    document = example("customs-declaration")
    document["issuer"] = issuer
    body = document["body"]
    body["exportCountry"], body["destinationCountry"] = "ZZ", "QQ"
    item = body["goodsItems"][0]
    item["hsCode"] = "999999"
    item["customsValue"]["currency"] = "ABC"
    item["quantity"]["unitCode"] = "ZZZ"
    return document


ISSUE_POINTERS = {
    "/body/exportCountry": CodeList.ISO_3166_1,
    "/body/destinationCountry": CodeList.ISO_3166_1,
    "/body/goodsItems/0/hsCode": CodeList.HS_SUBHEADINGS,
    "/body/goodsItems/0/customsValue/currency": CodeList.ISO_4217,
    "/body/goodsItems/0/quantity/unitCode": CodeList.UNECE_REC20,
}


def test_lists_hold_the_codes_the_examples_use_and_not_the_issues() -> None:
    lists = CodeLists.load()
    for code_list, good, bad in [
        (CodeList.ISO_3166_1, "SG", "ZZ"), (CodeList.ISO_3166_1, "CN", "QQ"),
        (CodeList.ISO_4217, "USD", "ABC"), (CodeList.HS_SUBHEADINGS, "060290", "999999"),
        (CodeList.HS_SUBHEADINGS, "852411", "0602"), (CodeList.UNECE_REC20, "KGM", "ZZZ"),
        (CodeList.UNECE_REC20, "C62", "kgm"), (CodeList.INCOTERMS_2020, "FOB", "DAT"),
    ]:
        assert lists.contains(code_list, good), (code_list, good)
        assert not lists.contains(code_list, bad), (code_list, bad)
    assert (lists.minor_unit("USD"), lists.minor_unit("JPY"), lists.minor_unit("KWD"),
            lists.minor_unit("XAU")) == (2, 0, 3, None)


def test_deleted_rec20_units_are_not_members() -> None:
    # "05" (lift) is marked X (deleted) in Recommendation 20 revision 17
    assert not CodeLists.load().contains(CodeList.UNECE_REC20, "05")


def test_issue_example_signs_and_verifies_under_syntax_only(sg, schemas, checker, at) -> None:
    document = issue_example()
    schemas.validate(document)
    jws = sign_document(document, sg.document_signer, signed_at=at)
    lax = verify_document(jws, anchors=[sg.root], at=at, schemas=schemas,
                          profile=ValidationProfile.SYNTAX, content=checker)
    assert lax.valid and lax.checks["codes"] is CheckStatus.DISABLED
    refused = verify_document(jws, anchors=[sg.root], at=at, schemas=schemas, content=checker)
    assert not refused.valid
    assert refused.reasons == [ReasonCode.CODE_UNKNOWN]
    assert refused.checks["codes"] is CheckStatus.INVALID
    assert refused.checks["arithmetic"] is CheckStatus.DISABLED
    for pointer, code_list in ISSUE_POINTERS.items():
        assert any(pointer in m and code_list.value in m for m in refused.messages), pointer
    assert refused.summary()["profile"] == "standard"


def test_issue_example_refused_at_signing_with_every_pointer(checker) -> None:
    with pytest.raises(ContentError) as caught:
        checker.check(issue_example(), ValidationProfile.STANDARD)
    assert caught.value.code is ReasonCode.CODE_UNKNOWN
    assert {pointer for pointer, _text in caught.value.problems} == set(ISSUE_POINTERS)
    checker.check(issue_example(), ValidationProfile.SYNTAX)  # not refused


def test_verify_without_a_checker_uses_the_package_lists(sg, schemas, at) -> None:
    jws = sign_document(issue_example(), sg.document_signer, signed_at=at)
    result = verify_document(jws, anchors=[sg.root], at=at, schemas=schemas)
    assert result.reasons == [ReasonCode.CODE_UNKNOWN]


def test_verify_without_a_checker_locates_coded_fields_once_per_schema_set(
        sg, schemas, at, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each verification used to build a new checker, which walked the schema (copying every
    # referenced schema) for every document: the offline verify pipeline ran at 0.16 of raw
    # Ed25519 instead of 0.4 (bench/verify.py).
    from protocol import content as content_module

    walked: list[str] = []
    original = content_module.code_fields
    monkeypatch.setattr(content_module, "code_fields",
                        lambda schema, resolve: walked.append(schema["$id"]) or original(
                            schema, resolve))
    fresh = DocumentSchemas.load()  # a schema set no test has checked yet
    jws = sign_document(issue_example(), sg.document_signer, signed_at=at)
    for _ in range(3):
        result = verify_document(jws, anchors=[sg.root], at=at, schemas=fresh)
        assert result.reasons == [ReasonCode.CODE_UNKNOWN]
    assert len(walked) == 1 and walked[0].startswith("urn:tradeaccord:schema:customs-declaration:")
    assert content_module.default_checker(fresh) is content_module.default_checker(fresh)
    assert content_module.default_checker(fresh) is not content_module.default_checker(schemas)


def test_content_checks_are_skipped_without_a_valid_schema(sg, schemas, checker, at) -> None:
    document = issue_example()
    document["body"]["colour"] = "red"
    jws = sign_document(document, sg.document_signer, signed_at=at)
    result = verify_document(jws, anchors=[sg.root], at=at, schemas=schemas, content=checker,
                             profile=ValidationProfile.STRICT)
    assert result.reasons == [ReasonCode.SCHEMA_INVALID]
    assert (result.checks["codes"], result.checks["arithmetic"]) == (CheckStatus.SKIPPED,
                                                                    CheckStatus.SKIPPED)


@dataclass(frozen=True)
class CodeCase:
    name: str
    document: str
    pointer: str
    value: str
    code_list: CodeList


CODE_CASES = [
    CodeCase("locode-country", "customs-declaration", "/body/transport/portOfLoading", "ZZSIN",
             CodeList.ISO_3166_1),
    CodeCase("party-country", "commercial-invoice", "/parties/0/country", "XX",
             CodeList.ISO_3166_1),
    CodeCase("invoice-currency", "commercial-invoice", "/body/currency", "XYZ",
             CodeList.ISO_4217),
    CodeCase("certificate-hs", "phytosanitary-certificate",
             "/body/consignment/commodities/0/hsCode", "000000", CodeList.HS_SUBHEADINGS),
    CodeCase("bill-hs", "bill-of-lading", "/body/consignmentItems/0/HSCodes/0", "999999",
             CodeList.HS_SUBHEADINGS),
    CodeCase("payment-currency", "payment-record", "/body/amount/currency", "ABC",
             CodeList.ISO_4217),
]


def _set(document: dict[str, Any], pointer: str, value: Any) -> None:
    *parents, last = pointer.strip("/").split("/")
    node: Any = document
    for step in parents:
        node = node[int(step)] if isinstance(node, list) else node[step]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


@pytest.mark.parametrize("case", CODE_CASES, ids=[c.name for c in CODE_CASES])
def test_unknown_code_names_pointer_and_list(case: CodeCase, schemas, checker) -> None:
    document = example(case.document)
    _set(document, case.pointer, case.value)
    schemas.validate(document)  # the pattern admits it: only membership refuses it
    findings = checker.code_findings(document)
    assert [(f.pointer, f.value, f.code_list) for f in findings] == [
        (case.pointer, case.value, case.code_list)]


def test_ucr_country_part_is_checked(schemas, checker) -> None:
    document = example("customs-declaration")
    document["version"] = "1.1"
    document["body"]["ucr"] = "6ZZ201912345K-0457"
    schemas.validate(document)
    [finding] = checker.code_findings(document)
    assert (finding.pointer, finding.part) == ("/body/ucr", "country part of a UCR")


def test_every_incoterms_enum_is_the_shipped_list(schemas, checker) -> None:
    """The schemas close Incoterms with an enum; the list and the enums cannot drift."""
    incoterms = [(t, v) for t, v in schemas.types()
                 if any(f.code_list is CodeList.INCOTERMS_2020 for f in checker.fields(t, v))]
    assert ("commercial-invoice", "1.0") in incoterms
    assert ("purchase-order", "1.0") in incoterms
    assert ("customs-declaration", "1.1") in incoterms
    assert len(INCOTERMS_2020) == 11


def test_every_document_type_has_coded_fields(schemas, checker) -> None:
    for doc_type, version in schemas.types():
        assert any(f.path == ("parties", None, "country") for f in
                   checker.fields(doc_type, version)), (doc_type, version)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_passes_the_strict_profile(path: Path, checker) -> None:
    checker.check(json.loads(path.read_text("utf-8")), ValidationProfile.STRICT)


def _refused_amounts(checker, document) -> list[tuple[str, str]]:
    with pytest.raises(ContentError) as caught:
        checker.check(document, ValidationProfile.STRICT)
    assert caught.value.code is ReasonCode.AMOUNT_MISMATCH
    return [(p, t) for p, t in caught.value.problems]


def test_invoice_line_amount_must_be_price_times_quantity(checker) -> None:
    document = example("commercial-invoice")
    document["body"]["lineItems"][0]["lineAmount"] += 1
    problems = _refused_amounts(checker, document)
    assert [p for p, _t in problems] == ["/body/lineItems/0/lineAmount", "/body/totalAmount"]
    checker.check(document, ValidationProfile.STANDARD)  # arithmetic is strict only


def test_invoice_total_must_be_the_sum_of_lines(checker) -> None:
    document = example("purchase-order")
    document["body"]["totalAmount"] = document["body"]["totalAmount"] + 0.01
    assert [p for p, _t in _refused_amounts(checker, document)] == ["/body/totalAmount"]


def test_rounding_within_half_a_minor_unit_is_accepted(checker) -> None:
    document = example("commercial-invoice")
    line = document["body"]["lineItems"][0]
    document["body"]["lineItems"] = [line]
    line["unitPrice"], line["quantity"]["value"] = 1.333, 3
    line["lineAmount"] = document["body"]["totalAmount"] = 4.0  # 3.999 rounded to cents
    checker.check(document, ValidationProfile.STRICT)
    document["body"]["currency"] = "KWD"  # three decimals: 4.000 is not 3.999
    assert [p for p, _t in _refused_amounts(checker, document)] == [
        "/body/lineItems/0/lineAmount"]


def test_declaration_masses_and_packages(checker) -> None:
    document = example("customs-declaration")
    item = document["body"]["goodsItems"][0]
    item["netMassKg"] = item["grossMassKg"] + 1
    document["body"]["totalPackages"] += 1
    assert [p for p, _t in _refused_amounts(checker, copy.deepcopy(document))] == [
        "/body/goodsItems/0/netMassKg", "/body/totalPackages"]
    document = example("customs-declaration")
    document["body"]["totalGrossMassKg"] += 1
    assert [p for p, _t in _refused_amounts(checker, document)] == ["/body/totalGrossMassKg"]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_codes_fast_path_finds_what_the_pointer_walk_finds(checker, path: Path) -> None:
    # code_findings checks ``CodeField.codes`` (no pointers) and walks with pointers only
    # when a code fails: both must see the same values, in any order.
    document = json.loads(path.read_text("utf-8"))
    if document.get("type") is None or (document["type"], document.get("version")) not in \
            checker.schemas.types():
        pytest.skip(f"{path.name} is not a document of a loaded type")
    for spot in checker.fields(document["type"], document["version"]):
        walked = sorted(spot.part.of(value) for _pointer, value in spot.values(document))
        assert sorted(spot.codes(document)) == walked, spot
