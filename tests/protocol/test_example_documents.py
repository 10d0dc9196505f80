"""The shipped examples (examples/documents/) are true: valid, truly referenced, consistent.

- Every example is valid against the schema of the type and version it names, under both
  validators, and is at the newest version of its type.
- Issuers are those of the real flow: the chamber issues the certificate of origin, the
  plant-protection organisation the phytosanitary certificate, the exporting customs node
  every other document (it signs the trader's documents).
- Every ``references[]`` entry names another example by id and type, with the SHA-256 of
  that example's RFC 8785 bytes, which is exactly the JWS payload ``sign_document`` signs;
  the references form the intended graph, which has no cycle.
- The documents tell one story: the same parties, goods, values, transport and dates, in
  order.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from protocol.canonical import canonicalize, sha256_hex
from protocol.certificates import KeyAlgorithm
from protocol.documents import DOCUMENT_TYPES, DocumentSchemas
from protocol.signed_document import document_sha256, sign_document
from protocol.strict_json import parse_json

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "documents"

Examples = dict[str, dict[str, Any]]

ISSUERS = {"certificate-of-origin": "SG-CHAMBER", "phytosanitary-certificate": "SG-NPPO"}
"""Issuer per type where it is not the exporting customs node, SG-CUSTOMS."""

REFERENCE_GRAPH: dict[str, set[str]] = {
    "customs-declaration": {"commercial-invoice", "purchase-order", "bill-of-lading",
                            "payment-record", "certificate-of-origin",
                            "phytosanitary-certificate"},
    "certificate-of-origin": {"commercial-invoice"},
    "payment-record": {"commercial-invoice"},
    "commercial-invoice": {"purchase-order"},
    "transport-document": {"bill-of-lading"},
    "clearance-decision": {"customs-declaration"},
    "bill-of-lading": set(),
    "phytosanitary-certificate": set(),
    "purchase-order": set(),
}
"""Which example references which (by type): the graph the single declaration relies on."""


@pytest.fixture(scope="module")
def schemas() -> DocumentSchemas:
    return DocumentSchemas.load()


@pytest.fixture(scope="module")
def examples() -> Examples:
    """The shipped examples, parsed strictly, keyed by ``type`` (one per type; an example of
    another version would be named ``<type>-<version>.json`` and stand beside them)."""
    loaded: Examples = {}
    for path in sorted(EXAMPLES_DIR.glob("*.json")):
        if path.stem not in DOCUMENT_TYPES:
            continue
        document = parse_json(path.read_bytes())
        assert path.stem == document["type"], path
        loaded[document["type"]] = document
    assert sorted(loaded) == sorted(DOCUMENT_TYPES)
    return loaded


def reference_problems(examples: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every reference that is not true, as a sentence naming the expected value ([] if none).

    True: the id is another example's, ``type`` is that example's type and ``sha256`` is the
    lower-case hex SHA-256 of that example's RFC 8785 canonical bytes.
    """
    by_id = {document["id"]: document for document in examples.values()}
    problems = []
    for document in examples.values():
        for index, reference in enumerate(document.get("references", [])):
            where = f"{document['type']} /references/{index}"
            target = by_id.get(reference["id"])
            if target is None:
                problems.append(f"{where}: no example has id {reference['id']}")
                continue
            if reference["type"] != target["type"]:
                problems.append(f"{where}: type {reference['type']}, the example is "
                                f"{target['type']}")
            digest = sha256_hex(canonicalize(target))
            if reference["sha256"] != digest:
                problems.append(f"{where}: sha256 {reference['sha256']}, expected {digest}")
    return problems


