"""bill-of-lading 1.1 ↔ DCSA eBL 3.0.0 TransportDocument: valid on both sides, lossless.

Every DCSA document produced here is validated with ``jsonschema`` against the shipped DCSA
schema (``protocol/interop/dcsa/``); the DCSA samples are DCSA's own examples
(``tests/data/dcsa/``). Assertions are on equality of JSON values, codes and pointers.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.documents import DocumentSchemas
from protocol.errors import SchemaError
from protocol.interop.dcsa_ebl import (
    MAPPED,
    SCHEMA_FILE,
    TransportDocumentSchema,
    from_transport_document,
    to_transport_document,
)
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "documents" / "bill-of-lading.json"
SAMPLES = ROOT / "tests" / "data" / "dcsa"
HEADER_SCHEMA = ROOT / "protocol" / "schemas" / "header-1.0.schema.json"

GIVEN_HEADER: dict[str, Any] = {
    "id": "dcsa-62CD536BA8D34C469AFD", "issuedAt": "2023-12-20T12:00:00Z", "issuer": "DK-DCSA",
    "parties": [
        {"role": "shipper", "id": "NL-KVK-12345678", "name": "DCSA CTK", "country": "NL"},
        {"role": "carrier", "id": "CH-UID-CHE105938617", "name": "Mediterranean Shipping Company",
         "country": "CH"}]}


@pytest.fixture(scope="module")
def schemas() -> DocumentSchemas:
    return DocumentSchemas.load()


@pytest.fixture(scope="module")
def dcsa() -> TransportDocumentSchema:
    return TransportDocumentSchema.load()


def example() -> dict[str, Any]:
    document: dict[str, Any] = parse_json(EXAMPLE.read_bytes())
    return document


def sample(name: str) -> dict[str, Any]:
    document: dict[str, Any] = parse_json((SAMPLES / f"ebl-3.0.0-{name}.json").read_bytes())
    return document


def dcsa_errors(transport_document: Any) -> list[str]:
    """Violations of DCSA's schema, found by python-jsonschema (the brief's validator)."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:120]}"
            for e in validator.iter_errors(transport_document)]


def without_ours(transport_document: dict[str, Any]) -> dict[str, Any]:
    stripped = dict(transport_document)
    stripped.pop("extensions")
    return stripped


# -- the shipped DCSA schema and samples ---------------------------------------------------


def test_the_schema_file_is_the_documented_extraction() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$ref"] == "#/$defs/TransportDocument"
    assert len(schema["$defs"]) == 54
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    assert "#/components/" not in text and '"nullable"' not in text
    assert (SCHEMA_FILE.parent / "README.md").is_file() and (SCHEMA_FILE.parent / "LICENSE").is_file()


@pytest.mark.parametrize("name", ["regularSTDExample", "reeferExample", "dgExample"])
def test_dcsa_samples_pass_their_schema(dcsa: TransportDocumentSchema, name: str) -> None:
    assert dcsa_errors(sample(name)) == []
    dcsa.validate(sample(name))


def test_the_dcsa_validator_names_the_pointer(dcsa: TransportDocumentSchema) -> None:
    document = sample("regularSTDExample")
    document["invoicePayableAt"] = {"UNLocationCode": "dkaar"}
    with pytest.raises(SchemaError) as info:
        dcsa.validate(document)
    assert info.value.code is ReasonCode.SCHEMA_INVALID
    assert info.value.pointer.startswith("/invoicePayableAt")
    del document["invoicePayableAt"]
    with pytest.raises(SchemaError) as info:
        dcsa.validate(document)
    assert (info.value.pointer, info.value.context["keyword"]) == ("", "required")


# -- ours → DCSA → ours -------------------------------------------------------------------


def test_example_converts_to_a_valid_dcsa_document_and_back(schemas: DocumentSchemas) -> None:
    document = example()
    transport_document = to_transport_document(document, schemas=schemas)
    assert dcsa_errors(transport_document) == []
    ours = transport_document["extensions"]["tradeaccord"]
    assert ours["unmapped"] == [{"pointer": "/transports/vesselVoyages/0/carrierImportVoyageNumber",
                                 "value": "0426S"}]
    assert ours["parties"] == document["parties"] and ours["issuer"] == document["issuer"]
    assert "carrierImportVoyageNumber" not in transport_document["transports"]["vesselVoyages"][0]
    assert transport_document["documentParties"] == document["body"]["documentParties"]
    assert from_transport_document(transport_document, schemas=schemas) == document
    assert document == example()  # inputs are not changed


