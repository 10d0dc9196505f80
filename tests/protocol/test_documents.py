"""protocol.documents: the schema set, the shipped examples, both validators and their agreement.

Assertions are on reason codes and JSON pointers, never on message prose.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.documents import DOCUMENT_TYPES, DocumentSchemas
from protocol.errors import SchemaError
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples" / "documents"
SCHEMAS_DIR = ROOT / "protocol" / "schemas"

INVALID = ReasonCode.SCHEMA_INVALID
UNKNOWN = ReasonCode.DOC_TYPE_UNKNOWN

Outcome = tuple[ReasonCode, str] | None


@pytest.fixture(scope="module")
def schemas() -> DocumentSchemas:
    return DocumentSchemas.load()


def _primary_examples() -> list[Path]:
    """One ``<type>.json`` per document type; ``<type>-<version>.json`` files show later
    versions (see ``test_versioned_example_is_valid``)."""
    return [path for path in sorted(EXAMPLES_DIR.glob("*.json"))
            if not re.search(r"-[0-9]+\.[0-9]+$", path.stem)]


@pytest.fixture(scope="module")
def examples() -> dict[str, dict[str, Any]]:
    """The shipped examples, parsed strictly, keyed by their ``type``."""
    loaded: dict[str, dict[str, Any]] = {}
    for path in _primary_examples():
        document = parse_json(path.read_bytes())
        assert path.stem == document["type"], path
        loaded[document["type"]] = document
    return loaded


def outcome(validate: Callable[[Any], None], document: Any) -> Outcome:
    """``None`` if valid, else the (code, pointer) of the SchemaError raised."""
    try:
        validate(document)
    except SchemaError as exc:
        return exc.code, exc.pointer
    return None


# -- JSON-pointer helpers for building variants ------------------------------------------


def _steps(pointer: str) -> list[str | int]:
    steps: list[str | int] = []
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        steps.append(int(token) if token.isdigit() else token)
    return steps


def _parent(document: Any, pointer: str) -> tuple[Any, str | int]:
    *head, last = _steps(pointer)
    node = document
    for step in head:
        node = node[step]
    return node, last


def set_at(pointer: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        node, last = _parent(document, pointer)
        node[last] = value

    return mutate


def delete_at(pointer: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        node, last = _parent(document, pointer)
        del node[last]

    return mutate


def insert_party(**changes: Any) -> Callable[[dict[str, Any]], None]:
    """Insert at index 0 a copy of the first party with ``changes`` applied."""

    def mutate(document: dict[str, Any]) -> None:
        document["parties"].insert(0, {**document["parties"][0], **changes})

    return mutate


def insert_reference(**reference: Any) -> Callable[[dict[str, Any]], None]:
    """Insert ``reference`` at index 0 of ``references`` (created if absent)."""

    def mutate(document: dict[str, Any]) -> None:
        document.setdefault("references", []).insert(0, reference)

    return mutate


def keep_parties_except(role: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        document["parties"] = [p for p in document["parties"] if p["role"] != role]

    return mutate


# -- invalid variants ----------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One invalid document: an example of ``doc_type`` changed by ``mutate``."""

    name: str
    doc_type: str
    mutate: Callable[[dict[str, Any]], None]
    code: ReasonCode
    pointer: str


def bad(doc_type: str, name: str, pointer: str, value: Any) -> Variant:
    """``pointer`` set to an invalid ``value``; the error points there."""
    return Variant(name, doc_type, set_at(pointer, value), INVALID, pointer)


def missing(doc_type: str, name: str, pointer: str) -> Variant:
    """A required member removed; the error points at the object that lacks it."""
    return Variant(name, doc_type, delete_at(pointer), INVALID, pointer.rsplit("/", 1)[0])


def _common_variants(doc_type: str) -> list[Variant]:
    """Header-level violations, the same for every document type."""
    t = doc_type
    bad_sha = insert_reference(id="a1", type="commercial-invoice", sha256="A" * 64)
    bad_ref_type = insert_reference(id="a1", type="packing-list", sha256="a" * 64)
    return [
        bad(t, "unknown-top-level-member", "/colour", "red"),
        bad(t, "unknown-body-member", "/body/colour", "red"),
        Variant("wrong-version", t, set_at("/version", "2.0"), UNKNOWN, "/version"),
        Variant("version-not-string", t, set_at("/version", 1.0), UNKNOWN, "/version"),
        Variant("missing-version", t, delete_at("/version"), UNKNOWN, "/version"),
        Variant("unknown-type", t, set_at("/type", "packing-list"), UNKNOWN, "/type"),
        Variant("missing-type", t, delete_at("/type"), UNKNOWN, "/type"),
        missing(t, "missing-body", "/body"),
        missing(t, "missing-parties", "/parties"),
        missing(t, "missing-issued-at", "/issuedAt"),
        bad(t, "empty-parties", "/parties", []),
        bad(t, "id-with-space", "/id", "doc 1"),
        bad(t, "id-too-long", "/id", "a" * 129),
        bad(t, "issued-at-with-offset", "/issuedAt", "2026-11-20T16:30:00+08:00"),
        bad(t, "issued-at-trailing-newline", "/issuedAt", "2026-11-20T08:30:00Z\n"),
        bad(t, "issuer-lower-case", "/issuer", "sg-customs"),
        Variant("party-role-unknown", t, insert_party(role="friend"), INVALID, "/parties/0/role"),
        bad(t, "party-country-alpha3", "/parties/0/country", "SGP"),
        bad(t, "party-id-without-scheme", "/parties/0/id", "201912345K"),
        bad(t, "party-unknown-member", "/parties/0/nickname", "x"),
        bad(t, "extensions-not-object", "/extensions", []),
        Variant("reference-sha256-upper-case", t, bad_sha, INVALID, "/references/0/sha256"),
        Variant("reference-type-unknown", t, bad_ref_type, INVALID, "/references/0/type"),
    ]


