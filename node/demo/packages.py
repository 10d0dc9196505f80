"""Documents and declaration packages for the demo's consignments, built from shipped data.

The templates in ``node/demo/data`` (the orchid consignment of ``examples/documents``) ship
inside the package, so the demo runs from any installation. Each consignment gets fresh
document ids, and every ``references[]`` entry is made true as the documents are built (the
SHA-256 of the referenced document's RFC 8785 bytes, which is what its signature covers).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from protocol.canonical import canonicalize, sha256_hex

TEMPLATE_TYPES = ("customs-declaration", "commercial-invoice", "purchase-order", "bill-of-lading",
                  "payment-record", "certificate-of-origin", "phytosanitary-certificate")
PACKAGE_FORMAT = "tradeaccord-declaration-package-1.0"


class DemoDataError(Exception):
    """A data file the demo needs is missing or unreadable in this installation."""


def template(doc_type: str) -> dict[str, Any]:
    """A fresh copy of the shipped template document of ``doc_type``."""
    name = f"{doc_type}.json"
    try:
        text = resources.files("node.demo").joinpath("data", name).read_text("utf-8")
        document = json.loads(text)
    except (OSError, ValueError) as exc:
        raise DemoDataError(f"the demo data file node/demo/data/{name} is missing or "
                            f"unreadable in this installation ({exc}); reinstall "
                            "TradeAccord") from exc
    if not isinstance(document, dict):
        raise DemoDataError(f"node/demo/data/{name} does not hold a JSON object")
    return document


def digest(document: Mapping[str, Any]) -> str:
    """The reference digest of an unsigned document: SHA-256 of its RFC 8785 bytes."""
    return sha256_hex(canonicalize(dict(document)))


@dataclass
class Consignment:
    """One consignment's documents, with fresh ids and references kept true.

    ``known`` maps a document type to the (id, sha256) of the document of that type, as
    signed (for documents signed elsewhere, the digest the issuing node reported).
    """

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    known: dict[str, tuple[str, str]] = field(default_factory=dict)

    def new(self, doc_type: str, change: Callable[[dict[str, Any]], None] | None = None
            ) -> dict[str, Any]:
        """A document of ``doc_type`` from its template: a fresh id, ``change`` applied, its
        references pointing at the documents already built (a reference to a type not built
        is dropped)."""
        document = template(doc_type)
        document["id"] = str(uuid.uuid4())
        body = document.get("body", {})
        if "ucr" in body:  # one Unique Consignment Reference per consignment (WCO)
            body["ucr"] = f"{body['ucr'].split('-')[0]}-{uuid.uuid4().hex[:8].upper()}"
        if change is not None:
            change(document)
        references = []
        for reference in document.get("references", ()):
            found = self.known.get(reference["type"])
            if found is not None:
                references.append({"id": found[0], "type": reference["type"],
                                   "sha256": found[1]})
        if references:
            document["references"] = references
        else:
            document.pop("references", None)
        self.documents[doc_type] = document
        self.known[doc_type] = (document["id"], digest(document))
        return document

    def signed_elsewhere(self, doc_type: str, document_id: str, sha256: str) -> None:
        """Record a document another node signed (its id and reported digest)."""
        self.known[doc_type] = (document_id, sha256)


def commercial_documents(consignment: Consignment,
                         changes: Mapping[str, Callable[[dict[str, Any]], None]] | None = None
                         ) -> None:
    """The trader's purchase order, invoice, bill of lading and payment record, in the order
    their references need."""
    changes = changes or {}
    for doc_type in ("purchase-order", "commercial-invoice", "bill-of-lading", "payment-record"):
        consignment.new(doc_type, changes.get(doc_type))


def package(consignment: Consignment, *, importing: str,
            certificates: list[dict[str, Any]],
            declaration_change: Callable[[dict[str, Any]], None] | None = None
            ) -> dict[str, Any]:
    """The declaration package: the declaration (its references made true), the commercial
    documents for the exporting node to sign, and the ``certificates`` items as given
    (``{"signed": JWS}`` or ``{"documentId": id}``)."""
    declaration = consignment.new("customs-declaration", declaration_change)
    documents: list[dict[str, Any]] = [
        {"document": copy.deepcopy(consignment.documents[doc_type])}
        for doc_type in ("commercial-invoice", "purchase-order", "bill-of-lading",
                         "payment-record") if doc_type in consignment.documents]
    return {"packageFormat": PACKAGE_FORMAT, "importingAuthority": importing,
            "declaration": {"document": declaration}, "documents": documents + certificates}