def reference_cycle(examples: Mapping[str, Mapping[str, Any]]) -> list[str] | None:
    """A cycle of references (as a list of types), or ``None`` when they form a DAG."""
    by_id = {document["id"]: document for document in examples.values()}
    edges = {document["id"]: [r["id"] for r in document.get("references", []) if r["id"] in by_id]
             for document in examples.values()}
    state: dict[str, str] = {}  # absent: unvisited; "open": on the path; "done": finished

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for successor in edges[node]:
            if state.get(successor) == "open":
                loop = [*path, node]
                return [by_id[n]["type"] for n in (*loop[loop.index(successor):], successor)]
            if successor not in state and (cycle := visit(successor, [*path, node])):
                return cycle
        state[node] = "done"
        return None

    for start in edges:  # bounded: each node is visited once
        if start not in state and (cycle := visit(start, [])):
            return cycle
    return None


# -- schema validity and issuers ------------------------------------------------------------


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_example_is_valid_at_the_newest_version(
    schemas: DocumentSchemas, examples: Examples, doc_type: str
) -> None:
    document = examples[doc_type]
    schemas.validate(document)
    schemas.validate_reference(document)
    newest = [version for loaded, version in schemas.types() if loaded == doc_type][-1]
    assert document["version"] == newest


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_example_issuer_is_the_issuer_of_the_real_flow(examples: Examples, doc_type: str) -> None:
    assert examples[doc_type]["issuer"] == ISSUERS.get(doc_type, "SG-CUSTOMS")


# -- references -----------------------------------------------------------------------------


def test_every_reference_is_true(examples: Examples) -> None:
    assert reference_problems(examples) == []


def test_references_form_the_intended_graph_without_cycles(examples: Examples) -> None:
    graph = {doc_type: {r["type"] for r in document.get("references", [])}
             for doc_type, document in examples.items()}
    assert graph == REFERENCE_GRAPH
    assert reference_cycle(examples) is None


def test_reference_digest_is_the_digest_of_the_signed_payload(
    examples: Examples, make_authority: Any, at: dt.datetime
) -> None:
    # Sign each example as its issuer would; the digest a reference carries is the SHA-256
    # of exactly those payload bytes (document_sha256), not of the file's bytes.
    by_id = {document["id"]: document for document in examples.values()}
    for document in examples.values():
        for reference in document.get("references", []):
            target = by_id[reference["id"]]
            signer = make_authority(target["issuer"], KeyAlgorithm.ED25519).document_signer
            jws = sign_document(target, signer, signed_at=at)
            assert jws.payload == canonicalize(target)
            assert reference["sha256"] == document_sha256(jws)


def test_a_wrong_digest_is_found(examples: Examples) -> None:
    changed = copy.deepcopy(examples)
    reference = changed["customs-declaration"]["references"][2]
    reference["sha256"] = reference["sha256"][:-1] + ("0" if reference["sha256"][-1] != "0" else "1")
    problems = reference_problems(changed)
    # The declaration's digest of the bill of lading is wrong, and the declaration itself
    # changed, so the decision's digest of it no longer holds either.
    assert len(problems) == 2
    assert any(p.startswith("customs-declaration /references/2: sha256") for p in problems)
    assert any(p.startswith("clearance-decision /references/0: sha256") for p in problems)


def test_a_changed_referenced_document_is_found(examples: Examples) -> None:
    # A one-character change to the purchase order breaks both digests of it.
    changed = copy.deepcopy(examples)
    changed["purchase-order"]["body"]["orderNumber"] = "PO-SPH-2026-0312"
    problems = reference_problems(changed)
    assert [p.partition(": ")[0] for p in problems] == [
        "commercial-invoice /references/0", "customs-declaration /references/1"]
    assert all(": sha256 " in p for p in problems)


def test_a_wrong_type_or_unknown_id_is_found(examples: Examples) -> None:
    # Changed in the two documents nothing references, so that nothing else breaks.
    changed = copy.deepcopy(examples)
    changed["transport-document"]["references"][0]["type"] = "commercial-invoice"
    changed["clearance-decision"]["references"][0]["id"] = "no-such-document"
    problems = reference_problems(changed)
    assert [p.partition(": ")[0] for p in problems] == [
        "clearance-decision /references/0", "transport-document /references/0"]
    assert "no example has id no-such-document" in problems[0]
    assert "type commercial-invoice" in problems[1]


