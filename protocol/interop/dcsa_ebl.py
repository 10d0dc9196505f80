"""Our ``bill-of-lading`` 1.1 ↔ the DCSA eBL 3.0.0 ``TransportDocument``, both ways losslessly.

The 1.1 body is a profile of DCSA's TransportDocument: the same member names at the same
places, for the members in :data:`MAPPED` (the intersection of what both schemas admit,
checked against both schema files by the tests). Everything else travels in an extension
of the other side, so no member is ever dropped:

- ours → DCSA (:func:`to_transport_document`): the mapped body members become the DCSA
  document; our header (``type``, ``version``, ``id``, ``issuedAt``, ``issuer``,
  ``parties``, ``references``), our other ``extensions`` and any body member DCSA does not
  define (e.g. ``carrierImportVoyageNumber``) go to ``extensions.tradeaccord`` (``unmapped``:
  ``[{"pointer", "value"}]``, RFC 6901 pointers into our body). If our document holds an
  ``extensions.DCSA`` residue (it came from DCSA), those members are put back in place.
- DCSA → ours (:func:`from_transport_document`): the mapped members become our body;
  ``extensions.tradeaccord`` gives back our header and members, or — for a transport
  document that never was ours — the caller's ``header`` (``id``, ``issuedAt``, ``issuer``,
  ``parties`` and optionally ``references``, ``extensions``). DCSA members we do not map
  (``charges``, ``shippingInstructionsReference``, a party's ``displayedAddress`` …) go to
  ``extensions.DCSA`` = ``{"eblVersion": "3.0.0", "unmapped": [{"pointer", "value"}]}``,
  pointers into the transport document.

So ``from(to(d)) == d`` for every valid 1.1 document ``d``, and ``to(from(t, header))`` is
``t`` plus ``extensions.tradeaccord`` for every DCSA document ``t`` whose mapped members
our schema accepts (a value our profile refuses — an 8-digit HS code, a missing package
code — is refused with ``SchemaError`` and its pointer, never dropped). A residue is
accepted only in the canonical form these functions produce (splitting the rebuilt
document must give it back); any other is refused (``SCHEMA_INVALID``, pointing at it).

Both functions are pure and validate our side with the given ``DocumentSchemas``;
``TransportDocumentSchema`` validates the DCSA side against the shipped DCSA schema file
(``protocol/interop/dcsa/``, provenance in its README). See
``docs/decisions/0016-dcsa-ebl-3-interop.md``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

# The reference validator, as in protocol.documents.
import jsonschema
from jsonschema.exceptions import best_match

from protocol.documents import DocumentSchemas
from protocol.errors import JSONInputError, SchemaError
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json

__all__ = [
    "DCSA_EXTENSION",
    "EBL_VERSION",
    "MAPPED",
    "TRADEACCORD_EXTENSION",
    "TransportDocumentSchema",
    "from_transport_document",
    "to_transport_document",
]

EBL_VERSION = "3.0.0"
DCSA_EXTENSION = "DCSA"
TRADEACCORD_EXTENSION = "tradeaccord"
BILL_OF_LADING = "bill-of-lading"
VERSION = "1.1"
SCHEMA_FILE = Path(__file__).parent / "dcsa" / "ebl-3.0.0-transport-document.schema.json"

Shape: TypeAlias = "bool | Mapping[str, Shape] | tuple[Shape]"
"""Which members both sides define: ``True`` a value copied as it is, a mapping an object
(only the named members are mapped), a 1-tuple an array whose items have that shape."""

_LEAF = True
_LOCATION: Shape = {"UNLocationCode": _LEAF, "locationName": _LEAF}
_CONTACT: Shape = {"name": _LEAF, "phone": _LEAF, "email": _LEAF}
_PARTY: Shape = {
    "partyName": _LEAF,
    "address": {name: _LEAF for name in ("street", "streetNumber", "floor", "postCode", "POBox",
                                         "city", "UNLocationCode", "stateRegion", "countryCode")},
    "identifyingCodes": ({"codeListProvider": _LEAF, "partyCode": _LEAF, "codeListName": _LEAF},),
    "partyContactDetails": (_CONTACT,),
}
MAPPED: Shape = {
    **{name: _LEAF for name in (
        "transportDocumentReference", "transportDocumentTypeCode", "transportDocumentStatus",
        "isShippedOnBoardType", "isElectronic", "isToOrder", "shippedOnBoardDate",
        "receivedForShipmentDate", "issueDate", "termsAndConditions", "receiptTypeAtOrigin",
        "deliveryTypeAtDestination", "cargoMovementTypeAtOrigin",
        "cargoMovementTypeAtDestination", "carrierCode", "carrierCodeListProvider",
        "freightPaymentTermCode")},
    "transports": {
        "plannedDepartureDate": _LEAF, "plannedArrivalDate": _LEAF,
        "placeOfReceipt": _LOCATION, "portOfLoading": _LOCATION, "portOfDischarge": _LOCATION,
        "placeOfDelivery": _LOCATION,
        "vesselVoyages": ({"vesselName": _LEAF, "carrierExportVoyageNumber": _LEAF},),
    },
    "consignmentItems": ({
        "carrierBookingReference": _LEAF, "descriptionOfGoods": (_LEAF,), "HSCodes": (_LEAF,),
        "shippingMarks": (_LEAF,),
        "cargoItems": ({
            "equipmentReference": _LEAF,
            "cargoGrossWeight": {"value": _LEAF, "unit": _LEAF},
            "outerPackaging": {"numberOfPackages": _LEAF, "packageCode": _LEAF,
                               "description": _LEAF},
        },),
    },),
    "utilizedTransportEquipments": ({
        "equipment": {"equipmentReference": _LEAF, "ISOEquipmentCode": _LEAF},
        "isShipperOwned": _LEAF,
        "seals": ({"number": _LEAF},),
    },),
    "invoicePayableAt": {"UNLocationCode": _LEAF},
    "partyContactDetails": (_CONTACT,),
    "documentParties": {"shipper": _PARTY, "consignee": _PARTY, "endorsee": _PARTY,
                        "issuingParty": _PARTY, "notifyParties": (_PARTY,)},
}
"""The body members both our 1.1 schema and DCSA's TransportDocument define, by place."""

