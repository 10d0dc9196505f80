"""A document's reference numbers, kept beside it so that people can search for them.

Officers look a document up by the number printed on it (a certificate number, an invoice
number, a UCR), not by its id. ``reference_numbers`` collects the string values of the body
members whose names say they are numbers or references (``certificateNumber``,
``invoiceNumber``, ``ucr``, ``transportDocumentReference``, ``transportDocument/number``…),
at any depth of objects (not inside arrays: goods lines carry no document numbers), and
returns them joined as ``|a|b|`` — stored in ``document.reference_numbers`` and matched with
a case-insensitive substring search. Pure: it reads the signed bytes and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

_NAME = re.compile(r"(?:Number|Reference|^ucr|^number)$")
_MAX_VALUES = 12
_MAX_VALUE_CHARS = 128
_MAX_DEPTH = 4


def _collect(value: Any, depth: int, found: list[str]) -> None:
    if not isinstance(value, dict) or depth > _MAX_DEPTH:
        return
    for name, member in value.items():
        if len(found) >= _MAX_VALUES:
            return
        if isinstance(member, str) and _NAME.search(name) and member.strip():
            text = member.strip()[:_MAX_VALUE_CHARS].replace("|", "/")
            if text not in found:
                found.append(text)
        elif isinstance(member, dict):
            _collect(member, depth + 1, found)


def document_payload(signed_bytes: bytes) -> dict[str, Any] | None:
    """The document a stored JWS (JSON General Serialization) carries, or None if the bytes
    are not one (the stored bytes were verified when stored; this only reads them)."""
    try:
        payload = json.loads(signed_bytes)["payload"]
        padded = payload + "=" * (-len(payload) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return document if isinstance(document, dict) else None


def reference_numbers(signed_bytes: bytes) -> str | None:
    """``|a|b|`` of the body's reference numbers (see the module docstring), or None."""
    document = document_payload(signed_bytes)
    found: list[str] = []
    if document is not None:
        _collect(document.get("body"), 0, found)
    return f"|{'|'.join(found)}|" if found else None