def test_a_cycle_is_found(examples: Examples) -> None:
    changed = copy.deepcopy(examples)
    declaration = changed["customs-declaration"]
    changed["purchase-order"]["references"] = [
        {"id": declaration["id"], "type": "customs-declaration", "sha256": "0" * 64}]
    cycle = reference_cycle(changed)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert {"purchase-order", "customs-declaration"} <= set(cycle)


# -- one consistent story -------------------------------------------------------------------


def _party(document: Mapping[str, Any], role: str) -> str:
    [party_id] = [p["id"] for p in document["parties"] if p["role"] == role]
    return str(party_id)


def _totals(items: list[dict[str, Any]], hs: str = "hsCode") -> dict[tuple[str, str], Decimal]:
    """Quantity per (HS code, unit), summed exactly."""
    totals: dict[tuple[str, str], Decimal] = {}
    for item in items:
        key = (item[hs], item["quantity"]["unitCode"])
        totals[key] = totals.get(key, Decimal(0)) + Decimal(repr(item["quantity"]["value"]))
    return totals


def _money(value: float | int) -> Decimal:
    return Decimal(repr(value))


def test_parties_agree(examples: Examples) -> None:
    declaration, invoice = examples["customs-declaration"], examples["commercial-invoice"]
    exporter, consignee = _party(declaration, "exporter"), _party(declaration, "consignee")
    assert _party(invoice, "seller") == exporter and _party(invoice, "buyer") == consignee
    order = examples["purchase-order"]
    assert _party(order, "seller") == exporter and _party(order, "buyer") == consignee
    payment = examples["payment-record"]
    assert _party(payment, "payee") == exporter and _party(payment, "payer") == consignee
    assert _party(examples["bill-of-lading"], "shipper") == exporter
    assert _party(examples["bill-of-lading"], "notify-party") == consignee
    origin = examples["certificate-of-origin"]
    assert _party(origin, "exporter") == exporter and _party(origin, "importer") == consignee
    phyto = examples["phytosanitary-certificate"]
    assert _party(phyto, "consignor") == exporter and _party(phyto, "consignee") == consignee


def test_goods_agree(examples: Examples) -> None:
    lines = examples["commercial-invoice"]["body"]["lineItems"]
    expected = _totals(lines)
    assert _totals(examples["purchase-order"]["body"]["lineItems"]) == expected
    items = examples["customs-declaration"]["body"]["goodsItems"]
    assert _totals(items) == expected
    assert _totals(examples["certificate-of-origin"]["body"]["goodsItems"]) == expected
    assert _totals(examples["phytosanitary-certificate"]["body"]["consignment"]["commodities"]) \
        == expected
    origins = {(line["hsCode"], line["originCountry"]) for line in lines}
    assert {(item["hsCode"], item["originCountry"]) for item in items} == origins
    assert {(item["hsCode"], item["originCountry"])
            for item in examples["certificate-of-origin"]["body"]["goodsItems"]} == origins
    bill = examples["bill-of-lading"]["body"]
    assert {code for item in bill["consignmentItems"] for code in item["HSCodes"]} <= {
        item["hsCode"] for item in items}
    gross = sum(_money(c["cargoGrossWeight"]["value"])
                for item in bill["consignmentItems"] for c in item["cargoItems"])
    assert gross == _money(examples["customs-declaration"]["body"]["totalGrossMassKg"])


