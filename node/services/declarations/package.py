"""The declaration package a trader submits once, at the exporting customs node.

Format ``tradeaccord-declaration-package-1.0`` (``docs/declarations.md``)::

    {"packageFormat": "tradeaccord-declaration-package-1.0",
     "importingAuthority": "CN-CUSTOMS",          (optional when given with --to / ?to=)
     "declaration": ITEM,                         the export customs-declaration
     "documents": [ITEM, …]}                      supporting documents and certificates

and each ITEM is exactly one of:

- ``{"document": {…}}`` — a document for this node to validate and sign (the single
  window's one-time submission of ordering, logistics and payment data); its ``issuer``,
  when given, must be this node's authority;
- ``{"signed": {JWS}}`` — a document signed by its issuer's node (a chamber's certificate
  of origin, an NPPO's phytosanitary certificate), kept byte for byte;
- ``{"documentId": "…"}`` — a document this node already holds (issued here, or received
  from another authority's node), visible to the submitter.

``DeclarationPackage.from_dict`` checks the shape only (members, forms, count); what the
documents say is checked by the declaration service. A defect is ``REQUEST_INVALID`` naming
the JSON pointer of the offending member.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from node.errors import RequestError
from protocol.envelope import AUTHORITY_ID, MESSAGE_ID
from protocol.errors import ProtocolError
from protocol.jws import GeneralJWS
from protocol.limits import Limits
from protocol.reason_codes import ReasonCode

PACKAGE_FORMAT = "tradeaccord-declaration-package-1.0"
_MEMBERS = {"packageFormat", "importingAuthority", "declaration", "documents"}


class ItemForm(StrEnum):
    """How a package item is given."""

    DOCUMENT = "document"
    SIGNED = "signed"
    HELD = "documentId"


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageItem:
    """One item: exactly one of ``document``, ``signed`` or ``document_id`` is set."""

    form: ItemForm
    pointer: str
    document: dict[str, Any] | None = None
    signed: GeneralJWS | None = None
    document_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclarationPackage:
    """A structurally valid package."""

    importing_authority: str | None
    declaration: PackageItem
    documents: tuple[PackageItem, ...]

    @property
    def items(self) -> tuple[PackageItem, ...]:
        return (self.declaration, *self.documents)

    @classmethod
    def from_dict(cls, data: Any, *, limits: Limits, max_documents: int) -> DeclarationPackage:
        """Parse a package; ``RequestError(REQUEST_INVALID)`` with ``pointer`` on any defect."""
        if not isinstance(data, Mapping):
            raise _invalid("", "a declaration package is a JSON object")
        unknown = set(data) - _MEMBERS
        if unknown:
            raise _invalid(f"/{sorted(unknown)[0]}", f"unknown members {sorted(unknown)}")
        for name in ("packageFormat", "declaration", "documents"):
            if name not in data:
                raise _invalid(f"/{name}", f"the package has no {name} member")
        if data["packageFormat"] != PACKAGE_FORMAT:
            raise _invalid("/packageFormat", f"packageFormat must be {PACKAGE_FORMAT!r}")
        importing = data.get("importingAuthority")
        if importing is not None and (not isinstance(importing, str)
                                      or not AUTHORITY_ID.fullmatch(importing)):
            raise _invalid("/importingAuthority", "importingAuthority is an authority id "
                           "such as CN-CUSTOMS")
        raw = data["documents"]
        if not isinstance(raw, list):
            raise _invalid("/documents", "documents is an array of items")
        if len(raw) > max_documents:
            raise _invalid("/documents", f"{len(raw)} documents exceed the limit of "
                           f"{max_documents} per declaration")
        return cls(
            importing_authority=importing,
            declaration=_item(data["declaration"], "/declaration", limits),
            documents=tuple(_item(item, f"/documents/{index}", limits)
                            for index, item in enumerate(raw)),
        )


def _item(value: Any, pointer: str, limits: Limits) -> PackageItem:
    if not isinstance(value, Mapping) or len(value) != 1:
        raise _invalid(pointer, 'an item is {"document": {…}}, {"signed": {JWS}} or '
                       '{"documentId": "…"}')
    (name, content), = value.items()
    try:
        form = ItemForm(name)
    except ValueError:
        raise _invalid(f"{pointer}/{name}", f"unknown item form {name!r}; use document, "
                       "signed or documentId") from None
    if form is ItemForm.DOCUMENT:
        if not isinstance(content, Mapping):
            raise _invalid(f"{pointer}/document", "document is a JSON object")
        return PackageItem(form=form, pointer=pointer, document=dict(content))
    if form is ItemForm.SIGNED:
        try:
            jws = GeneralJWS.parse(content if isinstance(content, Mapping) else {},
                                   limits=limits)
        except ProtocolError as exc:
            raise RequestError(exc.code, f"{pointer}/signed: {exc.message}",
                               pointer=f"{pointer}/signed") from exc
        return PackageItem(form=form, pointer=pointer, signed=jws)
    if not isinstance(content, str) or not MESSAGE_ID.fullmatch(content):
        raise _invalid(f"{pointer}/documentId", "documentId is a document id")
    return PackageItem(form=form, pointer=pointer, document_id=content)


def _invalid(pointer: str, message: str) -> RequestError:
    where = pointer or "(package)"
    return RequestError(ReasonCode.REQUEST_INVALID, f"{where}: {message}", pointer=pointer)
