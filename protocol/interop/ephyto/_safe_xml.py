"""Parsing untrusted XML: bounded size and depth, no DTD, no entities, no network.

lxml (libxml2) is told not to resolve entities, not to load DTDs and not to touch the
network; a document that declares a DOCTYPE at all is refused, so neither entity expansion
("billion laughs") nor external entities (XXE) can happen. Depth is bounded by libxml2's
default limit (256 levels without ``huge_tree``). Every lxml failure leaves as an
``InteropError(XML_MALFORMED)``.
"""

from __future__ import annotations

from lxml import etree

from protocol.errors import InteropError
from protocol.reason_codes import ReasonCode

_DOCTYPE = b"<!DOCTYPE"


def parse_untrusted(data: bytes, *, max_bytes: int) -> etree._Element:
    """The root element of ``data``; ``InteropError(XML_MALFORMED)`` for anything unsafe or
    not well-formed. ``data`` must be ``bytes`` (misuse raises ``TypeError``)."""
    if not isinstance(data, bytes):
        raise TypeError(f"XML input must be bytes, not {type(data).__name__}")
    if len(data) > max_bytes:
        raise InteropError(ReasonCode.XML_MALFORMED,
                           f"the XML input has {len(data)} bytes; the limit is {max_bytes}",
                           where="(input)")
    # Refuse early when the declaration is visible in the bytes; the check after parsing
    # also catches one hidden by another encoding (UTF-16).
    if _DOCTYPE in data:
        raise _doctype_refusal()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, collect_ids=False,
                             remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        raise InteropError(ReasonCode.XML_MALFORMED, f"line {line}: {exc.msg}",
                           where=f"line {line}") from exc
    except (etree.LxmlError, ValueError) as exc:
        raise InteropError(ReasonCode.XML_MALFORMED, f"unreadable XML: {exc}",
                           where="(input)") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _doctype_refusal()
    return root


def _doctype_refusal() -> InteropError:
    return InteropError(ReasonCode.XML_MALFORMED,
                        "the XML declares a DOCTYPE; DTDs and entity declarations are refused",
                        where="(prolog)")
