"""TradeAccord phytosanitary certificate → UN/CEFACT SPS certificate XML (hub profile).

Elements are written in the order the IPPC hub's schema requires. What the SPS certificate
has no element for travels in one ``IncludedSPSNote`` with subject ``TRADEACCORD`` whose
content is a JSON object (``extension_note``); see ``docs/ephyto.md`` for the table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from lxml import etree

from protocol.errors import InteropError
from protocol.interop.ephyto.codes import CodeLists
from protocol.interop.ephyto.names import (
    EXTENSION_SUBJECT,
    EXTENSION_VERSION,
    NSMAP,
    RAM,
    RSM,
    STANDARD_NAMES,
    STATUS_ISSUED,
    TRADER_ID_LIST,
    UDT,
)
from protocol.reason_codes import ReasonCode

_Element = etree._Element


def build_xml(document: Mapping[str, Any], codes: CodeLists) -> _Element:
    """The ``rsm:SPSCertificate`` element for a schema-valid phytosanitary certificate."""
    body = document["body"]
    consignment = body["consignment"]
    root = etree.Element(f"{{{RSM}}}SPSCertificate", nsmap=NSMAP)
    try:
        _exchanged_document(etree.SubElement(root, f"{{{RSM}}}SPSExchangedDocument"),
                            document, codes)
        _consignment(etree.SubElement(root, f"{{{RSM}}}SPSConsignment"), document,
                     consignment, codes)
    except ValueError as exc:  # lxml refuses text XML 1.0 cannot hold (control characters)
        raise InteropError(ReasonCode.EPHYTO_INVALID,
                           f"the certificate holds text XML cannot carry: {exc}",
                           where="(document)") from exc
    return root


def extension_note(document: Mapping[str, Any]) -> dict[str, Any]:
    """The TradeAccord-only data: what the SPS certificate has no element for."""
    body = document["body"]
    consignment = body["consignment"]
    note: dict[str, Any] = {
        "v": EXTENSION_VERSION,
        "id": document["id"],
        "issuer": document["issuer"],
        "importNppoName": body["importNppo"]["name"],
        "parties": document["parties"],
        "quantities": [item["quantity"] for item in consignment["commodities"]],
    }
    treatments = consignment.get("treatments")
    if treatments:
        note["treatmentTypes"] = [t["type"] for t in treatments]
    for key in ("references", "extensions"):
        if key in document:
            note[key] = document[key]
    empty = [key for key in ("additionalDeclarations", "treatments") if consignment.get(key) == []]
    if empty:
        note["empty"] = empty
    return note


def _exchanged_document(parent: _Element, document: Mapping[str, Any],
                        codes: CodeLists) -> None:
    body = document["body"]
    consignment = body["consignment"]
    certificate_type = body["certificateType"]
    _ram(parent, "Name", STANDARD_NAMES[certificate_type])
    _ram(parent, "ID", body["certificateNumber"])
    _ram(parent, "TypeCode", codes.type_code_by_certificate_type[certificate_type])
    _ram(parent, "StatusCode", STATUS_ISSUED)
    _date_time(_ram(parent, "IssueDateTime"), document["issuedAt"])
    _ram(_ram(parent, "IssuerSPSParty"), "Name", body["exportNppo"]["name"])
    for declaration in consignment.get("additionalDeclarations", []):
        _note(parent, "IncludedSPSNote", "ADEDL", declaration)
    _note(parent, "IncludedSPSNote", "DMCL", consignment["distinguishingMarks"])
    if "inspectionDate" in body:
        _note(parent, "IncludedSPSNote", "ADDIEDL", body["inspectionDate"])
    _note(parent, "IncludedSPSNote", EXTENSION_SUBJECT,
          json.dumps(extension_note(document), ensure_ascii=False, sort_keys=True,
                     separators=(",", ":")))
    signatory = _ram(parent, "SignatorySPSAuthentication")
    _ram(_ram(signatory, "IssueSPSLocation"), "Name", body["placeOfIssue"])
    if "authorizedOfficer" in body:
        provider = _ram(signatory, "ProviderSPSParty")
        _ram(_ram(provider, "SpecifiedSPSPerson"), "Name", body["authorizedOfficer"])


def _consignment(parent: _Element, document: Mapping[str, Any],
                 consignment: Mapping[str, Any], codes: CodeLists) -> None:
    body = document["body"]
    for role, element in (("consignor", "ConsignorSPSParty"), ("consignee", "ConsigneeSPSParty")):
        party = next((p for p in document["parties"] if p["role"] == role), None)
        if party is not None:
            _party(_ram(parent, element), party)
    _ram(_ram(parent, "ExportSPSCountry"), "ID", body["exportNppo"]["country"])
    _ram(_ram(parent, "ImportSPSCountry"), "ID", body["importNppo"]["country"])
    _ram(_ram(parent, "UnloadingBaseportSPSLocation"), "ID", consignment["declaredPointOfEntry"])
    conveyance = consignment["meansOfConveyance"]
    movement = _ram(parent, "MainCarriageSPSTransportMovement")
    _ram(movement, "ModeCode", conveyance["mode"])
    if "identifier" in conveyance:
        _ram(_ram(movement, "UsedSPSTransportMeans"), "Name", conveyance["identifier"])
    item = _ram(parent, "IncludedSPSConsignmentItem")
    treatments = consignment.get("treatments", [])
    for index, commodity in enumerate(consignment["commodities"], start=1):
        _trade_line_item(_ram(item, "IncludedSPSTradeLineItem"), index, commodity, treatments,
                         codes)


def _party(parent: _Element, party: Mapping[str, Any]) -> None:
    _ram(parent, "Name", party["name"])
    _ram(parent, "TypeCode", party["id"]).set("listName", TRADER_ID_LIST)
    address = party.get("address")
    if address is not None:
        lines = [address.get("street"),
                 " ".join(x for x in (address.get("postcode"), address["city"]) if x),
                 address["country"]]
        element = _ram(parent, "SpecifiedSPSAddress")
        for name, line in zip(("LineOne", "LineTwo", "LineThree"),
                              [line for line in lines if line], strict=False):
            _ram(element, name, line)


def _trade_line_item(parent: _Element, index: int, commodity: Mapping[str, Any],
                     treatments: Sequence[Mapping[str, Any]], codes: CodeLists) -> None:
    _ram(parent, "SequenceNumeric", str(index))
    _ram(parent, "Description", commodity["description"])
    _ram(parent, "ScientificName", commodity["botanicalName"])
    quantity = commodity["quantity"]
    if "netMassKg" in commodity:
        _measure(parent, "NetWeightMeasure", commodity["netMassKg"], "KGM")
    if quantity["unitCode"] == "MTQ":
        _measure(parent, "NetVolumeMeasure", quantity["value"], "MTQ")
    if "hsCode" in commodity:
        classification = _ram(parent, "ApplicableSPSClassification")
        _ram(classification, "SystemName", "HS")
        _ram(classification, "ClassCode", commodity["hsCode"])
    packages = commodity.get("packages")
    if packages is not None:
        package = _ram(parent, "PhysicalSPSPackage")
        _ram(package, "LevelCode", "1")
        _ram(package, "TypeCode", packages["packageCode"])
        _ram(package, "ItemQuantity", str(packages["numberOfPackages"]))
    origin = commodity["placeOfOrigin"]
    country = _ram(parent, "OriginSPSCountry")
    _ram(country, "ID", origin["country"])
    if "place" in origin:
        _ram(_ram(country, "SubordinateSPSCountrySubDivision"), "Name", origin["place"])
    for treatment in treatments:
        _treatment(_ram(parent, "AppliedSPSProcess"), treatment, codes)


def _treatment(parent: _Element, treatment: Mapping[str, Any], codes: CodeLists) -> None:
    _ram(parent, "TypeCode", codes.process_code_by_treatment[treatment["type"]])
    period = _ram(parent, "CompletionSPSPeriod")
    _date_time(_ram(period, "StartDateTime"), treatment["date"])
    if "durationHours" in treatment:
        _measure(period, "DurationMeasure", treatment["durationHours"], "HUR")
    for subject, key in (("TTCH", "chemical"), ("TTCO", "concentration")):
        if key in treatment:
            characteristic = _ram(parent, "ApplicableSPSProcessCharacteristic")
            _ram(characteristic, "Description", subject)
            _ram(characteristic, "Description", treatment[key])
    if "temperatureCelsius" in treatment:
        characteristic = _ram(parent, "ApplicableSPSProcessCharacteristic")
        _ram(characteristic, "Description", "TTTM")
        _measure(characteristic, "ValueMeasure", treatment["temperatureCelsius"], "CEL")


def _note(parent: _Element, element: str, subject: str, content: str) -> None:
    note = _ram(parent, element)
    _ram(note, "Subject", subject)
    _ram(note, "Content", content)


def _date_time(parent: _Element, value: str) -> None:
    etree.SubElement(parent, f"{{{UDT}}}DateTimeString").text = value


def _measure(parent: _Element, name: str, value: float, unit: str) -> None:
    _ram(parent, name, format_number(value)).set("unitCode", unit)


def _ram(parent: _Element, name: str, text: str | None = None) -> _Element:
    element = etree.SubElement(parent, f"{{{RAM}}}{name}")
    if text is not None:
        element.text = text
    return element


def format_number(value: float) -> str:
    """A JSON number as XML Schema decimal text: integers without a fraction."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if isinstance(value, int) else repr(value)
