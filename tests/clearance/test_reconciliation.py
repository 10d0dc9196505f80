"""Export reconciliation: the clean package, every shipped rule firing, exact arithmetic, misuse."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from clearance import Finding, RuleSet, Severity, reconcile
from protocol.canonical import canonicalize, require_readable_numbers
from tests.clearance.conftest import Package, air_package, fresh, sea_package

EXPORTER = "SG-UEN-201912345K"
BUYER = "CN-USCC-91310000MA1FL5ABCD"
OTHER = "SG-UEN-199900001A"
DECL = "customs-declaration"
INV = "commercial-invoice"
PO = "purchase-order"
BL = "bill-of-lading"
TD = "transport-document"
PAY = "payment-record"


def documents(package: Package) -> list[dict[str, Any]]:
    return list(package.values())


def _parent(document: dict[str, Any], pointer: str) -> tuple[Any, str]:
    tokens = pointer[1:].split("/")
    node: Any = document
    for token in tokens[:-1]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node, tokens[-1]


def put(document: dict[str, Any], pointer: str, value: Any) -> None:
    node, last = _parent(document, pointer)
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def drop(document: dict[str, Any], pointer: str) -> None:
    node, last = _parent(document, pointer)
    del node[int(last) if isinstance(node, list) else last]


def by_rule(findings: tuple[Finding, ...]) -> dict[str, Finding]:
    result = {f.rule_id: f for f in findings}
    assert len(result) == len(findings), "one finding per rule expected here"
    return result


# -- the clean packages ----------------------------------------------------------------------


def test_clean_sea_package_has_no_finding(rules: RuleSet) -> None:
    assert reconcile(documents(sea_package()), rules) == ()


def test_clean_air_package_has_no_finding(rules: RuleSet) -> None:
    assert reconcile(documents(air_package()), rules) == ()


def test_certificates_and_other_types_in_the_package_are_ignored(rules: RuleSet) -> None:
    package = documents(sea_package())
    package += [fresh("certificate-of-origin"), fresh("phytosanitary-certificate")]
    assert reconcile(package, rules) == ()


def test_a_declaration_without_transport_document_reads_both_kinds(rules: RuleSet) -> None:
    # A 1.0-style declaration names no transport document: the rules for both kinds apply,
    # and the on-carriage consignment note in China does not match the export.
    package = sea_package()
    drop(package[DECL], "/body/transport/transportDocument")
    fired = [f.rule_id for f in reconcile(documents(package), rules)]
    assert fired == ["REC-PARTY-09", "REC-TRANSPORT-07", "REC-TRANSPORT-08", "REC-DATE-07"]


# -- every rule fires --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    rule_id: str
    mutate: Callable[[Package], None]
    subjects: list[tuple[str, str, Any]]  # (document type, pointer, value) in order
    kind: str = "sea"
    also: frozenset[str] = field(default=frozenset())  # other rules the edit trips

    def __str__(self) -> str:
        return self.rule_id


def _edit(key: str, pointer: str, value: Any) -> Callable[[Package], None]:
    return lambda package: put(package[key], pointer, value)


def _remove(*keys: str) -> Callable[[Package], None]:
    def mutate(package: Package) -> None:
        for key in keys:
            del package[key]

    return mutate


def _steps(*steps: Callable[[Package], None]) -> Callable[[Package], None]:
    def mutate(package: Package) -> None:
        for step in steps:
            step(package)

    return mutate


def _drop(key: str, pointer: str) -> Callable[[Package], None]:
    return lambda package: drop(package[key], pointer)


def _add_bl_consignee(package: Package) -> None:
    package[BL]["parties"].append(
        {"role": "consignee", "id": OTHER, "name": "Someone Else Pte. Ltd.", "country": "SG"}
    )


def _bring_bill_of_lading(package: Package) -> None:
    package[BL] = fresh(BL)


SEA_DOCUMENT = {"typeCode": "bill-of-lading", "number": "SMLN26SIN0457"}
AIR_DOCUMENT = {"typeCode": "air-waybill", "number": "618-26045711"}
QUANTITY = [{"hsCode": "060290", "quantity/unitCode": "C62", "total": 7200}]

CASES = [
    # presence
    Case(
        "REC-PRESENCE-01",
        _remove(INV),
        [(DECL, "/body/invoiceReference", {"invoiceNumber": "INV-2026-0457", "invoiceDate": "2026-11-16"})],
    ),
    Case(
        "REC-PRESENCE-02",
        _steps(_remove(BL, TD), _drop(DECL, "/body/transport/transportDocument")),
        [(DECL, "/body/transport/conveyanceId", "IMO9786542")],
    ),
    Case("REC-PRESENCE-03", _remove(BL), [(DECL, "/body/transport/transportDocument", SEA_DOCUMENT)]),
    Case(
        "REC-PRESENCE-04",
        _steps(_remove(TD), _bring_bill_of_lading),
        [(DECL, "/body/transport/transportDocument", AIR_DOCUMENT)],
        kind="air",
    ),
    # parties
    Case(
        "REC-PARTY-01",
        _edit(DECL, "/parties/1/id", OTHER),
        [(DECL, "/parties/1/id", OTHER), (INV, "/parties/0/id", EXPORTER)],
        also=frozenset({"REC-PARTY-07"}),
    ),
    Case(
        "REC-PARTY-02",
        _edit(DECL, "/parties/2/id", OTHER),
        [(DECL, "/parties/2/id", OTHER), (INV, "/parties/1/id", BUYER)],
    ),
    Case(
        "REC-PARTY-03",
        _edit(PO, "/parties/0/id", OTHER),
        [(PO, "/parties/0/id", OTHER), (INV, "/parties/1/id", BUYER)],
    ),
    Case(
        "REC-PARTY-04",
        _edit(PO, "/parties/1/id", OTHER),
        [(PO, "/parties/1/id", OTHER), (INV, "/parties/0/id", EXPORTER)],
    ),
    Case(
        "REC-PARTY-05",
        _edit(PAY, "/parties/0/id", OTHER),
        [(PAY, "/parties/0/id", OTHER), (INV, "/parties/1/id", BUYER)],
    ),
    Case(
        "REC-PARTY-06",
        _edit(PAY, "/parties/1/id", OTHER),
        [(PAY, "/parties/1/id", OTHER), (INV, "/parties/0/id", EXPORTER)],
    ),
    Case(
        "REC-PARTY-07",
        _edit(BL, "/parties/0/id", OTHER),
        [(BL, "/parties/0/id", OTHER), (DECL, "/parties/1/id", EXPORTER)],
    ),
    Case("REC-PARTY-08", _add_bl_consignee, [(BL, "/parties/4/id", OTHER), (DECL, "/parties/2/id", BUYER)]),
    Case(
        "REC-PARTY-09",
        _edit(TD, "/parties/1/id", OTHER),
        [(TD, "/parties/1/id", OTHER), (DECL, "/parties/1/id", EXPORTER)],
        kind="air",
    ),
    Case(
        "REC-PARTY-10",
        _edit(TD, "/parties/2/id", OTHER),
        [(TD, "/parties/2/id", OTHER), (DECL, "/parties/2/id", BUYER)],
        kind="air",
    ),
    # goods
    Case(
        "REC-GOODS-01",
        _edit(DECL, "/body/goodsItems/1/quantity/value", 2300),
        [(DECL, "/body/goodsItems", [{**QUANTITY[0], "total": 7100}]), (INV, "/body/lineItems", QUANTITY)],
    ),
    Case(
        "REC-GOODS-02",
        _edit(DECL, "/body/goodsItems/1/originCountry", "MY"),
        [
            (DECL, "/body/goodsItems", [{"hsCode": "060290", "values": ["MY", "SG"]}]),
            (INV, "/body/lineItems", [{"hsCode": "060290", "values": ["SG"]}]),
        ],
    ),
    Case(
        "REC-GOODS-03",
        _edit(PO, "/body/lineItems/1/quantity/value", 3000),
        [(PO, "/body/lineItems", [{**QUANTITY[0], "total": 7800}]), (INV, "/body/lineItems", QUANTITY)],
    ),
    Case(
        "REC-GOODS-04",
        _edit(BL, "/body/consignmentItems/1/HSCodes", ["060290", "060311"]),
        [(BL, "/body/consignmentItems", ["060290", "060311"]), (DECL, "/body/goodsItems", ["060290"])],
    ),
    Case(
        "REC-GOODS-05",
        _edit(TD, "/body/HSCodes", ["060290", "060312"]),
        [(TD, "/body/HSCodes", ["060290", "060312"]), (DECL, "/body/goodsItems", ["060290"])],
        kind="air",
    ),
    # values
    Case(
        "REC-VALUE-01",
        _edit(DECL, "/body/goodsItems/1/customsValue/amount", 6000),
        [(DECL, "/body/goodsItems", 21360), (INV, "/body/totalAmount", 21960)],
    ),
    Case(
        "REC-VALUE-02",
        _edit(DECL, "/body/goodsItems/0/customsValue/currency", "SGD"),
        [(DECL, "/body/goodsItems", ["SGD", "USD"]), (INV, "/body/currency", "USD")],
    ),
    Case(
        "REC-VALUE-03",
        _edit(DECL, "/body/invoiceAmount/amount", 21000),
        [(DECL, "/body/invoiceAmount/amount", 21000), (INV, "/body/totalAmount", 21960)],
    ),
    Case(
        "REC-VALUE-04",
        _edit(DECL, "/body/invoiceAmount/currency", "SGD"),
        [(DECL, "/body/invoiceAmount/currency", "SGD"), (INV, "/body/currency", "USD")],
    ),
    Case(
        "REC-VALUE-05",
        _edit(INV, "/body/lineItems/1/lineAmount", 6500),
        [(INV, "/body/totalAmount", 21960), (INV, "/body/lineItems", 21860)],
        also=frozenset({"REC-VALUE-06"}),
    ),
    Case(
        "REC-VALUE-06",
        _edit(INV, "/body/lineItems/0/unitPrice", 3.25),
        [(INV, "/body/lineItems/0", 15600), (INV, "/body/lineItems/0/lineAmount", 15360)],
    ),
    Case(
        "REC-VALUE-07",
        _edit(PAY, "/body/amount/amount", 20000),
        [(PAY, "/body/amount/amount", 20000), (INV, "/body/totalAmount", 21960)],
    ),
    Case(
        "REC-VALUE-08",
        _edit(PAY, "/body/amount/currency", "SGD"),
        [(PAY, "/body/amount/currency", "SGD"), (INV, "/body/currency", "USD")],
    ),
    Case(
        "REC-VALUE-09",
        _edit(PO, "/body/totalAmount", 25000),
        [(PO, "/body/totalAmount", 25000), (INV, "/body/totalAmount", 21960)],
    ),
    Case(
        "REC-VALUE-10",
        _edit(PO, "/body/currency", "SGD"),
        [(PO, "/body/currency", "SGD"), (INV, "/body/currency", "USD")],
    ),
    # references
    Case(
        "REC-REF-01",
        _edit(DECL, "/body/invoiceReference/invoiceNumber", "INV-2026-0458"),
        [
            (DECL, "/body/invoiceReference/invoiceNumber", "INV-2026-0458"),
            (INV, "/body/invoiceNumber", "INV-2026-0457"),
        ],
    ),
    Case(
        "REC-REF-02",
        _edit(DECL, "/body/invoiceReference/invoiceDate", "2026-11-15"),
        [
            (DECL, "/body/invoiceReference/invoiceDate", "2026-11-15"),
            (INV, "/body/invoiceDate", "2026-11-16"),
        ],
    ),
    Case(
        "REC-REF-03",
        _edit(PAY, "/body/invoiceReference/invoiceNumber", "INV-2026-0458"),
        [
            (PAY, "/body/invoiceReference/invoiceNumber", "INV-2026-0458"),
            (INV, "/body/invoiceNumber", "INV-2026-0457"),
        ],
    ),
    Case(
        "REC-REF-04",
        _edit(PAY, "/body/invoiceReference/invoiceDate", "2026-11-17"),
        [(PAY, "/body/invoiceReference/invoiceDate", "2026-11-17"), (INV, "/body/invoiceDate", "2026-11-16")],
    ),
    Case(
        "REC-REF-05",
        _edit(INV, "/body/purchaseOrderReference", "PO-SPH-2026-0312"),
        [
            (INV, "/body/purchaseOrderReference", "PO-SPH-2026-0312"),
            (PO, "/body/orderNumber", "PO-SPH-2026-0311"),
        ],
    ),
    # transport
    Case(
        "REC-TRANSPORT-01",
        _edit(DECL, "/body/transport/transportDocument/number", "SMLN26SIN0458"),
        [
            (DECL, "/body/transport/transportDocument/number", "SMLN26SIN0458"),
            (BL, "/body/transportDocumentReference", "SMLN26SIN0457"),
        ],
    ),
    Case(
        "REC-TRANSPORT-02",
        _edit(DECL, "/body/transport/transportDocument/number", "618-26045712"),
        [
            (DECL, "/body/transport/transportDocument/number", "618-26045712"),
            (TD, "/body/documentNumber", "618-26045711"),
        ],
        kind="air",
    ),
    Case(
        "REC-TRANSPORT-03",
        _edit(TD, "/body/documentTypeCode", "road-consignment-note"),
        [
            (DECL, "/body/transport/transportDocument/typeCode", "air-waybill"),
            (TD, "/body/documentTypeCode", "road-consignment-note"),
        ],
        kind="air",
    ),
    Case(
        "REC-TRANSPORT-04",
        _edit(DECL, "/body/transport/portOfLoading", "SGJUR"),
        [
            (DECL, "/body/transport/portOfLoading", "SGJUR"),
            (BL, "/body/transports/portOfLoading/UNLocationCode", "SGSIN"),
        ],
    ),
    Case(
        "REC-TRANSPORT-05",
        _edit(DECL, "/body/transport/portOfDischarge", "CNNGB"),
        [
            (DECL, "/body/transport/portOfDischarge", "CNNGB"),
            (BL, "/body/transports/portOfDischarge/UNLocationCode", "CNSHA"),
        ],
    ),
    Case(
        "REC-TRANSPORT-06",
        _edit(BL, "/body/consignmentItems/1/cargoItems/0/cargoGrossWeight/value", 1500),
        [(DECL, "/body/totalGrossMassKg", 4800), (BL, "/body/consignmentItems", 4860)],
    ),
    Case(
        "REC-TRANSPORT-07",
        _edit(TD, "/body/departure/UNLocationCode", "MYPKG"),
        [(TD, "/body/departure/UNLocationCode", "MYPKG"), (DECL, "/body/transport/portOfLoading", "SGSIN")],
        kind="air",
    ),
    Case(
        "REC-TRANSPORT-08",
        _edit(TD, "/body/destination/UNLocationCode", "CNNGB"),
        [
            (TD, "/body/destination/UNLocationCode", "CNNGB"),
            (DECL, "/body/transport/portOfDischarge", "CNSHA"),
        ],
        kind="air",
    ),
    Case(
        "REC-TRANSPORT-09",
        _edit(TD, "/body/grossMassKg", 5000),
        [(DECL, "/body/totalGrossMassKg", 4800), (TD, "/body/grossMassKg", 5000)],
        kind="air",
    ),
    # dates
    Case(
        "REC-DATE-01",
        _edit(PO, "/body/orderDate", "2026-11-17"),
        [(PO, "/body/orderDate", "2026-11-17"), (INV, "/body/invoiceDate", "2026-11-16")],
    ),
    Case(
        "REC-DATE-02",
        _edit(BL, "/body/shippedOnBoardDate", "2026-11-15"),
        [(INV, "/body/invoiceDate", "2026-11-16"), (BL, "/body/shippedOnBoardDate", "2026-11-15")],
    ),
    Case(
        "REC-DATE-03",
        _edit(BL, "/body/shippedOnBoardDate", "2026-11-22"),
        [(BL, "/body/shippedOnBoardDate", "2026-11-22"), (DECL, "/issuedAt", "2026-11-21T16:00:00Z")],
    ),
    Case(
        "REC-DATE-04",
        _edit(DECL, "/issuedAt", "2026-11-15T10:00:00Z"),
        [(INV, "/body/invoiceDate", "2026-11-16"), (DECL, "/issuedAt", "2026-11-15T10:00:00Z")],
        also=frozenset({"REC-DATE-03"}),
    ),
    Case(
        "REC-DATE-05",
        _edit(PAY, "/body/paymentDate", "2026-11-10"),
        [(INV, "/body/invoiceDate", "2026-11-16"), (PAY, "/body/paymentDate", "2026-11-10")],
    ),
    Case(
        "REC-DATE-06",
        _edit(TD, "/body/departureDate", "2026-11-15"),
        [(INV, "/body/invoiceDate", "2026-11-16"), (TD, "/body/departureDate", "2026-11-15")],
        kind="air",
    ),
    Case(
        "REC-DATE-07",
        _edit(TD, "/body/departureDate", "2026-11-25"),
        [(TD, "/body/departureDate", "2026-11-25"), (DECL, "/issuedAt", "2026-11-21T16:00:00Z")],
        kind="air",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fires_on_its_mismatch(rules: RuleSet, case: Case) -> None:
    package = sea_package() if case.kind == "sea" else air_package()
    case.mutate(package)
    findings = by_rule(reconcile(documents(package), rules))
    assert set(findings) == {case.rule_id} | case.also
    finding = findings[case.rule_id]
    rule = next(r for r in rules.rules if r.rule_id == case.rule_id)
    assert (finding.rule_version, finding.title, finding.severity) == (
        rule.version,
        rule.title,
        rule.severity,
    )
    assert [(s.document_type, s.pointer, s.value) for s in finding.subjects] == case.subjects
    ids = {key: doc["id"] for key, doc in package.items()}
    assert all(s.document_id == ids[s.document_type] for s in finding.subjects)
    assert Finding.from_dict(finding.to_dict()) == finding


def test_every_shipped_rule_has_a_case(rules: RuleSet) -> None:
    assert sorted(case.rule_id for case in CASES) == sorted(rule.rule_id for rule in rules.rules)


def test_findings_come_in_rule_order(rules: RuleSet) -> None:
    package = sea_package()
    put(package[PAY], "/body/paymentDate", "2026-11-10")  # REC-DATE-05
    put(package[DECL], "/parties/2/id", OTHER)  # REC-PARTY-02
    put(package[INV], "/body/lineItems/0/unitPrice", 3.25)  # REC-VALUE-06
    fired = [f.rule_id for f in reconcile(documents(package), rules)]
    assert fired == ["REC-PARTY-02", "REC-VALUE-06", "REC-DATE-05"]


def test_aggregates_cite_the_array_with_a_note(rules: RuleSet) -> None:
    package = sea_package()
    put(package[INV], "/body/lineItems/1/lineAmount", 6500)
    finding = by_rule(reconcile(documents(package), rules))["REC-VALUE-05"]
    assert finding.subjects[1].note == "sum of /lineAmount over 2 lineItems"
    assert "21960" in finding.message and "21860" in finding.message and "100" in finding.message


def test_severities_hold_and_warn(rules: RuleSet) -> None:
    package = sea_package()
    put(package[PAY], "/body/paymentDate", "2026-11-10")
    put(package[PAY], "/body/amount/amount", 20000)
    findings = by_rule(reconcile(documents(package), rules))
    assert findings["REC-DATE-05"].severity is Severity.WARN
    assert findings["REC-VALUE-07"].severity is Severity.HOLD


# -- arithmetic ----------------------------------------------------------------------------------


def test_gross_weights_in_pounds_are_converted_exactly(rules: RuleSet) -> None:
    package = sea_package()
    cargo = package[BL]["body"]["consignmentItems"]
    # 3360 kg = 7407.51… lb and 1440 kg = 3174.65… lb: within the 1 kg tolerance once converted.
    cargo[0]["cargoItems"][0]["cargoGrossWeight"] = {"value": 7407.5, "unit": "LBR"}
    cargo[1]["cargoItems"][0]["cargoGrossWeight"] = {"value": 3174.7, "unit": "LBR"}
    assert reconcile(documents(package), rules) == ()
    cargo[1]["cargoItems"][0]["cargoGrossWeight"] = {"value": 1440, "unit": "LBR"}  # pounds, not kg
    finding = by_rule(reconcile(documents(package), rules))["REC-TRANSPORT-06"]
    expected = (Decimal("7407.5") + Decimal("1440")) * Decimal("0.45359237")
    assert finding.subjects[1].value == float(expected)
    assert "converted by the unit at /cargoGrossWeight/unit" in (finding.subjects[1].note or "")


def _exact_rules(tolerance: str) -> RuleSet:
    return RuleSet.from_dict(
        {
            "rulesetId": "exact",
            "version": "1.0",
            "documentVersions": {DECL: ["1.1"], INV: ["1.0"]},
            "rules": [
                {
                    "ruleId": "T-SUM",
                    "version": "1.0",
                    "title": "Total equals the lines",
                    "severity": "hold",
                    "check": {
                        "op": "equalWithin",
                        "left": {"document": INV, "pointer": "/body/totalAmount", "label": "total"},
                        "right": {
                            "document": INV,
                            "array": "/body/lineItems",
                            "aggregate": "sum",
                            "of": "/lineAmount",
                            "label": "lines",
                        },
                        "tolerance": tolerance,
                    },
                },
                {
                    "ruleId": "T-LINE",
                    "version": "1.0",
                    "title": "Line amounts",
                    "severity": "warn",
                    "check": {
                        "op": "each",
                        "document": INV,
                        "array": "/body/lineItems",
                        "label": "line",
                        "check": {
                            "op": "equalWithin",
                            "left": {
                                "product": ["/unitPrice", "/quantity/value"],
                                "label": "price × quantity",
                            },
                            "right": {"pointer": "/lineAmount", "label": "amount"},
                            "tolerance": tolerance,
                        },
                    },
                },
            ],
        }
    )


def test_money_is_summed_and_multiplied_as_written_not_in_binary() -> None:
    # In binary floating point 0.1 + 0.2 != 0.3 and 0.1 * 3 != 0.3; with a zero tolerance
    # only exact decimal arithmetic finds these documents consistent.
    package = sea_package()
    lines = package[INV]["body"]["lineItems"]
    lines[0].update(unitPrice=0.1, quantity={"value": 1, "unitCode": "C62"}, lineAmount=0.1)
    lines[1].update(unitPrice=0.1, quantity={"value": 2, "unitCode": "C62"}, lineAmount=0.2)
    package[INV]["body"]["totalAmount"] = 0.3
    assert 0.1 + 0.2 != 0.3
    strict = _exact_rules("0")
    assert reconcile([package[DECL], package[INV]], strict) == ()
    package[INV]["body"]["totalAmount"] = 0.30000000000000004  # the binary sum, as a producer might write it
    finding = reconcile([package[DECL], package[INV]], strict)[0]
    assert finding.rule_id == "T-SUM"
    assert "0.30000000000000004" in finding.message


def test_tolerance_is_inclusive() -> None:
    package = sea_package()
    package[INV]["body"]["totalAmount"] = 21960.01
    assert reconcile([package[DECL], package[INV]], _exact_rules("0.01")) == ()
    package[INV]["body"]["totalAmount"] = 21960.02
    assert [f.rule_id for f in reconcile([package[DECL], package[INV]], _exact_rules("0.01"))] == ["T-SUM"]


# -- values of the wrong kind are reported, not raised -----------------------------------------


def test_a_date_that_is_no_calendar_date_is_reported(rules: RuleSet) -> None:
    package = sea_package()
    put(package[PAY], "/body/paymentDate", "2026-02-30")
    finding = by_rule(reconcile(documents(package), rules))["REC-DATE-05"]
    assert finding.message.startswith("Cannot compare")
    assert finding.subjects[1].value == "2026-02-30"


def test_a_summed_value_that_is_no_number_is_reported(rules: RuleSet) -> None:
    package = sea_package()
    put(package[INV], "/body/lineItems/1/lineAmount", "6600.00")
    findings = by_rule(reconcile(documents(package), rules))
    assert set(findings) == {"REC-VALUE-05", "REC-VALUE-06"}
    assert "/body/lineItems/1/lineAmount is not a number" in findings["REC-VALUE-05"].message
    assert findings["REC-VALUE-06"].message.startswith("1 of 2 invoice lines fails")


def test_an_absent_optional_value_means_the_rule_does_not_apply(rules: RuleSet) -> None:
    package = sea_package()
    drop(package[DECL], "/body/invoiceAmount")
    drop(package[INV], "/body/purchaseOrderReference")
    drop(package[DECL], "/body/totalGrossMassKg")
    assert reconcile(documents(package), rules) == ()


# -- several documents of one type, order --------------------------------------------------------


def test_each_document_of_a_type_is_reconciled(rules: RuleSet) -> None:
    package = sea_package()
    second = fresh(PAY)
    second["id"] = "00000000-0000-4000-8000-000000000001"
    second["body"]["amount"]["amount"] = 1000
    findings = reconcile([*documents(package), second], rules)
    assert [(f.rule_id, f.subjects[0].document_id) for f in findings] == [("REC-VALUE-07", second["id"])]


def test_input_order_does_not_change_the_findings(rules: RuleSet) -> None:
    package = sea_package()
    put(package[DECL], "/parties/2/id", OTHER)
    put(package[BL], "/body/shippedOnBoardDate", "2026-11-22")
    extra = fresh(PAY)
    extra["id"] = "00000000-0000-4000-8000-000000000001"
    extra["body"]["amount"]["amount"] = 1000
    docs = [*documents(package), extra]
    expected = reconcile(docs, rules)
    shuffler = random.Random(7)
    for _ in range(5):
        shuffler.shuffle(docs)
        assert reconcile(docs, rules) == expected


def test_findings_are_signable_json(rules: RuleSet) -> None:
    package = sea_package()
    put(package[DECL], "/body/goodsItems/1/customsValue/amount", 6000.5)
    put(package[INV], "/body/lineItems/0/unitPrice", 3.333)
    for finding in reconcile(documents(package), rules):
        data = finding.to_dict()
        require_readable_numbers(data)
        canonicalize(data)


# -- misuse --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda docs: [d for d in docs if d["type"] != DECL], "exactly one customs-declaration, not 0"),
        (lambda docs: [*docs, {**docs[0], "id": "second"}], "exactly one customs-declaration, not 2"),
        (lambda docs: [*docs, ["not", "an", "object"]], "not a JSON object"),
        (lambda docs: [*docs, {"type": INV}], "lacks a string type or id"),
        (lambda docs: [{**d, "version": "2.0"} if d["type"] == INV else d for d in docs], "version '2.0'"),
    ],
    ids=["no-declaration", "two-declarations", "not-an-object", "no-id", "unread-version"],
)
def test_misuse_is_a_value_error(
    rules: RuleSet, edit: Callable[[list[Any]], list[Any]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        reconcile(edit(documents(sea_package())), rules)


def test_rules_must_be_a_rule_set() -> None:
    with pytest.raises(TypeError):
        reconcile(documents(sea_package()), {"rules": []})  # type: ignore[arg-type]