def test_conversion_needs_version_1_1(schemas: DocumentSchemas) -> None:
    # A valid 1.0 bill (the orchid consignment's, as the clearance tests keep it) has no
    # DCSA eBL 3.0 form.
    old = parse_json((ROOT / "tests" / "clearance" / "data" / "bill-of-lading.json").read_bytes())
    assert old["version"] == "1.0"
    with pytest.raises(SchemaError) as info:
        to_transport_document(old, schemas=schemas)
    assert (info.value.code, info.value.pointer) == (ReasonCode.DOC_TYPE_UNKNOWN, "/version")


def test_an_invalid_document_is_refused_before_conversion(schemas: DocumentSchemas) -> None:
    document = example()
    document["body"]["documentParties"]["issuingParty"].pop("address")
    with pytest.raises(SchemaError) as info:
        to_transport_document(document, schemas=schemas)
    assert info.value.pointer == "/body/documentParties/issuingParty"


# -- DCSA → ours → DCSA -------------------------------------------------------------------


def test_dcsa_sample_round_trips(schemas: DocumentSchemas) -> None:
    original = sample("regularSTDExample")
    ours = from_transport_document(original, schemas=schemas, header=GIVEN_HEADER)
    assert ours["body"]["transportDocumentReference"] == "62CD536BA8D34C469AFD"
    assert [item["pointer"] for item in ours["extensions"]["DCSA"]["unmapped"]] == [
        "/charges", "/documentParties/shipper/displayedAddress", "/serviceContractReference",
        "/shippingInstructionsReference"]
    back = to_transport_document(ours, schemas=schemas)
    assert dcsa_errors(back) == []
    assert without_ours(back) == original  # nothing of DCSA's lost
    assert from_transport_document(back, schemas=schemas) == ours
    assert to_transport_document(from_transport_document(back, schemas=schemas),
                                 schemas=schemas) == back


@pytest.mark.parametrize(
    ("name", "pointer"),
    [("reeferExample", "/body/consignmentItems/0/HSCodes/0"),
     ("dgExample", "/body/consignmentItems/0/cargoItems/0/outerPackaging")],
    ids=["8-digit-hs-code", "no-package-code"])
def test_dcsa_samples_outside_our_profile_are_refused_not_truncated(
        schemas: DocumentSchemas, name: str, pointer: str) -> None:
    with pytest.raises(SchemaError) as info:
        from_transport_document(sample(name), schemas=schemas, header=GIVEN_HEADER)
    assert (info.value.code, info.value.pointer) == (ReasonCode.SCHEMA_INVALID, pointer)


# -- refusals -----------------------------------------------------------------------------


def test_a_foreign_document_needs_a_header(schemas: DocumentSchemas) -> None:
    with pytest.raises(SchemaError) as info:
        from_transport_document(sample("regularSTDExample"), schemas=schemas)
    assert info.value.pointer == "/extensions/tradeaccord"
    with pytest.raises(ValueError, match="header takes"):
        from_transport_document(sample("regularSTDExample"), schemas=schemas,
                                header={**GIVEN_HEADER, "body": {}})
    with pytest.raises(ValueError, match="do not pass another"):
        from_transport_document(to_transport_document(example(), schemas=schemas),
                                schemas=schemas, header=GIVEN_HEADER)