_HEADER = ("type", "version", "id", "issuedAt", "issuer", "parties")
_HEADER_OPTIONAL = ("references", "extensions", "unmapped")
_GIVEN_HEADER = ("id", "issuedAt", "issuer", "parties")
_GIVEN_OPTIONAL = ("references", "extensions")


def _invalid(pointer: str, message: str) -> SchemaError:
    return SchemaError(ReasonCode.SCHEMA_INVALID, message, pointer=pointer)


# -- splitting and merging ----------------------------------------------------------------


def _escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def split(value: Any, shape: Shape) -> tuple[Any, list[dict[str, Any]]]:
    """``value`` restricted to ``shape``, and the rest as ``[{"pointer", "value"}]`` sorted
    by pointer (array indexes numerically), so that one document has one residue whatever
    the order of its object members."""
    residue: list[dict[str, Any]] = []
    kept = _split(value, shape, "", residue)
    residue.sort(key=lambda item: _order(item["pointer"]))
    return kept, residue


def _order(pointer: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, int(token), "") if token.isdigit() else (1, 0, token)
                 for token in _tokens(pointer))


def _split(value: Any, shape: Shape, pointer: str, residue: list[dict[str, Any]]) -> Any:
    if isinstance(shape, Mapping) and isinstance(value, Mapping):
        kept: dict[str, Any] = {}
        for name, item in value.items():
            where = f"{pointer}/{_escape(name)}"
            if name in shape:
                kept[name] = _split(item, shape[name], where, residue)
            else:
                residue.append({"pointer": where, "value": item})
        return kept
    if isinstance(shape, tuple) and isinstance(value, list):
        return [_split(item, shape[0], f"{pointer}/{index}", residue)
                for index, item in enumerate(value)]
    return value


def _tokens(pointer: str) -> list[str]:
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]


