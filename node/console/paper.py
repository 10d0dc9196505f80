"""A document as a person reads it: numbered boxes and goods tables, like its paper form.

``paper_form(document)`` turns a document (the signed payload, already verified) into a
``Paper``: a title, the number printed on it, boxes (label and lines of text) and tables
(the goods lines, treatments…). Certificates of origin and phytosanitary certificates follow
the order of their paper forms (the RCEP/Form-style certificate of origin; the IPPC model
phytosanitary certificate); every other type is laid out generically: the parties first,
then each member of the body as a box, and each array of objects as a table. Pure: no I/O,
no HTML (the template draws it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from node.console.presentation import field_label, format_value, type_title


@dataclass(frozen=True, slots=True)
class Box:
    """One box of the form: its number on the paper form, label and lines."""

    label: str
    lines: tuple[str, ...]
    number: str | None = None
    wide: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of objects (goods lines): column labels and the cells as text."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    number: str | None = None


@dataclass(frozen=True, slots=True)
class Paper:
    """The whole form."""

    title: str
    number: str | None
    issuer: str
    issued_at: str
    boxes: tuple[Box, ...]
    tables: tuple[Table, ...]
    closing: tuple[Box, ...] = ()
    references: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _text(value: Any) -> str:
    """A value on one line: objects as their values joined ("4800 C62", "400 CT")."""
    if isinstance(value, Mapping):
        names = ordered(list(value), ("value", "amount", "numberOfPackages", "name"))
        return " ".join(_text(value[n]) for n in names if value[n] is not None and value[n] != "")
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    return format_value(value)


def _lines(value: Any) -> tuple[str, ...]:
    """A value as the lines of a box: an object member by member, a list item by item."""
    if isinstance(value, Mapping):
        return tuple(f"{field_label(k)}: {_text(v)}" for k, v in value.items()
                     if v is not None and v != "" and v != [])
    if isinstance(value, list):
        return tuple(_text(v) for v in value)
    return (format_value(value),)


def _party_lines(party: Mapping[str, Any]) -> tuple[str, ...]:
    lines = [str(party.get("name", ""))]
    address = party.get("address")
    if isinstance(address, Mapping):
        names = ordered(list(address), ("street", "city", "postcode", "country"))
        lines.append(", ".join(str(address[n]) for n in names if address[n]))
    elif party.get("country"):
        lines.append(str(party["country"]))
    if party.get("id"):
        lines.append(f"Id: {party['id']}")
    return tuple(line for line in lines if line)


def _party(document: Mapping[str, Any], role: str) -> tuple[str, ...]:
    for party in document.get("parties") or []:
        if isinstance(party, Mapping) and party.get("role") == role:
            return _party_lines(party)
    return ("—",)


# Signed documents are in RFC 8785 form, so their members come sorted by name; these orders
# put the members of goods lines and bodies back in the order a form prints them.
_COLUMN_ORDER = ("lineNumber", "itemNumber", "sequence", "marksAndNumbers", "description",
                 "botanicalName", "hsCode", "originCountry", "originCriterion", "packages",
                 "quantity", "unitPrice", "lineAmount", "grossMassKg", "netMassKg",
                 "customsValue")
_BOX_ORDER = ("invoiceNumber", "orderNumber", "documentNumber", "transportDocumentReference",
              "paymentReference", "functionalReference", "ucr", "declarationType",
              "documentTypeCode", "invoiceDate", "orderDate", "issueDate", "departureDate",
              "paymentDate", "currency", "totalAmount", "amount")


def ordered(names: Sequence[str], preferred: Sequence[str]) -> list[str]:
    """``names`` with the ``preferred`` ones first, in that order; the rest as they come."""
    first = [name for name in preferred if name in names]
    return first + [name for name in names if name not in first]


def table(caption: str, rows: Sequence[Any], number: str | None = None,
          columns: Sequence[str] | None = None) -> Table:
    """A table of objects; ``columns`` (member names) fixes the order, else the usual order
    of goods lines, then first seen."""
    objects = [row for row in rows if isinstance(row, Mapping)]
    names: list[str] = list(columns or [])
    if not names:
        for row in objects:
            names += [name for name in row if name not in names]
        names = ordered(names, _COLUMN_ORDER)
    cells = tuple(tuple(_text(row.get(name, "")) for name in names) for row in objects)
    return Table(caption, tuple(field_label(name) for name in names), cells, number)


def _boxes_of(body: Mapping[str, Any], skip: set[str]) -> tuple[list[Box], list[Table]]:
    boxes: list[Box] = []
    tables: list[Table] = []
    for name in ordered(list(body), _BOX_ORDER):
        value = body[name]
        if name in skip or value is None:
            continue
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            tables.append(table(field_label(name), value))
        else:
            boxes.append(Box(field_label(name), _lines(value),
                             wide=isinstance(value, str) and len(value) > 80))
    return boxes, tables


def _certificate_of_origin(document: Mapping[str, Any], body: Mapping[str, Any]) -> Paper:
    transport = body.get("transport") or {}
    invoice = body.get("invoice") or {}
    boxes = [
        Box("Exporter (name, address, country)", _party(document, "exporter"), "1"),
        Box("Producer (name, address, country)", _party(document, "producer"), "2"),
        Box("Importer or consignee (name, address, country)", _party(document, "importer"),
            "3"),
        Box("Means of transport and route", _lines(transport), "4"),
        Box("For official use", (
            f"Preferential agreement: {format_value(body.get('agreement', '—'))}",
            f"Exporting country: {format_value(body.get('exportingCountry', '—'))}",
            f"Importing country: {format_value(body.get('importingCountry', '—'))}"), "5"),
        Box("Invoice number and date", (" of ".join(
            str(v) for v in (invoice.get("invoiceNumber"), invoice.get("invoiceDate")) if v)
            or "—",), "12"),
    ]
    goods = table("Goods", body.get("goodsItems") or [], "6–11", columns=(
        "itemNumber", "marksAndNumbers", "packages", "description", "hsCode",
        "originCriterion", "quantity", "grossMassKg", "originCountry"))
    closing = (Box("Certification", (
        "It is hereby certified, on the basis of control carried out, that the declaration "
        "by the exporter is correct.",
        f"Place and date: {body.get('certificationPlace', '—')}, "
        f"{body.get('certificationDate', '—')}",
        f"Certifying authority: {document.get('issuer', '—')} (electronic signature)"),
        "13", wide=True),)
    return Paper(type_title(document), body.get("certificateNumber"),
                 str(document.get("issuer", "")), str(document.get("issuedAt", "")),
                 tuple(boxes), (goods,), closing)


def _phytosanitary(document: Mapping[str, Any], body: Mapping[str, Any]) -> Paper:
    consignment = body.get("consignment") or {}
    boxes = [
        Box("From: plant protection organisation of", _lines(body.get("exportNppo") or {}),
            "1"),
        Box("To: plant protection organisation(s) of", _lines(body.get("importNppo") or {}),
            "2"),
        Box("Name and address of exporter", _party(document, "exporter"), "3"),
        Box("Declared name and address of consignee", _party(document, "importer"), "4"),
        Box("Distinguishing marks", _lines(consignment.get("distinguishingMarks", "—")), "5",
            wide=True),
        Box("Declared means of conveyance", _lines(consignment.get("meansOfConveyance") or {}),
            "6"),
        Box("Declared point of entry", _lines(consignment.get("declaredPointOfEntry", "—")),
            "7"),
        Box("Additional declaration", _lines(consignment.get("additionalDeclarations") or []),
            "9", wide=True),
    ]
    tables = [table("Name of produce, quantity declared, place of origin",
                    consignment.get("commodities") or [], "8")]
    if consignment.get("treatments"):
        tables.append(table("Disinfestation and/or disinfection treatment",
                            consignment["treatments"], "10"))
    closing = (Box("Certification", (
        "This is to certify that the plants described herein have been inspected according "
        "to appropriate official procedures and are considered to be free from the "
        "quarantine pests specified by the importing contracting party.",
        f"Certificate type: {body.get('certificateType', '—')}; inspected on "
        f"{body.get('inspectionDate', '—')}",
        f"Place of issue: {body.get('placeOfIssue', '—')}; authorized officer: "
        f"{body.get('authorizedOfficer', '—')}"), "11", wide=True),)
    return Paper(type_title(document), body.get("certificateNumber"),
                 str(document.get("issuer", "")), str(document.get("issuedAt", "")),
                 tuple(boxes), tuple(tables), closing)


_NUMBER_MEMBERS = ("certificateNumber", "invoiceNumber", "orderNumber", "ucr",
                   "functionalReference", "transportDocumentReference", "documentNumber",
                   "paymentReference")


def _generic(document: Mapping[str, Any], body: Mapping[str, Any]) -> Paper:
    boxes = [Box(field_label(str(party.get("role", "party"))), _party_lines(party))
             for party in document.get("parties") or [] if isinstance(party, Mapping)]
    more, tables = _boxes_of(body, set())
    number = next((body[name] for name in _NUMBER_MEMBERS if isinstance(body.get(name), str)),
                  None)
    return Paper(type_title(document), number, str(document.get("issuer", "")),
                 str(document.get("issuedAt", "")), tuple(boxes + more), tuple(tables))


_LAYOUTS = {"certificate-of-origin": _certificate_of_origin,
            "phytosanitary-certificate": _phytosanitary}


def paper_form(document: Mapping[str, Any]) -> Paper:
    """The form of ``document`` (see the module docstring)."""
    body = document.get("body")
    body = body if isinstance(body, Mapping) else {}
    layout = _LAYOUTS.get(str(document.get("type")), _generic)
    paper = layout(document, body)
    references = tuple((str(ref.get("type", "document")), str(ref.get("id", "")))
                       for ref in document.get("references") or [] if isinstance(ref, Mapping))
    return Paper(paper.title, paper.number, paper.issuer, paper.issued_at, paper.boxes,
                 paper.tables, paper.closing, references)

