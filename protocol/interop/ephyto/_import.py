"""UN/CEFACT SPS certificate XML (hub profile) → TradeAccord phytosanitary certificate.

The reader marks every leaf element it maps as consumed; every other leaf with content
(text or attributes) is kept, with its path, in ``extensions.ephyto.unmapped``, so nothing
the XML says is dropped silently. Fields our schema requires but the XML cannot supply are
derived by documented rules and listed in ``extensions.ephyto.derived``; the ``TRADEACCORD``
extension note, when present, supplies them exactly instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Mapping
from typing import Any

from lxml import etree

from protocol.canonical import canonicalize
from protocol.errors import InteropError, JSONInputError
from protocol.interop.ephyto.codes import CodeLists
from protocol.interop.ephyto.names import (
    EXTENSION_SUBJECT,
    EXTENSION_VERSION,
    RAM,
    RSM,
    STANDARD_NAMES,
    STATUS_ISSUED,
    TRADER_ID_LIST,
    UDT,
)
from protocol.limits import Limits
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import format_time

_Element = etree._Element

_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?Z$")
_HS = re.compile(r"^[0-9]{6,}$")
_NOT_ID_CHAR = re.compile(r"[^A-Z0-9./-]")
_NOTE_TYPES: dict[str, type] = {
    "v": int, "id": str, "issuer": str, "importNppoName": str, "parties": list,
    "quantities": list, "treatmentTypes": list, "references": list, "extensions": dict,
    "empty": list,
}
"""The extension note's members and their JSON types; anything else is refused."""
_MAX_ID_VALUE = 50


def read_xml(root: _Element, codes: CodeLists, *, issuer: str | None,
             limits: Limits) -> dict[str, Any]:
    """The TradeAccord document for a schema-valid ``rsm:SPSCertificate`` element. The caller
    validates the result against our JSON Schema. Raises ``InteropError(EPHYTO_INVALID)``."""
    return _Reader(root, codes, limits).document(issuer)