def _converted(schemas: DocumentSchemas) -> dict[str, Any]:
    ours = from_transport_document(sample("regularSTDExample"), schemas=schemas,
                                   header=GIVEN_HEADER)
    return to_transport_document(ours, schemas=schemas)


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [(lambda t: t["extensions"].update(other={}), "/extensions"),
     (lambda t: t["extensions"]["tradeaccord"].pop("issuer"), "/extensions/tradeaccord"),
     (lambda t: t["extensions"]["tradeaccord"].update(version="1.0"),
      "/extensions/tradeaccord/version"),
     (lambda t: t["extensions"]["tradeaccord"].update(unmapped=[]),
      "/extensions/tradeaccord/unmapped"),
     (lambda t: t["extensions"]["tradeaccord"].update(
         unmapped=[{"pointer": "/carrierCode", "value": "X"}]),
      "/extensions/tradeaccord/unmapped/0"),
     (lambda t: t["extensions"]["tradeaccord"].update(
         unmapped=[{"pointer": "/nowhere/x", "value": 1}]),
      "/extensions/tradeaccord/unmapped/0"),
     (lambda t: t["extensions"]["tradeaccord"].update(
         unmapped=[{"pointer": "/transports/planned", "value": 1, "x": 2}]),
      "/extensions/tradeaccord/unmapped/0"),
     (lambda t: (t["extensions"]["tradeaccord"].update(
         unmapped=[{"pointer": "/transports/zz", "value": 1},
                   {"pointer": "/transports/aa", "value": 2}])),
      "/extensions/tradeaccord/unmapped"),
     (lambda t: t["extensions"]["tradeaccord"].update(
         unmapped=[{"pointer": "/transports/portOfLoading/UNLocationCode", "value": "SGSIN"}]),
      "/extensions/tradeaccord/unmapped/0"),
     (lambda t: t["extensions"]["tradeaccord"].update(extensions={"DCSA": {}}),
      "/extensions/tradeaccord/extensions/DCSA")],
    ids=["foreign-extension", "header-member-missing", "other-version", "empty-unmapped",
         "unmapped-names-a-mapped-member", "unmapped-leads-nowhere", "unmapped-item-shape",
         "unmapped-not-sorted", "unmapped-member-exists", "dcsa-key-in-our-extensions"])
def test_tampered_tradeaccord_extension_is_refused(schemas: DocumentSchemas, mutate: Any,
                                                   pointer: str) -> None:
    transport_document = _converted(schemas)
    mutate(transport_document)
    with pytest.raises(SchemaError) as info:
        from_transport_document(transport_document, schemas=schemas)
    assert (info.value.code, info.value.pointer) == (ReasonCode.SCHEMA_INVALID, pointer)


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [(lambda e: e.update(eblVersion="3.0.1"), "/extensions/DCSA/eblVersion"),
     (lambda e: e.pop("eblVersion"), "/extensions/DCSA"),
     (lambda e: e["unmapped"].reverse(), "/extensions/DCSA/unmapped"),
     (lambda e: e["unmapped"].append({"pointer": "/isToOrder", "value": False}),
      "/extensions/DCSA/unmapped/4")],
    ids=["other-version", "no-version", "unsorted", "names-a-mapped-member"])
def test_tampered_dcsa_extension_is_refused(schemas: DocumentSchemas, mutate: Any,
                                            pointer: str) -> None:
    ours = from_transport_document(sample("regularSTDExample"), schemas=schemas,
                                   header=GIVEN_HEADER)
    mutate(ours["extensions"]["DCSA"])
    with pytest.raises(SchemaError) as info:
        to_transport_document(ours, schemas=schemas)
    assert (info.value.code, info.value.pointer) == (ReasonCode.SCHEMA_INVALID, pointer)


# -- MAPPED is what both schemas define ----------------------------------------------------


def _admitted(node: Any, here: dict[str, Any], documents: dict[str, dict[str, Any]]) -> Any:
    """The member tree a schema admits: a dict for objects, a 1-tuple for arrays, True."""
    if not isinstance(node, dict):
        return True
    merged: dict[str, Any] = {}
    shapes = []
    if "$ref" in node:
        base, _, fragment = node["$ref"].partition("#")
        target = documents[base] if base else here
        resolved: Any = target
        for step in fragment.split("/")[1:]:
            resolved = resolved[step]
        shapes.append(_admitted(resolved, target, documents))
    for keyword in ("allOf", "anyOf", "oneOf"):
        shapes += [_admitted(branch, here, documents) for branch in node.get(keyword, [])]
    if "properties" in node:
        shapes.append({name: _admitted(sub, here, documents)
                       for name, sub in node["properties"].items()})
    if "items" in node:
        return (_admitted(node["items"], here, documents),)
    for shape in shapes:
        if isinstance(shape, tuple):
            return shape
        if isinstance(shape, dict):
            for name, sub in shape.items():
                merged[name] = _union(merged.get(name), sub)
    return merged or True


def _union(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _union(a.get(k), b.get(k)) if k in a and k in b else a.get(k, b.get(k))
                for k in {**a, **b}}
    return a


def _intersection(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _intersection(a[k], b[k]) for k in a if k in b}
    if isinstance(a, tuple) and isinstance(b, tuple):
        return (_intersection(a[0], b[0]),)
    return True