CD, CO, PC = "customs-declaration", "certificate-of-origin", "phytosanitary-certificate"
BL, CI, TD = "bill-of-lading", "commercial-invoice", "transport-document"
PR, DC, PO = "payment-record", "clearance-decision", "purchase-order"
GOODS = "/body/goodsItems"
COMMODITIES = "/body/consignment/commodities"
BOTH_CODES = {"UNLocationCode": "CNSHA", "IATAAirportCode": "PVG"}


def _held_without_reason(document: dict[str, Any]) -> None:
    document["body"]["decision"] = "held"
    del document["body"]["reason"]


def _rejected_without_reason(document: dict[str, Any]) -> None:
    document["body"]["decision"] = "rejected"
    del document["body"]["reason"]


FINDING: dict[str, Any] = {
    "ruleId": "REC-VALUE-01",
    "ruleVersion": "1.0",
    "title": "Declared customs value equals the invoice total",
    "severity": "hold",
    "message": "The declared customs value 21000 USD differs from the invoice total 21960 USD.",
    "subjects": [
        {"documentId": "1695026b-637f-402b-971a-0d26b35e494f", "documentType": CD,
         "pointer": "/body/goodsItems", "value": 21000, "note": "sum of /customsValue/amount"},
        {"documentId": "f60af4cb-0165-44a1-b763-577fcdf8ce87", "documentType": CI,
         "pointer": "/body/totalAmount", "value": 21960},
    ],
}
"""A valid clearance-decision 1.1 finding."""


def with_finding(**changes: Any) -> Callable[[dict[str, Any]], None]:
    """``findings`` set to one copy of FINDING with ``changes`` applied (``subject`` changes
    the first subject; a value of None deletes the member)."""

    def mutate(document: dict[str, Any]) -> None:
        finding = copy.deepcopy(FINDING)
        for name, value in changes.items():
            if name != "subject":
                finding[name] = value
        subject_changes: dict[str, Any] = changes.get("subject", {})
        for name, value in subject_changes.items():
            if value is None:
                del finding["subjects"][0][name]
            else:
                finding["subjects"][0][name] = value
        document["body"]["findings"] = [finding]

    return mutate