def _merge(value: Any, residue: Any, shape: Shape, where: str) -> Any:
    """``value`` with the residue put back; the residue must be exactly what ``split`` of
    the result gives (``SCHEMA_INVALID`` at ``where`` otherwise)."""
    if not isinstance(residue, list) or not residue:
        raise _invalid(where, "an unmapped list is a non-empty array of {pointer, value}")
    merged = copy.deepcopy(value)
    for index, item in enumerate(residue):
        at = f"{where}/{index}"
        if (not isinstance(item, Mapping) or set(item) != {"pointer", "value"}
                or not isinstance(item["pointer"], str) or not item["pointer"].startswith("/")):
            raise _invalid(at, "an unmapped member is {pointer: RFC 6901 pointer, value}")
        *parents, last = _tokens(item["pointer"])
        node = merged
        for token in parents:
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise _invalid(at, f"the pointer {item['pointer']!r} leads nowhere")
        if not isinstance(node, dict) or last in node:
            raise _invalid(at, f"the pointer {item['pointer']!r} does not name a free member")
        node[last] = copy.deepcopy(item["value"])
    if split(merged, shape)[1] != residue:
        raise _invalid(where, "the unmapped list is not in canonical form (members that are "
                              "mapped, or not sorted by pointer)")
    return merged