def _plain(shape: Any) -> Any:
    if isinstance(shape, dict):
        return {k: _plain(v) for k, v in shape.items()}
    if isinstance(shape, tuple):
        return (_plain(shape[0]),)
    return True


def test_mapped_is_the_intersection_of_both_schemas(schemas: DocumentSchemas) -> None:
    ours = schemas.schema("bill-of-lading", "1.1")
    header = json.loads(HEADER_SCHEMA.read_text(encoding="utf-8"))
    documents = {"urn:tradeaccord:schema:header:1.0": header}
    dcsa_schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    our_body = _admitted(ours["properties"]["body"], ours, documents)
    theirs = _admitted(dcsa_schema, dcsa_schema, {})
    assert _plain(MAPPED) == _intersection(our_body, theirs)


# -- properties ---------------------------------------------------------------------------

_TEXT_CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Cf", "Cn", "Co"))


def text(max_size: int) -> st.SearchStrategy[str]:
    return (st.text(_TEXT_CHARS, min_size=1, max_size=max_size).map(str.strip)
            .filter(lambda value: 0 < len(value) <= max_size))


def regex(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


DATES = st.dates(min_value=__import__("datetime").date(2000, 1, 1),
                 max_value=__import__("datetime").date(2099, 12, 31)).map(str)
LOCODE = regex(r"[A-Z]{2}[A-Z2-9]{3}")
EQUIPMENT = regex(r"[A-Z]{3}[UJZ][0-9]{7}")


def optional(draw: st.DrawFn, target: dict[str, Any], name: str,
             strategy: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        target[name] = draw(strategy)


@st.composite
def locations(draw: st.DrawFn, *, names: bool = True) -> dict[str, Any]:
    location = {"UNLocationCode": draw(LOCODE)}
    if names:
        optional(draw, location, "locationName", text(100))
    return location


@st.composite
def contacts(draw: st.DrawFn) -> dict[str, Any]:
    contact: dict[str, Any] = {"name": draw(text(35))}
    kind = draw(st.sampled_from(["phone", "email", "both"]))
    if kind in ("phone", "both"):
        contact["phone"] = draw(text(30))
    if kind in ("email", "both"):
        contact["email"] = draw(regex(r"[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9-]{1,10}(\.[a-z]{2,5}){0,2}"))
    return contact


@st.composite
def document_parties(draw: st.DrawFn, *, address: bool = False,
                     identified: bool = False) -> dict[str, Any]:
    party: dict[str, Any] = {"partyName": draw(text(70))}
    if address or draw(st.booleans()):
        where = {"street": draw(text(70)), "city": draw(text(35)),
                 "countryCode": draw(regex(r"[A-Z]{2}"))}
        optional(draw, where, "streetNumber", text(50))
        optional(draw, where, "postCode", text(10))
        optional(draw, where, "stateRegion", text(65))
        optional(draw, where, "UNLocationCode", LOCODE)
        party["address"] = where
    if identified or draw(st.booleans()):
        code_strategy = st.fixed_dictionaries(
            {"codeListProvider": st.sampled_from(["ZZZ", "GLEIF", "W3C", "DNB", "WAVE"]),
             "partyCode": text(150)}, optional={"codeListName": text(100)})
        party["identifyingCodes"] = draw(st.lists(code_strategy, min_size=1, max_size=2))
    optional(draw, party, "partyContactDetails", st.lists(contacts(), min_size=1, max_size=2))
    return party


@st.composite
def bills(draw: st.DrawFn) -> dict[str, Any]:
    """Valid bill-of-lading 1.1 documents varying every member the conversion touches."""
    document = example()
    body: dict[str, Any] = {
        "transportDocumentReference": draw(regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}")),
        "transportDocumentTypeCode": "BOL",
        "transportDocumentStatus": draw(st.sampled_from(
            ["DRAFT", "APPROVED", "ISSUED", "PENDING_SURRENDER_FOR_DELIVERY", "VOIDED"])),
        "isShippedOnBoardType": draw(st.booleans()),
        "isElectronic": True,
        "isToOrder": draw(st.booleans()),
    }
    body["shippedOnBoardDate" if body["isShippedOnBoardType"] else "receivedForShipmentDate"] = (
        draw(DATES))
    optional(draw, body, "issueDate", DATES)
    body["termsAndConditions"] = draw(st.text(st.characters(blacklist_categories=("Cs",)),
                                              min_size=1, max_size=300))
    for name in ("receiptTypeAtOrigin", "deliveryTypeAtDestination"):
        body[name] = draw(st.sampled_from(["CY", "SD", "CFS"]))
    for name in ("cargoMovementTypeAtOrigin", "cargoMovementTypeAtDestination"):
        body[name] = draw(st.sampled_from(["FCL", "LCL"]))
    body["carrierCode"] = draw(regex(r"[A-Z0-9]{2,4}"))
    body["carrierCodeListProvider"] = draw(st.sampled_from(["SMDG", "NMFTA"]))
    voyage = r"[A-Za-z0-9]([A-Za-z0-9 ./-]{0,10}[A-Za-z0-9./-])?"
    transports: dict[str, Any] = {"plannedDepartureDate": draw(DATES),
                                  "plannedArrivalDate": draw(DATES)}
    optional(draw, transports, "placeOfReceipt", locations())
    transports["portOfLoading"] = draw(locations())
    transports["portOfDischarge"] = draw(locations())
    optional(draw, transports, "placeOfDelivery", locations())
    transports["vesselVoyages"] = draw(st.lists(st.fixed_dictionaries(
        {"vesselName": text(50), "carrierExportVoyageNumber": regex(voyage)},
        optional={"carrierImportVoyageNumber": regex(voyage)}), min_size=1, max_size=3))
    body["transports"] = transports
    weight = st.one_of(st.integers(min_value=1, max_value=10**6),
                       st.floats(min_value=0.001, max_value=1e6))
    cargo = st.fixed_dictionaries({
        "equipmentReference": EQUIPMENT,
        "cargoGrossWeight": st.fixed_dictionaries({"value": weight,
                                                   "unit": st.sampled_from(["KGM", "LBR"])}),
        "outerPackaging": st.fixed_dictionaries({
            "numberOfPackages": st.integers(min_value=1, max_value=99999999),
            "packageCode": regex(r"[A-Z0-9]{2}"), "description": text(100)})})
    body["consignmentItems"] = draw(st.lists(st.fixed_dictionaries({
        "carrierBookingReference": text(35),
        "descriptionOfGoods": st.lists(text(35), min_size=1, max_size=3),
        "HSCodes": st.lists(regex(r"[0-9]{6}"), min_size=1, max_size=2),
        "cargoItems": st.lists(cargo, min_size=1, max_size=2)},
        optional={"shippingMarks": st.lists(text(35), max_size=2)}), min_size=1, max_size=3))
    body["utilizedTransportEquipments"] = draw(st.lists(st.fixed_dictionaries({
        "equipment": st.fixed_dictionaries({"equipmentReference": EQUIPMENT,
                                            "ISOEquipmentCode": regex(r"[0-9A-Z]{4}")}),
        "isShipperOwned": st.booleans(),
        "seals": st.lists(st.fixed_dictionaries(
            {"number": regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,14}")}), min_size=1, max_size=2)}),
        min_size=1, max_size=2))
    body["freightPaymentTermCode"] = draw(st.sampled_from(["PRE", "COL"]))
    body["invoicePayableAt"] = draw(locations())
    body["partyContactDetails"] = draw(st.lists(contacts(), min_size=1, max_size=2))
    parties: dict[str, Any] = {"shipper": draw(document_parties()),
                               "issuingParty": draw(document_parties(address=True))}
    optional(draw, parties, "consignee", document_parties(identified=True))
    optional(draw, parties, "endorsee", document_parties(identified=True))
    optional(draw, parties, "notifyParties", st.lists(document_parties(), min_size=1,
                                                      max_size=3))
    body["documentParties"] = parties
    document["body"] = body
    document["id"] = draw(regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,40}"))
    if draw(st.booleans()):
        document["references"] = draw(st.lists(st.fixed_dictionaries({
            "id": regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}"),
            "type": st.sampled_from(["commercial-invoice", "customs-declaration"]),
            "sha256": regex(r"[0-9a-f]{64}")}), max_size=2))
    if draw(st.booleans()):
        document["extensions"] = draw(st.dictionaries(
            st.sampled_from(["SG", "CN", "SG-CUSTOMS"]),
            st.recursive(st.none() | st.booleans() | st.integers(-1000, 1000) | text(10),
                         lambda inner: st.lists(inner, max_size=2)
                         | st.dictionaries(text(5), inner, max_size=2), max_leaves=5),
            max_size=2))
    return document


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bills())
def test_ours_to_dcsa_to_ours_is_lossless(schemas: DocumentSchemas, document: dict[str, Any]) -> None:
    schemas.validate(document)
    schemas.validate_reference(document)
    transport_document = to_transport_document(document, schemas=schemas)
    assert dcsa_errors(transport_document) == []
    assert from_transport_document(transport_document, schemas=schemas) == document


@st.composite
def dcsa_additions(draw: st.DrawFn, transport_document: dict[str, Any]) -> dict[str, Any]:
    """DCSA members our profile does not map, added to a DCSA document."""
    varied = copy.deepcopy(transport_document)
    optional(draw, varied, "serviceContractReference", text(30))
    optional(draw, varied, "shippingInstructionsReference", text(100))
    optional(draw, varied, "numberOfOriginalsWithCharges", st.integers(0, 3))
    if draw(st.booleans()):
        varied["charges"] = draw(st.lists(st.fixed_dictionaries({
            "chargeName": text(50), "currencyAmount": st.integers(0, 10**6),
            "currencyCode": regex(r"[A-Z]{3}"), "paymentTermCode": st.sampled_from(["PRE", "COL"]),
            "calculationBasis": text(50), "unitPrice": st.integers(0, 1000),
            "quantity": st.integers(0, 100)}), min_size=1, max_size=2))
    shipper = varied["documentParties"]["shipper"]
    optional(draw, shipper, "displayedAddress", st.lists(text(35), min_size=1, max_size=3))
    optional(draw, shipper, "typeOfPerson", text(50))
    voyage = varied["transports"]["vesselVoyages"][0]
    optional(draw, voyage, "universalExportVoyageReference", regex(r"[0-9]{2}[0-9A-Z]{2}[NEWSR]"))
    seal = varied["utilizedTransportEquipments"][0]["seals"][0]
    optional(draw, seal, "source", st.sampled_from(["CAR", "SHI", "VET", "CUS"]))
    return varied


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_dcsa_to_ours_to_dcsa_is_lossless(schemas: DocumentSchemas, data: st.DataObject) -> None:
    document = data.draw(bills())
    original = data.draw(dcsa_additions(without_ours(to_transport_document(document,
                                                                           schemas=schemas))))
    assert dcsa_errors(original) == []
    header = {name: document[name] for name in ("id", "issuedAt", "issuer", "parties")}
    ours = from_transport_document(original, schemas=schemas, header=header)
    back = to_transport_document(ours, schemas=schemas)
    assert dcsa_errors(back) == []
    assert without_ours(back) == original
    assert from_transport_document(back, schemas=schemas) == ours


@pytest.fixture(scope="module")
def converted(schemas: DocumentSchemas) -> dict[str, Any]:
    return to_transport_document(example(), schemas=schemas)


_JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=6)
    | st.sampled_from(["/", "/carrierCode", "/transports/x", "~", "tradeaccord", "DCSA"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["pointer", "value", "unmapped", "extensions", "type",
                                       "version", "id", "parties", "tradeaccord", "DCSA",
                                       "eblVersion", "transports", "x"]), inner, max_size=4),
    max_leaves=10)


@settings(max_examples=150, deadline=None)
@given(where=st.sampled_from(["root", "extensions", "tradeaccord", "unmapped", "transports"]),
       junk=_JUNK)
def test_only_schema_errors_escape_the_converters(schemas: DocumentSchemas, converted: Any,
                                                  where: str, junk: Any) -> None:
    """Whatever a peer puts anywhere, the converters refuse it with a coded error (or accept
    it when it is valid), never with a stray TypeError or KeyError."""
    transport_document: Any = copy.deepcopy(converted)
    if where == "root":
        transport_document = junk
    elif where == "extensions":
        transport_document["extensions"] = junk
    elif where == "tradeaccord":
        transport_document["extensions"]["tradeaccord"] = junk
    elif where == "unmapped":
        transport_document["extensions"]["tradeaccord"]["unmapped"] = junk
    else:
        transport_document["transports"] = junk
    try:
        ours = from_transport_document(transport_document, schemas=schemas)
    except SchemaError:
        return
    assert to_transport_document(ours, schemas=schemas) == transport_document