_SPECIFIC: list[Variant] = [
    # customs-declaration
    missing(CD, "missing-declaration-office", "/body/declarationOffice"),
    missing(CD, "missing-goods-item-hs-code", f"{GOODS}/0/hsCode"),
    bad(CD, "hs-code-with-dot", f"{GOODS}/1/hsCode", "0602.90"),
    bad(CD, "currency-lower-case", f"{GOODS}/0/customsValue/currency", "usd"),
    bad(CD, "currency-trailing-newline", f"{GOODS}/0/customsValue/currency", "USD\n"),
    bad(CD, "unlocode-digit-1", "/body/transport/portOfLoading", "SGSI1"),
    bad(CD, "declaration-type-unknown", "/body/declarationType", "transit"),
    bad(CD, "negative-customs-value", f"{GOODS}/0/customsValue/amount", -1),
    bad(CD, "amount-as-string", f"{GOODS}/0/customsValue/amount", "15360.00"),
    bad(CD, "sequence-zero", f"{GOODS}/0/sequence", 0),
    bad(CD, "no-goods-items", GOODS, []),
    Variant("no-declarant", CD, keep_parties_except("declarant"), INVALID, "/parties"),
    # customs-declaration 1.1 members
    bad(CD, "ucr-lower-case", "/body/ucr", "6sg201912345K-0457"),
    bad(CD, "ucr-without-year-digit", "/body/ucr", "SG201912345K-0457"),
    bad(CD, "ucr-too-long", "/body/ucr", "6SG" + "X" * 33),
    bad(CD, "function-code-unknown", "/body/functionCode", "replacement"),
    bad(CD, "transport-document-type-unknown", "/body/transport/transportDocument/typeCode", "BOL"),
    missing(CD, "transport-document-without-number", "/body/transport/transportDocument/number"),
    bad(CD, "transport-document-unknown-member", "/body/transport/transportDocument/date", "x"),
    bad(CD, "declaration-incoterm-2010-only", "/body/incoterms/code", "DDU"),
    missing(CD, "incoterms-without-place", "/body/incoterms/place"),
    bad(CD, "invoice-amount-currency-lower-case", "/body/invoiceAmount/currency", "usd"),
    bad(CD, "invoice-amount-negative", "/body/invoiceAmount/amount", -21960),
    bad(CD, "preference-agreement-leading-space", f"{GOODS}/0/preference/agreement", " RCEP"),
    bad(CD, "preference-unknown-member", f"{GOODS}/1/preference/eligible", True),
    missing(CD, "preference-without-agreement", f"{GOODS}/0/preference/agreement"),
    # certificate-of-origin
    missing(CO, "missing-certificate-number", "/body/certificateNumber"),
    bad(CO, "hs-code-five-digits", f"{GOODS}/0/hsCode", "60290"),
    bad(CO, "hs-code-fullwidth-digits", f"{GOODS}/0/hsCode", "\uff10\uff16\uff10\uff12\uff19\uff10"),
    bad(CO, "unlocode-lower-case", "/body/transport/portOfDischarge", "cnsha"),
    bad(CO, "origin-criterion-unknown", f"{GOODS}/1/originCriterion", "XX"),
    bad(CO, "certification-date-invalid-month", "/body/certificationDate", "2026-13-01"),
    Variant("no-exporter", CO, keep_parties_except("exporter"), INVALID, "/parties"),
    # phytosanitary-certificate
    missing(PC, "missing-consignment", "/body/consignment"),
    missing(PC, "missing-botanical-name", f"{COMMODITIES}/1/botanicalName"),
    bad(PC, "hs-code-letters", f"{COMMODITIES}/0/hsCode", "06029A"),
    bad(PC, "point-of-entry-iata", "/body/consignment/declaredPointOfEntry", "PVG"),
    bad(PC, "treatment-type-unknown", "/body/consignment/treatments/0/type", "prayer"),
    bad(PC, "unit-code-lower-case", f"{COMMODITIES}/0/quantity/unitCode", "c62"),
    bad(PC, "zero-quantity", f"{COMMODITIES}/0/quantity/value", 0),
    Variant("no-consignor", PC, keep_parties_except("consignor"), INVALID, "/parties"),
    # bill-of-lading
    missing(BL, "missing-transport-document-reference", "/body/transportDocumentReference"),
    missing(BL, "shipped-on-board-without-date", "/body/shippedOnBoardDate"),
    bad(BL, "hs-code-in-list", "/body/consignmentItems/0/HSCodes/0", "0602"),
    bad(BL, "unlocode-too-long", "/body/transports/portOfLoading/UNLocationCode", "SGSINX"),
    bad(BL, "not-electronic", "/body/isElectronic", False),
    bad(BL, "sea-waybill", "/body/transportDocumentTypeCode", "SWB"),
    bad(BL, "weight-unit-unknown", "/body/consignmentItems/0/cargoItems/0/cargoGrossWeight/unit", "TNE"),
    bad(
        BL,
        "container-number-malformed",
        "/body/utilizedTransportEquipments/0/equipment/equipmentReference",
        "SMLX4826132",
    ),
    bad(BL, "freight-term-unknown", "/body/freightPaymentTermCode", "PREPAID"),
    bad(BL, "description-line-too-long", "/body/consignmentItems/0/descriptionOfGoods/0", "X" * 36),
    Variant("no-carrier", BL, keep_parties_except("carrier"), INVALID, "/parties"),
    # commercial-invoice
    missing(CI, "missing-total-amount", "/body/totalAmount"),
    bad(CI, "hs-code-ten-digits", "/body/lineItems/0/hsCode", "0602909000"),
    bad(CI, "currency-numeric", "/body/currency", "840"),
    bad(CI, "unlocode-with-space", "/body/incoterms/UNLocationCode", "SG SIN"),
    bad(CI, "incoterm-2010-only", "/body/incoterms/code", "DAT"),
    bad(CI, "line-number-not-integer", "/body/lineItems/1/lineNumber", 1.5),
    Variant("no-buyer", CI, keep_parties_except("buyer"), INVALID, "/parties"),
    # transport-document
    missing(TD, "missing-document-number", "/body/documentNumber"),
    bad(TD, "hs-code-in-transport-list", "/body/HSCodes/0", "0602 90"),
    bad(TD, "unlocode-four-letters", "/body/destination/UNLocationCode", "CNSZ"),
    bad(TD, "place-with-both-codes", "/body/departure", BOTH_CODES),
    bad(TD, "place-empty", "/body/departure", {}),
    bad(TD, "document-type-sea", "/body/documentTypeCode", "sea-waybill"),
    bad(TD, "pieces-zero", "/body/numberOfPieces", 0),
    # payment-record
    missing(PR, "missing-payment-date", "/body/paymentDate"),
    bad(PR, "currency-too-long", "/body/amount/currency", "USDT"),
    bad(PR, "bic-with-letter-o-location", "/body/payeeBank/bic", "LSBKSGSO"),
    bad(PR, "bic-nine-characters", "/body/payerBank/bic", "PDHCCNSHX"),
    bad(PR, "method-unknown", "/body/method", "cash"),
    bad(PR, "status-unknown", "/body/status", "paid"),
    Variant("no-payee", PR, keep_parties_except("payee"), INVALID, "/parties"),
    # clearance-decision
    missing(DC, "missing-declaration-id", "/body/declarationId"),
    missing(DC, "references-missing", "/references"),
    bad(DC, "duty-currency-lower-case", "/body/dutiesAndTaxes/0/currency", "sgd"),
    bad(DC, "decision-unknown", "/body/decision", "approved"),
    Variant("conditions-missing", DC, set_at("/body/decision", "released-with-conditions"), INVALID, "/body"),
    Variant("held-without-reason", DC, _held_without_reason, INVALID, "/body"),
    bad(DC, "decided-at-date-only", "/body/decidedAt", "2026-11-20"),
    bad(DC, "customs-office-lower-case", "/body/customsOffice", "sgppt001"),
    Variant(
        "declaration-not-referenced",
        DC,
        set_at("/references/0/type", "commercial-invoice"),
        INVALID,
        "/references",
    ),
    # clearance-decision 1.1 members
    bad(DC, "refused-is-1.0-only", "/body/decision", "refused"),
    Variant("rejected-without-reason", DC, _rejected_without_reason, INVALID, "/body"),
    Variant("reason-code-lower-case", DC, set_at("/body/reasons", ["RECONCILIATION_MISMATCH", "held"]),
            INVALID, "/body/reasons/1"),
    bad(DC, "reasons-too-many", "/body/reasons", ["RECONCILIATION_MISMATCH"] * 65),
    bad(DC, "decided-by-unknown", "/body/decidedBy", "robot"),
    bad(DC, "decision-ucr-malformed", "/body/ucr", "SG-0457"),
    bad(DC, "related-decision-id-with-space", "/body/relatedDecisionId", "export decision"),
    Variant("preference-eligible-string", DC,
            set_at("/body/preference", {"claimed": True, "eligible": "yes", "reasons": []}),
            INVALID, "/body/preference/eligible"),
    bad(DC, "preference-without-reasons", "/body/preference", {"claimed": False, "eligible": None}),
    Variant("finding-rule-id-lower-case", DC, with_finding(ruleId="rec-value-01"), INVALID,
            "/body/findings/0/ruleId"),
    Variant("finding-rule-version-one-part", DC, with_finding(ruleVersion="1"), INVALID,
            "/body/findings/0/ruleVersion"),
    Variant("finding-severity-unknown", DC, with_finding(severity="fatal"), INVALID,
            "/body/findings/0/severity"),
    Variant("finding-without-subjects", DC, with_finding(subjects=[]), INVALID,
            "/body/findings/0/subjects"),
    Variant("finding-unknown-member", DC, with_finding(extra=1), INVALID,
            "/body/findings/0/extra"),
    Variant("subject-pointer-relative", DC, with_finding(subject={"pointer": "body/total"}),
            INVALID, "/body/findings/0/subjects/0/pointer"),
    Variant("subject-pointer-bad-escape", DC, with_finding(subject={"pointer": "/a~2"}),
            INVALID, "/body/findings/0/subjects/0/pointer"),
    Variant("subject-without-value", DC, with_finding(subject={"value": None}), INVALID,
            "/body/findings/0/subjects/0"),
    Variant("subject-document-type-unknown", DC,
            with_finding(subject={"documentType": "packing-list"}), INVALID,
            "/body/findings/0/subjects/0/documentType"),
    Variant("findings-too-many", DC, set_at("/body/findings", [FINDING] * 201), INVALID,
            "/body/findings"),
    # purchase-order
    missing(PO, "missing-order-number", "/body/orderNumber"),
    missing(PO, "missing-line-unit-price", "/body/lineItems/1/unitPrice"),
    bad(PO, "order-hs-code-with-dot", "/body/lineItems/0/hsCode", "0602.90"),
    bad(PO, "order-currency-lower-case", "/body/currency", "usd"),
    bad(PO, "order-without-lines", "/body/lineItems", []),
    bad(PO, "order-incoterm-2010-only", "/body/incoterms/code", "DAT"),
    bad(PO, "requested-delivery-not-a-date", "/body/requestedDeliveryDate", "end of November"),
    bad(PO, "payment-method-unknown", "/body/paymentTerms/method", "barter"),
    Variant("no-seller", PO, keep_parties_except("seller"), INVALID, "/parties"),
    Variant("no-buyer", PO, keep_parties_except("buyer"), INVALID, "/parties"),
]

