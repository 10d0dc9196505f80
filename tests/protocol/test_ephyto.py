"""The ePhyto mapping: our phytosanitary certificate ↔ UN/CEFACT SPS certificate XML.

Exports validate against the shipped hub schema and follow the official UN/CEFACT root
module; ours → XML → ours is the identity (extensions included); a foreign certificate
(tests/data/ephyto) imports schema-valid with its XML-only data kept; hostile or malformed
XML is refused with XML_MALFORMED or EPHYTO_INVALID, never with a foreign exception.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from protocol.errors import InteropError, SchemaError
from protocol.interop.ephyto import XSD_DIRECTORY, CodeLists, EphytoConverter
from protocol.interop.ephyto.names import RAM, RSM
from protocol.limits import Limits
from protocol.reason_codes import ReasonCode

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "documents" / "phytosanitary-certificate.json"
SAMPLE = ROOT / "tests" / "data" / "ephyto" / "re-export-certificate.xml"
XSD = "{http://www.w3.org/2001/XMLSchema}"


@pytest.fixture(scope="module")
def converter() -> EphytoConverter:
    return EphytoConverter.load()


@pytest.fixture
def example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def refused(call: Callable[[], object]) -> InteropError:
    with pytest.raises(InteropError) as caught:
        call()
    return caught.value


# -- ours → XML ---------------------------------------------------------------------------

def test_example_exports_valid_against_the_shipped_schema(converter: EphytoConverter,
                                                          example: dict[str, Any]) -> None:
    xml = converter.to_xml(example)
    schema = etree.XMLSchema(etree.parse(str(XSD_DIRECTORY / "ippc-hub" / "ephyto-hub.xsd")))
    root = etree.fromstring(xml)
    assert schema.validate(root), schema.error_log
    assert root.tag == f"{{{RSM}}}SPSCertificate"
    assert root.findtext(f"{{{RSM}}}SPSExchangedDocument/{{{RAM}}}TypeCode") == "851"
    assert root.findtext(f"{{{RSM}}}SPSExchangedDocument/{{{RAM}}}ID") == "SG-PC-2026-118452"
    items = root.findall(f".//{{{RAM}}}IncludedSPSTradeLineItem")
    assert [i.findtext(f"{{{RAM}}}ScientificName") for i in items] == [
        "Phalaenopsis spp.", "Dendrobium spp."]
    # The treatment (a consignment-level fact) is stated on every item, coded per UN/CEFACT.
    assert [i.findtext(f"{{{RAM}}}AppliedSPSProcess/{{{RAM}}}TypeCode") for i in items] == [
        "45", "45"]


def test_export_follows_the_official_uncefact_root_module(converter: EphytoConverter,
                                                          example: dict[str, Any]) -> None:
    """The root element, its namespace and its children match SPSCertificate_17p0.xsd."""
    official = etree.parse(str(XSD_DIRECTORY / "uncefact-d16b" / "SPSCertificate_17p0.xsd"))
    assert official.getroot().get("targetNamespace") == RSM
    sequence = official.find(f"{XSD}complexType[@name='SPSCertificateType']/{XSD}sequence")
    assert sequence is not None
    expected = [element.get("name") for element in sequence]
    root = etree.fromstring(converter.to_xml(example))
    assert [etree.QName(child).localname for child in root] == expected
    imports = {i.get("namespace") for i in official.getroot().iter(f"{XSD}import")}
    assert {RAM, "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:21"} <= imports


def test_refuses_to_export_another_document_type(converter: EphytoConverter) -> None:
    other = json.loads((ROOT / "examples" / "documents" / "certificate-of-origin.json")
                       .read_text(encoding="utf-8"))
    assert refused(lambda: converter.to_xml(other)).code is ReasonCode.EPHYTO_INVALID


def test_refuses_to_export_a_schema_invalid_document(converter: EphytoConverter,
                                                     example: dict[str, Any]) -> None:
    example["body"]["certificateType"] = "transit"
    with pytest.raises(SchemaError) as caught:
        converter.to_xml(example)
    assert caught.value.code is ReasonCode.SCHEMA_INVALID
    assert caught.value.pointer == "/body/certificateType"


def test_text_xml_cannot_carry_is_refused(converter: EphytoConverter,
                                          example: dict[str, Any]) -> None:
    example["body"]["placeOfIssue"] = "Singapore\x01"
    assert refused(lambda: converter.to_xml(example)).code is ReasonCode.EPHYTO_INVALID


# -- ours → XML → ours ----------------------------------------------------------------------

def _variant(name: str, document: dict[str, Any]) -> dict[str, Any]:
    body = document["body"]
    consignment = body["consignment"]
    if name == "minimal":
        for key in ("inspectionDate", "authorizedOfficer"):
            body.pop(key)
        for key in ("additionalDeclarations", "treatments"):
            consignment.pop(key)
        document["parties"] = document["parties"][:1]
        commodity = consignment["commodities"][0]
        for key in ("hsCode", "netMassKg", "packages"):
            commodity.pop(key)
        commodity["placeOfOrigin"].pop("place")
        consignment["commodities"] = [commodity]
        consignment["meansOfConveyance"].pop("identifier")
    elif name == "re-export-with-extensions":
        body["certificateType"] = "re-export"
        document["references"] = [{"id": "KE-1", "type": "phytosanitary-certificate",
                                   "sha256": "ab" * 32}]
        document["extensions"] = {"SG": {"permit": "IP-1", "nested": [1, 2.5, None, True]},
                                  "ephyto": {"unmapped": [{"path": "/x", "value": "kept"}]}}
    elif name == "empty-arrays":
        consignment["additionalDeclarations"] = []
        consignment["treatments"] = []
    elif name == "volume-and-fractions":
        commodity = consignment["commodities"][0]
        commodity["quantity"] = {"value": 12.75, "unitCode": "MTQ"}
        commodity["netMassKg"] = 0.125
        consignment["treatments"][0]["temperatureCelsius"] = -1.5
    return document


@pytest.mark.parametrize("variant", ["example", "minimal", "re-export-with-extensions",
                                     "empty-arrays", "volume-and-fractions"])
def test_ours_to_xml_to_ours_is_the_identity(converter: EphytoConverter,
                                             example: dict[str, Any], variant: str) -> None:
    document = _variant(variant, example)
    assert converter.from_xml(converter.to_xml(document)) == document


@pytest.mark.parametrize("treatment", ["fumigation", "heat-treatment", "cold-treatment",
                                       "hot-water", "chemical-dip", "spray", "irradiation",
                                       "other"])
def test_every_treatment_type_round_trips(converter: EphytoConverter,
                                          example: dict[str, Any], treatment: str) -> None:
    example["body"]["consignment"]["treatments"][0]["type"] = treatment
    assert converter.from_xml(converter.to_xml(example)) == example


def test_repeated_treatments_round_trip(converter: EphytoConverter,
                                        example: dict[str, Any]) -> None:
    treatments = example["body"]["consignment"]["treatments"]
    treatments.append(copy.deepcopy(treatments[0]))
    treatments.append({"type": "spray", "date": "2026-11-17"})
    assert converter.from_xml(converter.to_xml(example)) == example


def test_issuer_option_overrides_the_extension_note(converter: EphytoConverter,
                                                    example: dict[str, Any]) -> None:
    document = converter.from_xml(converter.to_xml(example), issuer="SG-NPARKS")
    assert document["issuer"] == "SG-NPARKS"


# -- a foreign certificate → ours → XML -------------------------------------------------------

def test_sample_certificate_is_valid_against_the_shipped_schema(
        converter: EphytoConverter) -> None:
    assert converter.xml_schema.validate(etree.parse(str(SAMPLE)))


def test_foreign_certificate_imports_with_xml_only_data_kept(converter: EphytoConverter) -> None:
    document = converter.from_xml(SAMPLE.read_bytes())
    converter.schemas.validate(document)
    body = document["body"]
    assert document["issuer"] == "NL-NPPO" and document["issuedAt"] == "2026-10-02T12:05:00Z"
    assert body["certificateType"] == "re-export"
    assert body["exportNppo"] == {"country": "NL", "name":
                                  "Netherlands Food and Consumer Product Safety Authority"}
    assert [p["id"] for p in document["parties"]] == ["NL-REG-KVK34071122",
                                                       "SG-NAME-9C2F85F89CE4"]
    roses, chrysanthemums = body["consignment"]["commodities"]
    assert roses["hsCode"] == "060311" and roses["netMassKg"] == 1250.5
    assert roses["quantity"] == {"value": 1250.5, "unitCode": "KGM"}
    assert chrysanthemums["quantity"] == {"value": 300, "unitCode": "KGM"}
    assert body["consignment"]["treatments"] == [
        {"type": "fumigation", "date": "2026-09-30", "durationHours": 2,
         "concentration": "48 g/m3", "temperatureCelsius": 21.5},
        {"type": "other", "date": "2026-09-29", "chemical": "Spinosad"}]
    ephyto = document["extensions"]["ephyto"]
    kept = {entry["path"]: entry for entry in ephyto["unmapped"]}
    assert kept["/SPSConsignment/TransitSPSCountry/ID"]["value"] == "AE"
    assert kept["/SPSExchangedDocument/IncludedSPSNote[2]/Content"]["value"] == "IP-SG-2026-00981"
    assert (kept["/SPSConsignment/IncludedSPSConsignmentItem/IncludedSPSTradeLineItem[1]/"
                 "ApplicableSPSClassification[1]/ClassCode"]["value"] == "06031100")
    attachment = kept["/SPSExchangedDocument/ReferenceSPSReferencedDocument/"
                      "AttachmentBinaryObject"]
    assert "value" not in attachment and attachment["omitted"]["characters"] == 44
    assert {"/id", "/issuer", "/body/importNppo/name"} <= set(ephyto["derived"])


def test_foreign_certificate_exports_again_and_round_trips(converter: EphytoConverter) -> None:
    document = converter.from_xml(SAMPLE.read_bytes(), issuer="NL-NVWA")
    xml = converter.to_xml(document)
    assert converter.xml_schema.validate(etree.fromstring(xml))
    assert converter.from_xml(xml) == document


# -- refusals --------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rsm:SPSCertificate
 xmlns:rsm="urn:un:unece:uncefact:data:standard:SPSCertificate:17">&lol9;</rsm:SPSCertificate>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rsm:SPSCertificate
 xmlns:rsm="urn:un:unece:uncefact:data:standard:SPSCertificate:17">&xxe;</rsm:SPSCertificate>
"""