def test_values_agree(examples: Examples) -> None:
    invoice = examples["commercial-invoice"]["body"]
    total, currency = _money(invoice["totalAmount"]), invoice["currency"]
    assert sum(_money(line["lineAmount"]) for line in invoice["lineItems"]) == total
    for line in invoice["lineItems"]:
        assert _money(line["unitPrice"]) * _money(line["quantity"]["value"]) == \
            _money(line["lineAmount"])
    order = examples["purchase-order"]["body"]
    assert (_money(order["totalAmount"]), order["currency"]) == (total, currency)
    assert [(line["hsCode"], line["quantity"], line["unitPrice"], line["lineAmount"])
            for line in order["lineItems"]] == [
        (line["hsCode"], line["quantity"], line["unitPrice"], line["lineAmount"])
        for line in invoice["lineItems"]]
    declaration = examples["customs-declaration"]["body"]
    assert sum(_money(i["customsValue"]["amount"]) for i in declaration["goodsItems"]) == total
    assert {i["customsValue"]["currency"] for i in declaration["goodsItems"]} == {currency}
    assert (_money(declaration["invoiceAmount"]["amount"]),
            declaration["invoiceAmount"]["currency"]) == (total, currency)
    payment = examples["payment-record"]["body"]["amount"]
    assert (_money(payment["amount"]), payment["currency"]) == (total, currency)
    assert declaration["incoterms"] == invoice["incoterms"] == order["incoterms"]


def test_references_by_number_agree(examples: Examples) -> None:
    invoice = examples["commercial-invoice"]["body"]
    invoice_ref = {"invoiceNumber": invoice["invoiceNumber"], "invoiceDate": invoice["invoiceDate"]}
    declaration = examples["customs-declaration"]
    assert declaration["body"]["invoiceReference"] == invoice_ref
    assert examples["certificate-of-origin"]["body"]["invoice"] == invoice_ref
    assert examples["payment-record"]["body"]["invoiceReference"] == invoice_ref
    assert invoice["purchaseOrderReference"] == examples["purchase-order"]["body"]["orderNumber"]
    decision = examples["clearance-decision"]["body"]
    assert decision["declarationId"] == declaration["id"]
    assert decision["ucr"] == declaration["body"]["ucr"]
    preferences = {item["preference"]["agreement"] for item in declaration["body"]["goodsItems"]}
    assert preferences == {examples["certificate-of-origin"]["body"]["agreement"]}


def test_transport_agrees(examples: Examples) -> None:
    bill = examples["bill-of-lading"]["body"]
    transport = examples["customs-declaration"]["body"]["transport"]
    assert transport["transportDocument"] == {"typeCode": "bill-of-lading",
                                              "number": bill["transportDocumentReference"]}
    assert transport["portOfLoading"] == bill["transports"]["portOfLoading"]["UNLocationCode"]
    assert transport["portOfDischarge"] == bill["transports"]["portOfDischarge"]["UNLocationCode"]
    origin = examples["certificate-of-origin"]["body"]["transport"]
    assert (origin["portOfLoading"], origin["portOfDischarge"]) == (
        transport["portOfLoading"], transport["portOfDischarge"])
    assert origin["departureDate"] == bill["shippedOnBoardDate"]
    assert examples["phytosanitary-certificate"]["body"]["consignment"][
        "declaredPointOfEntry"] == transport["portOfDischarge"]
    assert examples["transport-document"]["body"]["departure"]["UNLocationCode"] == \
        transport["portOfDischarge"]


def test_dates_are_in_order(examples: Examples) -> None:
    def day(text: str) -> dt.date:
        return dt.date.fromisoformat(text[:10])

    order = day(examples["purchase-order"]["body"]["orderDate"])
    invoice = day(examples["commercial-invoice"]["body"]["invoiceDate"])
    on_board = day(examples["bill-of-lading"]["body"]["shippedOnBoardDate"])
    declared = examples["customs-declaration"]["issuedAt"]
    decided = examples["clearance-decision"]["body"]["decidedAt"]
    assert order <= invoice <= on_board <= day(declared)
    assert declared <= decided  # same format (RFC 3339, Z): text order is time order
    assert day(examples["payment-record"]["body"]["paymentDate"]) >= invoice
    # A document can only carry the digest of a document that existed when it was issued.
    by_id = {document["id"]: document for document in examples.values()}
    for document in examples.values():
        for reference in document.get("references", []):
            assert by_id[reference["id"]]["issuedAt"] <= document["issuedAt"], (
                document["type"], reference["type"])