VARIANTS: list[Variant] = [v for t in DOCUMENT_TYPES for v in _common_variants(t)] + _SPECIFIC


def _variant_id(variant: Variant) -> str:
    return f"{variant.doc_type}:{variant.name}"


def _build(examples: dict[str, dict[str, Any]], variant: Variant) -> dict[str, Any]:
    document = copy.deepcopy(examples[variant.doc_type])
    variant.mutate(document)
    return document


# -- the shipped examples ------------------------------------------------------------------


def test_one_example_per_document_type(examples: dict[str, dict[str, Any]]) -> None:
    assert sorted(examples) == sorted(DOCUMENT_TYPES)
    assert len(_primary_examples()) == len(DOCUMENT_TYPES)


def test_versioned_examples_are_valid(schemas: DocumentSchemas) -> None:
    """An example of another version than the primary one is named ``<type>-<version>``
    (there may be none)."""
    for path in sorted(EXAMPLES_DIR.glob("*.json")):
        if path in _primary_examples():
            continue
        document = parse_json(path.read_bytes())
        assert path.stem == f"{document['type']}-{document['version']}"
        schemas.validate(document)
        schemas.validate_reference(document)


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_example_is_valid_under_both_validators(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]], doc_type: str
) -> None:
    document = examples[doc_type]
    schemas.validate(document)
    schemas.validate_reference(document)