class _Reader:
    def __init__(self, root: _Element, codes: CodeLists, limits: Limits) -> None:
        self.root = root
        self.codes = codes
        self.limits = limits
        self.consumed: set[_Element] = set()
        self.derived: list[str] = []
        self.exported_codes = set(codes.process_code_by_treatment.values())

    # -- the document ----------------------------------------------------------------
    def document(self, issuer: str | None) -> dict[str, Any]:
        exchanged = self._required_child(self.root, f"{{{RSM}}}SPSExchangedDocument")
        consignment_el = self._required_child(self.root, f"{{{RSM}}}SPSConsignment")
        note = self._extension_note(exchanged)
        number = self._required(exchanged, "ID")
        type_code = self._required(exchanged, "TypeCode")
        certificate_type = self.codes.certificate_type_by_type_code.get(type_code)
        if certificate_type is None:
            raise _invalid(f"TypeCode {type_code!r} is not a phytosanitary certificate "
                           f"(851 export, 657 re-export)", "/SPSExchangedDocument/TypeCode")
        self._take_if(exchanged, "Name", STANDARD_NAMES[certificate_type])
        self._take_if(exchanged, "StatusCode", STATUS_ISSUED)
        issued_at = self._timestamp(self._required_element(exchanged, "IssueDateTime"))
        export_country = self._required(
            self._required_element(consignment_el, "ExportSPSCountry"), "ID")
        import_country = self._required(
            self._required_element(consignment_el, "ImportSPSCountry"), "ID")
        body: dict[str, Any] = {
            "certificateNumber": number,
            "certificateType": certificate_type,
            "exportNppo": {"country": export_country,
                           "name": self._required(
                               self._required_element(exchanged, "IssuerSPSParty"), "Name")},
            "importNppo": {"country": import_country,
                           "name": self._import_nppo_name(note, import_country)},
            "consignment": self._consignment(exchanged, consignment_el, note),
        }
        self._signatory(exchanged, body)
        inspection = self._notes(exchanged, "IncludedSPSNote", "ADDIEDL", dates_only=True)
        if inspection:
            body["inspectionDate"] = inspection[0]
        document: dict[str, Any] = {
            "id": self._document_id(note, export_country, number),
            "type": "phytosanitary-certificate",
            "version": "1.0",
            "issuedAt": issued_at,
            "issuer": self._issuer(issuer, note, export_country),
            "parties": self._parties(consignment_el, note, export_country, import_country),
        }
        if "references" in note:
            document["references"] = note["references"]
        document["body"] = body
        extensions = dict(note.get("extensions", {}))
        ephyto = self._leftovers()
        if ephyto:
            extensions["ephyto"] = ephyto
        if extensions or "extensions" in note:
            document["extensions"] = extensions
        return document

    def _consignment(self, exchanged: _Element, consignment: _Element,
                     note: Mapping[str, Any]) -> dict[str, Any]:
        movements = self._all(consignment, "MainCarriageSPSTransportMovement")
        if not movements:
            raise _missing("/SPSConsignment/MainCarriageSPSTransportMovement")
        mode = self._required(movements[0], "ModeCode")
        # xs:int admits "+1" and "01"; Rec 19 codes are the digits 0-9.
        conveyance: dict[str, Any] = {"mode": str(int(mode)) if mode.lstrip("+-").isdigit()
                                      else mode}
        means = self._first(movements[0], "UsedSPSTransportMeans")
        identifier = self._take(means, "Name") if means is not None else None
        if identifier is not None:
            conveyance["identifier"] = identifier
        point = self._required_element(consignment, "UnloadingBaseportSPSLocation")
        marks = self._notes(exchanged, "IncludedSPSNote", "DMCL")
        if not marks:
            raise _missing("/SPSExchangedDocument/IncludedSPSNote[Subject='DMCL'] "
                           "(distinguishing marks)")
        items = [item for group in self._all(consignment, "IncludedSPSConsignmentItem")
                 for item in self._all(group, "IncludedSPSTradeLineItem")]
        if not items:
            raise _missing("/SPSConsignment/IncludedSPSConsignmentItem/IncludedSPSTradeLineItem")
        commodities = []
        per_item_treatments = []
        for index, item in enumerate(items):
            commodity, treatments = self._commodity(index, item, note)
            commodities.append(commodity)
            per_item_treatments.append(treatments)
        result: dict[str, Any] = {
            "commodities": commodities,
            "meansOfConveyance": conveyance,
            "declaredPointOfEntry": self._required(point, "ID"),
            "distinguishingMarks": "\n".join(marks),
        }
        declarations = self._notes(exchanged, "IncludedSPSNote", "ADEDL")
        empty = note.get("empty", [])
        if declarations or "additionalDeclarations" in empty:
            result["additionalDeclarations"] = declarations
        treatments = self._merge_treatments(per_item_treatments, note)
        if treatments or "treatments" in empty:
            result["treatments"] = treatments
        return result

    def _commodity(self, index: int, item: _Element,
                   note: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        where = f"/body/consignment/commodities/{index}"
        self._use(self._first(item, "SequenceNumeric"))  # the list order carries it
        description = self._take(item, "Description") or self._take(item, "CommonName")
        botanical = self._take(item, "ScientificName")
        if description is None or botanical is None:
            raise _missing(f"IncludedSPSTradeLineItem[{index + 1}]/Description and ScientificName")
        commodity: dict[str, Any] = {"description": description, "botanicalName": botanical}
        for classification in self._all(item, "ApplicableSPSClassification"):
            system = self._first(classification, "SystemName")
            code = self._first(classification, "ClassCode")
            code_text = _text(code)
            if _text(system) == "HS" and code_text and _HS.match(code_text):
                commodity["hsCode"] = code_text[:6]
                self._use(system)
                if len(code_text) == 6:  # a longer national line stays in extensions
                    self._use(code)
                break
        net_mass = self._measure(item, "NetWeightMeasure", "KGM")
        quantity = None
        volume = self._measure(item, "NetVolumeMeasure", None)
        if volume is not None:
            quantity = {"value": volume[0], "unitCode": volume[1]}
        if net_mass is not None:
            commodity["netMassKg"] = net_mass[0]
            quantity = quantity or {"value": net_mass[0], "unitCode": "KGM"}
        packages = self._packages(item)
        if packages is not None:
            commodity["packages"] = packages
        if quantity is None:
            gross = self._measure(item, "GrossWeightMeasure", "KGM")
            if gross is not None:
                quantity = {"value": gross[0], "unitCode": "KGM"}
            elif packages is not None:
                quantity = {"value": packages["numberOfPackages"], "unitCode": "C62"}
        quantities = note.get("quantities")
        if isinstance(quantities, list) and index < len(quantities):
            quantity = quantities[index]
        elif quantity is None:
            raise _missing(f"IncludedSPSTradeLineItem[{index + 1}]: no weight, volume or "
                           "package count to give a quantity")
        else:
            self.derived.append(f"{where}/quantity")
        commodity["quantity"] = quantity
        commodity["placeOfOrigin"] = self._origin(index, item)
        treatments = [t for t in (self._treatment(p) for p in self._all(item, "AppliedSPSProcess"))
                      if t is not None]
        return commodity, treatments

    def _packages(self, item: _Element) -> dict[str, Any] | None:
        package = self._first(item, "PhysicalSPSPackage")
        if package is None:
            return None
        code_el = self._first(package, "TypeCode")
        count_el = self._first(package, "ItemQuantity")
        code, count = _text(code_el), _number(_text(count_el))
        if code is None or not isinstance(count, int) or count < 1:
            return None
        self._use(code_el, count_el, self._first(package, "LevelCode"))
        return {"numberOfPackages": count, "packageCode": code}

    def _origin(self, index: int, item: _Element) -> dict[str, Any]:
        country_el = self._first(item, "OriginSPSCountry")
        country = self._take(country_el, "ID") if country_el is not None else None
        if country_el is None or country is None:
            raise _missing(f"IncludedSPSTradeLineItem[{index + 1}]/OriginSPSCountry/ID")
        origin: dict[str, Any] = {"country": country}
        subdivision = self._first(country_el, "SubordinateSPSCountrySubDivision")
        place = self._take(subdivision, "Name") if subdivision is not None else None
        if place is not None:
            origin["place"] = place
        return origin

    def _treatment(self, process: _Element) -> dict[str, Any] | None:
        type_el = self._first(process, "TypeCode")
        period = self._first(process, "CompletionSPSPeriod")
        start = self._first(period, "StartDateTime") if period is not None else None
        start_text = _text(self._child(start, UDT, "DateTimeString")) if start is not None else None
        if start_text is None or not _DATE.match(start_text):
            return None  # no date: our treatment cannot hold it; it stays in extensions
        self._use(self._child(start, UDT, "DateTimeString"))
        code = _text(type_el)
        treatment: dict[str, Any] = {
            "type": self.codes.treatment_by_process_code.get(code or "", "other"),
            "date": start_text[:10],
        }
        if code in self.codes.treatment_by_process_code or code in self.exported_codes:
            self._use(type_el)  # fully represented by the treatment type
        duration = self._measure(period, "DurationMeasure", "HUR") if period is not None else None
        if duration is not None and duration[0] > 0:
            treatment["durationHours"] = duration[0]
        for characteristic in self._all(process, "ApplicableSPSProcessCharacteristic"):
            descriptions = self._all(characteristic, "Description")
            subject = _text(descriptions[0]) if descriptions else None
            if subject in ("TTCH", "TTCO") and len(descriptions) == 2 and _text(descriptions[1]):
                key = "chemical" if subject == "TTCH" else "concentration"
                if key not in treatment:
                    treatment[key] = _text(descriptions[1])
                    self._use(*descriptions)
            elif subject == "TTTM" and len(descriptions) == 1:
                value = self._measure(characteristic, "ValueMeasure", "CEL", positive=False)
                if value is not None and "temperatureCelsius" not in treatment:
                    treatment["temperatureCelsius"] = value[0]
                    self._use(descriptions[0])
        return treatment

    def _merge_treatments(self, per_item: list[list[dict[str, Any]]],
                          note: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Our treatments belong to the consignment; the SPS certificate lists them per item.
        Identical lists on every item give that list; otherwise their ordered union."""
        if all(item == per_item[0] for item in per_item):
            merged = [dict(t) for t in per_item[0]]
        else:
            merged, seen = [], set()
            for treatment in (t for item in per_item for t in item):
                key = canonicalize(treatment)
                if key not in seen:
                    seen.add(key)
                    merged.append(dict(treatment))
            self.derived.append("/body/consignment/treatments")
        types = note.get("treatmentTypes")
        if isinstance(types, list) and len(types) == len(merged):
            for treatment, kind in zip(merged, types, strict=True):
                treatment["type"] = kind
        return merged

    def _signatory(self, exchanged: _Element, body: dict[str, Any]) -> None:
        signatory = self._first(exchanged, "SignatorySPSAuthentication")
        location = self._first(signatory, "IssueSPSLocation") if signatory is not None else None
        place = self._take(location, "Name") if location is not None else None
        if signatory is None or place is None:
            raise _missing("/SPSExchangedDocument/SignatorySPSAuthentication/IssueSPSLocation/Name")
        body["placeOfIssue"] = place
        provider = self._first(signatory, "ProviderSPSParty")
        person = self._first(provider, "SpecifiedSPSPerson") if provider is not None else None
        officer = self._take(person, "Name") if person is not None else None
        if officer is not None:
            body["authorizedOfficer"] = officer

    # -- header fields the SPS certificate has no element for -------------------------
    def _parties(self, consignment: _Element, note: Mapping[str, Any], export_country: str,
                 import_country: str) -> list[dict[str, Any]]:
        parties: list[dict[str, Any]] = []
        for role, element, country in (("consignor", "ConsignorSPSParty", export_country),
                                       ("consignee", "ConsigneeSPSParty", import_country)):
            party_el = self._first(consignment, element)
            name = self._take(party_el, "Name") if party_el is not None else None
            if party_el is None or name is None:
                if role == "consignor":
                    raise _missing("/SPSConsignment/ConsignorSPSParty/Name")
                continue
            address = self._first(party_el, "SpecifiedSPSAddress")
            if "parties" in note and address is not None:
                self._use(*address)  # rendered from the note's exact address
            party_id = self._party_id(party_el, country)
            if party_id is None:
                party_id = f"{country}-NAME-{hashlib.sha256(name.encode()).hexdigest()[:12].upper()}"
            parties.append({"role": role, "id": party_id, "name": name, "country": country})
            if "parties" not in note:
                self.derived.append(f"/parties/{len(parties) - 1}")
        if "parties" in note:
            return list(note["parties"])
        return parties

    def _party_id(self, party: _Element, country: str) -> str | None:
        """A trader id from the party's ``TypeCode``: ours as written, or a national
        registration number under the ``REG`` scheme."""
        for code in self._all(party, "TypeCode"):
            value = _text(code)
            if value is None:
                continue
            if code.get("listName") == TRADER_ID_LIST:
                self._use(code)
                return value
            cleaned = _NOT_ID_CHAR.sub("", value.upper())[:_MAX_ID_VALUE]
            if cleaned and cleaned[0].isalnum():
                return f"{country}-REG-{cleaned}"
        return None

    def _import_nppo_name(self, note: Mapping[str, Any], country: str) -> str:
        if "importNppoName" in note:
            return str(note["importNppoName"])
        self.derived.append("/body/importNppo/name")
        return f"National Plant Protection Organization of {country}"

    def _document_id(self, note: Mapping[str, Any], country: str, number: str) -> str:
        if "id" in note:
            return str(note["id"])
        self.derived.append("/id")
        return str(uuid.uuid5(uuid.NAMESPACE_URL,
                              f"urn:tradeaccord:ephyto:{country}:{number}"))

    def _issuer(self, issuer: str | None, note: Mapping[str, Any], country: str) -> str:
        if issuer is not None:
            return issuer
        if "issuer" in note:
            return str(note["issuer"])
        self.derived.append("/issuer")
        return f"{country}-NPPO"

    def _extension_note(self, exchanged: _Element) -> dict[str, Any]:
        notes = [n for n in self._all(exchanged, "IncludedSPSNote")
                 if _text(self._first(n, "Subject")) == EXTENSION_SUBJECT]
        if not notes:
            return {}
        if len(notes) > 1:
            raise _invalid(f"more than one {EXTENSION_SUBJECT} note", "/SPSExchangedDocument")
        content = self._first(notes[0], "Content")
        try:
            value = parse_json((content.text or "").encode("utf-8") if content is not None
                               else b"", max_bytes=self.limits.max_document_bytes,
                               max_depth=self.limits.max_depth)
        except JSONInputError as exc:
            raise _invalid(f"the {EXTENSION_SUBJECT} note is not strict JSON: {exc.message}",
                           "/SPSExchangedDocument/IncludedSPSNote") from exc
        if (not isinstance(value, dict) or value.get("v") != EXTENSION_VERSION
                or any(not isinstance(member, _NOTE_TYPES.get(key, type(None)))
                       for key, member in value.items())):
            raise _invalid(f"the {EXTENSION_SUBJECT} note is not a version "
                           f"{EXTENSION_VERSION} TradeAccord extension object",
                           "/SPSExchangedDocument/IncludedSPSNote")
        self._use(self._first(notes[0], "Subject"), content)
        return value

    # -- XML-only data ------------------------------------------------------------------
    def _leftovers(self) -> dict[str, Any]:
        unmapped = []
        for element in self.root.iter(etree.Element):
            if element in self.consumed or len(element):
                continue
            text = (element.text or "").strip()
            attributes = {etree.QName(k).localname: v for k, v in element.attrib.items()}
            if not text and not attributes:
                continue
            entry: dict[str, Any] = {"path": _path(element)}
            if etree.QName(element).localname == "AttachmentBinaryObject":
                entry["omitted"] = {"characters": len(text),
                                    "sha256": hashlib.sha256(text.encode()).hexdigest()}
            elif text:
                entry["value"] = text
            if attributes:
                entry["attributes"] = attributes
            unmapped.append(entry)
        result: dict[str, Any] = {}
        if unmapped:
            result["unmapped"] = unmapped
        if self.derived:
            result["derived"] = sorted(set(self.derived))
        return result

    # -- helpers ------------------------------------------------------------------------
    def _notes(self, parent: _Element, element: str, subject: str, *,
               dates_only: bool = False) -> list[str]:
        found = []
        for note in self._all(parent, element):
            subject_el = self._first(note, "Subject")
            if _text(subject_el) != subject:
                continue
            for content in self._all(note, "Content"):
                value = _text(content)
                if value is None or (dates_only and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
                                                                     value)):
                    continue
                found.append(value)
                self._use(subject_el, content)
        return found

    def _measure(self, parent: _Element, name: str, unit: str | None, *,
                 positive: bool = True) -> tuple[int | float, str] | None:
        """A measure in ``unit`` (any unit when None), marked consumed; None when absent,
        in another unit, or not positive although it must be (masses, volumes, durations)."""
        element = self._first(parent, name)
        value = _number(_text(element))
        unit_code = element.get("unitCode") if element is not None else None
        if element is None or value is None or (positive and value <= 0) or not unit_code:
            return None
        if unit is not None and unit_code != unit:
            return None
        self._use(element)
        return value, unit_code

    def _timestamp(self, parent: _Element) -> str:
        element = self._child(parent, UDT, "DateTimeString")
        text = _text(element)
        if text is None:
            raise _missing("/SPSExchangedDocument/IssueDateTime/DateTimeString")
        self._use(element)
        if _TIMESTAMP.match(text):
            return text
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise _invalid(f"IssueDateTime {text!r} is not an ISO 8601 date or date-time",
                           "/SPSExchangedDocument/IssueDateTime") from exc
        if value.tzinfo is None:  # a date or a local time without offset: read as UTC
            value = value.replace(tzinfo=dt.UTC)
            self.derived.append("/issuedAt")
        try:
            return format_time(value)
        except OverflowError as exc:  # e.g. year 1 with a positive offset
            raise _invalid(f"IssueDateTime {text!r} is out of range",
                           "/SPSExchangedDocument/IssueDateTime") from exc

    def _take(self, parent: _Element | None, name: str) -> str | None:
        element = self._first(parent, name) if parent is not None else None
        value = _text(element)
        if value is not None:
            self._use(element)
        return value

    def _take_if(self, parent: _Element, name: str, expected: str) -> None:
        element = self._first(parent, name)
        if _text(element) == expected:
            self._use(element)

    def _required(self, parent: _Element, name: str) -> str:
        value = self._take(parent, name)
        if value is None:
            raise _missing(f"{_path(parent)}/{name}")
        return value

    def _required_element(self, parent: _Element, name: str) -> _Element:
        element = self._first(parent, name)
        if element is None:
            raise _missing(f"{_path(parent)}/{name}")
        return element

    def _required_child(self, parent: _Element, tag: str) -> _Element:
        element = parent.find(tag)
        if element is None:
            raise _missing(f"/{etree.QName(tag).localname}")
        return element

    def _use(self, *elements: _Element | None) -> None:
        self.consumed.update(e for e in elements if e is not None)

    @staticmethod
    def _first(parent: _Element | None, name: str) -> _Element | None:
        return parent.find(f"{{{RAM}}}{name}") if parent is not None else None

    @staticmethod
    def _all(parent: _Element, name: str) -> list[_Element]:
        return parent.findall(f"{{{RAM}}}{name}")

    @staticmethod
    def _child(parent: _Element | None, namespace: str, name: str) -> _Element | None:
        return parent.find(f"{{{namespace}}}{name}") if parent is not None else None


def _text(element: _Element | None) -> str | None:
    if element is None:
        return None
    text = (element.text or "").strip()
    return text or None


def _number(text: str | None) -> int | float | None:
    """A decimal as a JSON number: an int when whole (a strict reader refuses 2.0)."""
    if text is None or not _NUMBER.match(text):
        return None
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _path(element: _Element) -> str:
    """``/SPSConsignment/IncludedSPSConsignmentItem/IncludedSPSTradeLineItem[2]/...``."""
    steps = []
    node: _Element | None = element
    while node is not None and node.getparent() is not None:
        parent = node.getparent()
        assert parent is not None
        same = [s for s in parent if s.tag == node.tag]
        name = etree.QName(node).localname
        steps.append(f"{name}[{same.index(node) + 1}]" if len(same) > 1 else name)
        node = parent
    return "/" + "/".join(reversed(steps))


def _missing(where: str) -> InteropError:
    return InteropError(ReasonCode.EPHYTO_INVALID,
                        f"{where} is required for a TradeAccord phytosanitary certificate and "
                        f"is missing or empty", where=where)


def _invalid(message: str, where: str) -> InteropError:
    return InteropError(ReasonCode.EPHYTO_INVALID, message, where=where)
