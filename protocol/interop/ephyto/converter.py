"""``EphytoConverter``: our phytosanitary certificate ↔ UN/CEFACT SPS certificate XML.

Build it once with ``EphytoConverter.load()`` (it compiles the shipped XML schema and reads
the code lists; nothing happens at import time), then:

- ``to_xml(document)``: a phytosanitary-certificate document (a JSON object as parsed by
  ``protocol.strict_json``) → UTF-8 XML bytes, valid against the hub schema.
- ``from_xml(data, issuer=None)``: XML bytes → our document, valid against our JSON Schema.

Refusals, in the order they are checked (every one an ``InteropError`` or ``SchemaError``):

1. ``to_xml``: the document is not valid against its JSON Schema → ``SchemaError``; it is
   not a phytosanitary certificate → ``EPHYTO_INVALID``;
2. ``from_xml``: larger than ``limits.max_xml_bytes``, not well-formed, too deep, or with a
   DOCTYPE → ``XML_MALFORMED``;
3. the root is not ``rsm:SPSCertificate`` (SPSCertificate:17), or the XML is invalid against
   the shipped schema → ``EPHYTO_INVALID`` with the line;
4. a field our schema requires is missing, or the result is invalid against our JSON
   Schema → ``EPHYTO_INVALID`` naming the XML path or JSON pointer.

The schema is the one the IPPC ePhyto hub publishes in its service description (see
``xsd/README.md``); what maps where is in ``docs/ephyto.md`` and ADR 0018.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from protocol.documents import DocumentSchemas
from protocol.errors import InteropError, SchemaError
from protocol.interop.ephyto._export import build_xml
from protocol.interop.ephyto._import import read_xml
from protocol.interop.ephyto._safe_xml import parse_untrusted
from protocol.interop.ephyto.codes import CodeLists
from protocol.interop.ephyto.names import RSM
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode

__all__ = ["EPHYTO_FORMAT", "XSD_DIRECTORY", "EphytoConverter"]

EPHYTO_FORMAT = "ephyto-sps"
"""The format name used by the CLI (``--format ephyto-sps``)."""

XSD_DIRECTORY = Path(__file__).parent / "xsd"
_HUB_SCHEMA = XSD_DIRECTORY / "ippc-hub" / "ephyto-hub.xsd"
_DOC_TYPE = "phytosanitary-certificate"


@dataclass(frozen=True, slots=True)
class EphytoConverter:
    """Both conversions, with the compiled XML schema, our JSON schemas and the code lists."""

    xml_schema: etree.XMLSchema
    schemas: DocumentSchemas
    codes: CodeLists
    limits: Limits = DEFAULT_LIMITS

    @classmethod
    def load(cls, *, schemas: DocumentSchemas | None = None,
             limits: Limits = DEFAULT_LIMITS) -> EphytoConverter:
        """Compile the shipped schema (local files only, no network) and read the code lists.
        A broken data file is our bug: ``ValueError``."""
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            xml_schema = etree.XMLSchema(etree.parse(str(_HUB_SCHEMA), parser))
        except (OSError, etree.LxmlError) as exc:
            raise ValueError(f"cannot compile {_HUB_SCHEMA}: {exc}") from exc
        return cls(xml_schema=xml_schema,
                   schemas=DocumentSchemas.load() if schemas is None else schemas,
                   codes=CodeLists.load(), limits=limits)

    def to_xml(self, document: Mapping[str, Any]) -> bytes:
        """UTF-8 XML (with declaration) for a valid phytosanitary certificate."""
        self.schemas.validate(document)
        if document["type"] != _DOC_TYPE:
            raise InteropError(ReasonCode.EPHYTO_INVALID,
                               f"only a {_DOC_TYPE} converts to an SPS certificate, not a "
                               f"{document['type']}", where="/type")
        root = build_xml(document, self.codes)
        self._validate_xml(root)  # a failure here is a gap in our mapping; refuse, never emit
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                    pretty_print=True))

    def from_xml(self, data: bytes, *, issuer: str | None = None) -> dict[str, Any]:
        """Our document for SPS certificate XML; ``issuer`` overrides the issuing authority
        (otherwise the extension note's, or ``<export country>-NPPO``)."""
        root = parse_untrusted(data, max_bytes=self.limits.max_xml_bytes)
        name = etree.QName(root)
        if (name.namespace, name.localname) != (RSM, "SPSCertificate"):
            raise InteropError(ReasonCode.EPHYTO_INVALID,
                               f"the root element is {name.localname} in namespace "
                               f"{name.namespace}; expected SPSCertificate in {RSM}", where="/")
        self._validate_xml(root)
        document = read_xml(root, self.codes, issuer=issuer, limits=self.limits)
        try:
            self.schemas.validate(document)
        except SchemaError as exc:
            raise InteropError(ReasonCode.EPHYTO_INVALID,
                               f"the certificate does not fit a TradeAccord phytosanitary "
                               f"certificate: {exc.message}", where=exc.pointer) from exc
        return document

    def _validate_xml(self, root: etree._Element) -> None:
        try:
            self.xml_schema.assertValid(root)
        except etree.DocumentInvalid as exc:
            error = exc.error_log.last_error
            line = error.line if error is not None else 0
            message = error.message if error is not None else str(exc)
            raise InteropError(ReasonCode.EPHYTO_INVALID,
                               f"invalid against the SPS certificate schema at line {line}: "
                               f"{message}", where=f"line {line}") from exc