def _members(data: Any, where: str, required: Sequence[str],
             optional: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _invalid(where, "expected a JSON object")
    missing, unknown = set(required) - set(data), set(data) - set(required) - set(optional)
    if missing or unknown:
        raise _invalid(where, f"missing {sorted(missing)}, unknown {sorted(unknown)}")
    return data


# -- ours → DCSA --------------------------------------------------------------------------


def to_transport_document(document: Mapping[str, Any], *,
                          schemas: DocumentSchemas) -> dict[str, Any]:
    """The DCSA eBL 3.0.0 TransportDocument of a valid ``bill-of-lading`` 1.1 (see the module
    docstring). Raises ``SchemaError`` for a document that is not one."""
    schemas.validate(document)
    if (document["type"], document["version"]) != (BILL_OF_LADING, VERSION):
        raise SchemaError(ReasonCode.DOC_TYPE_UNKNOWN,
                          f"DCSA eBL conversion takes {BILL_OF_LADING} {VERSION}, not "
                          f"{document['type']} {document['version']}", pointer="/version")
    source = copy.deepcopy(dict(document))
    transport_document: dict[str, Any]
    transport_document, unmapped = split(source["body"], MAPPED)
    header: dict[str, Any] = {name: source[name] for name in _HEADER}
    if "references" in source:
        header["references"] = source["references"]
    extensions = source.get("extensions")
    if extensions is not None:
        others = {key: value for key, value in extensions.items() if key != DCSA_EXTENSION}
        if DCSA_EXTENSION in extensions:
            residue = _members(extensions[DCSA_EXTENSION], "/extensions/DCSA",
                               ("eblVersion", "unmapped"), ())
            if residue["eblVersion"] != EBL_VERSION:
                raise _invalid("/extensions/DCSA/eblVersion", f"expected {EBL_VERSION!r}")
            transport_document = _merge(transport_document, residue["unmapped"], MAPPED,
                                        "/extensions/DCSA/unmapped")
        if others or DCSA_EXTENSION not in extensions:
            header["extensions"] = others
    if unmapped:
        header["unmapped"] = unmapped
    transport_document["extensions"] = {TRADEACCORD_EXTENSION: header}
    return transport_document


# -- DCSA → ours --------------------------------------------------------------------------


def from_transport_document(transport_document: Mapping[str, Any], *, schemas: DocumentSchemas,
                            header: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Our ``bill-of-lading`` 1.1 for a DCSA TransportDocument (see the module docstring).

    ``header`` is required when the transport document carries no
    ``extensions.tradeaccord`` (it never was ours), and refused (``ValueError``) when it
    does. The result is validated against our schema (``SchemaError`` with the pointer).
    """
    if not isinstance(transport_document, Mapping):
        raise _invalid("", "a transport document is a JSON object")
    source = copy.deepcopy(dict(transport_document))
    extension = source.pop("extensions", None)
    if extension is not None:
        if header is not None:
            raise ValueError("the transport document carries its TradeAccord header; "
                             "do not pass another")
        _members(extension, "/extensions", (TRADEACCORD_EXTENSION,), ())
        ours = _members(extension[TRADEACCORD_EXTENSION], "/extensions/tradeaccord", _HEADER,
                        _HEADER_OPTIONAL)
        if (ours["type"], ours["version"]) != (BILL_OF_LADING, VERSION):
            raise _invalid("/extensions/tradeaccord/version",
                           f"expected a {BILL_OF_LADING} {VERSION} header")
    elif header is None:
        raise _invalid("/extensions/tradeaccord",
                       "the transport document has no TradeAccord header: give the id, "
                       "issuedAt, issuer and parties of the bill of lading it becomes")
    else:
        unexpected = set(header) - set(_GIVEN_HEADER) - set(_GIVEN_OPTIONAL)
        if unexpected or not set(_GIVEN_HEADER) <= set(header):
            raise ValueError(f"header takes {list(_GIVEN_HEADER)} and optionally "
                             f"{list(_GIVEN_OPTIONAL)}; unexpected {sorted(unexpected)}")
        ours = {"type": BILL_OF_LADING, "version": VERSION, **copy.deepcopy(dict(header))}
    body, unmapped = split(source, MAPPED)
    if "unmapped" in ours:
        body = _merge(body, ours["unmapped"], MAPPED, "/extensions/tradeaccord/unmapped")
    document: dict[str, Any] = {name: ours[name] for name in _HEADER}
    if "references" in ours:
        document["references"] = ours["references"]
    document["body"] = body
    if "extensions" in ours:
        if not isinstance(ours["extensions"], Mapping):
            raise _invalid("/extensions/tradeaccord/extensions", "expected a JSON object")
        if DCSA_EXTENSION in ours["extensions"]:
            raise _invalid("/extensions/tradeaccord/extensions/DCSA",
                           "the DCSA extension is the converter's own")
        document["extensions"] = dict(ours["extensions"])
    if unmapped:
        document.setdefault("extensions", {})[DCSA_EXTENSION] = {"eblVersion": EBL_VERSION,
                                                                  "unmapped": unmapped}
    schemas.validate(document)
    return document


# -- the DCSA schema ----------------------------------------------------------------------


class TransportDocumentSchema:
    """The shipped DCSA eBL 3.0.0 TransportDocument schema, compiled (build with ``load``).

    ``validate`` uses python-jsonschema's Draft 2020-12 validator (Python regular
    expressions, formats not asserted) and raises ``SchemaError(SCHEMA_INVALID)`` with the
    pointer of the violation ``best_match`` picks.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        """Internal: use ``load``."""
        self.schema = schema
        self._validator = jsonschema.Draft202012Validator(schema)

    @classmethod
    def load(cls, path: Path | None = None) -> TransportDocumentSchema:
        """Read and check the schema file (``ValueError`` naming it if unreadable)."""
        path = SCHEMA_FILE if path is None else path
        try:
            schema = parse_json(path.read_bytes(), max_bytes=4 * 1024 * 1024)
            jsonschema.Draft202012Validator.check_schema(schema)
        except (OSError, JSONInputError, jsonschema.exceptions.SchemaError) as exc:
            raise ValueError(f"cannot load the DCSA schema {path}: {exc}") from exc
        if not isinstance(schema, dict):
            raise ValueError(f"{path} does not hold a JSON object")
        return cls(schema)

    def validate(self, transport_document: Any) -> None:
        error = best_match(self._validator.iter_errors(transport_document))
        if error is None:
            return
        pointer = "".join(f"/{_escape(step)}" for step in error.absolute_path)
        raise SchemaError(ReasonCode.SCHEMA_INVALID,
                          f"DCSA eBL {EBL_VERSION} TransportDocument at {pointer or '/'}: "
                          f"{error.message[:300]}", pointer=pointer,
                          keyword=str(error.validator)) from error
