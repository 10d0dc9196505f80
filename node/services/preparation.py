"""Preparing a document for signing (no storage, no HTTP: the offline CLI uses it too).

``prepare`` fills the header members a signer may leave out and refuses a document that
names another issuer; ``require_issuer_role`` refuses to sign a document that every receiver
would refuse for its issuer's role (``trust_registry.roles``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from node.errors import RequestError
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time
from trust_registry.roles import holds_required_role, required_roles

__all__ = ["party_ids", "prepare", "require_issuer_role"]


def party_ids(document: Mapping[str, Any]) -> list[str]:
    """The distinct party ids a document names (what decides a trader's visibility)."""
    parties = document.get("parties")
    if not isinstance(parties, list):
        return []
    return sorted({str(p["id"]) for p in parties if isinstance(p, dict) and "id" in p})


def prepare(document: Any, authority_id: str, at: dt.datetime) -> dict[str, Any]:
    """Fill ``id``/``issuedAt``/``issuer`` when absent; refuse a document of another issuer."""
    if not isinstance(document, dict):
        raise RequestError(ReasonCode.SCHEMA_INVALID, "a document must be a JSON object")
    prepared = dict(document)
    if "id" not in prepared:
        prepared["id"] = str(uuid.uuid4())
    if "issuedAt" not in prepared:
        prepared["issuedAt"] = format_time(at.replace(microsecond=0))
    issuer = prepared.setdefault("issuer", authority_id)
    if issuer != authority_id:
        raise RequestError(ReasonCode.ISSUER_MISMATCH,
                           f"the document names issuer {issuer!r}; this node signs for "
                           f"{authority_id}")
    return prepared


def require_issuer_role(roles: Iterable[str], document_type: str, authority_id: str) -> None:
    """Refuse (ISSUER_ROLE_MISSING) to sign a document every receiver would refuse for the
    issuer's role (a certificate of origin from an authority without ``origin``, …)."""
    roles = tuple(roles)
    if not holds_required_role(document_type, roles):
        raise RequestError(ReasonCode.ISSUER_ROLE_MISSING,
                           f"{authority_id} (roles: {', '.join(roles) or 'none'}) may not issue "
                           f"a {document_type}: it needs one of "
                           f"{', '.join(sorted(required_roles(document_type)))}")