def test_example_references_name_the_other_examples(examples: dict[str, dict[str, Any]]) -> None:
    by_id = {document["id"]: document for document in examples.values()}
    seen = 0
    for document in examples.values():
        for reference in document.get("references", []):
            assert reference["id"] in by_id, (document["type"], reference)
            assert by_id[reference["id"]]["type"] == reference["type"]
            seen += 1
    assert seen >= 7
    decision = examples["clearance-decision"]["body"]
    assert decision["declarationId"] == examples["customs-declaration"]["id"]


def test_examples_describe_one_shipment(examples: dict[str, dict[str, Any]]) -> None:
    invoice = examples["commercial-invoice"]["body"]
    invoice_ref = {"invoiceNumber": invoice["invoiceNumber"], "invoiceDate": invoice["invoiceDate"]}
    assert examples["customs-declaration"]["body"]["invoiceReference"] == invoice_ref
    assert examples["certificate-of-origin"]["body"]["invoice"] == invoice_ref
    assert examples["payment-record"]["body"]["invoiceReference"] == invoice_ref
    assert examples["payment-record"]["body"]["amount"] == {
        "amount": invoice["totalAmount"],
        "currency": invoice["currency"],
    }
    quantities = [line["quantity"] for line in invoice["lineItems"]]
    hs_codes = {line["hsCode"] for line in invoice["lineItems"]}
    declaration = examples["customs-declaration"]["body"]["goodsItems"]
    origin = examples["certificate-of-origin"]["body"]["goodsItems"]
    phyto = examples["phytosanitary-certificate"]["body"]["consignment"]["commodities"]
    for items in (declaration, origin, phyto):
        assert [item["quantity"] for item in items] == quantities
        assert {item["hsCode"] for item in items} == hs_codes
    bill = examples["bill-of-lading"]["body"]
    assert {code for item in bill["consignmentItems"] for code in item["HSCodes"]} == hs_codes
    gross = [c["cargoGrossWeight"]["value"] for i in bill["consignmentItems"] for c in i["cargoItems"]]
    assert gross == [item["grossMassKg"] for item in declaration]


# -- minor versions: 1.1 beside 1.0 --------------------------------------------------------

DECLARATION_1_1_BODY = ("ucr", "functionCode", "invoiceAmount", "incoterms")