NETWORK_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">
<rsm:SPSCertificate xmlns:rsm="urn:un:unece:uncefact:data:standard:SPSCertificate:17"/>
"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>
<r/>
"""


@pytest.mark.parametrize("data", [
    pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    pytest.param(EXTERNAL_ENTITY, id="external-entity"),
    pytest.param(NETWORK_DTD, id="network-dtd"),
    pytest.param(PARAMETER_ENTITY, id="parameter-entity"),
    pytest.param(EXTERNAL_ENTITY.decode().replace('version="1.0"?',
                                                  'version="1.0" encoding="UTF-16"?')
                 .encode("utf-16"), id="doctype-hidden-in-utf16"),
])
def test_rejects_dtds_and_entities(converter: EphytoConverter, data: bytes) -> None:
    error = refused(lambda: converter.from_xml(data))
    assert error.code is ReasonCode.XML_MALFORMED
    assert "passwd" not in error.message and "root:" not in error.message


@pytest.mark.parametrize("data", [
    pytest.param(b"", id="empty"),
    pytest.param(b"<rsm:SPSCertificate", id="truncated"),
    pytest.param(b"<a><b></a>", id="mismatched-tags"),
    pytest.param(b"<a>&undefined;</a>", id="undefined-entity"),
    pytest.param(b"<a>" * 300 + b"</a>" * 300, id="too-deep"),
    pytest.param(b"\xff\xfe<\x00a\x00", id="bad-encoding"),
])
def test_rejects_malformed_xml(converter: EphytoConverter, data: bytes) -> None:
    assert refused(lambda: converter.from_xml(data)).code is ReasonCode.XML_MALFORMED


def test_rejects_oversized_xml_before_parsing() -> None:
    small = EphytoConverter.load(limits=Limits(max_xml_bytes=1024))
    error = refused(lambda: small.from_xml(SAMPLE.read_bytes()))
    assert error.code is ReasonCode.XML_MALFORMED and "limit is 1024" in error.message


def test_rejects_a_wrong_root(converter: EphytoConverter) -> None:
    data = b'<rsm:SPSAcknowledgement xmlns:rsm="urn:un:unece:uncefact:data:standard:' \
           b'SPSAcknowledgement:17"/>'
    error = refused(lambda: converter.from_xml(data))
    assert error.code is ReasonCode.EPHYTO_INVALID and error.context["where"] == "/"


@pytest.mark.parametrize("edit", [
    pytest.param((b"<ram:TypeCode>657</ram:TypeCode>", b"<ram:TypeCode>re-export</ram:TypeCode>"),
                 id="type-code-not-a-number"),
    pytest.param((b"<ram:ID>NL-RE-2026-004417</ram:ID>", b"<ram:Colour>red</ram:Colour>"),
                 id="unknown-element"),
    pytest.param((b"<rsm:SPSConsignment>", b"<rsm:SPSConsignment><rsm:SPSConsignment/>"),
                 id="element-out-of-order"),
])
def test_rejects_schema_invalid_xml(converter: EphytoConverter, edit: tuple[bytes, bytes]) -> None:
    data = SAMPLE.read_bytes().replace(*edit)
    error = refused(lambda: converter.from_xml(data))
    assert error.code is ReasonCode.EPHYTO_INVALID and "schema" in error.message


@pytest.mark.parametrize("edit", [
    pytest.param((b"<ram:TypeCode>657</ram:TypeCode>", b"<ram:TypeCode>861</ram:TypeCode>"),
                 id="not-a-phytosanitary-certificate"),
    pytest.param((b"<ram:Subject>DMCL</ram:Subject>", b"<ram:Subject>XXXX</ram:Subject>"),
                 id="no-distinguishing-marks"),
    pytest.param((b"<ram:ID>SGSIN</ram:ID>", b"<ram:ID>Singapore</ram:ID>"),
                 id="point-of-entry-not-a-unlocode"),
    pytest.param((b"<ram:Subject>ADIPEDL</ram:Subject>", b"<ram:Subject>TRADEACCORD</ram:Subject>"),
                 id="extension-note-not-json"),
])
def test_rejects_certificates_our_schema_cannot_hold(converter: EphytoConverter,
                                                     edit: tuple[bytes, bytes]) -> None:
    data = SAMPLE.read_bytes().replace(*edit)
    assert data != SAMPLE.read_bytes()
    assert refused(lambda: converter.from_xml(data)).code is ReasonCode.EPHYTO_INVALID


def test_rejects_text_instead_of_bytes(converter: EphytoConverter) -> None:
    with pytest.raises(TypeError):
        converter.from_xml(SAMPLE.read_text(encoding="utf-8"))  # type: ignore[arg-type]


# -- data files --------------------------------------------------------------------------------

def test_code_lists_name_their_origin() -> None:
    codes = CodeLists.load()
    for name, origin in codes.origins.items():
        assert origin.get("source") and origin.get("licence"), name
    assert codes.type_code_by_certificate_type == {"export": "851", "re-export": "657"}
    assert codes.status_names["70"] == "Issued"
    assert codes.process_names["16"] == "Fumigation"
    assert set(codes.transport_modes) == {str(i) for i in range(10)}
    assert {"HUR", "CEL", "KGM", "MTQ"} <= set(codes.unit_names)


def test_shipped_schema_files_are_documented() -> None:
    readme = (XSD_DIRECTORY / "README.md").read_text(encoding="utf-8")
    for path in sorted(XSD_DIRECTORY.glob("*/*.xsd")):
        assert path.name in readme, path
    assert re.search(r"\b[0-9a-f]{40}\b", readme)  # the commits the files were taken from


@pytest.mark.parametrize("note", [
    pytest.param('{"v":1,"empty":3}', id="wrong-member-type"),
    pytest.param('{"v":1,"extensions":[1]}', id="extensions-not-an-object"),
    pytest.param('{"v":1,"colour":"red"}', id="unknown-member"),
    pytest.param('{"v":2}', id="unknown-version"),
    pytest.param('{"v":1,"v":1}', id="duplicate-member"),
])
def test_rejects_a_malformed_extension_note(converter: EphytoConverter, example: dict[str, Any],
                                            note: str) -> None:
    xml = re.sub(rb"(<ram:Subject>TRADEACCORD</ram:Subject>\s*<ram:Content>)[^<]*",
                 lambda m: m.group(1) + note.encode(), converter.to_xml(example))
    assert refused(lambda: converter.from_xml(xml)).code is ReasonCode.EPHYTO_INVALID


@pytest.mark.parametrize(("written", "read"), [
    ("2026-10-02T14:05:00.5+02:00", "2026-10-02T12:05:00.5Z"),
    ("2026-10-02", "2026-10-02T00:00:00Z"),
])
def test_issue_times_are_read_as_utc(converter: EphytoConverter, written: str, read: str) -> None:
    data = SAMPLE.read_bytes().replace(b"2026-10-02T14:05:00+02:00", written.encode())
    assert converter.from_xml(data)["issuedAt"] == read


@pytest.mark.parametrize("written", ["0001-01-01T00:00:00+01:00", "yesterday"])
def test_unreadable_issue_times_are_refused(converter: EphytoConverter, written: str) -> None:
    data = SAMPLE.read_bytes().replace(b"2026-10-02T14:05:00+02:00", written.encode())
    assert refused(lambda: converter.from_xml(data)).code is ReasonCode.EPHYTO_INVALID