def _declaration_1_0(examples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The example declaration without the members 1.1 added, at version 1.0."""
    document = copy.deepcopy(examples[CD])
    document["version"] = "1.0"
    for name in DECLARATION_1_1_BODY:
        del document["body"][name]
    del document["body"]["transport"]["transportDocument"]
    for item in document["body"]["goodsItems"]:
        del item["preference"]
    return document


def test_declaration_1_0_stays_valid_and_is_valid_as_1_1(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]]
) -> None:
    document = _declaration_1_0(examples)
    assert outcome(schemas.validate, document) is None
    assert outcome(schemas.validate_reference, document) is None
    document["version"] = "1.1"  # 1.1 only adds optional members
    assert outcome(schemas.validate, document) is None
    assert outcome(schemas.validate_reference, document) is None


@pytest.mark.parametrize("member", [*DECLARATION_1_1_BODY, "transport", "goodsItems"])
def test_declaration_1_0_refuses_the_1_1_members(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]], member: str
) -> None:
    document = _declaration_1_0(examples)
    source = examples[CD]["body"]
    if member == "transport":
        document["body"]["transport"]["transportDocument"] = source["transport"]["transportDocument"]
        pointer = "/body/transport/transportDocument"
    elif member == "goodsItems":
        document["body"]["goodsItems"][1]["preference"] = {"agreement": "RCEP"}
        pointer = f"{GOODS}/1/preference"
    else:
        document["body"][member] = source[member]
        pointer = f"/body/{member}"
    assert outcome(schemas.validate, document) == (INVALID, pointer)
    assert outcome(schemas.validate_reference, document) == (INVALID, pointer)


def test_clearance_decision_1_0_stays_valid_with_refused(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]]
) -> None:
    document = copy.deepcopy(examples[DC])
    document["version"] = "1.0"
    for name in ("reasons", "findings", "decidedBy", "ucr"):
        del document["body"][name]
    document["body"]["decision"] = "refused"
    assert outcome(schemas.validate, document) is None
    assert outcome(schemas.validate_reference, document) is None
    document["body"]["decision"] = "rejected"  # the 1.1 word
    assert outcome(schemas.validate, document) == (INVALID, "/body/decision")
    assert outcome(schemas.validate_reference, document) == (INVALID, "/body/decision")


def test_clearance_decision_1_1_with_findings_and_preference(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]]
) -> None:
    document = copy.deepcopy(examples[DC])
    body = document["body"]
    body.update(procedure="import-clearance", decision="held", decidedBy="officer",
                reasons=["RECONCILIATION_MISMATCH", "CERTIFICATE_MISSING"],
                relatedDecisionId="435d1ec3-7f25-4c39-a288-03e1e67eed09",
                preference={"claimed": True, "eligible": False, "reasons": ["GOODS_NOT_COVERED"]})
    finding = copy.deepcopy(FINDING)
    finding["severity"] = "warn"
    finding["subjects"].append({"documentId": "x-1", "documentType": PO, "pointer": "",
                                "value": None})
    finding["subjects"].append({"documentId": "x-2", "documentType": PO,
                                "pointer": "/body/a~1b/~0c/0", "value": {"any": ["json", 1]}})
    body["findings"] = [FINDING, finding]
    for preference in ({"claimed": False, "eligible": None, "reasons": []},
                       {"claimed": True, "eligible": True, "reasons": []}):
        body["preference"] = preference
        assert outcome(schemas.validate, document) is None
        assert outcome(schemas.validate_reference, document) is None


def test_ucr_and_agreement_patterns_match_their_sources() -> None:
    declaration = json.loads((SCHEMAS_DIR / "customs-declaration-1.1.schema.json").read_text("utf-8"))
    decision = json.loads((SCHEMAS_DIR / "clearance-decision-1.1.schema.json").read_text("utf-8"))
    origin = json.loads((SCHEMAS_DIR / "certificate-of-origin-1.0.schema.json").read_text("utf-8"))
    assert declaration["$defs"]["ucr"]["pattern"] == decision["$defs"]["ucr"]["pattern"]
    assert declaration["$defs"]["agreement"]["pattern"] == (
        origin["properties"]["body"]["properties"]["agreement"]["pattern"])


# -- invalid variants ----------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS, ids=_variant_id)
def test_invalid_variant_fast(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]], variant: Variant
) -> None:
    assert outcome(schemas.validate, _build(examples, variant)) == (variant.code, variant.pointer)


@pytest.mark.parametrize("variant", VARIANTS, ids=_variant_id)
def test_invalid_variant_reference(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]], variant: Variant
) -> None:
    document = _build(examples, variant)
    assert outcome(schemas.validate_reference, document) == (variant.code, variant.pointer)


def test_every_type_has_the_core_invalid_variants() -> None:
    names = {(v.doc_type, v.name) for v in VARIANTS}
    for doc_type in DOCUMENT_TYPES:
        specific = [v for v in _SPECIFIC if v.doc_type == doc_type]
        assert any(v.pointer == "/body" for v in specific), f"{doc_type}: no missing body field"
        assert (doc_type, "unknown-top-level-member") in names
        assert (doc_type, "unknown-body-member") in names
        assert (doc_type, "wrong-version") in names
        assert (doc_type, "unknown-type") in names


@pytest.mark.parametrize("document", [[], [{"type": "commercial-invoice"}], "doc", 7, None, True])
def test_non_object_document_is_schema_invalid_at_root(
    schemas: DocumentSchemas, document: Any
) -> None:
    assert outcome(schemas.validate, document) == (INVALID, "")
    assert outcome(schemas.validate_reference, document) == (INVALID, "")


def test_type_not_a_string_is_unknown(schemas: DocumentSchemas) -> None:
    for value in (["commercial-invoice"], None, 1, {"name": "x"}):
        document = {"type": value, "version": "1.0"}
        assert outcome(schemas.validate, document) == (UNKNOWN, "/type")
        assert outcome(schemas.validate_reference, document) == (UNKNOWN, "/type")


def test_unknown_member_pointer_escapes_rfc6901(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]]
) -> None:
    document = copy.deepcopy(examples["commercial-invoice"])
    document["body"]["a/b~c"] = 1
    expected = (INVALID, "/body/a~1b~0c")
    assert outcome(schemas.validate, document) == expected
    assert outcome(schemas.validate_reference, document) == expected


def test_first_unknown_member_in_document_order(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]]
) -> None:
    document = copy.deepcopy(examples["payment-record"])
    document["body"]["zeta"] = 1
    document["body"]["alpha"] = 2
    assert outcome(schemas.validate, document) == (INVALID, "/body/zeta")
    assert outcome(schemas.validate_reference, document) == (INVALID, "/body/zeta")


def test_extensions_are_free_form(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]]
) -> None:
    document = copy.deepcopy(examples["customs-declaration"])
    document["extensions"] = {"SG": {"tradenetPermitNo": "AB12345678", "nested": [1, {"x": None}]}}
    schemas.validate(document)
    schemas.validate_reference(document)


def test_error_carries_keyword_and_schema_id(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]]
) -> None:
    document = copy.deepcopy(examples["customs-declaration"])
    document["body"]["goodsItems"][0]["hsCode"] = "1234"
    for validate in (schemas.validate, schemas.validate_reference):
        with pytest.raises(SchemaError) as caught:
            validate(document)
        assert caught.value.context["keyword"] == "pattern"
        assert caught.value.context["schema"] == "urn:tradeaccord:schema:customs-declaration:1.1"


def test_foreign_validation_errors_are_translated_and_chained(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]]
) -> None:
    document = copy.deepcopy(examples["commercial-invoice"])
    document["body"]["currency"] = "usd"
    with pytest.raises(SchemaError) as fast:
        schemas.validate(document)
    assert isinstance(fast.value.__cause__, jsonschema_rs.ValidationError)
    with pytest.raises(SchemaError) as reference:
        schemas.validate_reference(document)
    assert isinstance(reference.value.__cause__, jsonschema.ValidationError)


# -- differential: the fast path agrees with the reference ----------------------------------


def test_validators_agree_on_examples_and_variants(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]]
) -> None:
    documents = list(examples.values()) + [_build(examples, v) for v in VARIANTS]
    for document in documents:
        assert outcome(schemas.validate, document) == outcome(schemas.validate_reference, document)


def _locations(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _locations(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _locations(child, (*path, index))


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _mutate_string(text: str, how: str, char: str) -> str:
    if how == "append":
        return text + char
    if how == "prepend":
        return char + text
    if how == "drop-last":
        return text[:-1]
    return text.swapcase()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_validators_agree_on_random_mutations(
    schemas: DocumentSchemas, examples: dict[str, dict[str, Any]], data: st.DataObject
) -> None:
    document = copy.deepcopy(examples[data.draw(st.sampled_from(DOCUMENT_TYPES))])
    path = data.draw(st.sampled_from(list(_locations(document))[1:]))
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    current = parent[last]
    action = data.draw(st.sampled_from(["replace", "delete", "add-member", "edit-string"]))
    if action == "replace":
        parent[last] = data.draw(_json_values)
    elif action == "delete":
        del parent[last]
    elif action == "add-member" and isinstance(current, dict):
        current[data.draw(st.text(max_size=8))] = data.draw(_json_scalars)
    elif isinstance(current, str):
        how = data.draw(st.sampled_from(["append", "prepend", "drop-last", "swapcase"]))
        char = data.draw(st.sampled_from(["\n", " ", "x", "X", "0", "9", "é", "-", "."]))
        parent[last] = _mutate_string(current, how, char)
    fast = outcome(schemas.validate, document)
    reference = outcome(schemas.validate_reference, document)
    assert (fast is None) == (reference is None), (path, fast, reference)
    if fast is not None and reference is not None:
        assert fast[0] == reference[0]


# -- the schema set ------------------------------------------------------------------------


def test_default_load_has_every_type_at_1_0_and_the_1_1_versions(schemas: DocumentSchemas) -> None:
    minor = {"customs-declaration": ["1.0", "1.1"], "clearance-decision": ["1.0", "1.1"],
             "bill-of-lading": ["1.0", "1.1"]}
    assert schemas.types() == [
        (doc_type, version) for doc_type in DOCUMENT_TYPES for version in minor.get(doc_type, ["1.0"])
    ]


def test_schema_returns_a_copy(schemas: DocumentSchemas) -> None:
    raw = schemas.schema("commercial-invoice", "1.0")
    assert raw["$id"] == "urn:tradeaccord:schema:commercial-invoice:1.0"
    raw["properties"]["body"]["additionalProperties"] = True
    assert schemas.schema("commercial-invoice", "1.0")["properties"]["body"][
        "additionalProperties"
    ] is False


@pytest.mark.parametrize(
    ("doc_type", "version", "pointer"),
    [("packing-list", "1.0", "/type"), ("commercial-invoice", "9.9", "/version")],
)
def test_schema_of_unknown_type_or_version(
    schemas: DocumentSchemas, doc_type: str, version: str, pointer: str
) -> None:
    with pytest.raises(SchemaError) as caught:
        schemas.schema(doc_type, version)
    assert (caught.value.code, caught.value.pointer) == (UNKNOWN, pointer)


def test_header_document_type_enum_matches_document_types() -> None:
    header = json.loads((SCHEMAS_DIR / "header-1.0.schema.json").read_text("utf-8"))
    assert tuple(header["$defs"]["documentType"]["enum"]) == DOCUMENT_TYPES


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


@pytest.mark.parametrize("path", sorted(SCHEMAS_DIR.glob("*.schema.json")), ids=lambda p: p.name)
def test_schema_file_conventions(path: Path) -> None:
    schema = parse_json(path.read_bytes())
    name, version = path.name.removesuffix(".schema.json").rsplit("-", 1)
    assert schema["$id"] == f"urn:tradeaccord:schema:{name}:{version}"
    assert "http" not in json.dumps({k: v for k, v in schema.items() if k != "$schema"})
    for pattern in _patterns(schema):
        # Anchored, and no shorthand classes whose meaning differs between regex engines.
        assert pattern.startswith("^") and pattern.endswith("$"), pattern
        assert not re.search(r"\\[dDwWsSbB]", pattern), pattern
    if name in DOCUMENT_TYPES:
        assert schema["properties"]["type"] == {"const": name}
        assert schema["properties"]["version"] == {"const": version}
        assert schema["additionalProperties"] is False
        assert schema["properties"]["body"]["additionalProperties"] is False


# -- loading -------------------------------------------------------------------------------


def _copy_schemas(target: Path, names: list[str]) -> None:
    for name in names:
        shutil.copy(SCHEMAS_DIR / f"{name}-1.0.schema.json", target)


def test_load_from_a_partial_directory(tmp_path: Path, examples: dict[str, dict[str, Any]]) -> None:
    _copy_schemas(tmp_path, ["header", "commercial-invoice"])
    partial = DocumentSchemas.load(tmp_path)
    assert partial.types() == [("commercial-invoice", "1.0")]
    partial.validate(examples["commercial-invoice"])
    assert outcome(partial.validate, examples["bill-of-lading"]) == (UNKNOWN, "/type")


def test_load_refuses_an_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no"):
        DocumentSchemas.load(tmp_path)


def test_load_refuses_missing_header(tmp_path: Path) -> None:
    _copy_schemas(tmp_path, ["commercial-invoice"])
    with pytest.raises(ValueError, match=re.escape("urn:tradeaccord:schema:header:1.0")):
        DocumentSchemas.load(tmp_path)


def test_load_refuses_remote_ref(tmp_path: Path) -> None:
    _copy_schemas(tmp_path, ["header"])
    schema = json.loads((SCHEMAS_DIR / "payment-record-1.0.schema.json").read_text("utf-8"))
    schema["properties"]["body"]["properties"]["paymentReference"] = {
        "$ref": "https://schemas.example.com/reference.json"
    }
    (tmp_path / "payment-record-1.0.schema.json").write_text(json.dumps(schema), "utf-8")
    with pytest.raises(ValueError, match=re.escape("schemas.example.com")):
        DocumentSchemas.load(tmp_path)


def test_load_refuses_file_name_not_matching_id(tmp_path: Path) -> None:
    _copy_schemas(tmp_path, ["header"])
    shutil.copy(
        SCHEMAS_DIR / "payment-record-1.0.schema.json", tmp_path / "payment-record-1.1.schema.json"
    )
    with pytest.raises(ValueError, match=re.escape("payment-record-1.1")):
        DocumentSchemas.load(tmp_path)


def test_load_refuses_schema_violating_the_meta_schema(tmp_path: Path) -> None:
    _copy_schemas(tmp_path, ["header"])
    schema = json.loads((SCHEMAS_DIR / "payment-record-1.0.schema.json").read_text("utf-8"))
    schema["properties"]["body"]["required"] = "paymentReference"
    (tmp_path / "payment-record-1.0.schema.json").write_text(json.dumps(schema), "utf-8")
    with pytest.raises(ValueError, match="meta-schema"):
        DocumentSchemas.load(tmp_path)


def test_load_refuses_unknown_document_type(tmp_path: Path) -> None:
    _copy_schemas(tmp_path, ["header"])
    schema = json.loads((SCHEMAS_DIR / "payment-record-1.0.schema.json").read_text("utf-8"))
    schema["$id"] = "urn:tradeaccord:schema:packing-list:1.0"
    schema["properties"]["type"] = {"const": "packing-list"}
    (tmp_path / "packing-list-1.0.schema.json").write_text(json.dumps(schema), "utf-8")
    with pytest.raises(ValueError, match="packing-list"):
        DocumentSchemas.load(tmp_path)


@pytest.mark.parametrize("path", sorted(SCHEMAS_DIR.glob("*.schema.json")), ids=lambda p: p.name)
def test_shipped_schemas_meet_the_meta_schema(path: Path) -> None:
    # DocumentSchemas.load checks a given directory against the meta-schema; the package's
    # own files are checked here instead of at every node start.
    jsonschema.Draft202012Validator.check_schema(parse_json(path.read_bytes()))
